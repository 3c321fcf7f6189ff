// Python callables held by the C++ graph (hooks, custom Function nodes). The engine runs without the
// GIL, so calls and the final release of the Python object take it explicitly.
#pragma once

#include "bindings/common.h"

namespace gradcore::python {

/// A Python object owned from C++ code that may run (and drop it) without the GIL.
class PyHandle {
 public:
  explicit PyHandle(py::object obj) : obj_(std::move(obj)) {}
  ~PyHandle() {
    if (!Py_IsInitialized()) {
      obj_.release();  // the interpreter is gone: nothing can be freed safely, so leak the reference
      return;
    }
    py::gil_scoped_acquire gil;
    obj_ = py::object();
  }
  PyHandle(const PyHandle&) = delete;
  PyHandle& operator=(const PyHandle&) = delete;
  /// The object; use only while holding the GIL.
  const py::object& get() const { return obj_; }

 private:
  py::object obj_;
};

/// Converts gradients to a Python tuple (None for undefined ones); needs the GIL.
inline py::tuple grads_to_tuple(const TensorList& grads) {
  py::tuple out(grads.size());
  for (size_t i = 0; i < grads.size(); ++i) out[i] = grads[i].defined() ? py::cast(grads[i]) : py::none();
  return out;
}

/// Reads a hook's replacement gradients: None keeps them (empty result), else a sequence of
/// Tensor-or-None of the same length.
TensorList grads_from_hook_result(const py::object& result, size_t expected, const char* what);

}  // namespace gradcore::python

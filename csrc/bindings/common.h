// Shared pieces of the Python bindings: casters for Tensor and DType, and operand parsing.
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "gradcore/autograd/node.h"
#include "gradcore/ops.h"

namespace gradcore::python {

namespace py = pybind11;

/// The Python object for a dtype (gradcore.float32 and friends; one singleton per dtype).
py::object dtype_object(DType t);
/// Reads a dtype from a gradcore dtype object or the Python types float/int/bool.
std::optional<DType> dtype_from_object(py::handle h);

/// Whether `h` is a gradcore Tensor.
bool is_tensor(py::handle h);
/// Reads a Python number (bool, int, float or numpy scalar) into a Scalar; false if `h` is not one.
bool to_scalar(py::handle h, Scalar& out);
/// The gradcore Tensor in `h`, or a 0-dim "wrapped number" tensor for a Python number, typed to
/// combine with `like` as PyTorch does; nullopt when `h` is neither.
std::optional<Tensor> to_operand(py::handle h, const Tensor& like);
/// Parses sizes given as ints or as one sequence (`ones(2, 3)` or `ones((2, 3))`).
Shape parse_size(const py::args& args, const char* op);
/// Reads a sequence of ints into a Shape (TypeError naming `op` otherwise).
Shape to_shape(py::handle seq, const char* op);
/// Reads a list or tuple of Tensors (TypeError naming `op` and the offending element otherwise).
TensorList tensor_sequence(py::handle seq, const char* op);
/// Makes a gradcore.Size (tuple subclass) from a shape.
py::object make_size(const Shape& s);

/// Reads a `dim` argument: None (all dims, returned empty), an int, or a sequence of ints.
std::vector<int64_t> dims_arg(const py::object& dim, const char* op);

/// The bound gradcore.Tensor class.
using TensorClass = py::class_<TensorImpl, std::shared_ptr<TensorImpl>>;
/// The Tensor class registered by bind_tensor, for the op-family bindings that add methods to it.
inline TensorClass tensor_class(py::module_& m) { return py::reinterpret_borrow<TensorClass>(m.attr("Tensor")); }

// Each op family binds its functions (module level) and its Tensor methods; bind_tensor runs first.
void bind_tensor(py::module_& m);
void bind_autograd(py::module_& m);
void bind_function(py::module_& m);
void bind_creation(py::module_& m);
void bind_interop(py::module_& m);
void bind_simd(py::module_& m);
void bind_views(py::module_& m);
void bind_indexing(py::module_& m);
void bind_pointwise(py::module_& m);
void bind_reduce(py::module_& m);
void bind_linalg(py::module_& m);
void bind_nn(py::module_& m);
void bind_gather(py::module_& m);
void bind_optim(py::module_& m);
void bind_runtime(py::module_& m);

}  // namespace gradcore::python

namespace pybind11::detail {

/// Tensor crosses into Python as the bound TensorImpl (class gradcore.Tensor), None when undefined.
template <>
struct type_caster<gradcore::Tensor> {
  PYBIND11_TYPE_CASTER(gradcore::Tensor, const_name("Tensor"));
  bool load(handle src, bool convert) {
    make_caster<std::shared_ptr<gradcore::TensorImpl>> holder;
    if (src.is_none() || !holder.load(src, convert)) return false;
    value = gradcore::Tensor(cast_op<std::shared_ptr<gradcore::TensorImpl>>(holder));
    return true;
  }
  static handle cast(const gradcore::Tensor& t, return_value_policy, handle) {
    if (!t.defined()) return none().release();
    return make_caster<std::shared_ptr<gradcore::TensorImpl>>::cast(t.impl_ptr(), return_value_policy::take_ownership,
                                                                    handle());
  }
};

/// DType crosses as the gradcore dtype singletons.
template <>
struct type_caster<gradcore::DType> {
  PYBIND11_TYPE_CASTER(gradcore::DType, const_name("dtype"));
  bool load(handle src, bool) {
    auto t = gradcore::python::dtype_from_object(src);
    if (!t) return false;
    value = *t;
    return true;
  }
  static handle cast(gradcore::DType t, return_value_policy, handle) {
    return gradcore::python::dtype_object(t).release();
  }
};

}  // namespace pybind11::detail

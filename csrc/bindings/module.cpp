// The extension module gradcore._C: exception translation, dtypes, and the per-area bind functions.
#include <array>

#include "bindings/common.h"

namespace gradcore::python {

namespace {
/// A gradcore dtype as seen from Python (gradcore.float32, ...).
struct DTypeObject {
  DType type;
};
std::array<py::object, 4>& dtype_objects() {
  static std::array<py::object, 4> objects;  // filled at import; released with the module
  return objects;
}
py::object& size_class() {
  static py::object cls;
  return cls;
}
}  // namespace

py::object dtype_object(DType t) { return dtype_objects()[static_cast<size_t>(t)]; }

std::optional<DType> dtype_from_object(py::handle h) {
  if (py::isinstance<DTypeObject>(h)) return h.cast<const DTypeObject&>().type;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  return std::nullopt;
}

bool is_tensor(py::handle h) { return py::isinstance<TensorImpl>(h); }

bool to_scalar(py::handle h, Scalar& out) {
  PyObject* o = h.ptr();
  if (PyBool_Check(o)) {
    out = Scalar(o == Py_True);
  } else if (PyLong_Check(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow) throw Error("Overflow when unpacking long");
    out = Scalar(static_cast<int64_t>(v));
  } else if (PyFloat_Check(o)) {
    out = Scalar(PyFloat_AS_DOUBLE(o));
  } else if (!is_tensor(h) && PyNumber_Check(o) && py::hasattr(h, "dtype") && py::hasattr(h, "item")) {
    return to_scalar(py::reinterpret_borrow<py::object>(h).attr("item")(), out);  // a numpy scalar
  } else {
    return false;
  }
  return true;
}

std::optional<Tensor> to_operand(py::handle h, const Tensor& like) {
  if (is_tensor(h)) return h.cast<Tensor>();
  Scalar s;
  if (!to_scalar(h, s)) return std::nullopt;
  return wrapped_scalar(s, like);
}

std::vector<int64_t> dims_arg(const py::object& dim, const char* op) {
  if (dim.is_none()) return {};
  if (PyLong_Check(dim.ptr())) return {dim.cast<int64_t>()};
  return to_shape(dim, op);
}

TensorList tensor_sequence(py::handle seq, const char* op) {
  GC_CHECK_T(TypeError, py::isinstance<py::sequence>(seq) && !is_tensor(seq), op,
             "(): argument 'tensors' must be tuple of Tensors, not ", Py_TYPE(seq.ptr())->tp_name);
  TensorList out;
  for (py::handle h : seq) {
    GC_CHECK_T(TypeError, is_tensor(h), op, "(): expected Tensor as element ", out.size(), " in argument 0, but got ",
               Py_TYPE(h.ptr())->tp_name);
    out.push_back(h.cast<Tensor>());
  }
  return out;
}

Shape to_shape(py::handle seq, const char* op) {
  Shape shape;
  py::sequence s = py::reinterpret_borrow<py::sequence>(seq);
  for (size_t i = 0; i < s.size(); ++i) {
    py::object v = s[i];
    if (!PyLong_Check(v.ptr()) || PyBool_Check(v.ptr())) {
      if (py::hasattr(v, "__index__") && !PyFloat_Check(v.ptr())) {
        shape.push_back(v.attr("__index__")().cast<int64_t>());
        continue;
      }
      throw py::type_error(detail::cat(op, "(): argument 'size' must be tuple of ints, but found element of type ",
                                       Py_TYPE(v.ptr())->tp_name, " at pos ", i));
    }
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(v.ptr(), &overflow);
    if (overflow) throw py::type_error(detail::cat(op, "(): Overflow when unpacking long long (size at pos ", i, ")"));
    shape.push_back(n);
  }
  return shape;
}

Shape parse_size(const py::args& args, const char* op) {
  if (args.size() == 1 && (PyTuple_Check(args[0].ptr()) || PyList_Check(args[0].ptr()))) return to_shape(args[0], op);
  return to_shape(args, op);
}

py::object make_size(const Shape& s) {
  py::tuple t(s.size());
  for (size_t i = 0; i < s.size(); ++i) t[i] = py::int_(s[i]);
  return size_class() ? size_class()(t) : py::object(t);
}

}  // namespace gradcore::python

PYBIND11_MODULE(_C, m) {
  namespace py = pybind11;
  using namespace gradcore;
  using namespace gradcore::python;
  m.doc() = "gradcore's C++ core: tensors, kernels and the autograd engine";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const NotImplemented& e) {
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const Error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<DTypeObject>(m, "dtype")
      .def_property_readonly("is_floating_point", [](const DTypeObject& d) { return is_floating(d.type); })
      .def_property_readonly("itemsize", [](const DTypeObject& d) { return itemsize(d.type); })
      .def("__repr__", [](const DTypeObject& d) { return std::string("gradcore.") + dtype_name(d.type); })
      .def("__reduce__", [](const DTypeObject& d) { return std::string(dtype_name(d.type)); });
  for (DType t : {DType::Bool, DType::Int64, DType::Float32, DType::Float64}) {
    py::object obj = py::cast(DTypeObject{t});
    dtype_objects()[static_cast<size_t>(t)] = obj;
    m.attr(dtype_name(t)) = obj;
  }
  m.def("_set_size_class", [](py::object cls) { size_class() = std::move(cls); });
  // Drop the Python references held in C++ statics before the interpreter finalises.
  m.add_object("_cleanup", py::capsule([] {
    for (auto& o : dtype_objects()) o.release().dec_ref();
    size_class() = py::object();
  }));

  bind_tensor(m);
  bind_autograd(m);
  bind_function(m);
  bind_creation(m);
  bind_interop(m);
  bind_runtime(m);
  bind_simd(m);
  bind_views(m);
  bind_indexing(m);
  bind_pointwise(m);
  bind_reduce(m);
  bind_linalg(m);
  bind_nn(m);
  bind_gather(m);
  bind_optim(m);
}

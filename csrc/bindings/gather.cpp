// Copy ops: stack, flip, repeat, tril/triu, gather/scatter, index_select/index_add, masked_fill.
// Tensor methods plus the module functions PyTorch has (torch.stack, torch.gather, ...).
#include "bindings/common.h"

namespace gradcore::python {

namespace {

Scalar scalar_arg(py::handle h, const char* op, const char* arg) {
  Scalar s;
  GC_CHECK_T(TypeError, to_scalar(h, s), op, "(): argument '", arg, "' must be Number, not ", Py_TYPE(h.ptr())->tp_name);
  return s;
}

// Ints given as varargs or as one sequence, or by keyword `kw` (flip(0, 1), flip([0, 1]), flip(dims=[0])).
Shape ints_arg(const py::args& args, const py::kwargs& kwargs, const char* kw, const char* op) {
  if (kwargs.contains(kw)) {
    GC_CHECK_T(TypeError, args.size() == 0 && kwargs.size() == 1, op, "(): got multiple values for argument '", kw, "'");
    py::object v = kwargs[kw];
    return PyLong_Check(v.ptr()) ? Shape{v.cast<int64_t>()} : to_shape(v, op);
  }
  GC_CHECK_T(TypeError, kwargs.size() == 0, op, "(): got an unexpected keyword argument");
  return parse_size(args, op);
}

// scatter's third argument: a tensor (src) or a number (value), positional or by keyword.
template <typename WithSrc, typename WithValue>
py::object scatter_dispatch(py::handle src, py::handle value, const char* op, WithSrc with_src, WithValue with_value) {
  GC_CHECK_T(TypeError, src.is_none() != value.is_none(), op, "(): expected exactly one of 'src' or 'value'");
  py::handle arg = src.is_none() ? value : src;
  if (is_tensor(arg)) return py::cast(with_src(arg.cast<Tensor>()));
  return py::cast(with_value(scalar_arg(arg, op, "value")));
}

}  // namespace

void bind_gather(py::module_& m) {
  TensorClass cls = tensor_class(m);

  cls.def("flip", [](const Tensor& a, py::args args, py::kwargs kwargs) { return flip(a, ints_arg(args, kwargs, "dims", "flip")); })
      .def("repeat", [](const Tensor& a, py::args args, py::kwargs kwargs) {
        return repeat(a, ints_arg(args, kwargs, "repeats", "repeat"));
      })
      .def("tril", [](const Tensor& a, int64_t k) { return tril(a, k); }, py::arg("diagonal") = 0)
      .def("triu", [](const Tensor& a, int64_t k) { return triu(a, k); }, py::arg("diagonal") = 0)
      .def("gather", [](const Tensor& a, int64_t dim, const Tensor& index, bool) { return gather(a, dim, index); },
           py::arg("dim"), py::arg("index"), py::kw_only(), py::arg("sparse_grad") = false)
      .def("scatter", [](const Tensor& a, int64_t dim, const Tensor& index, py::object src, py::object value) {
        return scatter_dispatch(src, value, "scatter", [&](const Tensor& s) { return scatter(a, dim, index, s); },
                                [&](Scalar v) { return scatter(a, dim, index, v); });
      }, py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(), py::arg("value") = py::none())
      .def("scatter_", [](Tensor a, int64_t dim, const Tensor& index, py::object src, py::object value) {
        scatter_dispatch(src, value, "scatter_", [&](const Tensor& s) { return scatter_(a, dim, index, s); },
                         [&](Scalar v) { return scatter_(a, dim, index, v); });
        return a;
      }, py::arg("dim"), py::arg("index"), py::arg("src") = py::none(), py::kw_only(), py::arg("value") = py::none())
      .def("scatter_add", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& src) {
        return scatter_add(a, dim, index, src);
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("scatter_add_", [](Tensor a, int64_t dim, const Tensor& index, const Tensor& src) {
        return scatter_add_(a, dim, index, src);
      }, py::arg("dim"), py::arg("index"), py::arg("src"))
      .def("index_select", [](const Tensor& a, int64_t dim, const Tensor& index) { return index_select(a, dim, index); },
           py::arg("dim"), py::arg("index"))
      .def("index_add", [](const Tensor& a, int64_t dim, const Tensor& index, const Tensor& source, py::handle alpha) {
        return index_add(a, dim, index, source, scalar_arg(alpha, "index_add", "alpha"));
      }, py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1)
      .def("index_add_", [](Tensor a, int64_t dim, const Tensor& index, const Tensor& source, py::handle alpha) {
        return index_add_(a, dim, index, source, scalar_arg(alpha, "index_add_", "alpha"));
      }, py::arg("dim"), py::arg("index"), py::arg("source"), py::kw_only(), py::arg("alpha") = 1)
      .def("masked_fill", [](const Tensor& a, const Tensor& mask, py::handle value) {
        if (is_tensor(value)) return masked_fill(a, mask, value.cast<Tensor>());
        return masked_fill(a, mask, scalar_arg(value, "masked_fill", "value"));
      }, py::arg("mask"), py::arg("value"))
      .def("masked_fill_", [](Tensor a, const Tensor& mask, py::handle value) {
        if (is_tensor(value)) return masked_fill_(a, mask, value.cast<Tensor>());
        return masked_fill_(a, mask, scalar_arg(value, "masked_fill_", "value"));
      }, py::arg("mask"), py::arg("value"));

  m.def("stack", [](py::handle tensors, int64_t dim) { return stack(tensor_sequence(tensors, "stack"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
}

}  // namespace gradcore::python

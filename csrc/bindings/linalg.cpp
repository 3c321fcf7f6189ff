// Linear algebra: matmul (and the @ operator), mm, bmm, mv, dot, outer, addmm, linear.
#include "bindings/common.h"

namespace gradcore::python {

namespace {
Scalar number_arg(py::handle h, const char* what) {
  Scalar s;
  GC_CHECK_T(TypeError, to_scalar(h, s), what, " must be a Number, not ", Py_TYPE(h.ptr())->tp_name);
  return s;
}
}  // namespace

void bind_linalg(py::module_& m) {
  m.def("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, py::arg("input"), py::arg("other"));
  m.def("mm", [](const Tensor& a, const Tensor& b) { return mm(a, b); }, py::arg("input"), py::arg("mat2"));
  m.def("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, py::arg("input"), py::arg("mat2"));
  m.def("mv", [](const Tensor& a, const Tensor& v) { return mv(a, v); }, py::arg("input"), py::arg("vec"));
  m.def("dot", [](const Tensor& a, const Tensor& b) { return dot(a, b); }, py::arg("input"), py::arg("tensor"));
  m.def("outer", [](const Tensor& a, const Tensor& b) { return outer(a, b); }, py::arg("input"), py::arg("vec2"));
  m.def("addmm", [](const Tensor& self, const Tensor& a, const Tensor& b, py::handle beta, py::handle alpha) {
    return addmm(self, a, b, number_arg(beta, "addmm(): argument 'beta'"), number_arg(alpha, "addmm(): argument 'alpha'"));
  }, py::arg("input"), py::arg("mat1"), py::arg("mat2"), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
  m.def("linear", [](const Tensor& x, const Tensor& w, std::optional<Tensor> b) {
    return linear(x, w, b ? *b : Tensor());
  }, py::arg("input"), py::arg("weight"), py::arg("bias") = py::none());

  TensorClass cls = tensor_class(m);
  // `x @ y` only between tensors (PyTorch: a number operand is a TypeError, via NotImplemented).
  cls.def("__matmul__", [](const Tensor& self, py::handle other) -> py::object {
    if (!is_tensor(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(matmul(self, other.cast<Tensor>()));
  });
  cls.def("__rmatmul__", [](const Tensor& self, py::handle other) -> py::object {
    if (!is_tensor(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(matmul(other.cast<Tensor>(), self));
  });
  cls.def("matmul", [](const Tensor& a, const Tensor& b) { return matmul(a, b); }, py::arg("other"))
      .def("mm", [](const Tensor& a, const Tensor& b) { return mm(a, b); }, py::arg("mat2"))
      .def("bmm", [](const Tensor& a, const Tensor& b) { return bmm(a, b); }, py::arg("mat2"))
      .def("mv", [](const Tensor& a, const Tensor& v) { return mv(a, v); }, py::arg("vec"))
      .def("dot", [](const Tensor& a, const Tensor& b) { return dot(a, b); }, py::arg("tensor"))
      .def("outer", [](const Tensor& a, const Tensor& b) { return outer(a, b); }, py::arg("vec2"))
      .def("addmm", [](const Tensor& self, const Tensor& a, const Tensor& b, py::handle beta, py::handle alpha) {
        return addmm(self, a, b, number_arg(beta, "addmm(): argument 'beta'"), number_arg(alpha, "addmm(): argument 'alpha'"));
      }, py::arg("mat1"), py::arg("mat2"), py::kw_only(), py::arg("beta") = 1, py::arg("alpha") = 1);
}

}  // namespace gradcore::python

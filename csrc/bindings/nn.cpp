// Kernels behind gradcore.nn.functional: softmax, log_softmax, nll_loss, constant_pad_nd.
#include "bindings/common.h"

namespace gradcore::python {

namespace {
Tensor with_dtype(const Tensor& a, std::optional<DType> dtype) { return dtype ? to_dtype(a, *dtype) : a; }
}  // namespace

void bind_nn(py::module_& m) {
  m.def("softmax", [](const Tensor& a, int64_t dim, std::optional<DType> dtype) { return softmax(with_dtype(a, dtype), dim); },
        py::arg("input"), py::arg("dim"), py::arg("dtype") = py::none());
  m.def("log_softmax", [](const Tensor& a, int64_t dim, std::optional<DType> dtype) {
    return log_softmax(with_dtype(a, dtype), dim);
  }, py::arg("input"), py::arg("dim"), py::arg("dtype") = py::none());
  m.def("_nll_loss", [](const Tensor& input, const Tensor& target, std::optional<Tensor> weight, int64_t reduction,
                        int64_t ignore_index) {
    return nll_loss(input, target, weight ? *weight : Tensor(), reduction, ignore_index);
  }, py::arg("input"), py::arg("target"), py::arg("weight"), py::arg("reduction"), py::arg("ignore_index"));
  m.def("constant_pad_nd", [](const Tensor& a, std::vector<int64_t> pad, py::handle value) {
    Scalar s;
    GC_CHECK_T(TypeError, to_scalar(value, s), "constant_pad_nd(): argument 'value' must be a Number, not ",
               Py_TYPE(value.ptr())->tp_name);
    return constant_pad_nd(a, pad, s);
  }, py::arg("input"), py::arg("pad"), py::arg("value") = 0);

  TensorClass cls = tensor_class(m);
  cls.def("softmax", [](const Tensor& a, int64_t dim, std::optional<DType> dtype) { return softmax(with_dtype(a, dtype), dim); },
          py::arg("dim"), py::arg("dtype") = py::none())
      .def("log_softmax", [](const Tensor& a, int64_t dim, std::optional<DType> dtype) {
        return log_softmax(with_dtype(a, dtype), dim);
      }, py::arg("dim"), py::arg("dtype") = py::none());
}

}  // namespace gradcore::python

// View ops and joining: Tensor methods and module functions.
#include "bindings/common.h"

namespace gradcore::python {

namespace {
py::tuple to_tuple(const TensorList& list) {
  py::tuple out(list.size());
  for (size_t i = 0; i < list.size(); ++i) out[i] = py::cast(list[i]);
  return out;
}

// `dims` given as varargs ints or as one sequence, as PyTorch's permute and friends accept.
std::vector<int64_t> dims_from_args(const py::args& args, const char* op) { return parse_size(args, op); }

}  // namespace

void bind_views(py::module_& m) {
  TensorClass cls = tensor_class(m);
  cls.def("transpose", [](const Tensor& a, int64_t d0, int64_t d1) { return transpose(a, d0, d1); }, py::arg("dim0"), py::arg("dim1"))
      .def("swapaxes", [](const Tensor& a, int64_t d0, int64_t d1) { return transpose(a, d0, d1); })
      .def("swapdims", [](const Tensor& a, int64_t d0, int64_t d1) { return transpose(a, d0, d1); })
      .def("permute", [](const Tensor& a, py::args dims) { return permute(a, dims_from_args(dims, "permute")); })
      .def("t", [](const Tensor& a) { return t(a); })
      .def_property_readonly("T", [](const Tensor& a) {
        if (a.dim() != 2 && PyErr_WarnEx(PyExc_UserWarning,
              "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it "
              "will throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
              "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.", 1) < 0)
          throw py::error_already_set();
        std::vector<int64_t> dims(a.dim());
        for (int64_t d = 0; d < a.dim(); ++d) dims[d] = a.dim() - 1 - d;
        return permute(a, dims);
      })
      .def_property_readonly("mT", [](const Tensor& a) {
        GC_CHECK(a.dim() >= 2, "tensor.mT is only supported on matrices or batches of matrices. Got ", a.dim(), "-D tensor.");
        return transpose(a, -2, -1);
      })
      .def("unsqueeze", [](const Tensor& a, int64_t dim) { return unsqueeze(a, dim); }, py::arg("dim"))
      .def("squeeze", [](const Tensor& a, py::object dim) {
        if (dim.is_none()) return squeeze(a);
        if (PyLong_Check(dim.ptr())) return squeeze(a, dim.cast<int64_t>());
        return squeeze(a, to_shape(dim, "squeeze"));
      }, py::arg("dim") = py::none())
      .def("narrow", [](const Tensor& a, int64_t dim, int64_t start, int64_t length) { return narrow(a, dim, start, length); },
           py::arg("dim"), py::arg("start"), py::arg("length"))
      .def("flatten", [](const Tensor& a, int64_t s, int64_t e) { return flatten(a, s, e); }, py::arg("start_dim") = 0,
           py::arg("end_dim") = -1)
      .def("unflatten", [](const Tensor& a, int64_t dim, py::handle sizes) { return unflatten(a, dim, to_shape(sizes, "unflatten")); },
           py::arg("dim"), py::arg("sizes"))
      .def("split", [](const Tensor& a, py::handle size, int64_t dim) {
        if (PyLong_Check(size.ptr())) return to_tuple(split(a, size.cast<int64_t>(), dim));
        return to_tuple(split_with_sizes(a, to_shape(size, "split"), dim));
      }, py::arg("split_size"), py::arg("dim") = 0)
      .def("split_with_sizes", [](const Tensor& a, py::handle sizes, int64_t dim) {
        return to_tuple(split_with_sizes(a, to_shape(sizes, "split_with_sizes"), dim));
      }, py::arg("split_sizes"), py::arg("dim") = 0)
      .def("chunk", [](const Tensor& a, int64_t chunks, int64_t dim) { return to_tuple(chunk(a, chunks, dim)); },
           py::arg("chunks"), py::arg("dim") = 0)
      .def("unbind", [](const Tensor& a, int64_t dim) { return to_tuple(unbind(a, dim)); }, py::arg("dim") = 0)
      .def("expand_as", [](const Tensor& a, const Tensor& other) { return expand(a, other.shape()); })
      .def("view_as", [](const Tensor& a, const Tensor& other) { return view(a, other.shape()); })
      .def("reshape_as", [](const Tensor& a, const Tensor& other) { return reshape(a, other.shape()); })
      .def_property_readonly("_base", [](const Tensor& a) { return Tensor(a.impl()->view_base); })
      .def("_is_view", [](const Tensor& a) { return a.impl()->view_base != nullptr; })
      .def("as_strided", [](const Tensor& a, py::handle size, py::handle stride, std::optional<int64_t> offset) {
        return as_strided(a, to_shape(size, "as_strided"), to_shape(stride, "as_strided"), offset);
      }, py::arg("size"), py::arg("stride"), py::arg("storage_offset") = py::none());

  m.def("cat", [](py::handle tensors, int64_t dim) { return cat(tensor_sequence(tensors, "cat"), dim); },
        py::arg("tensors"), py::arg("dim") = 0);
}

}  // namespace gradcore::python

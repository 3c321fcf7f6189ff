// Reductions: sum, mean, prod, max/min (with indices), amax/amin, argmax/argmin, var/std, logsumexp,
// norm, cumsum, all/any, as Tensor methods (the Python package adds the function forms).
#include <cmath>
#include <limits>

#include "bindings/common.h"

namespace gradcore::python {

namespace {

// A `dim` that must be a single int (max, argmax, prod, cumsum); TypeError like PyTorch otherwise.
int64_t int_dim(const py::object& dim, const char* op) {
  GC_CHECK_T(TypeError, PyLong_Check(dim.ptr()), op, "(): argument 'dim' (position 1) must be int, not ",
             Py_TYPE(dim.ptr())->tp_name);
  return dim.cast<int64_t>();
}

// (values, indices) as gradcore.return_types.<name>: a named tuple with .values and .indices.
py::object values_indices(const char* name, const std::pair<Tensor, Tensor>& r) {
  return py::module_::import("gradcore.return_types").attr(name)(r.first, r.second);
}

// torch.norm's `p`: a number, None (2) or "fro" (2 over the given dims); other strings are matrix norms.
double norm_order(const py::object& p) {
  if (p.is_none()) return 2.0;
  if (py::isinstance<py::str>(p)) {
    std::string s = p.cast<std::string>();
    GC_CHECK_T(ValueError, s != "nuc", "[norm] the nuclear norm (p='nuc') is not supported");
    GC_CHECK(s == "fro", "linalg.matrix_norm: Order ", s, " not supported.");
    return 2.0;
  }
  Scalar s;
  GC_CHECK_T(TypeError, to_scalar(p, s), "norm(): argument 'p' must be Number or str, not ", Py_TYPE(p.ptr())->tp_name);
  return s.value;
}

// var/std's correction from (unbiased, correction): PyTorch's two signatures can't be mixed.
double correction_arg(const std::optional<bool>& unbiased, const py::object& correction, const char* op) {
  GC_CHECK_T(TypeError, !(unbiased && !correction.is_none()), op, "() received an invalid combination of arguments: "
             "'unbiased' and 'correction' can't both be given");
  if (!correction.is_none()) {
    Scalar s;
    GC_CHECK_T(TypeError, to_scalar(correction, s), op, "(): argument 'correction' must be Number, not ",
               Py_TYPE(correction.ptr())->tp_name);
    return s.value;
  }
  return unbiased.value_or(true) ? 1.0 : 0.0;
}

template <typename F>
void def_var_like(TensorClass& cls, const char* name, F f) {
  cls.def(name, [f, name](const Tensor& a, py::object dim, std::optional<bool> unbiased, bool keepdim, py::object correction) {
    if (PyBool_Check(dim.ptr())) {  // x.var(False): the legacy `unbiased` positional
      GC_CHECK_T(TypeError, !unbiased, name, "() received an invalid combination of arguments");
      unbiased = dim.cast<bool>();
      dim = py::none();
    }
    const double c = correction_arg(unbiased, correction, name);
    Tensor out = f(a, dims_arg(dim, name), c, keepdim);
    const int64_t n = out.numel() == 0 ? 0 : a.numel() / out.numel();  // elements per output
    if (static_cast<double>(n) - c <= 0 &&
        PyErr_WarnEx(PyExc_UserWarning, detail::cat(name, "(): degrees of freedom is <= 0. Correction should be "
                     "strictly less than the reduction factor (input numel divided by output numel).").c_str(), 1) < 0)
      throw py::error_already_set();
    return out;
  }, py::arg("dim") = py::none(), py::arg("unbiased") = py::none(), py::arg("keepdim") = false, py::kw_only(),
     py::arg("correction") = py::none());
}

}  // namespace

void bind_reduce(py::module_& m) {
  TensorClass cls = tensor_class(m);
  cls.def("sum", [](const Tensor& a, py::object dim, bool keepdim, std::optional<DType> dtype) {
        Tensor x = dtype ? to_dtype(a, *dtype) : a;
        return dim.is_none() && !keepdim ? sum(x) : sum(x, dims_arg(dim, "sum"), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      .def("mean", [](const Tensor& a, py::object dim, bool keepdim, std::optional<DType> dtype) {
        Tensor x = dtype ? to_dtype(a, *dtype) : a;
        return dim.is_none() && !keepdim ? mean(x) : mean(x, dims_arg(dim, "mean"), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      .def("prod", [](const Tensor& a, py::object dim, bool keepdim, std::optional<DType> dtype) {
        Tensor x = dtype ? to_dtype(a, *dtype) : a;
        return dim.is_none() ? prod(x) : prod(x, {int_dim(dim, "prod")}, keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false, py::kw_only(), py::arg("dtype") = py::none())
      // max(other) / min(other) with a tensor are the elementwise maximum / minimum, as in PyTorch.
      .def("max", [](const Tensor& a, py::object dim, bool keepdim) -> py::object {
        if (dim.is_none()) return py::cast(max(a));
        if (is_tensor(dim)) return py::cast(maximum(a, dim.cast<Tensor>()));
        return values_indices("max", max(a, int_dim(dim, "max"), keepdim));
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("min", [](const Tensor& a, py::object dim, bool keepdim) -> py::object {
        if (dim.is_none()) return py::cast(min(a));
        if (is_tensor(dim)) return py::cast(minimum(a, dim.cast<Tensor>()));
        return values_indices("min", min(a, int_dim(dim, "min"), keepdim));
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("amax", [](const Tensor& a, py::object dim, bool keepdim) { return amax(a, dims_arg(dim, "amax"), keepdim); },
           py::arg("dim") = py::tuple(), py::arg("keepdim") = false)
      .def("amin", [](const Tensor& a, py::object dim, bool keepdim) { return amin(a, dims_arg(dim, "amin"), keepdim); },
           py::arg("dim") = py::tuple(), py::arg("keepdim") = false)
      .def("argmax", [](const Tensor& a, py::object dim, bool keepdim) {
        return argmax(a, dim.is_none() ? std::nullopt : std::optional<int64_t>(int_dim(dim, "argmax")), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("argmin", [](const Tensor& a, py::object dim, bool keepdim) {
        return argmin(a, dim.is_none() ? std::nullopt : std::optional<int64_t>(int_dim(dim, "argmin")), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("logsumexp", [](const Tensor& a, py::object dim, bool keepdim) {
        return logsumexp(a, dims_arg(dim, "logsumexp"), keepdim);
      }, py::arg("dim"), py::arg("keepdim") = false)
      .def("norm", [](const Tensor& a, py::object p, py::object dim, bool keepdim, std::optional<DType> dtype) {
        Tensor x = dtype ? to_dtype(a, *dtype) : a;
        return norm(x, norm_order(p), dims_arg(dim, "norm"), keepdim);
      }, py::arg("p") = "fro", py::arg("dim") = py::none(), py::arg("keepdim") = false, py::arg("dtype") = py::none())
      .def("cumsum", [](const Tensor& a, py::object dim, std::optional<DType> dtype) {
        return cumsum(a, int_dim(dim, "cumsum"), dtype);
      }, py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none())
      .def("all", [](const Tensor& a, py::object dim, bool keepdim) {
        return dim.is_none() && !keepdim ? all(a) : all(a, dims_arg(dim, "all"), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false)
      .def("any", [](const Tensor& a, py::object dim, bool keepdim) {
        return dim.is_none() && !keepdim ? any(a) : any(a, dims_arg(dim, "any"), keepdim);
      }, py::arg("dim") = py::none(), py::arg("keepdim") = false);
  def_var_like(cls, "var", [](const Tensor& a, const std::vector<int64_t>& dims, double c, bool k) { return var(a, dims, c, k); });
  def_var_like(cls, "std", [](const Tensor& a, const std::vector<int64_t>& dims, double c, bool k) { return std(a, dims, c, k); });
}

}  // namespace gradcore::python

// gradcore.Tensor: properties, arithmetic operators and methods.
#include "bindings/common.h"
#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"

namespace gradcore::python {

namespace {

// Binary operators take a Tensor or a Python number; anything else gives NotImplemented so that
// Python can try the reflected operator (and then raises its usual TypeError).
template <typename F>
void def_binary(TensorClass& cls, const char* name, F f, bool reflected = false) {
  cls.def(name, [f, reflected](const Tensor& self, py::handle other) -> py::object {
    std::optional<Tensor> o = to_operand(other, self);
    if (!o) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(reflected ? f(*o, self) : f(self, *o));
  });
}

// In-place operators (+= and friends, add_ and friends) return self.
template <typename F>
void def_inplace(TensorClass& cls, const char* name, F f, bool not_implemented_on_mismatch) {
  cls.def(name, [f, not_implemented_on_mismatch, name](Tensor self, py::handle other) -> py::object {
    std::optional<Tensor> o = to_operand(other, self);
    if (!o) {
      if (not_implemented_on_mismatch) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
      throw py::type_error(detail::cat(name, "(): argument 'other' must be Tensor or Number, not ",
                                       Py_TYPE(other.ptr())->tp_name));
    }
    f(self, *o);
    return py::cast(self);
  });
}

py::object tolist_rec(const Tensor& t) {
  if (t.dim() == 0) {
    return GC_DISPATCH_ALL(t.dtype(), [&]() -> py::object { return py::cast(*t.data<scalar_t>()); });
  }
  py::list out(t.shape()[0]);
  for (int64_t i = 0; i < t.shape()[0]; ++i) out[i] = tolist_rec(select(t, 0, i));
  return out;
}

}  // namespace

void bind_tensor(py::module_& m) {
  m.def("where", [](const Tensor& cond, py::handle a, py::handle b) {
    // Numbers take the dtype of the tensor operand, as in PyTorch.
    std::optional<Tensor> x = is_tensor(a) ? std::optional<Tensor>(a.cast<Tensor>()) : std::nullopt;
    std::optional<Tensor> y = is_tensor(b) ? std::optional<Tensor>(b.cast<Tensor>()) : std::nullopt;
    const Tensor& like = x ? *x : y ? *y : cond;
    if (!x) x = to_operand(a, like);
    if (!y) y = to_operand(b, like);
    GC_CHECK_T(TypeError, x && y, "where(): input and other must be Tensors or Numbers");
    return where(cond, *x, *y);
  });

  TensorClass cls(m, "Tensor", py::dynamic_attr(), py::buffer_protocol());  // created here; see tensor_class()

  // ---- Metadata ----
  cls.def_property_readonly("shape", [](const Tensor& t) { return make_size(t.shape()); })
      .def("size", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return make_size(t.shape());
        return py::int_(t.size(dim.cast<int64_t>()));
      }, py::arg("dim") = py::none())
      .def("dim", [](const Tensor& t) { return t.dim(); })
      .def("ndimension", [](const Tensor& t) { return t.dim(); })
      .def_property_readonly("ndim", [](const Tensor& t) { return t.dim(); })
      .def("numel", [](const Tensor& t) { return t.numel(); })
      .def("nelement", [](const Tensor& t) { return t.numel(); })
      .def_property_readonly("dtype", [](const Tensor& t) { return t.dtype(); })
      .def_property_readonly("device", [](const Tensor&) { return py::str("cpu"); })
      .def_property_readonly("is_cuda", [](const Tensor&) { return false; })
      .def("is_floating_point", [](const Tensor& t) { return is_floating(t.dtype()); })
      .def("stride", [](const Tensor& t, py::object dim) -> py::object {
        if (dim.is_none()) return py::tuple(py::cast(t.strides()));
        return py::int_(t.strides()[wrap_dim(dim.cast<int64_t>(), t.dim(), "stride")]);
      }, py::arg("dim") = py::none())
      .def("storage_offset", [](const Tensor& t) { return t.storage_offset(); })
      .def("is_contiguous", [](const Tensor& t) { return t.is_contiguous(); })
      .def("element_size", [](const Tensor& t) { return itemsize(t.dtype()); })
      .def("data_ptr", [](const Tensor& t) { return reinterpret_cast<uintptr_t>(t.raw_data()); })
      .def_property_readonly("_version", [](const Tensor& t) { return t.version(); })
      .def("item", [](const Tensor& t) -> py::object {
        GC_CHECK(t.numel() == 1, "a Tensor with ", t.numel(), " elements cannot be converted to Scalar");
        return GC_DISPATCH_ALL(t.dtype(), [&]() -> py::object { return py::cast(*t.data<scalar_t>()); });
      })
      .def("tolist", [](const Tensor& t) { return tolist_rec(t); })
      .def("__len__", [](const Tensor& t) {
        GC_CHECK_T(TypeError, t.dim() > 0, "len() of a 0-d tensor");
        return t.shape()[0];
      })
      .def("__bool__", [](const Tensor& t) {
        GC_CHECK(t.numel() == 1, "Boolean value of Tensor with more than one value is ambiguous");
        return t.item() != 0;
      })
      .def("__float__", [](const Tensor& t) {
        GC_CHECK_T(ValueError, t.numel() == 1, "only one element tensors can be converted to Python scalars");
        return t.item();
      })
      .def("__int__", [](const Tensor& t) {
        GC_CHECK_T(ValueError, t.numel() == 1, "only one element tensors can be converted to Python scalars");
        return static_cast<int64_t>(t.item());
      })
      .def("__hash__", [](py::handle self) { return reinterpret_cast<intptr_t>(self.ptr()); });

  // ---- Autograd state ----
  cls.def_property("requires_grad", [](const Tensor& t) { return t.requires_grad(); }, [](Tensor& t, bool v) {
        GC_CHECK(t.is_leaf(), "you can only change requires_grad flags of leaf variables.");
        t.set_requires_grad(v);
      })
      .def("requires_grad_", [](Tensor t, bool v) {
        t.set_requires_grad(v);
        return t;
      }, py::arg("requires_grad") = true)
      .def_property_readonly("is_leaf", [](const Tensor& t) { return t.is_leaf(); })
      .def_property_readonly("grad_fn", [](const Tensor& t) { return t.grad_fn(); })
      .def_property("grad", [](const Tensor& t) -> py::object {
        if (!t.is_leaf() && !t.retains_grad() && !t.grad().defined() && PyErr_WarnEx(PyExc_UserWarning,
                       "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                       "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                       "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor.",
                       1) < 0)
          throw py::error_already_set();  // warnings configured as errors
        return py::cast(t.grad());
      }, [](Tensor& t, py::object g) {
        if (g.is_none()) return t.set_grad(Tensor());
        GC_CHECK_T(TypeError, is_tensor(g), "assigned grad expected to be a Tensor or None but got grad of type ",
                   Py_TYPE(g.ptr())->tp_name);
        t.set_grad(g.cast<Tensor>());
      })
      .def("retain_grad", [](Tensor t) { t.retain_grad(); })
      .def_property_readonly("retains_grad", [](const Tensor& t) { return t.retains_grad(); })
      .def("detach", [](const Tensor& t) { return t.detach(); })
      .def("detach_", [](Tensor t) { return t.detach_(); })
      .def_property("data", [](const Tensor& t) {
        // Like PyTorch's .data: shares storage but not the version counter, so autograd won't notice.
        auto impl = std::make_shared<TensorImpl>(t.storage(), t.dtype(), t.shape(), t.strides(), t.storage_offset(),
                                                 std::make_shared<VersionCounter>());
        return Tensor(std::move(impl));
      }, [](Tensor& t, const Tensor& src) {
        TensorImpl* d = t.impl();
        GC_CHECK(!t.requires_grad() || is_floating(src.dtype()), "data set to a tensor that requires gradients must "
                 "be floating point");
        // Keep counting this tensor's versions, but in a counter of its own: the default one lives in
        // the old storage and would keep that storage's memory alive.
        auto own = std::make_shared<VersionCounter>();
        own->value.store(t.version());
        d->storage = src.storage();
        d->version = std::move(own);
        d->sizes = src.shape();
        d->strides = src.strides();
        d->offset = src.storage_offset();
        d->dtype = src.dtype();
        d->refresh_geometry();
      });

  // ---- Arithmetic ----
  def_binary(cls, "__add__", [](const Tensor& a, const Tensor& b) { return add(a, b); });
  def_binary(cls, "__radd__", [](const Tensor& a, const Tensor& b) { return add(a, b); }, true);
  def_binary(cls, "__sub__", [](const Tensor& a, const Tensor& b) { return sub(a, b); });
  def_binary(cls, "__mul__", [](const Tensor& a, const Tensor& b) { return mul(a, b); });
  def_binary(cls, "__rmul__", [](const Tensor& a, const Tensor& b) { return mul(a, b); }, true);
  def_binary(cls, "__truediv__", [](const Tensor& a, const Tensor& b) { return div(a, b); });
  // `n / x` is reciprocal(x) * n, as in PyTorch (so its grad_fn is MulBackward0).
  cls.def("__rtruediv__", [](const Tensor& self, py::handle other) -> py::object {
    if (is_tensor(other)) return py::cast(div(other.cast<Tensor>(), self));
    Scalar s;
    if (!to_scalar(other, s)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(mul(reciprocal(self), s));
  });
  def_binary(cls, "__eq__", [](const Tensor& a, const Tensor& b) { return eq(a, b); });
  def_binary(cls, "__ne__", [](const Tensor& a, const Tensor& b) { return ne(a, b); });
  def_binary(cls, "__lt__", [](const Tensor& a, const Tensor& b) { return lt(a, b); });
  def_binary(cls, "__le__", [](const Tensor& a, const Tensor& b) { return le(a, b); });
  def_binary(cls, "__gt__", [](const Tensor& a, const Tensor& b) { return gt(a, b); });
  def_binary(cls, "__ge__", [](const Tensor& a, const Tensor& b) { return ge(a, b); });
  // `2 - x` is rsub (RsubBackward1) and `2 ** x` is pow with a scalar base (PowBackward2), as in PyTorch.
  cls.def("__rsub__", [](const Tensor& self, py::handle other) -> py::object {
    if (is_tensor(other)) return py::cast(sub(other.cast<Tensor>(), self));
    Scalar s;
    if (!to_scalar(other, s)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(rsub(self, s));
  });
  cls.def("__pow__", [](const Tensor& self, py::handle other, py::object) -> py::object {
    if (is_tensor(other)) return py::cast(pow(self, other.cast<Tensor>()));
    Scalar s;
    if (!to_scalar(other, s)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(pow(self, s));
  }, py::arg("other"), py::arg("modulo") = py::none());
  cls.def("__rpow__", [](const Tensor& self, py::handle other) -> py::object {
    Scalar s;
    if (!to_scalar(other, s)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
    return py::cast(pow(s, self));
  });
  def_binary(cls, "__floordiv__", [](const Tensor& a, const Tensor& b) { return floor_divide(a, b); });
  def_binary(cls, "__rfloordiv__", [](const Tensor& a, const Tensor& b) { return floor_divide(a, b); }, true);
  def_binary(cls, "__mod__", [](const Tensor& a, const Tensor& b) { return remainder(a, b); });
  def_binary(cls, "__rmod__", [](const Tensor& a, const Tensor& b) { return remainder(a, b); }, true);
  def_binary(cls, "__and__", [](const Tensor& a, const Tensor& b) { return bitwise_and(a, b); });
  def_binary(cls, "__rand__", [](const Tensor& a, const Tensor& b) { return bitwise_and(a, b); }, true);
  def_binary(cls, "__or__", [](const Tensor& a, const Tensor& b) { return bitwise_or(a, b); });
  def_binary(cls, "__ror__", [](const Tensor& a, const Tensor& b) { return bitwise_or(a, b); }, true);
  def_binary(cls, "__xor__", [](const Tensor& a, const Tensor& b) { return bitwise_xor(a, b); });
  def_binary(cls, "__rxor__", [](const Tensor& a, const Tensor& b) { return bitwise_xor(a, b); }, true);
  cls.def("__invert__", [](const Tensor& t) { return bitwise_not(t); });
  cls.def("__neg__", [](const Tensor& t) { return neg(t); });
  cls.def("__pos__", [](const Tensor& t) { return t; });

  def_inplace(cls, "__iadd__", [](Tensor& a, const Tensor& b) { add_(a, b); }, true);
  def_inplace(cls, "__isub__", [](Tensor& a, const Tensor& b) { sub_(a, b); }, true);
  def_inplace(cls, "__imul__", [](Tensor& a, const Tensor& b) { mul_(a, b); }, true);
  def_inplace(cls, "__itruediv__", [](Tensor& a, const Tensor& b) { div_(a, b); }, true);
  // In-place forms of the integer and logical operators: computed out of place, then written back.
  auto write_back = [](Tensor& a, const Tensor& r, const char* op) {
    internal::check_inplace_cast(r.dtype(), a, op);
    copy_(a, r);
  };
  def_inplace(cls, "__ifloordiv__", [=](Tensor& a, const Tensor& b) { write_back(a, floor_divide(a, b), "floor_divide_"); }, true);
  def_inplace(cls, "__imod__", [=](Tensor& a, const Tensor& b) { write_back(a, remainder(a, b), "remainder_"); }, true);
  def_inplace(cls, "__iand__", [=](Tensor& a, const Tensor& b) { write_back(a, bitwise_and(a, b), "bitwise_and_"); }, true);
  def_inplace(cls, "__ior__", [=](Tensor& a, const Tensor& b) { write_back(a, bitwise_or(a, b), "bitwise_or_"); }, true);
  def_inplace(cls, "__ixor__", [=](Tensor& a, const Tensor& b) { write_back(a, bitwise_xor(a, b), "bitwise_xor_"); }, true);
  def_inplace(cls, "mul_", [](Tensor& a, const Tensor& b) { mul_(a, b); }, false);
  def_inplace(cls, "div_", [](Tensor& a, const Tensor& b) { div_(a, b); }, false);

  // ---- Methods mirroring the functions ----
  auto operand = [](py::handle other, const Tensor& like, const char* op) {
    std::optional<Tensor> o = to_operand(other, like);
    GC_CHECK_T(TypeError, o.has_value(), op, "(): argument 'other' must be Tensor or Number, not ",
               Py_TYPE(other.ptr())->tp_name);
    return *o;
  };
  auto scalar_arg = [](py::handle h, const char* what) {
    Scalar s;
    GC_CHECK_T(TypeError, to_scalar(h, s), what, " must be a Number, not ", Py_TYPE(h.ptr())->tp_name);
    return s;
  };
  cls.def("add", [=](const Tensor& a, py::handle b, py::handle alpha) { return add(a, operand(b, a, "add"), scalar_arg(alpha, "alpha")); },
          py::arg("other"), py::kw_only(), py::arg("alpha") = 1)
      .def("sub", [=](const Tensor& a, py::handle b, py::handle alpha) { return sub(a, operand(b, a, "sub"), scalar_arg(alpha, "alpha")); },
           py::arg("other"), py::kw_only(), py::arg("alpha") = 1)
      .def("add_", [=](Tensor a, py::handle b, py::handle alpha) { return add_(a, operand(b, a, "add_"), scalar_arg(alpha, "alpha")); },
           py::arg("other"), py::kw_only(), py::arg("alpha") = 1)
      .def("sub_", [=](Tensor a, py::handle b, py::handle alpha) { return sub_(a, operand(b, a, "sub_"), scalar_arg(alpha, "alpha")); },
           py::arg("other"), py::kw_only(), py::arg("alpha") = 1)
      .def("mul", [=](const Tensor& a, py::handle b) { return mul(a, operand(b, a, "mul")); })
      .def("div", [=](const Tensor& a, py::handle b, std::optional<std::string> rounding_mode) {
        Tensor o = operand(b, a, "div");
        return rounding_mode ? div(a, o, *rounding_mode) : div(a, o);
      }, py::arg("other"), py::kw_only(), py::arg("rounding_mode") = py::none())
      .def("floor_divide", [=](const Tensor& a, py::handle b) { return floor_divide(a, operand(b, a, "floor_divide")); })
      .def("remainder", [=](const Tensor& a, py::handle b) { return remainder(a, operand(b, a, "remainder")); })
      .def("fmod", [=](const Tensor& a, py::handle b) { return fmod(a, operand(b, a, "fmod")); })
      .def("bitwise_not", [](const Tensor& a) { return bitwise_not(a); })
      .def("bitwise_and", [=](const Tensor& a, py::handle b) { return bitwise_and(a, operand(b, a, "bitwise_and")); })
      .def("bitwise_or", [=](const Tensor& a, py::handle b) { return bitwise_or(a, operand(b, a, "bitwise_or")); })
      .def("bitwise_xor", [=](const Tensor& a, py::handle b) { return bitwise_xor(a, operand(b, a, "bitwise_xor")); })
      .def("logical_not", [](const Tensor& a) { return logical_not(a); })
      .def("isnan", [](const Tensor& a) { return isnan(a); })
      .def("isinf", [](const Tensor& a) { return isinf(a); })
      .def("isfinite", [](const Tensor& a) { return isfinite(a); })
      .def("square", [](const Tensor& a) { return pow(a, Scalar(2)); })
      .def("logical_and", [=](const Tensor& a, py::handle b) { return logical_and(a, operand(b, a, "logical_and")); })
      .def("logical_or", [=](const Tensor& a, py::handle b) { return logical_or(a, operand(b, a, "logical_or")); })
      .def("logical_xor", [=](const Tensor& a, py::handle b) { return logical_xor(a, operand(b, a, "logical_xor")); })
      .def("pow", [=](const Tensor& a, py::handle b) {
        Scalar s;
        return to_scalar(b, s) ? pow(a, s) : pow(a, operand(b, a, "pow"));
      })
      .def("neg", [](const Tensor& a) { return neg(a); })
      .def("exp", [](const Tensor& a) { return exp(a); })
      .def("reciprocal", [](const Tensor& a) { return reciprocal(a); })
      .def("log", [](const Tensor& a) { return log(a); })
      .def("sqrt", [](const Tensor& a) { return sqrt(a); })
      .def("eq", [=](const Tensor& a, py::handle b) { return eq(a, operand(b, a, "eq")); })
      .def("ne", [=](const Tensor& a, py::handle b) { return ne(a, operand(b, a, "ne")); })
      .def("lt", [=](const Tensor& a, py::handle b) { return lt(a, operand(b, a, "lt")); })
      .def("le", [=](const Tensor& a, py::handle b) { return le(a, operand(b, a, "le")); })
      .def("gt", [=](const Tensor& a, py::handle b) { return gt(a, operand(b, a, "gt")); })
      .def("ge", [=](const Tensor& a, py::handle b) { return ge(a, operand(b, a, "ge")); })
      .def("zero_", [](Tensor a) { return zero_(a); })
      .def("fill_", [=](Tensor a, py::handle v) {
        if (is_tensor(v)) {
          Tensor t = v.cast<Tensor>();
          GC_CHECK(t.dim() == 0, "fill_ only supports 0-dimension value tensor but got tensor with ", t.dim(), " dimensions.");
          if (t.requires_grad()) return copy_(a, t);  // keeps the value in the graph (its gradient is the sum)
          return fill_(a, Scalar(t.item()));
        }
        return fill_(a, scalar_arg(v, "fill_(): argument 'value'"));
      })
      .def("copy_", [](Tensor a, const Tensor& src) { return copy_(a, src); })
      .def("clone", [](const Tensor& a) { return clone(a); })
      .def("contiguous", [](const Tensor& a) { return contiguous(a); })
      .def("expand", [](const Tensor& a, py::args sizes) { return expand(a, parse_size(sizes, "expand")); })
      .def("view", [](const Tensor& a, py::args sizes) { return view(a, parse_size(sizes, "view")); })
      .def("reshape", [](const Tensor& a, py::args sizes) { return reshape(a, parse_size(sizes, "reshape")); })
      .def("select", [](const Tensor& a, int64_t dim, int64_t index) { return select(a, dim, index); })
      // to(dtype), to(device), to(device, dtype), to(other): only the CPU exists, so devices are checked and kept.
      .def("to", [](const Tensor& a, py::args args, py::kwargs kwargs) {
        std::optional<DType> target;
        bool copy = false;
        auto take = [&](py::handle h) {
          if (auto t = dtype_from_object(h)) {
            target = t;
          } else if (is_tensor(h)) {
            target = h.cast<Tensor>().dtype();
          } else if (py::isinstance<py::str>(h) || py::hasattr(h, "type")) {
            std::string dev = py::str(h);
            GC_CHECK(dev == "cpu" || dev.rfind("cpu:", 0) == 0, "to(): gradcore runs on the CPU only, got device '",
                     dev, "'");
          } else if (!h.is_none()) {
            throw TypeError(detail::cat("to() received an invalid combination of arguments - got ",
                                        Py_TYPE(h.ptr())->tp_name));
          }
        };
        for (py::handle h : args) take(h);
        for (auto [k, v] : kwargs) {
          std::string key = py::str(k);
          if (key == "dtype" || key == "device") take(v);
          else if (key == "copy") copy = v.cast<bool>();
          else if (key != "non_blocking" && key != "memory_format")
            throw TypeError("to() got an unexpected keyword argument '" + key + "'");
        }
        DType t = target.value_or(a.dtype());
        if (copy && t == a.dtype()) return clone(a);
        return to_dtype(a, t);
      })
      .def("type_as", [](const Tensor& a, const Tensor& b) { return to_dtype(a, b.dtype()); })
      .def("float", [](const Tensor& a) { return to_dtype(a, DType::Float32); })
      .def("double", [](const Tensor& a) { return to_dtype(a, DType::Float64); })
      .def("long", [](const Tensor& a) { return to_dtype(a, DType::Int64); })
      .def("bool", [](const Tensor& a) { return to_dtype(a, DType::Bool); })
      .def("cpu", [](const Tensor& a) { return a; });
}

}  // namespace gradcore::python

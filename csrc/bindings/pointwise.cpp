// Pointwise math and activations: Tensor methods (and their in-place forms), plus the module-level
// gelu / silu that gradcore.nn.functional calls.
#include "bindings/common.h"

namespace gradcore::python {

namespace {

// A clamp bound: None, a Tensor or a Python number.
struct Bound {
  std::optional<Tensor> tensor;
  std::optional<Scalar> number;
  bool none() const { return !tensor && !number; }
};

Bound parse_bound(py::handle h, const char* op, const char* arg) {
  Bound b;
  if (h.is_none()) return b;
  if (is_tensor(h)) {
    b.tensor = h.cast<Tensor>();
    return b;
  }
  Scalar s;
  GC_CHECK_T(TypeError, to_scalar(h, s), op, "(): argument '", arg, "' must be Tensor or Number, not ",
             Py_TYPE(h.ptr())->tp_name);
  b.number = s;
  return b;
}

// A bound as a tensor for the tensor overload (numbers wrapped like Python operands; None undefined).
Tensor bound_tensor(const Bound& b, const Tensor& like) {
  if (b.tensor) return *b.tensor;
  if (b.number) return wrapped_scalar(*b.number, like);
  return Tensor();
}

// clamp / clamp_ with number bounds, tensor bounds, or a mix (any tensor selects the tensor overload).
template <typename ScalarFn, typename TensorFn>
Tensor clamp_dispatch(const Tensor& a, py::handle min, py::handle max, const char* op, ScalarFn on_scalars,
                      TensorFn on_tensors) {
  Bound lo = parse_bound(min, op, "min"), hi = parse_bound(max, op, "max");
  if (lo.tensor || hi.tensor) return on_tensors(bound_tensor(lo, a), bound_tensor(hi, a));
  return on_scalars(lo.number, hi.number);
}

Tensor tensor_arg(py::handle h, const char* op, const char* arg, int position) {
  GC_CHECK_T(TypeError, is_tensor(h), op, "(): argument '", arg, "' (position ", position, ") must be Tensor, not ",
             Py_TYPE(h.ptr())->tp_name);
  return h.cast<Tensor>();
}

}  // namespace

void bind_pointwise(py::module_& m) {
  TensorClass cls = tensor_class(m);

  // Unary ops: method and in-place method.
  using Unary = Tensor (*)(const Tensor&);
  using UnaryInplace = Tensor& (*)(Tensor&);
  struct Entry {
    const char* name;
    Unary fn;
    const char* inplace_name;
    UnaryInplace inplace;
  };
  static const Entry unary[] = {
      {"exp2", exp2, "exp2_", exp2_},       {"log2", log2, "log2_", log2_},       {"log1p", log1p, "log1p_", log1p_},
      {"expm1", expm1, "expm1_", expm1_},   {"rsqrt", rsqrt, "rsqrt_", rsqrt_},   {"sin", sin, "sin_", sin_},
      {"cos", cos, "cos_", cos_},           {"tan", tan, "tan_", tan_},           {"tanh", tanh, "tanh_", tanh_},
      {"sigmoid", sigmoid, "sigmoid_", sigmoid_}, {"erf", erf, "erf_", erf_},    {"relu", relu, "relu_", relu_},
      {"abs", abs, "abs_", abs_},           {"sign", sign, "sign_", sign_},       {"floor", floor, "floor_", floor_},
      {"ceil", ceil, "ceil_", ceil_},       {"absolute", abs, "absolute_", abs_}, {"exp", nullptr, "exp_", exp_},
  };
  for (const Entry& e : unary) {
    if (e.fn) cls.def(e.name, [f = e.fn](const Tensor& a) { return f(a); });
    cls.def(e.inplace_name, [f = e.inplace](Tensor a) { return f(a); });
  }
  cls.def("__abs__", [](const Tensor& a) { return abs(a); });
  cls.def("round", [](const Tensor& a, int64_t decimals) { return round(a, decimals); }, py::kw_only(),
          py::arg("decimals") = 0);
  cls.def("round_", [](Tensor a, int64_t decimals) { return round_(a, decimals); }, py::kw_only(),
          py::arg("decimals") = 0);

  // clamp / clip (number or tensor bounds) and clamp_min / clamp_max.
  for (const char* name : {"clamp", "clip"}) {
    cls.def(name, [name](const Tensor& a, py::handle min, py::handle max) {
      return clamp_dispatch(a, min, max, name, [&](auto lo, auto hi) { return clamp(a, lo, hi); },
                            [&](const Tensor& lo, const Tensor& hi) { return clamp(a, lo, hi); });
    }, py::arg("min") = py::none(), py::arg("max") = py::none());
  }
  for (const char* name : {"clamp_", "clip_"}) {
    cls.def(name, [name](Tensor a, py::handle min, py::handle max) {
      return clamp_dispatch(a, min, max, name, [&](auto lo, auto hi) { return clamp_(a, lo, hi); },
                            [&](const Tensor& lo, const Tensor& hi) { return clamp_(a, lo, hi); });
    }, py::arg("min") = py::none(), py::arg("max") = py::none());
  }
  cls.def("clamp_min", [](const Tensor& a, py::handle min) {
    Bound b = parse_bound(min, "clamp_min", "min");
    GC_CHECK_T(TypeError, !b.none(), "clamp_min(): argument 'min' must be Tensor or Number, not NoneType");
    return b.tensor ? clamp_min(a, *b.tensor) : clamp_min(a, *b.number);
  }, py::arg("min"));
  cls.def("clamp_max", [](const Tensor& a, py::handle max) {
    Bound b = parse_bound(max, "clamp_max", "max");
    GC_CHECK_T(TypeError, !b.none(), "clamp_max(): argument 'max' must be Tensor or Number, not NoneType");
    return b.tensor ? clamp_max(a, *b.tensor) : clamp_max(a, *b.number);
  }, py::arg("max"));

  // maximum / minimum: tensor operands only, as in PyTorch.
  cls.def("maximum", [](const Tensor& a, py::handle other) { return maximum(a, tensor_arg(other, "maximum", "other", 2)); },
          py::arg("other"));
  cls.def("minimum", [](const Tensor& a, py::handle other) { return minimum(a, tensor_arg(other, "minimum", "other", 2)); },
          py::arg("other"));

  // lerp(end, weight): weight a number or a tensor.
  auto lerp_weight = [](py::handle weight) {
    Bound w = parse_bound(weight, "lerp", "weight");
    GC_CHECK_T(TypeError, !w.none(), "lerp(): argument 'weight' must be Tensor or Number, not NoneType");
    return w;
  };
  cls.def("lerp", [=](const Tensor& a, py::handle end, py::handle weight) {
    Tensor e = tensor_arg(end, "lerp", "end", 2);
    Bound w = lerp_weight(weight);
    return w.tensor ? lerp(a, e, *w.tensor) : lerp(a, e, *w.number);
  }, py::arg("end"), py::arg("weight"));
  cls.def("lerp_", [=](Tensor a, py::handle end, py::handle weight) {
    Tensor e = tensor_arg(end, "lerp_", "end", 1);
    Bound w = lerp_weight(weight);
    return w.tensor ? lerp_(a, e, *w.tensor) : lerp_(a, e, *w.number);
  }, py::arg("end"), py::arg("weight"));

  // Activations PyTorch keeps in torch.nn.functional (no Tensor method): module-level functions.
  m.def("gelu", [](const Tensor& a, const std::string& approximate) { return gelu(a, approximate); }, py::arg("input"),
        py::kw_only(), py::arg("approximate") = "none");
  m.def("silu", [](const Tensor& a) { return silu(a); }, py::arg("input"));
  m.def("silu_", [](Tensor a) { return silu_(a); }, py::arg("input"));
}

}  // namespace gradcore::python

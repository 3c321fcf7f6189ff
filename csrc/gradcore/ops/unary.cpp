// Pointwise math and activations. Each op's forward kernel and its backward formula sit together in
// one block. The unary ops share one generic node (UnaryBackward: a name, a formula and one saved
// tensor), so each is a few lines; ops with more inputs have their own nodes.
#include <cmath>
#include <string>

#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {

using internal::cast;

// ---- Shared machinery ----------------------------------------------------------------------------

/// A backward formula: the gradient of the input from the output's gradient and the saved tensor.
using GradFormula = Tensor (*)(const Tensor& grad, const Tensor& saved);

/// What a unary op's backward formula needs saved besides the gradient.
enum class Save { Nothing, Input, Result };

struct UnaryBackward : Node {
  const char* node_name;
  GradFormula formula;
  SavedTensor saved;
  UnaryBackward(const char* n, GradFormula f) : node_name(n), formula(f) {}
  std::string name() const override { return node_name; }
  TensorList apply(TensorList&& g) override { return {formula(g[0], saved.unpack(this))}; }
  void release_saved() override { saved.release(); }
};

/// Makes `out = op(a)` part of the graph (when `a` requires grad) with backward `formula`.
Tensor record(const Tensor& a, Tensor out, const char* node_name, Save save, GradFormula formula) {
  if (auto node = make_node<UnaryBackward>({a}, node_name, formula)) {
    if (save == Save::Input) node->save("self", node->saved, a, false);
    if (save == Save::Result) node->save("result", node->saved, out, true);
    set_history({out}, node);
  }
  return out;
}

/// A floating-point math op (integer and bool inputs promote to float32).
template <typename F>
Tensor float_op(const Tensor& a, const char* op, const char* node, Save save, F f, GradFormula formula) {
  return record(a, internal::unary_float_kernel(a, op, f), node, save, formula);
}

/// float_op whose contiguous float32/float64 inputs run a vectorised kernel (kernels/vec_math.h).
template <typename F>
Tensor float_op_vec(const Tensor& a, const char* op, const char* node, Save save, internal::VecUnary vec, F f,
                    GradFormula formula) {
  return record(a, internal::unary_float_kernel_vec(a, op, vec, f), node, save, formula);
}

/// f(a) elementwise in a's own dtype (`f` is generic: it sees bool, int64_t, float and double).
template <typename F>
Tensor same_dtype_kernel(const Tensor& a, F f) {
  Tensor out = empty(a.shape(), a.dtype());
  GC_DISPATCH_ALL(a.dtype(), [&] {
    kernels::unary_loop<scalar_t, scalar_t>(out, a, [&](scalar_t x) { return static_cast<scalar_t>(f(x)); });
  });
  return out;
}

void check_not_bool(const Tensor& a, const char* op, const char* kernel) {
  GC_CHECK(a.dtype() != DType::Bool, "[", op, "] \"", kernel, "\" not implemented for 'Bool'");
}

void check_floating(const Tensor& a, const char* op, const char* kernel) {
  GC_CHECK(is_floating(a.dtype()), "[", op, "] \"", kernel, "\" not implemented for '", scalar_type_name(a.dtype()), "'");
}

template <typename T>
bool is_nan(T x) {
  return x != x;
}
// max / min that propagate NaN from either side, like torch.maximum / torch.minimum.
template <typename T>
T max_nan(T a, T b) {
  return is_nan(a) ? a : is_nan(b) ? b : (a < b ? b : a);
}
template <typename T>
T min_nan(T a, T b) {
  return is_nan(a) ? a : is_nan(b) ? b : (b < a ? b : a);
}

Tensor zero_like_grad(const Tensor& g, const Tensor&) { return zeros(g.shape(), g.dtype()); }
Tensor zero_scalar(const Tensor& g) { return zeros({}, g.dtype()); }
/// Elementwise a && b (or a || b) of two bool masks, broadcast.
Tensor mask_and(const Tensor& a, const Tensor& b) {
  return internal::binary_kernel(a, b, DType::Bool, DType::Bool, "mask", [](auto x, auto y) { return x && y; });
}
Tensor mask_or(const Tensor& a, const Tensor& b) {
  return internal::binary_kernel(a, b, DType::Bool, DType::Bool, "mask", [](auto x, auto y) { return x || y; });
}

/// In-place form of a unary op: `fn(self)` out of place, written back into self (see internal::inplace).
template <typename Fn>
Tensor& unary_inplace(Tensor& self, const TensorList& others, const char* op, DType result, Fn fn) {
  internal::check_inplace_cast(result, self, op);
  auto kernel = [&] {
    Tensor r = fn(self);
    GC_CHECK(r.shape() == self.shape(), "[", op, "] output with shape ", shape_str(self.shape()),
             " doesn't match the broadcast shape ", shape_str(r.shape()));
    internal::copy_into(self, r);
  };
  return internal::inplace(self, others, op, kernel, fn);
}
DType float_result(const Tensor& a) { return is_floating(a.dtype()) ? a.dtype() : DType::Float32; }

constexpr double kLn2 = 0.69314718055994530942;
constexpr double k2OverSqrtPi = 1.12837916709551257390;  // M_2_SQRTPI
constexpr double kSqrt1_2 = 0.70710678118654752440;      // M_SQRT1_2
constexpr double kSqrt2 = 1.41421356237309504880;        // M_SQRT2

}  // namespace

// ---- Floating-point math (integers promote to float32) ---------------------------------------------

Tensor exp2(const Tensor& a) {
  return float_op(a, "exp2", "Exp2Backward0", Save::Result, [](auto x) { return std::exp2(x); },
                  [](const Tensor& g, const Tensor& r) { return mul(mul(g, r), kLn2); });
}

Tensor log2(const Tensor& a) {
  return float_op(a, "log2", "Log2Backward0", Save::Input, [](auto x) { return std::log2(x); },
                  [](const Tensor& g, const Tensor& x) { return div(g, mul(x, kLn2)); });
}

Tensor log1p(const Tensor& a) {
  return float_op(a, "log1p", "Log1PBackward0", Save::Input, [](auto x) { return std::log1p(x); },
                  [](const Tensor& g, const Tensor& x) { return div(g, add(x, 1)); });
}

Tensor expm1(const Tensor& a) {
  return float_op(a, "expm1", "Expm1Backward0", Save::Result, [](auto x) { return std::expm1(x); },
                  [](const Tensor& g, const Tensor& r) { return mul(g, add(r, 1)); });
}

Tensor rsqrt(const Tensor& a) {
  return float_op(a, "rsqrt", "RsqrtBackward0", Save::Result, [](auto x) { return decltype(x)(1) / std::sqrt(x); },
                  [](const Tensor& g, const Tensor& r) { return mul(mul(g, pow(r, 3)), -0.5); });
}

Tensor sin(const Tensor& a) {
  return float_op(a, "sin", "SinBackward0", Save::Input, [](auto x) { return std::sin(x); },
                  [](const Tensor& g, const Tensor& x) { return mul(g, cos(x)); });
}

Tensor cos(const Tensor& a) {
  return float_op(a, "cos", "CosBackward0", Save::Input, [](auto x) { return std::cos(x); },
                  [](const Tensor& g, const Tensor& x) { return mul(g, neg(sin(x))); });
}

Tensor tan(const Tensor& a) {
  return float_op(a, "tan", "TanBackward0", Save::Result, [](auto x) { return std::tan(x); },
                  [](const Tensor& g, const Tensor& r) { return mul(g, add(mul(r, r), 1)); });
}

Tensor tanh(const Tensor& a) {
  return float_op_vec(a, "tanh", "TanhBackward0", Save::Result, {kernels::vec::tanh, kernels::vec::tanh},
                      [](auto x) { return std::tanh(x); },
                  [](const Tensor& g, const Tensor& r) { return mul(g, rsub(mul(r, r), 1)); });
}

Tensor sigmoid(const Tensor& a) {
  return float_op_vec(a, "sigmoid", "SigmoidBackward0", Save::Result, {kernels::vec::sigmoid, kernels::vec::sigmoid},
                  [](auto x) {
                    using T = decltype(x);
                    return T(1) / (T(1) + std::exp(-x));
                  },
                  [](const Tensor& g, const Tensor& r) { return mul(mul(g, rsub(r, 1)), r); });
}

Tensor erf(const Tensor& a) {
  return float_op(a, "erf", "ErfBackward0", Save::Input, [](auto x) { return std::erf(x); },
                  [](const Tensor& g, const Tensor& x) { return mul(mul(exp(neg(mul(x, x))), k2OverSqrtPi), g); });
}

// ---- Ops that keep the input dtype -------------------------------------------------------------------

Tensor relu(const Tensor& a) {
  GC_CHECK(a.dtype() != DType::Bool, "[relu] Boolean inputs not supported for relu");
  // x < 0 ? 0 : x keeps NaN and -0.0 as PyTorch does; the gradient passes where the result is not <= 0.
  return record(a, same_dtype_kernel(a, [](auto x) { using T = decltype(x); return x < T(0) ? T(0) : x; }), "ReluBackward0",
                Save::Result, [](const Tensor& g, const Tensor& r) {
                  // Plain backward: one fused pass (PyTorch's threshold_backward). Building a graph
                  // (create_graph): differentiable ops, so the gradient can be differentiated again.
                  if (!GradMode::is_enabled() && g.dtype() == r.dtype())
                    return internal::binary_kernel(g, r, g.dtype(), g.dtype(), "relu", [](auto gv, auto rv) {
                      using T = decltype(gv);
                      return !(rv <= decltype(rv)(0)) ? gv : T(0);
                    });
                  Tensor pass = internal::binary_kernel(r, zero_scalar(r), r.dtype(), DType::Bool, "relu",
                                                        [](auto x, auto z) { return !(x <= z); });
                  return where(pass, g, zero_scalar(g));
                });
}

Tensor abs(const Tensor& a) {
  check_not_bool(a, "abs", "abs_cpu");
  return record(a, same_dtype_kernel(a, [](auto x) {
                  if constexpr (std::is_floating_point_v<decltype(x)>) return std::abs(x);
                  else return x < decltype(x)(0) ? -x : x;
                }),
                "AbsBackward0", Save::Input, [](const Tensor& g, const Tensor& x) { return mul(g, sign(x)); });
}

Tensor sign(const Tensor& a) {
  // (0 < x) - (x < 0): 0 for NaN and for both zeros; bool stays bool.
  return record(a, same_dtype_kernel(a, [](auto x) {
                  using T = decltype(x);
                  return static_cast<T>((T(0) < x) - (x < T(0)));
                }),
                "SignBackward0", Save::Nothing, zero_like_grad);
}

Tensor floor(const Tensor& a) {
  check_not_bool(a, "floor", "floor_vml_cpu");
  return record(a, same_dtype_kernel(a, [](auto x) {
                  if constexpr (std::is_floating_point_v<decltype(x)>) return std::floor(x);
                  else return x;
                }),
                "FloorBackward0", Save::Nothing, zero_like_grad);
}

Tensor ceil(const Tensor& a) {
  check_not_bool(a, "ceil", "ceil_vml_cpu");
  return record(a, same_dtype_kernel(a, [](auto x) {
                  if constexpr (std::is_floating_point_v<decltype(x)>) return std::ceil(x);
                  else return x;
                }),
                "CeilBackward0", Save::Nothing, zero_like_grad);
}

Tensor round(const Tensor& a, int64_t decimals) {
  check_not_bool(a, "round", decimals == 0 ? "round_vml_cpu" : "round_cpu");
  if (decimals == 0) {  // half to even (std::nearbyint in the default rounding mode)
    return record(a, same_dtype_kernel(a, [](auto x) {
                    if constexpr (std::is_floating_point_v<decltype(x)>) return std::nearbyint(x);
                    else return x;
                  }),
                  "RoundBackward0", Save::Nothing, zero_like_grad);
  }
  check_floating(a, "round", "round_cpu");
  // PyTorch's kernel: nearbyint(x * 10^d) / 10^d, or nearbyint(x / 10^-d) * 10^-d for negative d.
  bool negative = decimals < 0;
  double scale = std::pow(10.0, static_cast<double>(negative ? -decimals : decimals));
  Tensor out = empty(a.shape(), a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), "round", [&] {
    auto s = static_cast<scalar_t>(scale);
    kernels::unary_loop<scalar_t, scalar_t>(out, a, [&](scalar_t x) {
      return negative ? std::nearbyint(x / s) * s : std::nearbyint(x * s) / s;
    });
  });
  return record(a, out, "RoundBackward1", Save::Nothing, zero_like_grad);
}

// ---- clamp ---------------------------------------------------------------------------------------------
namespace {
// The gradient passes where lo <= x <= hi (inclusive; NaN x gets none), as in PyTorch's clamp_backward.
Tensor clamp_scalar_mask(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  Tensor mask = empty(x.shape(), DType::Bool);
  GC_DISPATCH_FLOATING(x.dtype(), "clamp", [&] {
    auto l = lo ? static_cast<scalar_t>(*lo) : scalar_t(0), h = hi ? static_cast<scalar_t>(*hi) : scalar_t(0);
    bool has_lo = lo.has_value(), has_hi = hi.has_value();
    kernels::unary_loop<bool, scalar_t>(mask, x, [=](scalar_t v) { return (!has_lo || v >= l) && (!has_hi || v <= h); });
  });
  return mask;
}

// clamp / clamp_min / clamp_max with number bounds share this node (the name tells them apart).
struct ClampScalarBackward : Node {
  const char* node_name;
  SavedTensor self;
  std::optional<double> lo, hi;
  ClampScalarBackward(const char* n, std::optional<double> l, std::optional<double> h) : node_name(n), lo(l), hi(h) {}
  std::string name() const override { return node_name; }
  TensorList apply(TensorList&& g) override {
    return {where(clamp_scalar_mask(self.unpack(this), lo, hi), g[0], zero_scalar(g[0]))};
  }
  void release_saved() override { self.release(); }
};

// clamp / clamp_min / clamp_max with tensor bounds (either may be undefined): PyTorch's
// clamp_backward_min_max. When min > max the result is max, so max gets the gradient.
struct ClampTensorBackward : Node {
  const char* node_name;
  SavedTensor self, min, max;
  explicit ClampTensorBackward(const char* n) : node_name(n) {}
  std::string name() const override { return node_name; }
  TensorList apply(TensorList&& grads) override {
    const Tensor& g = grads[0];
    Tensor x = self.unpack(this), lo = min.unpack(this), hi = max.unpack(this), zero = zero_scalar(g);
    TensorList r(3);
    if (lo.defined() && hi.defined()) {
      if (needs_grad(0)) r[0] = where(mask_and(ge(x, lo), le(x, hi)), g, zero);
      if (needs_grad(1)) r[1] = where(mask_and(lt(x, lo), lt(lo, hi)), g, zero);
      if (needs_grad(2)) r[2] = where(mask_or(gt(x, hi), lt(hi, lo)), g, zero);
    } else if (lo.defined()) {
      if (needs_grad(0)) r[0] = where(ge(x, lo), g, zero);
      if (needs_grad(1)) r[1] = where(lt(x, lo), g, zero);
    } else {
      if (needs_grad(0)) r[0] = where(le(x, hi), g, zero);
      if (needs_grad(2)) r[2] = where(gt(x, hi), g, zero);
    }
    return r;
  }
  void release_saved() override {
    self.release();
    min.release();
    max.release();
  }
};

const char* kClampNone = "At least one of 'min' or 'max' must not be None";

Tensor clamp_scalar_impl(const Tensor& a, std::optional<Scalar> min, std::optional<Scalar> max, const char* op,
                         const char* node_name) {
  GC_CHECK(min || max, "[", op, "] ", kClampNone);
  DType t = a.dtype();
  for (const auto& s : {min, max})
    if (s) t = result_type(scalar_tensor(0, t), *s);
  GC_CHECK(t != DType::Bool, "[", op, "] \"", max ? "clamp_scalar_cpu" : "clamp_min_scalar_cpu",
           "\" not implemented for 'Bool'");
  std::optional<double> lo, hi;
  if (min) lo = min->value;
  if (max) hi = max->value;
  Tensor x = a.dtype() == t ? a : cast(a, t);
  Tensor out = empty(a.shape(), t);
  GC_DISPATCH_ALL(t, [&] {
    auto l = static_cast<scalar_t>(lo.value_or(0)), h = static_cast<scalar_t>(hi.value_or(0));
    bool has_lo = lo.has_value(), has_hi = hi.has_value();
    kernels::unary_loop<scalar_t, scalar_t>(out, x, [=](scalar_t v) {
      if (has_lo) v = max_nan(v, l);
      if (has_hi) v = min_nan(v, h);
      return v;
    });
  });
  if (auto node = make_node<ClampScalarBackward>({a}, node_name, lo, hi)) {
    node->save("self", node->self, a, false);
    set_history({out}, node);
  }
  return out;
}

Tensor clamp_tensor_impl(const Tensor& a, const Tensor& min, const Tensor& max, const char* op, const char* node_name) {
  GC_CHECK(min.defined() || max.defined(), "[", op, "] ", kClampNone);
  TensorList operands{a};
  for (const Tensor& b : {min, max})
    if (b.defined()) operands.push_back(b);
  DType t = result_type(operands);
  Shape shape = a.shape();
  for (const Tensor& b : {min, max})
    if (b.defined()) shape = broadcast_shapes(shape, b.shape(), op);
  auto as_t = [t](const Tensor& u) { return !u.defined() || u.dtype() == t ? u : cast(u, t); };
  Tensor x = as_t(a), lo = as_t(min), hi = as_t(max);
  Tensor out = empty(shape, t);
  GC_DISPATCH_ALL(t, [&] {
    if (lo.defined() && hi.defined())
      kernels::ternary_loop<scalar_t, scalar_t, scalar_t, scalar_t>(
          out, x, lo, hi, [](scalar_t v, scalar_t l, scalar_t h) { return min_nan(max_nan(v, l), h); });
    else if (lo.defined())
      kernels::binary_loop<scalar_t, scalar_t, scalar_t>(out, x, lo, [](scalar_t v, scalar_t l) { return max_nan(v, l); });
    else
      kernels::binary_loop<scalar_t, scalar_t, scalar_t>(out, x, hi, [](scalar_t v, scalar_t h) { return min_nan(v, h); });
  });
  if (auto node = make_node<ClampTensorBackward>({a, min, max}, node_name)) {
    node->save("self", node->self, a, false);
    if (min.defined()) node->save("min", node->min, min, false);
    if (max.defined()) node->save("max", node->max, max, false);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor clamp(const Tensor& a, std::optional<Scalar> min, std::optional<Scalar> max) {
  return clamp_scalar_impl(a, min, max, "clamp", "ClampBackward1");
}
Tensor clamp(const Tensor& a, const Tensor& min, const Tensor& max) {
  return clamp_tensor_impl(a, min, max, "clamp", "ClampBackward0");
}
Tensor clamp_min(const Tensor& a, Scalar min) { return clamp_scalar_impl(a, min, std::nullopt, "clamp_min", "ClampMinBackward0"); }
Tensor clamp_min(const Tensor& a, const Tensor& min) { return clamp_tensor_impl(a, min, Tensor(), "clamp_min", "ClampMinBackward1"); }
Tensor clamp_max(const Tensor& a, Scalar max) { return clamp_scalar_impl(a, std::nullopt, max, "clamp_max", "ClampMaxBackward0"); }
Tensor clamp_max(const Tensor& a, const Tensor& max) { return clamp_tensor_impl(a, Tensor(), max, "clamp_max", "ClampMaxBackward1"); }

Tensor& clamp_(Tensor& self, std::optional<Scalar> min, std::optional<Scalar> max) {
  DType t = self.dtype();
  for (const auto& s : {min, max})
    if (s) t = result_type(scalar_tensor(0, t), *s);
  return unary_inplace(self, {}, "clamp_", t, [&](const Tensor& x) { return clamp(x, min, max); });
}
Tensor& clamp_(Tensor& self, const Tensor& min, const Tensor& max) {
  TensorList operands{self};
  for (const Tensor& b : {min, max})
    if (b.defined()) operands.push_back(b);
  return unary_inplace(self, {min, max}, "clamp_", result_type(operands),
                       [&](const Tensor& x) { return clamp(x, min, max); });
}

// ---- maximum / minimum --------------------------------------------------------------------------------
namespace {
// Ties split the gradient half/half; NaN on one side gives both sides the full gradient (PyTorch's formula:
// where(self == other, grad / 2, grad).masked_fill_(self < other, 0) for maximum).
struct MaxMinBackward : Node {
  bool is_max;
  SavedTensor self, other;
  explicit MaxMinBackward(bool m) : is_max(m) {}
  std::string name() const override { return is_max ? "MaximumBackward0" : "MinimumBackward0"; }
  TensorList apply(TensorList&& grads) override {
    const Tensor& g = grads[0];
    Tensor a = self.unpack(this), b = other.unpack(this), zero = zero_scalar(g);
    Tensor split = where(eq(a, b), div(g, 2), g);
    TensorList r(2);
    if (needs_grad(0)) r[0] = where(is_max ? lt(a, b) : gt(a, b), zero, split);
    if (needs_grad(1)) r[1] = where(is_max ? gt(a, b) : lt(a, b), zero, split);
    return r;
  }
  void release_saved() override {
    self.release();
    other.release();
  }
};

Tensor max_min(const Tensor& a, const Tensor& b, bool is_max) {
  DType t = result_type(a, b);
  const char* op = is_max ? "maximum" : "minimum";
  Tensor out = is_max ? internal::binary_kernel(a, b, t, t, op, [](auto x, auto y) { return max_nan(x, y); })
                      : internal::binary_kernel(a, b, t, t, op, [](auto x, auto y) { return min_nan(x, y); });
  if (auto node = make_node<MaxMinBackward>({a, b}, is_max)) {
    node->save("self", node->self, a, false);
    node->save("other", node->other, b, false);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) { return max_min(a, b, true); }
Tensor minimum(const Tensor& a, const Tensor& b) { return max_min(a, b, false); }

// ---- lerp ------------------------------------------------------------------------------------------------
namespace {
// PyTorch's formula: exact at both ends (weight 0 gives self, weight 1 gives end).
template <typename T>
T lerp_value(T self, T end, T w) {
  return std::abs(w) < T(0.5) ? self + w * (end - self) : end - (end - self) * (T(1) - w);
}

struct LerpBackward0 : Node {
  double weight;
  explicit LerpBackward0(double w) : weight(w) {}
  std::string name() const override { return "LerpBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = mul(g[0], 1 - weight);
    if (needs_grad(1)) r[1] = mul(g[0], weight);
    return r;
  }
};

struct LerpBackward1 : Node {
  SavedTensor self, end, weight;
  std::string name() const override { return "LerpBackward1"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(3);
    Tensor w = weight.unpack(this);
    if (needs_grad(0)) r[0] = mul(g[0], rsub(w, 1));
    if (needs_grad(1)) r[1] = mul(g[0], w);
    if (needs_grad(2)) r[2] = mul(g[0], sub(end.unpack(this), self.unpack(this)));
    return r;
  }
  void release_saved() override {
    self.release();
    end.release();
    weight.release();
  }
};

void check_lerp(const Tensor& a, const Tensor& end, const char* kernel) {
  check_floating(a, "lerp", kernel);
  GC_CHECK(a.dtype() == end.dtype(), "[lerp] expected dtype ", cpp_type_name(a.dtype()), " for `end` but got dtype ",
           cpp_type_name(end.dtype()));
}
}  // namespace

Tensor lerp(const Tensor& a, const Tensor& end, Scalar weight) {
  check_lerp(a, end, "lerp_kernel_scalar");
  Tensor out = empty(broadcast_shapes(a.shape(), end.shape(), "lerp"), a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), "lerp", [&] {
    auto w = static_cast<scalar_t>(weight.value);
    kernels::binary_loop<scalar_t, scalar_t, scalar_t>(out, a, end, [w](scalar_t x, scalar_t y) { return lerp_value(x, y, w); });
  });
  if (auto node = make_node<LerpBackward0>({a, end}, weight.value)) set_history({out}, node);
  return out;
}

Tensor lerp(const Tensor& a, const Tensor& end, const Tensor& weight) {
  check_lerp(a, end, "lerp_kernel_tensor");
  GC_CHECK(weight.dim() == 0 || weight.dtype() == a.dtype(), "[lerp] expected dtype ", cpp_type_name(a.dtype()),
           " for `weight` but got dtype ", cpp_type_name(weight.dtype()));
  Shape shape = broadcast_shapes(broadcast_shapes(a.shape(), end.shape(), "lerp"), weight.shape(), "lerp");
  Tensor w = weight.dtype() == a.dtype() ? weight : cast(weight, a.dtype());
  Tensor out = empty(shape, a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), "lerp", [&] {
    kernels::ternary_loop<scalar_t, scalar_t, scalar_t, scalar_t>(out, a, end, w, [](scalar_t x, scalar_t y, scalar_t v) {
      return lerp_value(x, y, v);
    });
  });
  if (auto node = make_node<LerpBackward1>({a, end, weight})) {
    node->save("weight", node->weight, weight, false);
    if (node->needs_grad(2)) {
      node->save("self", node->self, a, false);
      node->save("end", node->end, end, false);
    }
    set_history({out}, node);
  }
  return out;
}

Tensor& lerp_(Tensor& self, const Tensor& end, Scalar weight) {
  return unary_inplace(self, {end}, "lerp_", self.dtype(), [&](const Tensor& x) { return lerp(x, end, weight); });
}
Tensor& lerp_(Tensor& self, const Tensor& end, const Tensor& weight) {
  return unary_inplace(self, {end, weight}, "lerp_", self.dtype(), [&](const Tensor& x) { return lerp(x, end, weight); });
}

// ---- gelu / silu -------------------------------------------------------------------------------------------
namespace {
constexpr double kGeluBeta = kSqrt2 * k2OverSqrtPi * 0.5;  // sqrt(2 / pi)
constexpr double kGeluKappa = 0.044715;

// d gelu / dx times grad, written with differentiable ops (PyTorch's gelu_backward formulas).
Tensor gelu_backward(const Tensor& g, const Tensor& x, bool tanh_approx) {
  if (!tanh_approx) {
    Tensor cdf = mul(add(erf(mul(x, kSqrt1_2)), 1), 0.5);
    Tensor pdf = mul(exp(mul(mul(x, x), -0.5)), k2OverSqrtPi * kSqrt1_2 * 0.5);
    return mul(g, add(cdf, mul(x, pdf)));
  }
  Tensor x_sq = mul(x, x);
  Tensor inner = mul(add(x, mul(mul(x_sq, x), kGeluKappa)), kGeluBeta);
  Tensor t = tanh(inner);
  Tensor left_derivative = mul(add(t, 1), 0.5);
  Tensor right_derivative = mul(mul(mul(x, 0.5), rsub(mul(t, t), 1)), mul(add(mul(x_sq, 3 * kGeluKappa), 1), kGeluBeta));
  return mul(g, add(left_derivative, right_derivative));
}

struct GeluBackward0 : Node {
  SavedTensor self;
  bool tanh_approx;
  explicit GeluBackward0(bool t) : tanh_approx(t) {}
  std::string name() const override { return "GeluBackward0"; }
  TensorList apply(TensorList&& g) override { return {gelu_backward(g[0], self.unpack(this), tanh_approx)}; }
  void release_saved() override { self.release(); }
};
}  // namespace

Tensor gelu(const Tensor& a, const std::string& approximate) {
  GC_CHECK(approximate == "none" || approximate == "tanh", "[gelu] approximate argument must be either none or tanh.");
  check_floating(a, "gelu", "GeluKernelImpl");
  bool tanh_approx = approximate == "tanh";
  Tensor out = tanh_approx ? internal::unary_float_kernel_vec(a, "gelu", {kernels::vec::gelu_tanh, kernels::vec::gelu_tanh},
                                                              [](auto x) {
    using T = decltype(x);
    T inner = T(kGeluBeta) * (x + T(kGeluKappa) * x * x * x);
    return T(0.5) * x * (T(1) + std::tanh(inner));
  })
                           : internal::unary_float_kernel(a, "gelu", [](auto x) {
                               using T = decltype(x);
                               return x * T(0.5) * (T(1) + std::erf(x * T(kSqrt1_2)));
                             });
  if (auto node = make_node<GeluBackward0>({a}, tanh_approx)) {
    node->save("self", node->self, a, false);
    set_history({out}, node);
  }
  return out;
}

Tensor silu(const Tensor& a) {
  check_floating(a, "silu", "silu_cpu");
  return float_op_vec(a, "silu", "SiluBackward0", Save::Input, {kernels::vec::silu, kernels::vec::silu},
                  [](auto x) {
                    using T = decltype(x);
                    return x / (T(1) + std::exp(-x));
                  },
                  [](const Tensor& g, const Tensor& x) {
                    Tensor s = sigmoid(x);
                    return mul(mul(g, s), add(mul(x, rsub(s, 1)), 1));
                  });
}

// ---- In-place forms -----------------------------------------------------------------------------------------
#define GC_UNARY_INPLACE(name, result)                                                                  \
  Tensor& name##_(Tensor& self) {                                                                       \
    return unary_inplace(self, {}, #name "_", result, [](const Tensor& x) { return name(x); });         \
  }
GC_UNARY_INPLACE(exp, float_result(self))
GC_UNARY_INPLACE(exp2, float_result(self))
GC_UNARY_INPLACE(log2, float_result(self))
GC_UNARY_INPLACE(log1p, float_result(self))
GC_UNARY_INPLACE(expm1, float_result(self))
GC_UNARY_INPLACE(rsqrt, float_result(self))
GC_UNARY_INPLACE(sin, float_result(self))
GC_UNARY_INPLACE(cos, float_result(self))
GC_UNARY_INPLACE(tan, float_result(self))
GC_UNARY_INPLACE(tanh, float_result(self))
GC_UNARY_INPLACE(sigmoid, float_result(self))
GC_UNARY_INPLACE(erf, float_result(self))
GC_UNARY_INPLACE(silu, float_result(self))
GC_UNARY_INPLACE(relu, self.dtype())
GC_UNARY_INPLACE(abs, self.dtype())
GC_UNARY_INPLACE(sign, self.dtype())
GC_UNARY_INPLACE(floor, self.dtype())
GC_UNARY_INPLACE(ceil, self.dtype())
#undef GC_UNARY_INPLACE

Tensor& round_(Tensor& self, int64_t decimals) {
  return unary_inplace(self, {}, "round_", self.dtype(), [decimals](const Tensor& x) { return round(x, decimals); });
}

}  // namespace gradcore

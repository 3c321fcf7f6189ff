// Integer-flavoured and logical pointwise ops: floor/trunc division, remainder, fmod, bitwise and
// logical ops. Python's operators //, %, ~, &, |, ^ map to these.
#include <cmath>

#include "gradcore/ops/internal.h"

namespace gradcore {

using internal::binary_kernel;

namespace {
// Integer division by zero has no value; PyTorch raises (floats give inf/nan instead).
void check_integer_divisor(const Tensor& b, DType t) {
  if (is_floating(t)) return;
  GC_CHECK(!any(eq(b, zeros({}, b.dtype()))).item(), "ZeroDivisionError");
}

// Bool operands never reach these kernels (refused before dispatch); they only have to compile.
template <typename T>
T floor_div(T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {
    return x;
  } else if constexpr (std::is_floating_point_v<T>) {
    return std::floor(x / y);
  } else {
    T q = x / y;
    return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
  }
}

template <typename T>
T python_mod(T x, T y) {
  if constexpr (std::is_same_v<T, bool>) {
    return x;
  } else if constexpr (std::is_floating_point_v<T>) {
    T r = std::fmod(x, y);
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
  } else {
    T r = x % y;
    return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
  }
}

DType arithmetic_type(const Tensor& a, const Tensor& b, const char* op) {
  DType t = result_type(a, b);
  GC_CHECK(t != DType::Bool, "[", op, "] \"", op, "_cpu\" not implemented for 'Bool'");
  return t;
}
}  // namespace

// ---- div with rounding / floor_divide --------------------------------------------------------------
namespace {
// Rounded quotients are piecewise constant: zero gradient almost everywhere (PyTorch's DivBackward2).
struct DivBackward2 : Node {
  std::string name() const override { return "DivBackward2"; }
  TensorList apply(TensorList&& g) override {
    Tensor z = zeros(g[0].shape(), g[0].dtype());
    return {z, z};
  }
};
}  // namespace

Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  GC_CHECK(rounding_mode == "trunc" || rounding_mode == "floor", "[div] div expected rounding_mode to be one of None, "
           "'trunc', or 'floor' but found '", rounding_mode, "'");
  DType t = arithmetic_type(a, b, "div");
  check_integer_divisor(b, t);
  Tensor out = rounding_mode == "floor"
                   ? binary_kernel(a, b, t, t, "div", [](auto x, auto y) { return floor_div(x, y); })
                   : binary_kernel(a, b, t, t, "div", [](auto x, auto y) {
                       using T = decltype(x);
                       if constexpr (std::is_floating_point_v<T>) return std::trunc(x / y);
                       else if constexpr (std::is_same_v<T, bool>) return x;
                       else return static_cast<T>(x / y);
                     });
  if (auto node = make_node<DivBackward2>({a, b})) set_history({out}, node);
  return out;
}

Tensor floor_divide(const Tensor& a, const Tensor& b) {
  DType t = arithmetic_type(a, b, "floor_divide");
  check_integer_divisor(b, t);
  return binary_kernel(a, b, t, t, "floor_divide", [](auto x, auto y) { return floor_div(x, y); });
}

// ---- remainder / fmod ------------------------------------------------------------------------------
namespace {
// a = q b + r with q = floor(a / b) (remainder) or trunc(a / b) (fmod): dr/da = 1, dr/db = -q.
struct RemainderBackward : Node {
  SavedTensor self, other;
  bool truncate, number_divisor;  // PyTorch names the overload with a Python-number divisor ...Backward0
  RemainderBackward(bool t, bool n) : truncate(t), number_divisor(n) {}
  std::string name() const override {
    return std::string(truncate ? "FmodBackward" : "RemainderBackward") + (number_divisor ? "0" : "1");
  }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = g[0];
    if (needs_grad(1)) {
      Tensor q = div(self.unpack(this), other.unpack(this), truncate ? "trunc" : "floor");
      r[1] = neg(mul(g[0], q));
    }
    return r;
  }
  void release_saved() override {
    self.release();
    other.release();
  }
};

Tensor remainder_impl(const Tensor& a, const Tensor& b, bool truncate) {
  const char* op = truncate ? "fmod" : "remainder";
  DType t = arithmetic_type(a, b, op);
  check_integer_divisor(b, t);
  Tensor out = truncate ? binary_kernel(a, b, t, t, op, [](auto x, auto y) {
                            using T = decltype(x);
                            if constexpr (std::is_floating_point_v<T>) return std::fmod(x, y);
                            else if constexpr (std::is_same_v<T, bool>) return x;
                            else return static_cast<T>(x % y);
                          })
                        : binary_kernel(a, b, t, t, op, [](auto x, auto y) { return python_mod(x, y); });
  if (auto node = make_node<RemainderBackward>({a, b}, truncate, b.impl()->wrapped_number)) {
    if (node->needs_grad(1)) {
      node->save("self", node->self, a, false);
      node->save("other", node->other, b, false);
    }
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor remainder(const Tensor& a, const Tensor& b) { return remainder_impl(a, b, false); }
Tensor fmod(const Tensor& a, const Tensor& b) { return remainder_impl(a, b, true); }

// ---- bitwise ops (bool and int64) ----------------------------------------------------------------
namespace {
DType bitwise_type(const Tensor& a, const Tensor& b, const char* op) {
  DType t = result_type(a, b);
  GC_CHECK(!is_floating(t), "[", op, "] \"", op, "_cpu\" not implemented for '", scalar_type_name(t), "'");
  return t;
}
}  // namespace

Tensor bitwise_not(const Tensor& a) {
  GC_CHECK_T(TypeError, !is_floating(a.dtype()),
             "~ (operator.invert) is only implemented on integer and Boolean-type tensors");
  Tensor out = empty(a.shape(), a.dtype());
  if (a.dtype() == DType::Bool)
    kernels::unary_loop<bool, bool>(out, a, [](bool x) { return !x; });
  else
    kernels::unary_loop<int64_t, int64_t>(out, a, [](int64_t x) { return ~x; });
  return out;
}

#define GC_BITWISE(name, expr)                                                                          \
  Tensor name(const Tensor& a, const Tensor& b) {                                                     \
    DType t = bitwise_type(a, b, #name);                                                              \
    return binary_kernel(a, b, t, t, #name, [](auto x, auto y) {                                     \
      using T = decltype(x);                                                                         \
      if constexpr (std::is_integral_v<T>) return static_cast<T>(expr);                              \
      else return x; /* unreachable: floats are refused above */                                     \
    });                                                                                               \
  }
GC_BITWISE(bitwise_and, x & y)
GC_BITWISE(bitwise_or, x | y)
GC_BITWISE(bitwise_xor, x ^ y)
#undef GC_BITWISE

// ---- logical ops (any dtype in, bool out) ------------------------------------------------------------
Tensor logical_not(const Tensor& a) { return eq(a, zeros({}, a.dtype())); }

#define GC_LOGICAL(name, expr)                                                                          \
  Tensor name(const Tensor& a, const Tensor& b) {                                                     \
    return binary_kernel(a, b, result_type(a, b), DType::Bool, #name, [](auto x, auto y) {           \
      using T = decltype(x);                                                                         \
      const bool p = x != T(0), q = y != T(0);                                                       \
      return expr;                                                                                   \
    });                                                                                               \
  }
GC_LOGICAL(logical_and, p && q)
GC_LOGICAL(logical_or, p || q)
GC_LOGICAL(logical_xor, p != q)
#undef GC_LOGICAL

// ---- predicates ------------------------------------------------------------------------------------
namespace {
template <typename Pred>
Tensor classify(const Tensor& a, Pred pred) {
  Tensor out = empty(a.shape(), DType::Bool);
  GC_DISPATCH_ALL(a.dtype(), [&] {
    kernels::unary_loop<bool, scalar_t>(out, a, [&](scalar_t x) {
      if constexpr (std::is_floating_point_v<scalar_t>) return pred(x);
      else return pred(0.0);  // integers are always finite
    });
  });
  return out;
}
}  // namespace

Tensor isnan(const Tensor& a) { return classify(a, [](auto x) { return std::isnan(x); }); }
Tensor isinf(const Tensor& a) { return classify(a, [](auto x) { return std::isinf(x); }); }
Tensor isfinite(const Tensor& a) { return classify(a, [](auto x) { return std::isfinite(x); }); }

}  // namespace gradcore

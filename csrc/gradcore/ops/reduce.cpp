// Reductions. Accumulation is in double (int64 for integers) with several independent partial sums
// per row, so float32 sums of millions of elements stay accurate.
#include <algorithm>
#include <cmath>
#include <functional>

#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {

// Which dims are reduced, and the result shape with and without keepdim.
struct ReducePlan {
  std::vector<bool> reduced;
  Shape keep_shape;  // reduced dims kept as size 1
  Shape out_shape;   // as returned to the caller
  int64_t count = 1; // elements folded into each output
};

ReducePlan plan_reduction(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, const char* op) {
  ReducePlan p;
  const int64_t nd = a.dim();
  p.reduced.assign(static_cast<size_t>(nd), dims.empty());
  for (int64_t d : dims) {
    int64_t w = wrap_dim(d, nd, op);
    if (nd == 0) continue;
    GC_CHECK(!p.reduced[w], "[", op, "] dim ", w, " appears multiple times in the list of dims");
    p.reduced[w] = true;
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (p.reduced[d]) {
      p.count *= a.shape()[d];
      p.keep_shape.push_back(1);
      if (keepdim) p.out_shape.push_back(1);
    } else {
      p.keep_shape.push_back(a.shape()[d]);
      p.out_shape.push_back(a.shape()[d]);
    }
  }
  return p;
}

// Sum of a strided row with 8 independent accumulators (breaks the add dependency chain and keeps
// rounding error growing like n/8 instead of n).
template <typename Acc, typename T>
Acc sum_row(const T* x, int64_t n, int64_t stride) {
  Acc part[8] = {};
  int64_t i = 0;
  if (stride == 1) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += static_cast<Acc>(x[i + k]);
  }
  for (; i < n; ++i) part[0] += static_cast<Acc>(x[i * stride]);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

template <typename Acc, typename T>
Acc sum_squares_row(const T* x, int64_t n, int64_t stride) {
  Acc part[8] = {};
  int64_t i = 0;
  if (stride == 1) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += static_cast<Acc>(x[i + k]) * static_cast<Acc>(x[i + k]);
  }
  for (; i < n; ++i) part[0] += static_cast<Acc>(x[i * stride]) * static_cast<Acc>(x[i * stride]);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// Folds `a` over the plan's reduced dims into an accumulator tensor (double, or int64 for integer
// inputs), then converts to `out_dtype`. `squares` sums x*x instead of x (for norms).
Tensor sum_kernel(const Tensor& a, const ReducePlan& p, DType out_dtype, bool squares) {
  DType acc_t = is_floating(a.dtype()) ? DType::Float64 : DType::Int64;
  Tensor acc = zeros(p.keep_shape, acc_t);
  GC_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    if constexpr (std::is_floating_point_v<T>) {
      if (squares)
        kernels::reduce_loop<double, T>(acc, a, [](double x, double y) { return x + y * y; }, std::plus<double>(),
                                        [](const T* x, int64_t n, int64_t s) { return sum_squares_row<double>(x, n, s); });
      else
        kernels::reduce_loop<double, T>(acc, a, std::plus<double>(), std::plus<double>(),
                                        [](const T* x, int64_t n, int64_t s) { return sum_row<double>(x, n, s); });
    } else {
      kernels::reduce_loop<int64_t, T>(acc, a, std::plus<int64_t>(), std::plus<int64_t>(),
                                       [](const T* x, int64_t n, int64_t s) { return sum_row<int64_t>(x, n, s); });
    }
  });
  Tensor out = acc_t == out_dtype ? acc : internal::cast(acc, out_dtype);
  return out.shape() == p.out_shape ? out : view(out, p.out_shape);
}

// Restores reduced dims (as size 1) so a gradient of the reduced shape broadcasts over the input.
Tensor unsqueeze_reduced(const Tensor& g, const ReducePlan& p) { return view(g, p.keep_shape); }

}  // namespace

// ---- sum -----------------------------------------------------------------------------------------
namespace {
struct SumBackward : Node {
  Shape self_shape;
  ReducePlan plan;
  bool all;
  SumBackward(Shape s, ReducePlan p, bool a) : self_shape(std::move(s)), plan(std::move(p)), all(a) {}
  std::string name() const override { return all ? "SumBackward0" : "SumBackward1"; }
  TensorList apply(TensorList&& g) override { return {expand(unsqueeze_reduced(g[0], plan), self_shape)}; }
};

Tensor sum_impl(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool all) {
  ReducePlan p = plan_reduction(a, dims, keepdim, "sum");
  DType out_t = is_floating(a.dtype()) ? a.dtype() : DType::Int64;
  Tensor out = sum_kernel(a, p, out_t, false);
  if (auto node = make_node<SumBackward>({a}, a.shape(), p, all)) set_history({out}, node);
  return out;
}
}  // namespace

Tensor sum(const Tensor& a) { return sum_impl(a, {}, false, true); }
Tensor sum(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return sum_impl(a, dims, keepdim, false); }

// ---- mean ----------------------------------------------------------------------------------------
namespace {
struct MeanBackward : Node {
  Shape self_shape;
  ReducePlan plan;
  bool all;
  MeanBackward(Shape s, ReducePlan p, bool a) : self_shape(std::move(s)), plan(std::move(p)), all(a) {}
  std::string name() const override { return all ? "MeanBackward0" : "MeanBackward1"; }
  TensorList apply(TensorList&& g) override {
    return {div(expand(unsqueeze_reduced(g[0], plan), self_shape), static_cast<double>(plan.count))};
  }
};

Tensor mean_impl(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool all) {
  GC_CHECK(is_floating(a.dtype()),
           "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. Got: ",
           a.dtype() == DType::Bool ? "Bool" : "Long");
  ReducePlan p = plan_reduction(a, dims, keepdim, "mean");
  Tensor acc = sum_kernel(a, p, DType::Float64, false);
  const double n = static_cast<double>(p.count);
  Tensor out = empty(acc.shape(), a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), "mean", [&] {
    kernels::unary_loop<scalar_t, double>(out, acc, [n](double s) { return static_cast<scalar_t>(s / n); });
  });
  if (auto node = make_node<MeanBackward>({a}, a.shape(), p, all)) set_history({out}, node);
  return out;
}
}  // namespace

Tensor mean(const Tensor& a) { return mean_impl(a, {}, false, true); }
Tensor mean(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return mean_impl(a, dims, keepdim, false); }

// ---- norm (2-norm of all elements) ---------------------------------------------------------------
namespace {
// d||x|| / dx = x / ||x||, defined as 0 at x == 0 (as PyTorch does).
struct LinalgVectorNormBackward0 : Node {
  SavedTensor self, result;
  std::string name() const override { return "LinalgVectorNormBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this), n = result.unpack(this);
    Tensor scaled = mul(div(x, n), g[0]);
    return {where(eq(n, zeros({}, n.dtype())), zeros({}, scaled.dtype()), scaled)};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};
}  // namespace

Tensor norm(const Tensor& a) {
  GC_CHECK(is_floating(a.dtype()), "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
           a.dtype() == DType::Bool ? "Bool" : "Long");
  ReducePlan p = plan_reduction(a, {}, false, "norm");
  Tensor acc = sum_kernel(a, p, DType::Float64, true);
  Tensor out = empty({}, a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), "norm", [&] { *out.data<scalar_t>() = static_cast<scalar_t>(std::sqrt(*acc.data<double>())); });
  if (auto node = make_node<LinalgVectorNormBackward0>({a})) {
    node->self = SavedTensor(a, false);
    node->result = SavedTensor(out, true);
    set_history({out}, node);
  }
  return out;
}

// ---- all / any -----------------------------------------------------------------------------------
namespace {
template <bool kAll>
Tensor logical_fold(const Tensor& a) {
  Tensor acc = full({}, kAll, DType::Bool);
  if (a.numel() == 0) return acc;
  GC_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    kernels::reduce_loop<bool, T>(
        view(acc, Shape(a.dim(), 1)), a,
        [](bool r, bool v) { return kAll ? (r && v) : (r || v); }, [](bool r, bool v) { return kAll ? (r && v) : (r || v); },
        [](const T* p, int64_t n, int64_t s) {
          for (int64_t i = 0; i < n; ++i)
            if ((p[i * s] != T(0)) != kAll) return !kAll;
          return kAll;
        });
  });
  return acc;
}
}  // namespace

Tensor all(const Tensor& a) { return logical_fold<true>(a); }
Tensor any(const Tensor& a) { return logical_fold<false>(a); }

// ---- sum_to: undo broadcasting --------------------------------------------------------------------
Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.shape() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  GC_CHECK(lead >= 0, "[sum_to] cannot reduce shape ", shape_str(grad.shape()), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < grad.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && grad.shape()[d] != 1)) dims.push_back(d);
  Tensor r = dims.empty() ? grad : sum(grad, dims, true);
  return r.shape() == shape ? r : view(r, shape);
}

}  // namespace gradcore

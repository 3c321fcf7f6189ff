// Reductions. Accumulation is in double (int64 for integers) with several independent partial sums
// per row, so float32 sums of millions of elements stay accurate (contiguous float32 rows add short
// blocks in float lanes first, see kernels/vec_math_impl.h).
//
// Every reduction runs on kernels::reduce_loop over a ReducePlan: sums and products fold plain
// numbers; max/min/argmax and friends fold an ExtremeAcc (value, index, count) kept in an opaque
// accumulator buffer (fold_reduce / finish). Backward formulas follow PyTorch's derivatives.yaml.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

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
  // A contiguous floating row summed in double: the vectorised kernel (several double-lane
  // accumulators, AVX-512/AVX2/baseline by CPU).
  if constexpr (std::is_same_v<Acc, double> && std::is_floating_point_v<T>)
    if (stride == 1) return kernels::vec::sum(x, n);
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
  if constexpr (std::is_same_v<Acc, double> && std::is_floating_point_v<T>)
    if (stride == 1) return kernels::vec::sum(x, n, true);
  Acc part[8] = {};
  int64_t i = 0;
  if (stride == 1) {
    for (; i + 8 <= n; i += 8)
      for (int k = 0; k < 8; ++k) part[k] += static_cast<Acc>(x[i + k]) * static_cast<Acc>(x[i + k]);
  }
  for (; i < n; ++i) part[0] += static_cast<Acc>(x[i * stride]) * static_cast<Acc>(x[i * stride]);
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

// Folds `a` over the plan's reduced dims into an accumulator tensor of the plan's keep_shape (double,
// or int64 for integer inputs). `squares` sums x*x instead of x (for norms).
Tensor sum_acc(const Tensor& a, const ReducePlan& p, bool squares) {
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
                                        [](const T* x, int64_t n, int64_t s) { return sum_row<double>(x, n, s); },
                                        [](double* o, const auto* x, int64_t stride, int64_t rows, int64_t n) {
                                          kernels::vec::accumulate(x, stride, rows, o, n);
                                        });
    } else {
      kernels::reduce_loop<int64_t, T>(acc, a, std::plus<int64_t>(), std::plus<int64_t>(),
                                       [](const T* x, int64_t n, int64_t s) { return sum_row<int64_t>(x, n, s); });
    }
  });
  return acc;
}

// A keep_shape result viewed in the caller's shape (reduced dims dropped unless keepdim).
Tensor to_out(const Tensor& t, const ReducePlan& p) { return t.shape() == p.out_shape ? t : view(t, p.out_shape); }

// sum_acc converted to `out_dtype`, in the caller's shape.
Tensor sum_kernel(const Tensor& a, const ReducePlan& p, DType out_dtype, bool squares) {
  Tensor acc = sum_acc(a, p, squares);
  return to_out(acc.dtype() == out_dtype ? acc : internal::cast(acc, out_dtype), p);
}

// The reduced dims of a plan, for the gradient formulas (empty for a 0-dim input: "all").
std::vector<int64_t> reduced_dims(const ReducePlan& p) {
  std::vector<int64_t> dims;
  for (size_t d = 0; d < p.reduced.size(); ++d)
    if (p.reduced[d]) dims.push_back(static_cast<int64_t>(d));
  return dims;
}

// A buffer of `Acc` values shaped like `shape`, all `init`. Its dtype is a placeholder: the loops
// address elements by sizeof(Acc), so any trivially copyable accumulator can be folded into it.
template <typename Acc>
Tensor acc_buffer(const Shape& shape, const Acc& init) {
  static_assert(std::is_trivially_copyable_v<Acc>);
  const int64_t n = shape_numel(shape);
  auto storage = Storage::allocate(static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(Acc));
  std::fill_n(static_cast<Acc*>(storage->data()), n, init);
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), DType::Float64, shape, contiguous_strides(shape), 0));
}

// Folds `a` (elements T, each turned into Acc(x)) over the plan's reduced dims with the associative,
// order-preserving `combine`, starting from `init`. Each output sees its elements in index order.
// For floating T, `contiguous_row(x, n)`, if given, folds a non-empty contiguous row at once.
template <typename T, typename Acc, typename Combine, typename RowFold = std::nullptr_t>
Tensor fold_reduce(const Tensor& a, const ReducePlan& p, const Acc& init, Combine combine,
                   RowFold contiguous_row = nullptr) {
  Tensor acc = acc_buffer(p.keep_shape, init);
  kernels::reduce_loop<Acc, T>(acc, a, combine, combine, [&](const T* x, int64_t n, int64_t s) {
    if constexpr (!std::is_null_pointer_v<RowFold> && std::is_floating_point_v<T>)
      if (s == 1 && n > 0) return contiguous_row(x, n);
    Acc r = init;
    for (int64_t i = 0; i < n; ++i) r = combine(r, Acc(x[i * s]));
    return r;
  });
  return acc;
}

// out = f(acc) elementwise, as a new keep_shape tensor of type Out.
template <typename Out, typename Acc, typename F>
Tensor finish(const Tensor& acc, F f) {
  Tensor out = empty(acc.shape(), dtype_of<Out>::value);
  kernels::unary_loop<Out, Acc>(out, acc, f);
  return out;
}

// The running maximum (kMax) or minimum of a slice and where it was first seen. NaN wins (and the
// first NaN stays), as in PyTorch; ties keep the earliest index.
template <typename T, bool kMax>
struct ExtremeAcc {
  T val;
  int64_t idx;    // index of `val` among the elements folded so far
  int64_t count;  // number of elements folded so far
  ExtremeAcc() = default;
  explicit ExtremeAcc(T v) : val(v), idx(0), count(1) {}
  static ExtremeAcc empty_acc() {
    ExtremeAcc r;
    r.val = T();
    r.idx = 0;
    r.count = 0;
    return r;
  }
  static bool better(T x, T cur) {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(cur)) return false;
      if (std::isnan(x)) return true;
    }
    return kMax ? x > cur : x < cur;
  }
  static ExtremeAcc combine(const ExtremeAcc& a, const ExtremeAcc& b) {
    if (b.count == 0) return a;
    ExtremeAcc r = a;
    if (a.count == 0 || better(b.val, a.val)) {
      r.val = b.val;
      r.idx = a.count + b.idx;
    }
    r.count = a.count + b.count;
    return r;
  }
};

// Extreme values (keep_shape, a's dtype) and/or their indices along the reduced dims (int64; over
// several dims the index is into the flattened slice).
template <bool kMax>
void extreme_kernel(const Tensor& a, const ReducePlan& p, Tensor* values, Tensor* indices) {
  GC_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    using Acc = ExtremeAcc<T, kMax>;
    Tensor acc = fold_reduce<T>(
        a, p, Acc::empty_acc(), [](const Acc& x, const Acc& y) { return Acc::combine(x, y); },
        [want_index = indices != nullptr](const auto* x, int64_t n) {  // generic: only instantiated for floating T
          // The vectorised extreme, then where it first occurs (the row is in L1 by now).
          Acc r = Acc::empty_acc();
          if constexpr (std::is_floating_point_v<std::decay_t<decltype(*x)>>) {
            r.val = kMax ? kernels::vec::max(x, n) : kernels::vec::min(x, n);
            r.count = n;
            if (want_index) {
              r.idx = kernels::vec::index_of(x, n, r.val);
              r.val = x[r.idx];  // the first of equal values (-0 or +0)
            }
          }
          return r;
        });
    if (values) *values = finish<scalar_t, Acc>(acc, [](const Acc& r) { return r.val; });
    if (indices) *indices = finish<int64_t, Acc>(acc, [](const Acc& r) { return r.idx; });
  });
}

// PyTorch's error for max/argmax-like reductions over an empty slice (they have no identity).
void check_reduced_nonempty(const Tensor& a, const ReducePlan& p, const char* op) {
  for (size_t d = 0; d < p.reduced.size(); ++d)
    GC_CHECK_T(IndexError, !p.reduced[d] || a.shape()[d] != 0, "[", op, "] ", op, "(): Expected reduction dim ", d,
               " to have non-zero size.");
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

// ---- prod ----------------------------------------------------------------------------------------
namespace {
// d prod / dx_i is the product of the other elements of x_i's slice: result / x_i without zeros (PyTorch's
// formula). With zeros it is built from the product P of the slice's nonzero elements and the sum S of
// its zero elements (0, but it carries their gradient), so that double backward is exact too:
//   one zero:  P at the zero, P / x_i * S elsewhere;  two zeros: P * (S - x_i) at the zeros, 0 elsewhere;
//   more zeros: 0.
struct ProdBackward : Node {
  SavedTensor self, result;
  ReducePlan plan;
  bool all;
  ProdBackward(ReducePlan p, bool a) : plan(std::move(p)), all(a) {}
  std::string name() const override { return all ? "ProdBackward0" : "ProdBackward1"; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this);
    Tensor gk = view(g[0], plan.keep_shape), r = view(result.unpack(this), plan.keep_shape);
    const DType t = x.dtype();
    Tensor is_zero = eq(x, zeros({}, t));
    if (any(is_zero).item() == 0) return {mul(gk, div(r, x))};
    std::vector<int64_t> dims = reduced_dims(plan);
    Tensor zero = zeros({}, t);
    Tensor nonzero = where(is_zero, ones({}, t), x);
    Tensor nonzero_prod = prod(nonzero, dims, true);
    Tensor zero_sum = sum(where(is_zero, x, zero), dims, true);
    Tensor zero_count = sum(is_zero, dims, true);
    auto count_is = [&](int64_t n) { return eq(zero_count, full({}, n, DType::Int64)); };
    Tensor ratio = div(nonzero_prod, nonzero);
    Tensor one_zero = where(is_zero, nonzero_prod, mul(ratio, zero_sum));
    Tensor two_zeros = where(is_zero, mul(nonzero_prod, sub(zero_sum, x)), zero);
    Tensor others = where(count_is(0), ratio, where(count_is(1), one_zero, where(count_is(2), two_zeros, zero)));
    return {mul(gk, others)};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};

Tensor prod_impl(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim, bool all) {
  ReducePlan p = plan_reduction(a, dims, keepdim, "prod");
  const bool fp = is_floating(a.dtype());
  Tensor acc = ones(p.keep_shape, fp ? DType::Float64 : DType::Int64);
  GC_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    kernels::reduce_loop<Acc, T>(acc, a, std::multiplies<Acc>(), std::multiplies<Acc>(), [](const T* x, int64_t n, int64_t s) {
      Acc r = 1;
      for (int64_t i = 0; i < n; ++i) r *= static_cast<Acc>(x[i * s]);
      return r;
    });
  });
  Tensor out = to_out(fp ? internal::cast(acc, a.dtype()) : acc, p);
  if (auto node = make_node<ProdBackward>({a}, p, all)) {
    node->save("self", node->self, a, false);
    node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor prod(const Tensor& a) { return prod_impl(a, {}, false, true); }
Tensor prod(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return prod_impl(a, dims, keepdim, false); }

// ---- max / min / amax / amin / argmax / argmin ------------------------------------------------------
namespace {
// Splits the gradient evenly among the elements equal to the result: max()/min() (MaxBackward1,
// where a NaN result selects the NaN elements) and amax/amin (AmaxBackward0: (g / count) * mask).
struct EvenlyDistributeBackward : Node {
  SavedTensor self, result;
  ReducePlan plan;
  std::string name_;
  bool all;  // max()/min(): zeros outside the mask, NaN-aware
  EvenlyDistributeBackward(ReducePlan p, std::string n, bool a) : plan(std::move(p)), name_(std::move(n)), all(a) {}
  std::string name() const override { return name_; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this);
    Tensor r = view(result.unpack(this), plan.keep_shape), gk = view(g[0], plan.keep_shape);
    Tensor mask = eq(x, r);
    if (all) mask = where(ne(r, r), ne(x, x), mask);
    Tensor count = sum(mask, reduced_dims(plan), true);
    if (all) return {where(mask, div(gk, count), zeros({}, gk.dtype()))};
    return {mul(div(gk, count), mask)};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};

// max(dim)/min(dim): the gradient goes to the selected index (MaxBackward0).
struct IndexSelectBackward : Node {
  SavedTensor indices;
  Shape self_shape;
  int64_t dim;
  std::string name_;
  IndexSelectBackward(Shape s, int64_t d, std::string n) : self_shape(std::move(s)), dim(d), name_(std::move(n)) {}
  std::string name() const override { return name_; }
  TensorList apply(TensorList&& g) override {
    if (self_shape.empty()) return {g[0]};
    Shape keep = self_shape, positions_shape(self_shape.size(), 1);
    keep[dim] = 1;
    positions_shape[dim] = self_shape[dim];
    Tensor positions = view(arange(0, self_shape[dim], 1, DType::Int64), positions_shape);
    Tensor chosen = eq(view(indices.unpack(this), keep), positions);
    return {where(chosen, view(g[0], keep), zeros({}, g[0].dtype()))};
  }
  void release_saved() override { indices.release(); }
};

const char* extreme_name(bool is_max, const char* max_name, const char* min_name) { return is_max ? max_name : min_name; }

template <bool kMax>
Tensor extreme_all(const Tensor& a) {
  const char* op = kMax ? "max" : "min";
  GC_CHECK(a.numel() > 0, "[", op, "] ", op, "(): Expected reduction dim to be specified for input.numel() == 0. "
           "Specify the reduction dim with the 'dim' argument.");
  ReducePlan p = plan_reduction(a, {}, false, op);
  Tensor values;
  extreme_kernel<kMax>(a, p, &values, nullptr);
  values = to_out(values, p);
  if (auto node = make_node<EvenlyDistributeBackward>({a}, p, extreme_name(kMax, "MaxBackward1", "MinBackward1"), true)) {
    node->save("self", node->self, a, false);
    node->save("result", node->result, values, true);
    set_history({values}, node);
  }
  return values;
}

template <bool kMax>
std::pair<Tensor, Tensor> extreme_dim(const Tensor& a, int64_t dim, bool keepdim) {
  const char* op = kMax ? "max" : "min";
  ReducePlan p = plan_reduction(a, {dim}, keepdim, op);
  check_reduced_nonempty(a, p, op);
  Tensor values, indices;
  extreme_kernel<kMax>(a, p, &values, &indices);
  values = to_out(values, p);
  indices = to_out(indices, p);
  if (auto node = make_node<IndexSelectBackward>({a}, a.shape(), a.dim() ? wrap_dim(dim, a.dim(), op) : 0,
                                                 extreme_name(kMax, "MaxBackward0", "MinBackward0"))) {
    node->save("indices", node->indices, indices, false);
    set_history({values}, node);
  }
  return {values, indices};
}

template <bool kMax>
Tensor extreme_dims(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  const char* op = kMax ? "amax" : "amin";
  ReducePlan p = plan_reduction(a, dims, keepdim, op);
  GC_CHECK(!dims.empty() || a.numel() > 0, "[", op, "] ", op, "(): Expected reduction dim to be specified for "
           "input.numel() == 0. Specify the reduction dim with the 'dim' argument.");
  check_reduced_nonempty(a, p, op);
  Tensor values;
  extreme_kernel<kMax>(a, p, &values, nullptr);
  values = to_out(values, p);
  if (auto node = make_node<EvenlyDistributeBackward>({a}, p, extreme_name(kMax, "AmaxBackward0", "AminBackward0"), false)) {
    node->save("self", node->self, a, false);
    node->save("result", node->result, values, true);
    set_history({values}, node);
  }
  return values;
}

template <bool kMax>
Tensor arg_extreme(const Tensor& a, std::optional<int64_t> dim, bool keepdim) {
  const char* op = kMax ? "argmax" : "argmin";
  GC_CHECK(a.dtype() != DType::Bool, "[", op, "] ", op, "(): does not support bool input");
  GC_CHECK_T(IndexError, dim || a.numel() > 0, "[", op, "] ", op,
             "(): Expected reduction dim to be specified for input.numel() == 0.");
  // Without a dim every dim is reduced, so the index counts through the flattened tensor.
  ReducePlan p = dim ? plan_reduction(a, {*dim}, keepdim, op) : plan_reduction(a, {}, keepdim, op);
  check_reduced_nonempty(a, p, op);
  Tensor indices;
  extreme_kernel<kMax>(a, p, nullptr, &indices);
  return to_out(indices, p);
}
}  // namespace

Tensor max(const Tensor& a) { return extreme_all<true>(a); }
Tensor min(const Tensor& a) { return extreme_all<false>(a); }
std::pair<Tensor, Tensor> max(const Tensor& a, int64_t dim, bool keepdim) { return extreme_dim<true>(a, dim, keepdim); }
std::pair<Tensor, Tensor> min(const Tensor& a, int64_t dim, bool keepdim) { return extreme_dim<false>(a, dim, keepdim); }
Tensor amax(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return extreme_dims<true>(a, dims, keepdim); }
Tensor amin(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return extreme_dims<false>(a, dims, keepdim); }
Tensor argmax(const Tensor& a, std::optional<int64_t> dim, bool keepdim) { return arg_extreme<true>(a, dim, keepdim); }
Tensor argmin(const Tensor& a, std::optional<int64_t> dim, bool keepdim) { return arg_extreme<false>(a, dim, keepdim); }

// ---- var / std -------------------------------------------------------------------------------------
namespace {
// VarBackward0: (2 / (N - correction)) * g * (x - mean); StdBackward0 first divides g by 2 * std
// (0 where std is 0). Without dims and N <= correction PyTorch gives NaN where x equals the mean and
// inf elsewhere.
struct VarStdBackward : Node {
  SavedTensor self, result;
  ReducePlan plan;
  double correction;
  bool is_std, all;
  VarStdBackward(ReducePlan p, double c, bool s, bool a) : plan(std::move(p)), correction(c), is_std(s), all(a) {}
  std::string name() const override { return is_std ? "StdBackward0" : "VarBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this), gk = view(g[0], plan.keep_shape);
    const DType t = x.dtype();
    if (is_std) {
      Tensor r = view(result.unpack(this), plan.keep_shape);
      gk = where(eq(r, zeros({}, t)), zeros({}, t), div(gk, mul(r, 2)));
    }
    const double dof = static_cast<double>(plan.count) - correction;
    if (all && dof <= 0) {
      Tensor m = mean(x);
      return {mul(gk, where(eq(x, m), full({}, std::numeric_limits<double>::quiet_NaN(), t),
                            full({}, std::numeric_limits<double>::infinity(), t)))};
    }
    return {mul(mul(gk, 2.0 / dof), sub(x, mean(x, reduced_dims(plan), true)))};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};

Tensor var_std(const Tensor& a, const std::vector<int64_t>& dims, double correction, bool keepdim, bool take_sqrt) {
  const char* op = take_sqrt ? "std" : "var";
  GC_CHECK(is_floating(a.dtype()), "[", op, "] std and var only support floating point and complex dtypes");
  ReducePlan p = plan_reduction(a, dims, keepdim, op);
  // Two passes in double: the mean, then the sum of squared deviations from it.
  const double n = static_cast<double>(p.count);
  Tensor mean_acc = sum_acc(a, p, false);
  kernels::unary_loop<double, double>(mean_acc, mean_acc, [n](double s) { return s / n; });
  Tensor dev2 = empty(a.shape(), DType::Float64);
  GC_DISPATCH_FLOATING(a.dtype(), op, [&] {
    kernels::binary_loop<double, scalar_t, double>(dev2, a, mean_acc, [](scalar_t x, double m) {
      const double d = static_cast<double>(x) - m;
      return d * d;
    });
  });
  Tensor m2 = sum_acc(dev2, p, false);
  const double dof = std::max(0.0, n - correction);
  Tensor out = empty(p.keep_shape, a.dtype());
  GC_DISPATCH_FLOATING(a.dtype(), op, [&] {
    kernels::unary_loop<scalar_t, double>(out, m2, [dof, take_sqrt](double s) {
      const double v = s / dof;
      return static_cast<scalar_t>(take_sqrt ? std::sqrt(v) : v);
    });
  });
  out = to_out(out, p);
  if (auto node = make_node<VarStdBackward>({a}, p, correction, take_sqrt, dims.empty())) {
    node->save("self", node->self, a, false);
    if (take_sqrt) node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor var(const Tensor& a, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  return var_std(a, dims, correction, keepdim, false);
}
Tensor std(const Tensor& a, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  return var_std(a, dims, correction, keepdim, true);
}

// ---- logsumexp ---------------------------------------------------------------------------------------
namespace {
// d logsumexp / dx = exp(x - result).
struct LogsumexpBackward0 : Node {
  SavedTensor self, result;
  ReducePlan plan;
  explicit LogsumexpBackward0(ReducePlan p) : plan(std::move(p)) {}
  std::string name() const override { return "LogsumexpBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this), r = view(result.unpack(this), plan.keep_shape);
    return {mul(view(g[0], plan.keep_shape), exp(sub(x, r)))};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};
}  // namespace

Tensor logsumexp(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor x = is_floating(a.dtype()) ? a : to_dtype(a, DType::Float32);  // integers promote, as in PyTorch
  ReducePlan p = plan_reduction(x, dims, keepdim, "logsumexp");
  Tensor out = empty(p.keep_shape, x.dtype());
  GC_DISPATCH_FLOATING(x.dtype(), "logsumexp", [&] {
    using T = scalar_t;
    using Acc = ExtremeAcc<T, true>;
    // max + log(sum(exp(x - max))), with an infinite max replaced by 0 (all -inf slices give -inf).
    Tensor shift = finish<double, Acc>(fold_reduce<T>(x, p, Acc::empty_acc(), [](const Acc& u, const Acc& v) { return Acc::combine(u, v); }),
                                       [](const Acc& r) { return std::isinf(r.val) ? 0.0 : static_cast<double>(r.val); });
    Tensor e = empty(x.shape(), DType::Float64);
    // exp in the input's precision (each term to within its rounding; the sum is accumulated in double).
    kernels::binary_loop<double, T, double>(e, x, shift, [](T v, double m) {
      return static_cast<double>(std::exp(static_cast<T>(static_cast<double>(v) - m)));
    });
    kernels::binary_loop<T, double, double>(out, sum_acc(e, p, false), shift,
                                            [](double s, double m) { return static_cast<T>(std::log(s) + m); });
  });
  out = to_out(out, p);
  if (auto node = make_node<LogsumexpBackward0>({x}, p)) {
    node->save("self", node->self, x, false);
    node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}

// ---- norm ----------------------------------------------------------------------------------------
namespace {
// -1, 0 or 1 per element (0 at 0), as a constant: sign's derivative is 0.
Tensor sign_of(const Tensor& x) {
  return internal::unary_float_kernel(x, "sign", [](auto v) { return static_cast<decltype(v)>((v > 0) - (v < 0)); });
}

// PyTorch's linalg_vector_norm_backward; 0 where the norm is 0 (the subgradient PyTorch picks).
struct LinalgVectorNormBackward0 : Node {
  SavedTensor self, result;
  double p;
  ReducePlan plan;
  LinalgVectorNormBackward0(double ord, ReducePlan pl) : p(ord), plan(std::move(pl)) {}
  std::string name() const override { return "LinalgVectorNormBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor x = self.unpack(this);
    const DType t = x.dtype();
    if (p == 0) return {Tensor()};  // PyTorch gives no gradient (None) for the 0-"norm"
    Tensor r = view(result.unpack(this), plan.keep_shape), gk = view(g[0], plan.keep_shape);
    Tensor zero = zeros({}, t), sgn = sign_of(x);
    if (p == 1) return {mul(sgn, gk)};
    if (p == 2) return {mul(gk, where(eq(r, zero), zero, div(x, r)))};
    if (std::isinf(p)) {
      // The gradient is split among the elements whose |x| attains the norm (all of them when it is NaN).
      Tensor is_max = internal::cast(where(ne(r, r), ne(r, r), eq(mul(x.detach(), sgn), r)), t);
      Tensor count = sum(is_max, reduced_dims(plan), true);
      return {mul(mul(sgn, is_max), div(gk, count))};
    }
    Tensor abs_x = mul(x, sgn);
    if (p < 1) {
      Tensor scaled = where(eq(x, zero), zero, mul(sgn, pow(abs_x, p - 1)));
      return {mul(mul(scaled, gk), pow(r, 1 - p))};
    }
    Tensor scaled = p < 2 ? mul(sgn, pow(abs_x, p - 1)) : mul(x, pow(abs_x, p - 2));
    return {mul(scaled, where(eq(r, zero), zero, div(gk, pow(r, p - 1))))};
  }
  void release_saved() override {
    self.release();
    result.release();
  }
};
}  // namespace

Tensor norm(const Tensor& a, double p, const std::vector<int64_t>& dims, bool keepdim) {
  GC_CHECK(is_floating(a.dtype()), "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
           a.dtype() == DType::Bool ? "Bool" : "Long");
  ReducePlan plan = plan_reduction(a, dims, keepdim, "linalg.vector_norm");
  if (a.numel() == 0 && (p < 0 || p == std::numeric_limits<double>::infinity())) {
    GC_CHECK(!dims.empty(), "linalg.vector_norm cannot compute the ", p, " norm on an empty tensor because the "
             "operation does not have an identity");
    for (size_t d = 0; d < plan.reduced.size(); ++d)
      GC_CHECK(!plan.reduced[d] || a.shape()[d] != 0, "linalg.vector_norm cannot compute the ", p, " norm on the "
               "dimension ", d, " because this dimension is empty and the operation does not have an identity");
  }
  Tensor acc;  // double, keep_shape
  if (p == 2) {
    acc = sum_acc(a, plan, true);
    kernels::unary_loop<double, double>(acc, acc, [](double s) { return std::sqrt(s); });
  } else {
    // |x| (or |x|^p, or x != 0 for p = 0) in double, then folded.
    Tensor e = empty(a.shape(), DType::Float64);
    GC_DISPATCH_FLOATING(a.dtype(), "linalg.vector_norm", [&] {
      kernels::unary_loop<double, scalar_t>(e, a, [p](scalar_t v) {
        const double m = std::fabs(static_cast<double>(v));
        return p == 0 ? static_cast<double>(v != 0) : (std::isinf(p) || p == 1) ? m : std::pow(m, p);
      });
    });
    if (std::isinf(p)) {
      auto extreme = [&](auto tag) {
        using Acc = ExtremeAcc<double, decltype(tag)::value>;
        return finish<double, Acc>(fold_reduce<double>(e, plan, Acc::empty_acc(), [](const Acc& u, const Acc& v) { return Acc::combine(u, v); }),
                                   [](const Acc& r) { return r.val; });
      };
      acc = p > 0 ? extreme(std::true_type()) : extreme(std::false_type());
    } else {
      acc = sum_acc(e, plan, false);
      if (p != 0 && p != 1) kernels::unary_loop<double, double>(acc, acc, [p](double s) { return std::pow(s, 1.0 / p); });
    }
  }
  Tensor out = to_out(internal::cast(acc, a.dtype()), plan);
  if (auto node = make_node<LinalgVectorNormBackward0>({a}, p, plan)) {
    node->save("self", node->self, a, false);
    node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}

Tensor norm(const Tensor& a) { return norm(a, 2.0, {}, false); }

// ---- cumsum --------------------------------------------------------------------------------------
namespace {
// Scans `x` along dim `d` into `out` (same shape and dtype), from the end when `reverse`. Each line
// along `d` is summed in double (int64 for integers); the other dims are walked by the loop plan.
void scan_into(const Tensor& out, const Tensor& x, int64_t d, bool reverse) {
  const int64_t n = x.shape()[d];
  if (out.numel() == 0) return;
  auto drop_dim = [d](const Tensor& t) {
    Shape sizes = t.shape(), strides = t.strides();
    sizes.erase(sizes.begin() + d);
    strides.erase(strides.begin() + d);
    return make_view(t, std::move(sizes), std::move(strides), t.storage_offset());
  };
  Tensor o0 = drop_dim(out), x0 = drop_dim(x);
  const int64_t so = out.strides()[d], sx = x.strides()[d];
  GC_DISPATCH_ALL(out.dtype(), [&] {
    using T = scalar_t;
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
    auto plan = kernels::make_plan<2>(o0.shape(), {o0.impl(), x0.impl()});
    kernels::for_each_row<2>(plan, {static_cast<char*>(o0.raw_data()), static_cast<char*>(x0.raw_data())},
                             {sizeof(T), sizeof(T)}, [&](std::array<char*, 2> ptr, int64_t m, std::array<int64_t, 2> s) {
                               T* o = reinterpret_cast<T*>(ptr[0]);
                               const T* a = reinterpret_cast<const T*>(ptr[1]);
                               for (int64_t i = 0; i < m; ++i) {
                                 Acc acc = 0;
                                 for (int64_t k = 0; k < n; ++k) {
                                   const int64_t j = reverse ? n - 1 - k : k;
                                   acc += static_cast<Acc>(a[i * s[1] + j * sx]);
                                   o[i * s[0] + j * so] = static_cast<T>(acc);
                                 }
                               }
                             });
  });
}

Tensor cumsum_impl(const Tensor& x, int64_t d, bool reverse);

// The gradient of a cumulative sum is the cumulative sum from the other end.
struct CumsumBackward0 : Node {
  int64_t dim;
  bool reverse;
  CumsumBackward0(int64_t d, bool r) : dim(d), reverse(r) {}
  std::string name() const override { return "CumsumBackward0"; }
  TensorList apply(TensorList&& g) override { return {cumsum_impl(g[0], dim, !reverse)}; }
};

Tensor cumsum_impl(const Tensor& x, int64_t d, bool reverse) {
  Tensor out = empty(x.shape(), x.dtype());
  if (x.dim() == 0)
    internal::copy_into(out, x);
  else
    scan_into(out, x, d, reverse);
  if (auto node = make_node<CumsumBackward0>({x}, d, reverse)) set_history({out}, node);
  return out;
}
}  // namespace

Tensor cumsum(const Tensor& a, int64_t dim, std::optional<DType> dtype) {
  const int64_t d = wrap_dim(dim, a.dim(), "cumsum");
  DType t = dtype.value_or(is_floating(a.dtype()) ? a.dtype() : DType::Int64);
  return cumsum_impl(to_dtype(a, t), d, false);
}

// ---- all / any -----------------------------------------------------------------------------------
namespace {
template <bool kAll>
Tensor logical_fold(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) {
  ReducePlan p = plan_reduction(a, dims, keepdim, kAll ? "all" : "any");
  Tensor acc = full(p.keep_shape, kAll, DType::Bool);
  if (a.numel() == 0) return to_out(acc, p);
  GC_DISPATCH_ALL(a.dtype(), [&] {
    using T = scalar_t;
    kernels::reduce_loop<bool, T>(
        acc, a, [](bool r, bool v) { return kAll ? (r && v) : (r || v); }, [](bool r, bool v) { return kAll ? (r && v) : (r || v); },
        [](const T* p, int64_t n, int64_t s) {
          for (int64_t i = 0; i < n; ++i)
            if ((p[i * s] != T(0)) != kAll) return !kAll;
          return kAll;
        });
  });
  return to_out(acc, p);
}
}  // namespace

Tensor all(const Tensor& a) { return logical_fold<true>(a, {}, false); }
Tensor any(const Tensor& a) { return logical_fold<false>(a, {}, false); }
Tensor all(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return logical_fold<true>(a, dims, keepdim); }
Tensor any(const Tensor& a, const std::vector<int64_t>& dims, bool keepdim) { return logical_fold<false>(a, dims, keepdim); }

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

// Neural-network functions that need a kernel of their own for speed or numerical stability:
// softmax / log_softmax (max-subtracted), nll_loss, constant_pad_nd. The rest of
// gradcore.nn.functional is composed from ops in Python.
#include <algorithm>
#include <cmath>
#include <limits>

#include "gradcore/grad_mode.h"
#include "gradcore/kernels/vec_math.h"
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {
// A tensor seen as (outer, size, inner) around one dim.
struct DimSplit {
  int64_t outer = 1, size = 1, inner = 1;
};
DimSplit split_at(const Shape& shape, int64_t dim) {
  DimSplit s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) s.outer *= shape[d];
    else if (d == dim) s.size = shape[d];
    else s.inner *= shape[d];
  }
  return s;
}

// ---- softmax / log_softmax kernel -------------------------------------------------------------------
// For each (outer, inner) position: m = max over the dim, s = sum exp(x - m) (in double), then
// softmax = exp(x - m) / s, log_softmax = x - m - log(s). An all -inf row gives NaN, as in PyTorch.
// The max is exactly representable in T, so x - m is computed exactly as PyTorch does.
// The common case, softmax over the last (contiguous) dim: one row at a time, in registers.
template <typename T, bool kLog>
void softmax_rows_serial(const T* x, T* y, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    const T m = kernels::vec::max(x, n);  // NaN if the row has a NaN
    // y = exp(x - m) (for log_softmax y is only scratch, overwritten below). All four passes are
    // vectorised kernels; the row is in L1 after the first.
    kernels::vec::exp_shifted(x, m, y, n);
    const double sum = kernels::vec::sum(y, n);
    if constexpr (kLog)
      kernels::vec::affine(x, T(1), -static_cast<T>(static_cast<double>(m) + std::log(sum)), y, n);
    else
      kernels::vec::affine(y, static_cast<T>(1.0 / sum), T(0), y, n);
  }
}

// Rows are independent: blocks of them go to the thread pool (each row's result does not depend on
// the split, so the output is deterministic).
template <typename T, bool kLog>
void softmax_rows(const T* x, T* y, int64_t rows, int64_t n) {
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(n, 1));
  parallel_for(rows, grain, [&](int64_t b, int64_t e) { softmax_rows_serial<T, kLog>(x + b * n, y + b * n, e - b, n); });
}

template <typename T, bool kLog>
void softmax_kernel(const T* x, T* y, const DimSplit& s) {
  if (s.inner == 1) return softmax_rows<T, kLog>(x, y, s.outer, s.size);
  std::vector<double> mx(static_cast<size_t>(s.inner)), sum(static_cast<size_t>(s.inner));
  for (int64_t o = 0; o < s.outer; ++o) {
    const T* xo = x + o * s.size * s.inner;
    T* yo = y + o * s.size * s.inner;
    std::fill(mx.begin(), mx.end(), -std::numeric_limits<double>::infinity());
    std::fill(sum.begin(), sum.end(), 0.0);
    for (int64_t k = 0; k < s.size; ++k)
      for (int64_t i = 0; i < s.inner; ++i) {
        const double v = static_cast<double>(xo[k * s.inner + i]);
        // NaN propagates: a NaN anywhere in the row makes the max NaN.
        if (!(v <= mx[i])) mx[i] = v;
      }
    for (int64_t k = 0; k < s.size; ++k)
      for (int64_t i = 0; i < s.inner; ++i) {
        // exp in the input's precision (float32 exp is several times cheaper); the sum stays in double.
        const T e = std::exp(xo[k * s.inner + i] - static_cast<T>(mx[i]));
        sum[i] += static_cast<double>(e);
        if constexpr (!kLog) yo[k * s.inner + i] = static_cast<T>(e);
      }
    for (int64_t k = 0; k < s.size; ++k)
      for (int64_t i = 0; i < s.inner; ++i) {
        T& out = yo[k * s.inner + i];
        if constexpr (kLog)
          out = static_cast<T>(static_cast<double>(xo[k * s.inner + i]) - mx[i] - std::log(sum[i]));
        else
          out = static_cast<T>(static_cast<double>(out) / sum[i]);
      }
  }
}

template <bool kLog>
Tensor softmax_forward(const Tensor& a, int64_t dim, const char* op) {
  GC_CHECK(is_floating(a.dtype()), "[", op, "] \"softmax_lastdim_kernel_impl\" not implemented for '",
           scalar_type_name(a.dtype()), "'");
  Tensor x = contiguous(a.detach());
  Tensor out = empty(a.shape(), a.dtype());
  DimSplit s = split_at(a.shape(), dim);
  if (out.numel() == 0) return out;
  GC_DISPATCH_FLOATING(a.dtype(), op, [&] { softmax_kernel<scalar_t, kLog>(x.data<scalar_t>(), out.data<scalar_t>(), s); });
  return out;
}

// The gradient of (log_)softmax over the last dim in one pass per row (plain backward, no graph):
//   softmax:     gx = y * (g - sum(g * y))
//   log_softmax: gx = g - exp(y) * sum(g)
// Returns an undefined tensor when the fused form does not apply (another dim, mixed dtypes, or a
// graph of the gradient is being built), and the caller composes it from ops instead.
template <bool kLog>
Tensor softmax_backward_rows(const Tensor& grad, const Tensor& y, int64_t dim) {
  if (GradMode::is_enabled() || dim != y.dim() - 1 || grad.dtype() != y.dtype() || grad.shape() != y.shape() ||
      !y.is_contiguous() || y.numel() == 0)
    return Tensor();
  Tensor g = contiguous(grad), out = empty(y.shape(), y.dtype());
  const int64_t n = y.shape().back(), rows = y.numel() / n;
  GC_DISPATCH_FLOATING(y.dtype(), "softmax_backward", [&] {
    using T = scalar_t;
    const T* gp = g.data<T>();
    const T* yp = y.data<T>();
    T* op = out.data<T>();
    const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / n);
    parallel_for(rows, grain, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* gr = gp + r * n;
        const T* yr = yp + r * n;
        T* o = op + r * n;
        if constexpr (kLog) {
          const T s = static_cast<T>(kernels::vec::sum(gr, n));
          kernels::vec::exp(yr, o, n);
          for (int64_t i = 0; i < n; ++i) o[i] = gr[i] - o[i] * s;
        } else {
          for (int64_t i = 0; i < n; ++i) o[i] = gr[i] * yr[i];
          const T s = static_cast<T>(kernels::vec::sum(o, n));
          for (int64_t i = 0; i < n; ++i) o[i] = yr[i] * (gr[i] - s);
        }
      }
    });
  });
  return out;
}

struct SoftmaxBackward0 : Node {
  SavedTensor result;
  int64_t dim;
  explicit SoftmaxBackward0(int64_t d) : dim(d) {}
  std::string name() const override { return "SoftmaxBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor y = result.unpack(this);
    if (Tensor fused = softmax_backward_rows<false>(g[0], y, dim); fused.defined()) return {fused};
    return {mul(y, sub(g[0], sum(mul(g[0], y), {dim}, true)))};
  }
  void release_saved() override { result.release(); }
};

struct LogSoftmaxBackward0 : Node {
  SavedTensor result;
  int64_t dim;
  explicit LogSoftmaxBackward0(int64_t d) : dim(d) {}
  std::string name() const override { return "LogSoftmaxBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor y = result.unpack(this);
    if (Tensor fused = softmax_backward_rows<true>(g[0], y, dim); fused.defined()) return {fused};
    return {sub(g[0], mul(exp(y), sum(g[0], {dim}, true)))};
  }
  void release_saved() override { result.release(); }
};
}  // namespace

Tensor softmax(const Tensor& a, int64_t dim) {
  dim = wrap_dim(dim, a.dim(), "softmax");
  Tensor out = softmax_forward<false>(a, dim, "softmax");
  if (auto node = make_node<SoftmaxBackward0>({a}, dim)) {
    node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}

Tensor log_softmax(const Tensor& a, int64_t dim) {
  dim = wrap_dim(dim, a.dim(), "log_softmax");
  Tensor out = softmax_forward<true>(a, dim, "log_softmax");
  if (auto node = make_node<LogSoftmaxBackward0>({a}, dim)) {
    node->save("result", node->result, out, true);
    set_history({out}, node);
  }
  return out;
}

// ---- nll_loss ----------------------------------------------------------------------------------------
namespace {
// The loss is linear in the input: d loss / d input = coef, a constant tensor shaped like the input
// holding -weight[t] (divided by the total weight for 'mean') at each target position. For
// reduction 'none' the incoming gradient has the target's shape and is broadcast over classes.
struct NllLossBackward0 : Node {
  SavedTensor coef;
  Shape grad_view;  // the incoming gradient's shape with the class dim inserted (reduction 'none')
  std::string name() const override { return "NllLossBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor grad = grad_view.empty() ? g[0] : reshape(g[0], grad_view);
    return {mul(grad, coef.unpack(this))};
  }
  void release_saved() override { coef.release(); }
};
}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight, int64_t reduction, int64_t ignore_index) {
  const int64_t nd = input.dim();
  GC_CHECK(nd >= 1, "[nll_loss] input tensor should be 1D or more, got 0D");
  GC_CHECK(target.dtype() == DType::Int64, "[nll_loss] expected target dtype to be Long or Byte, but got ",
           scalar_type_name(target.dtype()));
  GC_CHECK(is_floating(input.dtype()), "[nll_loss] \"nll_loss_out_frame\" not implemented for '",
           scalar_type_name(input.dtype()), "'");
  GC_CHECK(reduction >= 0 && reduction <= 2, "[nll_loss] invalid reduction ", reduction);
  // Geometry: input (N, C, S) with S the product of the trailing dims; target (N, S).
  int64_t N = 1, C = 0, S = 1;
  if (nd == 1) {
    GC_CHECK(target.dim() == 0, "[nll_loss] 0D target tensor expected for a 1D input, got ", target.dim(), "D");
    C = input.shape()[0];
  } else if (nd == 2) {
    GC_CHECK(target.dim() <= 1, "[nll_loss] 0D or 1D target tensor expected, multi-target not supported");
    N = input.shape()[0];
    C = input.shape()[1];
    const int64_t tn = target.dim() == 0 ? 1 : target.shape()[0];
    GC_CHECK_T(ValueError, tn == N, "[nll_loss] Expected input batch_size (", N, ") to match target batch_size (", tn,
               ").");
  } else {
    N = input.shape()[0];
    C = input.shape()[1];
    Shape expected{N};
    for (int64_t d = 2; d < nd; ++d) {
      expected.push_back(input.shape()[d]);
      S *= input.shape()[d];
    }
    GC_CHECK(target.shape() == expected, "[nll_loss] Expected target size ", shape_list_str(expected), ", got ",
             shape_list_str(target.shape()));
  }
  if (weight.defined()) {
    GC_CHECK(weight.dim() == 1 && weight.numel() == C, "[nll_loss] weight tensor should be defined either for all ", C,
             " classes or no classes but got weight tensor of shape: ", shape_list_str(weight.shape()));
    GC_CHECK(weight.dtype() == input.dtype(), "[nll_loss] expected scalar type ", scalar_type_name(input.dtype()),
             " but found ", scalar_type_name(weight.dtype()));
  }
  Tensor x = contiguous(input.detach());
  Tensor t = contiguous(target.detach());
  Tensor w = weight.defined() ? contiguous(weight.detach()) : Tensor();
  const bool need_grad = any_requires_grad({input});
  Tensor coef = need_grad ? zeros(input.shape(), input.dtype()) : Tensor();
  Tensor out = reduction == 0 ? empty(target.shape(), input.dtype()) : empty({}, input.dtype());
  GC_DISPATCH_FLOATING(input.dtype(), "nll_loss", [&] {
    using T = scalar_t;
    const T* xp = x.data<T>();
    const int64_t* tp = t.data<int64_t>();
    const T* wp = w.defined() ? w.data<T>() : nullptr;
    T* cp = need_grad ? coef.data<T>() : nullptr;
    T* op = out.data<T>();
    double total = 0, total_w = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < S; ++s) {
        const int64_t cls = tp[n * S + s];
        double loss = 0;
        if (cls != ignore_index) {
          GC_CHECK_T(IndexError, cls >= 0 && cls < C, "Target ", cls, " is out of bounds.");
          const double wt = wp ? static_cast<double>(wp[cls]) : 1.0;
          const int64_t at = (n * C + cls) * S + s;
          loss = -wt * static_cast<double>(xp[at]);
          total_w += wt;
          if (cp) cp[at] = static_cast<T>(-wt);
        }
        if (reduction == 0) op[n * S + s] = static_cast<T>(loss);
        total += loss;
      }
    if (reduction == 1) *op = static_cast<T>(total / total_w);  // 0/0 = NaN when every target is ignored
    if (reduction == 2) *op = static_cast<T>(total);
    if (cp && reduction == 1) {
      const T inv = static_cast<T>(1.0 / total_w);
      for (int64_t i = 0; i < coef.numel(); ++i)
        if (cp[i] != T(0)) cp[i] *= inv;  // (no 0 * inf where every target is ignored)
    }
  });
  if (auto node = make_node<NllLossBackward0>({input})) {
    node->save("coef", node->coef, coef, false);
    if (reduction == 0 && nd >= 2) {
      node->grad_view = target.dim() == 0 ? Shape{1} : target.shape();
      node->grad_view.insert(node->grad_view.begin() + 1, 1);
    }
    set_history({out}, node);
  }
  return out;
}

// ---- constant_pad_nd -----------------------------------------------------------------------------------
namespace {
struct ConstantPadNdBackward0 : Node {
  std::vector<int64_t> pad;
  explicit ConstantPadNdBackward0(std::vector<int64_t> p) : pad(std::move(p)) {}
  std::string name() const override { return "ConstantPadNdBackward0"; }
  TensorList apply(TensorList&& g) override {
    std::vector<int64_t> neg(pad.size());
    for (size_t i = 0; i < pad.size(); ++i) neg[i] = -pad[i];
    return {constant_pad_nd(g[0], neg, 0)};
  }
};
}  // namespace

Tensor constant_pad_nd(const Tensor& a, const std::vector<int64_t>& pad, Scalar value) {
  const int64_t nd = a.dim(), np = static_cast<int64_t>(pad.size());
  GC_CHECK(np % 2 == 0, "[pad] Padding length must be divisible by 2");
  GC_CHECK(np / 2 <= nd, "[pad] Padding length should be less than or equal to two times the input dimension but got "
           "padding length ", np, " and input of dimension ", nd);
  Shape out_shape = a.shape();
  Shape src_sizes = a.shape();
  int64_t src_offset = a.storage_offset(), dst_offset = 0;
  std::vector<int64_t> dst_start(static_cast<size_t>(nd), 0);
  bool any_copy = true;
  for (int64_t i = 0; i < np / 2; ++i) {
    const int64_t d = nd - 1 - i, lo = pad[2 * i], hi = pad[2 * i + 1], size = a.shape()[d];
    const int64_t new_size = size + lo + hi;
    GC_CHECK(new_size >= 0, "[pad] The input size ", size, ", plus negative padding ", lo, " and ", hi,
             " resulted in a negative output size, which is invalid. Check dimension ", d, " of your input.");
    out_shape[d] = new_size;
    const int64_t crop_lo = std::max<int64_t>(0, -lo), crop_hi = std::max<int64_t>(0, -hi);
    src_sizes[d] = size - crop_lo - crop_hi;
    if (src_sizes[d] <= 0) any_copy = false;
    src_offset += crop_lo * a.strides()[d];
    dst_start[d] = std::max<int64_t>(0, lo);
  }
  Tensor out = full(out_shape, value, a.dtype());
  if (any_copy && a.numel() > 0) {
    Shape out_strides = out.strides();
    for (int64_t d = 0; d < nd; ++d) dst_offset += dst_start[d] * out_strides[d];
    Tensor src = make_view(a, src_sizes, a.strides(), src_offset);
    Tensor dst = make_view(out, src_sizes, out_strides, dst_offset);
    internal::copy_into(dst, src);
  }
  if (auto node = make_node<ConstantPadNdBackward0>({a}, pad)) set_history({out}, node);
  return out;
}

}  // namespace gradcore

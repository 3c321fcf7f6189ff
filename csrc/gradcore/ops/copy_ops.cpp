// Copies that rearrange or mask a whole tensor: flip, repeat, tril, triu. Each builds a strided view
// of the input (or of the output) describing the rearrangement and runs one copy_into over it.
#include <algorithm>

#include "gradcore/ops/internal.h"

namespace gradcore {

// ---- flip ----------------------------------------------------------------------------------------
namespace {
struct FlipBackward0 : Node {
  std::vector<int64_t> dims;
  explicit FlipBackward0(std::vector<int64_t> d) : dims(std::move(d)) {}
  std::string name() const override { return "FlipBackward0"; }
  TensorList apply(TensorList&& g) override { return {flip(g[0], dims)}; }
};
}  // namespace

Tensor flip(const Tensor& a, const std::vector<int64_t>& dims) {
  std::vector<bool> flipped(std::max<int64_t>(a.dim(), 1), false);
  std::vector<int64_t> wrapped;
  for (int64_t d : dims) {
    const int64_t w = wrap_dim(d, std::max<int64_t>(a.dim(), 1), "flip");
    GC_CHECK(!flipped[w], "[flip] dim ", w, " appears multiple times in the list of dims");
    flipped[w] = true;
    wrapped.push_back(w);
  }
  // The input read backwards along the flipped dims: negative strides from the last element.
  Shape strides = a.strides();
  int64_t offset = a.storage_offset();
  if (a.numel() > 0)
    for (int64_t d = 0; d < a.dim(); ++d)
      if (flipped[d]) {
        offset += (a.shape()[d] - 1) * strides[d];
        strides[d] = -strides[d];
      }
  Tensor out = empty(a.shape(), a.dtype());
  internal::copy_into(out, make_view(a, a.shape(), std::move(strides), offset));
  if (auto node = make_node<FlipBackward0>({a}, std::move(wrapped))) set_history({out}, node);
  return out;
}

// ---- repeat --------------------------------------------------------------------------------------
// With the input padded to len(repeats) dims (sizes x), the output seen as (r0, x0, r1, x1, ...) is the
// input broadcast along the r dims; the gradient sums over them.
namespace {
struct RepeatBackward0 : Node {
  Shape repeats, self_shape;
  RepeatBackward0(Shape r, Shape s) : repeats(std::move(r)), self_shape(std::move(s)) {}
  std::string name() const override { return "RepeatBackward0"; }
  TensorList apply(TensorList&& g) override {
    if (repeats.empty()) return {g[0]};
    const size_t pad = repeats.size() - self_shape.size();
    Shape split;
    std::vector<int64_t> sum_dims;
    for (size_t d = 0; d < repeats.size(); ++d) {
      sum_dims.push_back(static_cast<int64_t>(split.size()));
      split.push_back(repeats[d]);
      split.push_back(d < pad ? 1 : self_shape[d - pad]);
    }
    return {reshape(sum(reshape(g[0], split), sum_dims, false), self_shape)};
  }
};
}  // namespace

Tensor repeat(const Tensor& a, const Shape& repeats) {
  const int64_t m = static_cast<int64_t>(repeats.size());
  GC_CHECK(m >= a.dim(), "[repeat] Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  const int64_t pad = m - a.dim();
  Shape out_shape(m), split(2 * m), src_strides(2 * m, 0);
  for (int64_t d = 0; d < m; ++d) {
    const int64_t x = d < pad ? 1 : a.shape()[d - pad];
    out_shape[d] = repeats[d] * x;
    split[2 * d] = repeats[d];
    split[2 * d + 1] = x;
    src_strides[2 * d + 1] = d < pad ? 0 : a.strides()[d - pad];
  }
  for (int64_t d = 0; d < m; ++d) {
    if (repeats[d] >= 0) continue;
    std::string sizes;
    for (int64_t s : out_shape) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
    throw Error(detail::cat("[repeat] Trying to create tensor with negative dimension ", out_shape[d], ": [", sizes, "]"));
  }
  Tensor out = empty(out_shape, a.dtype());
  if (out.numel() > 0)
    internal::copy_into(make_view(out, split, contiguous_strides(split), 0),
                        make_view(a, split, std::move(src_strides), a.storage_offset()));
  if (auto node = make_node<RepeatBackward0>({a}, repeats, a.shape())) set_history({out}, node);
  return out;
}

// ---- tril / triu ---------------------------------------------------------------------------------
namespace {
// A contiguous copy of `a` with the elements outside the kept triangle of each matrix zeroed:
// tril keeps column j of row i when j - i <= k, triu when j - i >= k.
Tensor triangle(const Tensor& a, int64_t k, bool lower, const char* op) {
  GC_CHECK(a.dim() >= 2, "[", op, "] ", op, ": input tensor must have at least 2 dimensions");
  Tensor out = empty(a.shape(), a.dtype());
  internal::copy_into(out, a);
  const int64_t rows = a.shape()[a.dim() - 2], cols = a.shape()[a.dim() - 1];
  if (out.numel() == 0) return out;
  const int64_t batches = out.numel() / (rows * cols);
  GC_DISPATCH_ALL(a.dtype(), [&] {
    scalar_t* p = out.data<scalar_t>();
    for (int64_t b = 0; b < batches; ++b)
      for (int64_t i = 0; i < rows; ++i) {
        scalar_t* row = p + (b * rows + i) * cols;
        // Zero [from, to) of this row.
        int64_t from = lower ? std::clamp<int64_t>(i + k + 1, 0, cols) : 0;
        int64_t to = lower ? cols : std::clamp<int64_t>(i + k, 0, cols);
        std::fill(row + from, row + to, scalar_t(0));
      }
  });
  return out;
}

struct TrilBackward0 : Node {
  int64_t k;
  explicit TrilBackward0(int64_t d) : k(d) {}
  std::string name() const override { return "TrilBackward0"; }
  TensorList apply(TensorList&& g) override { return {tril(g[0], k)}; }
};

struct TriuBackward0 : Node {
  int64_t k;
  explicit TriuBackward0(int64_t d) : k(d) {}
  std::string name() const override { return "TriuBackward0"; }
  TensorList apply(TensorList&& g) override { return {triu(g[0], k)}; }
};
}  // namespace

Tensor tril(const Tensor& a, int64_t diagonal) {
  Tensor out = triangle(a, diagonal, true, "tril");
  if (auto node = make_node<TrilBackward0>({a}, diagonal)) set_history({out}, node);
  return out;
}

Tensor triu(const Tensor& a, int64_t diagonal) {
  Tensor out = triangle(a, diagonal, false, "triu");
  if (auto node = make_node<TriuBackward0>({a}, diagonal)) set_history({out}, node);
  return out;
}

}  // namespace gradcore

// View and shape ops. Views share storage and version counter with their base.
#include "gradcore/ops/internal.h"

namespace gradcore {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    GC_CHECK(x == y || x == 1 || y == 1, "[", op, "] shapes ", shape_str(a), " and ", shape_str(b),
             " cannot be broadcast: the size of tensor a (", x, ") must match the size of tensor b (", y,
             ") at non-singleton dimension ", i);
    out[i] = x == 1 ? y : x;
  }
  return out;
}

// ---- expand --------------------------------------------------------------------------------------
namespace {
// The engine sums the gradient back to the input's shape, so the formula is the identity.
struct ExpandBackward0 : Node {
  std::string name() const override { return "ExpandBackward0"; }
  TensorList apply(TensorList&& g) override { return {std::move(g[0])}; }
};
}  // namespace

Tensor expand(const Tensor& a, const Shape& shape) {
  const int64_t nd = static_cast<int64_t>(shape.size()), lead = nd - a.dim();
  GC_CHECK(lead >= 0, "[expand] the number of sizes provided (", nd,
           ") must be greater or equal to the number of dimensions in the tensor (", a.dim(), ")");
  Shape sizes(nd), strides(nd);
  for (int64_t d = 0; d < nd; ++d) {
    int64_t want = shape[d];
    if (d < lead) {
      GC_CHECK(want >= 0, "[expand] the expanded size of the tensor (", want,
               ") isn't allowed in a leading, non-existing dimension ", d);
      sizes[d] = want;
      strides[d] = 0;
      continue;
    }
    int64_t have = a.shape()[d - lead];
    if (want == -1) want = have;
    GC_CHECK(have == want || have == 1, "[expand] the expanded size of the tensor (", want,
             ") must match the existing size (", have, ") at non-singleton dimension ", d,
             ".  Target sizes: ", shape_str(shape), ".  Tensor sizes: ", shape_str(a.shape()));
    sizes[d] = want;
    strides[d] = have == want ? a.strides()[d - lead] : 0;
  }
  if (sizes == a.shape()) return a;
  Tensor out = make_view(a, std::move(sizes), std::move(strides), a.storage_offset());
  internal::finish_view(out, a, make_node<ExpandBackward0>({a}));
  return out;
}

// ---- view / reshape ------------------------------------------------------------------------------
namespace {
// `unsafe` names the view that reshape puts on its own fresh copy (PyTorch's _unsafe_view).
struct ViewBackward0 : Node {
  Shape self_shape;
  bool unsafe;
  ViewBackward0(Shape s, bool u) : self_shape(std::move(s)), unsafe(u) {}
  std::string name() const override { return unsafe ? "UnsafeViewBackward0" : "ViewBackward0"; }
  TensorList apply(TensorList&& g) override { return {reshape(g[0], self_shape)}; }
};

// Resolves one -1 and checks the element count.
Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      GC_CHECK(infer < 0, "[", op, "] only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else {
      GC_CHECK(out[i] >= 0, "[", op, "] invalid shape dimension ", out[i]);
      known *= out[i];
    }
  }
  if (infer >= 0) {
    GC_CHECK(known != 0 && numel % known == 0, "[", op, "] shape '", shape_str(shape),
             "' is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    GC_CHECK(known == numel, "[", op, "] shape '", shape_str(shape), "' is invalid for input of size ", numel);
  }
  return out;
}

// Strides that present `a`'s elements in `shape` without copying, or empty when impossible
// (PyTorch's computeStride: each run of merged old dims must be linear in memory).
Shape view_strides(const Tensor& a, const Shape& shape) {
  if (a.is_contiguous()) return contiguous_strides(shape);
  const Shape& old_size = a.shape();
  const Shape& old_stride = a.strides();
  Shape strides(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_stride.empty() ? 1 : old_stride.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_size.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_size[d];
    if (d == 0 || (old_size[d - 1] != 1 && old_stride[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return {};
      if (d > 0) {
        chunk_base_stride = old_stride[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return {};
  return strides;
}

}  // namespace

Tensor view(const Tensor& a, const Shape& shape) {
  Shape sizes = infer_shape(shape, a.numel(), "view");
  Shape strides = view_strides(a, sizes);
  GC_CHECK(!strides.empty() || sizes.empty(),
           "[view] view size is not compatible with input tensor's size and stride (at least one dimension spans "
           "across two contiguous subspaces). Use .reshape(...) instead.");
  Tensor out = make_view(a, sizes, std::move(strides), a.storage_offset());
  internal::finish_view(out, a, make_node<ViewBackward0>({a}, a.shape(), false));
  return out;
}

Tensor reshape(const Tensor& a, const Shape& shape) {
  Shape sizes = infer_shape(shape, a.numel(), "reshape");
  if (sizes.empty() || !view_strides(a, sizes).empty()) return view(a, sizes);
  // Strides forbid a view: copy, then present the copy in the new shape. One node covers both, as
  // PyTorch's UnsafeViewBackward0 (the gradient is reshaped back).
  Tensor copy = empty(a.shape(), a.dtype());
  internal::copy_into(copy, a);
  Tensor out = make_view(copy, sizes, contiguous_strides(sizes), 0);
  if (auto node = make_node<ViewBackward0>({a}, a.shape(), true)) set_history({out}, node);
  return out;
}

}  // namespace gradcore

// Ops that join tensors into a new one.
#include "gradcore/ops/internal.h"

namespace gradcore {

// ---- cat -----------------------------------------------------------------------------------------
namespace {
struct CatBackward0 : Node {
  std::vector<int64_t> sizes;  // each input's size along dim (-1: a skipped legacy empty 1-D input)
  int64_t dim;
  CatBackward0(std::vector<int64_t> s, int64_t d) : sizes(std::move(s)), dim(d) {}
  std::string name() const override { return "CatBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(sizes.size());
    int64_t start = 0;
    for (size_t i = 0; i < sizes.size(); ++i) {
      if (!needs_grad(i)) {
        start += std::max<int64_t>(sizes[i], 0);
        continue;
      }
      if (sizes[i] < 0) {  // a skipped empty input gets an empty gradient
        r[i] = zeros(input_meta(i).shape, g[0].dtype());
        continue;
      }
      r[i] = narrow(g[0], dim, start, sizes[i]);
      start += sizes[i];
    }
    return r;
  }
};

// PyTorch still accepts 1-D empty tensors of any other shape in cat and skips them.
bool skipped_in_cat(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }
}  // namespace

Tensor cat(const TensorList& tensors, int64_t dim) {
  GC_CHECK_T(ValueError, !tensors.empty(), "[cat] torch.cat(): expected a non-empty list of Tensors");
  const Tensor* ref = nullptr;
  DType dtype = tensors[0].dtype();
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (i > 0) dtype = promote_types(dtype, tensors[i].dtype());
    if (!ref && !skipped_in_cat(tensors[i])) ref = &tensors[i];
  }
  if (!ref) ref = &tensors[0];
  GC_CHECK(ref->dim() > 0, "[cat] zero-dimensional tensor (at position ", ref - tensors.data(), ") cannot be concatenated");
  const int64_t d = wrap_dim(dim, ref->dim(), "cat");
  Shape shape = ref->shape();
  shape[d] = 0;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (skipped_in_cat(t) && t.shape() != ref->shape()) {
      sizes.push_back(-1);
      continue;
    }
    GC_CHECK(t.dim() == ref->dim(), "[cat] Tensors must have same number of dimensions: got ", ref->dim(), " and ",
             t.dim());
    for (int64_t k = 0; k < t.dim(); ++k)
      GC_CHECK(k == d || t.shape()[k] == ref->shape()[k], "[cat] Sizes of tensors must match except in dimension ", d,
               ". Expected size ", ref->shape()[k], " but got size ", t.shape()[k], " for tensor number ", i,
               " in the list.");
    sizes.push_back(t.shape()[d]);
    shape[d] += t.shape()[d];
  }
  Tensor out = empty(shape, dtype);
  int64_t start = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (sizes[i] <= 0) continue;
    Shape piece_sizes = shape;
    piece_sizes[d] = sizes[i];
    internal::copy_into(make_view(out, piece_sizes, out.strides(), start * out.strides()[d]), tensors[i]);
    start += sizes[i];
  }
  if (auto node = make_node<CatBackward0>(tensors, std::move(sizes), d)) set_history({out}, node);
  return out;
}

// ---- stack ---------------------------------------------------------------------------------------
namespace {
struct StackBackward0 : Node {
  int64_t dim;
  explicit StackBackward0(int64_t d) : dim(d) {}
  std::string name() const override { return "StackBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(next_edges().size());
    for (size_t i = 0; i < r.size(); ++i)
      if (needs_grad(i)) r[i] = select(g[0], dim, static_cast<int64_t>(i));
    return r;
  }
};

}  // namespace

Tensor stack(const TensorList& tensors, int64_t dim) {
  GC_CHECK(!tensors.empty(), "[stack] stack expects a non-empty TensorList");
  const Shape& shape = tensors[0].shape();
  DType dtype = tensors[0].dtype();
  for (size_t i = 1; i < tensors.size(); ++i) {
    GC_CHECK(tensors[i].shape() == shape, "[stack] stack expects each tensor to be equal size, but got ",
             shape_list_str(shape), " at entry 0 and ", shape_list_str(tensors[i].shape()), " at entry ", i);
    dtype = promote_types(dtype, tensors[i].dtype());
  }
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(shape.size()) + 1, "stack");
  Shape out_shape = shape;
  out_shape.insert(out_shape.begin() + d, static_cast<int64_t>(tensors.size()));
  Tensor out = empty(out_shape, dtype);
  // Entry i is the slice i along d: out's geometry without that dim, offset by i slices.
  Shape piece_strides = out.strides();
  const int64_t step = piece_strides[d];
  piece_strides.erase(piece_strides.begin() + d);
  for (size_t i = 0; i < tensors.size(); ++i)
    internal::copy_into(make_view(out, shape, piece_strides, static_cast<int64_t>(i) * step), tensors[i]);
  if (auto node = make_node<StackBackward0>(tensors, d)) set_history({out}, node);
  return out;
}

}  // namespace gradcore

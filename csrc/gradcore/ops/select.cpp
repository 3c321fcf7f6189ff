// Integer indexing along one dim: a view without that dim.
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {
// The gradient lands in the selected slice of a zero tensor shaped like the input. Written with
// differentiable ops (expand + where), so double backward works through select.
struct SelectBackward0 : Node {
  Shape self_shape;
  int64_t dim, index;
  SelectBackward0(Shape s, int64_t d, int64_t i) : self_shape(std::move(s)), dim(d), index(i) {}
  std::string name() const override { return "SelectBackward0"; }
  TensorList apply(TensorList&& g) override {
    Shape column(self_shape.size(), 1), kept = self_shape;
    column[dim] = self_shape[dim];
    kept[dim] = 1;
    Tensor mask = zeros(column, DType::Bool);
    mask.data<bool>()[index] = true;
    return {where(mask, expand(view(g[0], kept), self_shape), zeros({}, g[0].dtype()))};
  }
};
}  // namespace

Tensor select(const Tensor& a, int64_t dim, int64_t index) {
  GC_CHECK_T(IndexError, a.dim() > 0, "[select] invalid index of a 0-dim tensor. Use `tensor.item()` to convert a "
             "0-dim tensor to a number");
  int64_t d = wrap_dim(dim, a.dim(), "select");
  const int64_t size = a.shape()[d];
  GC_CHECK_T(IndexError, index >= -size && index < size, "index ", index, " is out of bounds for dimension ", d,
             " with size ", size);
  if (index < 0) index += size;
  Shape sizes = a.shape(), strides = a.strides();
  int64_t offset = a.storage_offset() + index * strides[d];
  sizes.erase(sizes.begin() + d);
  strides.erase(strides.begin() + d);
  Tensor out = make_view(a, std::move(sizes), std::move(strides), offset);
  internal::finish_view(out, a, make_node<SelectBackward0>({a}, a.shape(), d, index));
  return out;
}

}  // namespace gradcore

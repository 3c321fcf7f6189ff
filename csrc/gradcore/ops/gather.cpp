// Copies that pick or place elements along one dim by an index tensor (gather, scatter, scatter_add,
// index_select, index_add) and masked_fill.
//
// The index ops share one kernel, indexed_loop: over an iteration shape, for each position i,
//   dst[i + idx[i] * dst_jump] = f(dst[...], src[i + idx[i] * src_jump])
// where dst, src and idx are strided views over that shape (the indexed dim has stride 0 in the
// operand the index moves along; that operand's stride along it is the "jump"). gather and scatter
// iterate over the index's shape; index_select and index_add over the output's / source's shape with
// the 1-D index broadcast along the indexed dim. One pass, O(n), any layout.
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace {

// Sizes and strides as PyTorch's scatter/gather see them: a 0-dim tensor is one element of 1 dim.
int64_t size_at(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.shape()[d]; }
int64_t stride_at(const Tensor& t, int64_t d) { return t.dim() == 0 ? 0 : t.strides()[d]; }
int64_t nonempty_dim(const Tensor& t) { return t.dim() == 0 ? 1 : t.dim(); }

// `t` seen over `shape` with its own strides (dims of t beyond shape's rank are ignored), except
// `dim`, whose stride becomes `dim_stride`. Used for operands indexed by position.
Tensor strided_over(const Tensor& t, const Shape& shape, int64_t dim, int64_t dim_stride) {
  Shape strides(shape.size());
  for (size_t d = 0; d < shape.size(); ++d)
    strides[d] = static_cast<int64_t>(d) == dim ? dim_stride : stride_at(t, static_cast<int64_t>(d));
  return make_view(t, shape, std::move(strides), t.storage_offset());
}

// Calls f(value) for every element of an int64 tensor (any layout).
template <typename F>
void for_each_index(const Tensor& index, F f) {
  if (index.numel() == 0) return;
  auto plan = kernels::make_plan<1>(index.shape(), {index.impl()});
  kernels::for_each_row<1>(plan, {static_cast<char*>(index.raw_data())}, {sizeof(int64_t)},
                           [&](std::array<char*, 1> p, int64_t n, std::array<int64_t, 1> s) {
                             const int64_t* v = reinterpret_cast<const int64_t*>(p[0]);
                             for (int64_t i = 0; i < n; ++i) f(v[i * s[0]]);
                           });
}

// Indices must lie in [0, size) (scatter/gather do not wrap negative indices).
void check_bounds(const Tensor& index, int64_t size, int64_t dim, const char* op) {
  for_each_index(index, [&](int64_t i) {
    GC_CHECK(i >= 0 && i < size, "[", op, "] index ", i, " is out of bounds for dimension ", dim, " with size ", size);
  });
}

void check_index_dtype(const Tensor& index, const char* op, const char* fn) {
  GC_CHECK(index.dtype() == DType::Int64, "[", op, "] ", fn, "(): Expected dtype int64 for index, but got ",
           dtype_name(index.dtype()));
}

// dst[i + idx[i]*dst_jump] = f(dst[..], src[i + idx[i]*src_jump]) over `shape`; dst, src and idx are
// views over `shape` (dtype T for dst and src, int64 for idx). Indices were checked already.
template <typename F>
void indexed_loop(const Shape& shape, const Tensor& dst, int64_t dst_jump, const Tensor& src, int64_t src_jump,
                  const Tensor& idx, F f) {
  if (shape_numel(shape) == 0) return;
  auto plan = kernels::make_plan<3>(shape, {dst.impl(), src.impl(), idx.impl()});
  GC_DISPATCH_ALL(dst.dtype(), [&] {
    using T = scalar_t;
    kernels::for_each_row<3>(
        plan,
        {static_cast<char*>(dst.raw_data()), static_cast<char*>(src.raw_data()), static_cast<char*>(idx.raw_data())},
        {sizeof(T), sizeof(T), sizeof(int64_t)}, [&](std::array<char*, 3> p, int64_t n, std::array<int64_t, 3> s) {
          T* o = reinterpret_cast<T*>(p[0]);
          const T* x = reinterpret_cast<const T*>(p[1]);
          const int64_t* k = reinterpret_cast<const int64_t*>(p[2]);
          if (s[2] == 0) {  // one index for the whole row (index_select's rows): a plain strided copy
            o += *k * dst_jump;
            x += *k * src_jump;
            if (s[0] == 1 && s[1] == 1) {
              for (int64_t i = 0; i < n; ++i) o[i] = f(o[i], x[i]);
            } else {
              for (int64_t i = 0; i < n; ++i) o[i * s[0]] = f(o[i * s[0]], x[i * s[1]]);
            }
          } else {
            for (int64_t i = 0; i < n; ++i) {
              const int64_t j = k[i * s[2]];
              T& out = o[i * s[0] + j * dst_jump];
              out = f(out, x[i * s[1] + j * src_jump]);
            }
          }
        });
  });
}

constexpr auto kAssign = [](auto, auto v) { return v; };
constexpr auto kAccumulate = [](auto o, auto v) { return static_cast<decltype(o)>(o + v); };

}  // namespace

// ---- gather --------------------------------------------------------------------------------------
namespace {
struct GatherBackward0 : Node {
  Shape self_shape;
  int64_t dim;
  Tensor index;
  GatherBackward0(Shape s, int64_t d, Tensor i) : self_shape(std::move(s)), dim(d), index(std::move(i)) {}
  std::string name() const override { return "GatherBackward0"; }
  TensorList apply(TensorList&& g) override { return {scatter_add(zeros(self_shape, g[0].dtype()), dim, index, g[0])}; }
};

void gather_shape_check(const Tensor& self, int64_t dim, const Tensor& index) {
  GC_CHECK(nonempty_dim(self) == nonempty_dim(index),
           "[gather] Index tensor must have the same number of dimensions as input tensor");
  for (int64_t d = 0; d < nonempty_dim(self); ++d)
    GC_CHECK(d == dim || size_at(index, d) <= size_at(self, d), "[gather] Size does not match at dimension ", d,
             " expected index ", shape_list_str(index.shape()), " to be no larger than self ", shape_list_str(self.shape()),
             " apart from dimension ", dim);
}
}  // namespace

Tensor gather(const Tensor& self, int64_t dim, const Tensor& index) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "gather");
  check_index_dtype(index, "gather", "gather");
  Tensor out = empty(index.shape(), self.dtype());
  if (index.numel() > 0) {
    gather_shape_check(self, d, index);
    check_bounds(index, size_at(self, d), d, "gather");
    indexed_loop(index.shape(), out, 0, strided_over(self, index.shape(), d, 0), stride_at(self, d), index, kAssign);
  }
  if (auto node = make_node<GatherBackward0>({self}, self.shape(), d, index)) set_history({out}, node);
  return out;
}

// ---- scatter / scatter_add (out of place and in place) -------------------------------------------
namespace {
// Writes (or adds) src[i] at self[i with dim replaced by index[i]]; src is null for a value fill.
void scatter_kernel(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate) {
  const Shape& shape = index.shape();
  Tensor dst = strided_over(self, shape, dim, 0);
  Tensor s = src.dim() == 0 && index.dim() > 0 ? make_view(src, shape, Shape(shape.size(), 0), src.storage_offset())
                                               : strided_over(src, shape, -1, 0);
  if (accumulate)
    indexed_loop(shape, dst, stride_at(self, dim), s, 0, index, kAccumulate);
  else
    indexed_loop(shape, dst, stride_at(self, dim), s, 0, index, kAssign);
}

void scatter_checks(const Tensor& self, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  check_index_dtype(index, op, "scatter");
  if (src) GC_CHECK(src->dtype() == self.dtype(), "[", op, "] scatter(): Expected self.dtype to be equal to src.dtype");
  if (index.numel() == 0) return;
  GC_CHECK(nonempty_dim(self) == nonempty_dim(index), "[", op,
           "] Index tensor must have the same number of dimensions as self tensor");
  if (src)
    GC_CHECK(nonempty_dim(*src) == nonempty_dim(index), "[", op,
             "] Index tensor must have the same number of dimensions as src tensor");
  bool wrong = false;
  for (int64_t d = 0; d < nonempty_dim(self); ++d) {
    if (d != dim && size_at(index, d) > size_at(self, d)) wrong = true;
    if (src && size_at(index, d) > size_at(*src, d)) wrong = true;
  }
  if (src)
    GC_CHECK(!wrong, "[", op, "] Expected index ", shape_list_str(index.shape()), " to be no larger than self ",
             shape_list_str(self.shape()), " apart from dimension ", dim, " and to be no larger size than src ",
             shape_list_str(src->shape()));
  else
    GC_CHECK(!wrong, "[", op, "] Expected index ", shape_list_str(index.shape()), " to be no larger than self ",
             shape_list_str(self.shape()), " apart from dimension ", dim);
  check_bounds(index, size_at(self, dim), dim, op);
}

// The state the scatter-family nodes share: the dim and the (saved) index tensor.
struct IndexedAlongDim : Node {
  int64_t dim;
  Tensor index;
  IndexedAlongDim(int64_t d, Tensor i) : dim(d), index(std::move(i)) {}
};

// The gradient at positions the scatter overwrote is dropped; src receives the gradient there.
struct ScatterBackward0 : IndexedAlongDim {
  using IndexedAlongDim::IndexedAlongDim;
  std::string name() const override { return "ScatterBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = scatter(g[0], dim, index, Scalar(0));
    if (needs_grad(1)) r[1] = gather(g[0], dim, index);
    return r;
  }
};

struct ScatterBackward1 : IndexedAlongDim {
  using IndexedAlongDim::IndexedAlongDim;
  std::string name() const override { return "ScatterBackward1"; }
  TensorList apply(TensorList&& g) override { return {scatter(g[0], dim, index, Scalar(0))}; }
};

struct ScatterAddBackward0 : IndexedAlongDim {
  using IndexedAlongDim::IndexedAlongDim;
  std::string name() const override { return "ScatterAddBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = g[0];
    if (needs_grad(1)) r[1] = gather(g[0], dim, index);
    return r;
  }
};

Tensor scatter_impl(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, bool accumulate,
                    const char* op) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), op);
  scatter_checks(self, d, index, &src, op);
  Tensor out = empty(self.shape(), self.dtype());
  internal::copy_into(out, self);
  if (index.numel() > 0) scatter_kernel(out, d, index, src, accumulate);
  if (accumulate) {
    if (auto node = make_node<ScatterAddBackward0>({self, src}, d, index)) set_history({out}, node);
  } else {
    if (auto node = make_node<ScatterBackward0>({self, src}, d, index)) set_history({out}, node);
  }
  return out;
}
}  // namespace

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(self, dim, index, src, false, "scatter");
}

Tensor scatter(const Tensor& self, int64_t dim, const Tensor& index, Scalar value) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "scatter");
  scatter_checks(self, d, index, nullptr, "scatter");
  Tensor out = empty(self.shape(), self.dtype());
  internal::copy_into(out, self);
  if (index.numel() > 0) scatter_kernel(out, d, index, scalar_tensor(value, self.dtype()), false);
  if (auto node = make_node<ScatterBackward1>({self}, d, index)) set_history({out}, node);
  return out;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  return scatter_impl(self, dim, index, src, true, "scatter_add");
}

Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "scatter_");
  scatter_checks(self, d, index, &src, "scatter_");
  return internal::inplace(
      self, {src}, "scatter_", [&] { if (index.numel() > 0) scatter_kernel(self, d, index, src, false); },
      [&](const Tensor& before) { return scatter(before, d, index, src); });
}

Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, Scalar value) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "scatter_");
  scatter_checks(self, d, index, nullptr, "scatter_");
  return internal::inplace(
      self, {}, "scatter_",
      [&] { if (index.numel() > 0) scatter_kernel(self, d, index, scalar_tensor(value, self.dtype()), false); },
      [&](const Tensor& before) { return scatter(before, d, index, value); });
}

Tensor& scatter_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "scatter_add_");
  scatter_checks(self, d, index, &src, "scatter_add_");
  return internal::inplace(
      self, {src}, "scatter_add_", [&] { if (index.numel() > 0) scatter_kernel(self, d, index, src, true); },
      [&](const Tensor& before) { return scatter_add(before, d, index, src); });
}

// ---- index_select / index_add --------------------------------------------------------------------
namespace {
void check_vector_index(const Tensor& index, const char* op) {
  GC_CHECK(index.dtype() == DType::Int64, "[", op, "] ", op, "(): Expected dtype int64 for index, but got ",
           dtype_name(index.dtype()));
  GC_CHECK_T(IndexError, index.dim() <= 1, "[", op, "] ", op, "(): Index is supposed to be a vector, but got dim: ",
             index.dim(), " with size: ", shape_list_str(index.shape()));
}

// The 1-D (or 0-dim) index seen over `shape`, moving only along `dim`.
Tensor index_along(const Tensor& index, const Shape& shape, int64_t dim) {
  Shape strides(shape.size(), 0);
  if (!shape.empty() && index.dim() == 1) strides[dim] = index.strides()[0];
  return make_view(index, shape, std::move(strides), index.storage_offset());
}

struct IndexAddBackward0 : Node {
  int64_t dim;
  Tensor index;
  Shape source_shape;
  double alpha;
  IndexAddBackward0(int64_t d, Tensor i, Shape s, double a) : dim(d), index(std::move(i)), source_shape(std::move(s)), alpha(a) {}
  std::string name() const override { return "IndexAddBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = g[0];
    if (needs_grad(1)) {
      Tensor s = reshape(index_select(g[0], dim, index), source_shape);
      r[1] = alpha == 1 ? s : mul(s, alpha);
    }
    return r;
  }
};

void index_add_checks(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, const char* op) {
  check_vector_index(index, op);
  GC_CHECK(self.dtype() == source.dtype(), "[", op, "] index_add_(): self (", dtype_name(self.dtype()), ") and source (",
           dtype_name(source.dtype()), ") must have the same scalar type");
  GC_CHECK(source.dim() == 0 || dim < source.dim(), "[", op, "] index_add_(): Indexing dim ", dim,
           " is out of bounds of the source tensor with dim ", source.dim());
  const int64_t n = index.numel();
  GC_CHECK(n == size_at(source, dim), "[", op, "] index_add_(): Number of indices (", n,
           ") should be equal to source.size(dim): (", size_at(source, dim), "), for dim: ", dim);
  bool same = nonempty_dim(self) == nonempty_dim(source);
  for (int64_t d = 0; same && d < nonempty_dim(self); ++d) same = d == dim || size_at(self, d) == size_at(source, d);
  GC_CHECK(same && (self.dim() == 0) == (source.dim() == 0), "[", op,
           "] source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = ",
           shape_list_str(self.shape()), " source.shape = ", shape_list_str(source.shape()));
  check_bounds(index, size_at(self, dim), dim, op);
}

void index_add_kernel(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  const Shape& shape = source.shape();
  Tensor src = source;
  if (alpha.value != 1) src = internal::cast(mul(source.detach(), alpha), self.dtype());
  indexed_loop(shape, strided_over(self, shape, dim, 0), stride_at(self, dim), strided_over(src, shape, -1, 0), 0,
               index_along(index, shape, dim), kAccumulate);
}
}  // namespace

Tensor index_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "index_add");
  index_add_checks(self, d, index, source, "index_add");
  Tensor out = empty(self.shape(), self.dtype());
  internal::copy_into(out, self);
  index_add_kernel(out, d, index, source, alpha);
  if (auto node = make_node<IndexAddBackward0>({self, source}, d, index, source.shape(), alpha.value))
    set_history({out}, node);
  return out;
}

Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "index_add_");
  index_add_checks(self, d, index, source, "index_add_");
  return internal::inplace(
      self, {source}, "index_add_", [&] { index_add_kernel(self, d, index, source, alpha); },
      [&](const Tensor& before) { return index_add(before, d, index, source, alpha); });
}

namespace {
struct IndexSelectBackward0 : Node {
  Shape self_shape;
  int64_t dim;
  Tensor index;
  IndexSelectBackward0(Shape s, int64_t d, Tensor i) : self_shape(std::move(s)), dim(d), index(std::move(i)) {}
  std::string name() const override { return "IndexSelectBackward0"; }
  TensorList apply(TensorList&& g) override {
    Tensor grad = g[0];
    // A 0-dim self gives a 0-dim result; index_add wants source laid out like self.
    if (self_shape.empty() && grad.dim() != 0) grad = reshape(grad, {});
    return {index_add(zeros(self_shape, grad.dtype()), dim, index, grad)};
  }
};
}  // namespace

Tensor index_select(const Tensor& self, int64_t dim, const Tensor& index) {
  const int64_t d = wrap_dim(dim, nonempty_dim(self), "index_select");
  check_vector_index(index, "index_select");
  const int64_t n = index.numel(), size = size_at(self, d);
  if (self.dim() == 0)
    GC_CHECK_T(IndexError, n == 1, "[index_select] index_select(): Index to scalar can have only 1 value, got ", n,
               " value(s)");
  for_each_index(index, [&](int64_t i) {
    GC_CHECK_T(IndexError, i >= 0 && i < size, "[index_select] index out of range in self");
  });
  Shape shape = self.shape();
  if (!shape.empty()) shape[d] = n;
  Tensor out = empty(shape, self.dtype());
  indexed_loop(shape, out, 0, strided_over(self, shape, d, 0), stride_at(self, d), index_along(index, shape, d), kAssign);
  if (auto node = make_node<IndexSelectBackward0>({self}, self.shape(), d, index)) set_history({out}, node);
  return out;
}

// ---- masked_fill / masked_fill_ ------------------------------------------------------------------
namespace {
void masked_fill_checks(const Tensor& mask, const Tensor* value, const char* op) {
  GC_CHECK(mask.dtype() == DType::Bool, "[", op, "] masked_fill_ only supports boolean masks, but got mask with dtype ",
           cpp_type_name(mask.dtype()));
  if (value)
    GC_CHECK(value->dim() == 0, "[", op, "] masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ",
             value->dim(), " dimension(s).");
}

// out = mask ? value : self, broadcast over out's shape; value is 0-dim of out's dtype (out may be self).
void masked_fill_kernel(const Tensor& out, const Tensor& self, const Tensor& mask, const Tensor& value) {
  GC_DISPATCH_ALL(out.dtype(), [&] {
    kernels::ternary_loop<scalar_t, bool, scalar_t, scalar_t>(out, mask, value, self,
                                                              [](bool c, scalar_t v, scalar_t x) { return c ? v : x; });
  });
}

struct MaskedFillBackward0 : Node {
  Tensor mask;
  explicit MaskedFillBackward0(Tensor m) : mask(std::move(m)) {}
  std::string name() const override { return "MaskedFillBackward0"; }
  TensorList apply(TensorList&& g) override { return {masked_fill(g[0], mask, Scalar(0))}; }
};

struct MaskedFillBackward1 : Node {
  Tensor mask;
  explicit MaskedFillBackward1(Tensor m) : mask(std::move(m)) {}
  std::string name() const override { return "MaskedFillBackward1"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) r[0] = masked_fill(g[0], mask, Scalar(0));
    if (needs_grad(1)) r[1] = sum(where(mask, g[0], zeros({}, g[0].dtype())));
    return r;
  }
};

Tensor masked_fill_impl(const Tensor& self, const Tensor& mask, const Tensor& value) {
  Tensor out = empty(broadcast_shapes(mask.shape(), self.shape(), "masked_fill"), self.dtype());
  masked_fill_kernel(out, self, mask, value.dtype() == self.dtype() ? value : internal::cast(value, self.dtype()));
  return out;
}

void check_inplace_shape(const Tensor& self, const Tensor& mask) {
  Shape b = broadcast_shapes(self.shape(), mask.shape(), "masked_fill_");
  GC_CHECK(b == self.shape(), "[masked_fill_] output with shape ", shape_list_str(self.shape()),
           " doesn't match the broadcast shape ", shape_list_str(b));
}
}  // namespace

Tensor masked_fill(const Tensor& self, const Tensor& mask, Scalar value) {
  masked_fill_checks(mask, nullptr, "masked_fill");
  Tensor out = masked_fill_impl(self, mask, scalar_tensor(value, self.dtype()));
  if (auto node = make_node<MaskedFillBackward0>({self}, mask)) set_history({out}, node);
  return out;
}

Tensor masked_fill(const Tensor& self, const Tensor& mask, const Tensor& value) {
  masked_fill_checks(mask, &value, "masked_fill");
  Tensor out = masked_fill_impl(self, mask, value);
  if (auto node = make_node<MaskedFillBackward1>({self, value}, mask)) set_history({out}, node);
  return out;
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, Scalar value) {
  masked_fill_checks(mask, nullptr, "masked_fill_");
  check_inplace_shape(self, mask);
  return internal::inplace(
      self, {}, "masked_fill_", [&] { masked_fill_kernel(self, self, mask, scalar_tensor(value, self.dtype())); },
      [&](const Tensor& before) { return masked_fill(before, mask, value); });
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, const Tensor& value) {
  masked_fill_checks(mask, &value, "masked_fill_");
  check_inplace_shape(self, mask);
  return internal::inplace(
      self, {value}, "masked_fill_",
      [&] { masked_fill_kernel(self, self, mask, value.dtype() == self.dtype() ? value : internal::cast(value, self.dtype())); },
      [&](const Tensor& before) { return masked_fill(before, mask, value); });
}

}  // namespace gradcore

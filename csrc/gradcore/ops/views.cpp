// View ops that move or drop dims: they only compute new sizes, strides and offset over the same
// storage. Each backward is written with view ops too (so it is cheap and differentiable).
#include <numeric>

#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"

namespace gradcore {

namespace internal {
void finish_view(const TensorList& outputs, const Tensor& a, const std::shared_ptr<Node>& node) {
  const std::shared_ptr<TensorImpl>& base = a.impl()->view_base ? a.impl()->view_base : a.impl_ptr();
  if (node) set_history(outputs, node);
  for (const Tensor& out : outputs) {
    TensorImpl* impl = out.impl();
    impl->view_base = base;
    impl->view_version = out.version();
    impl->differentiable_view = node != nullptr;
    impl->view_multi_output = outputs.size() > 1;
    impl->view_no_grad = !GradMode::is_enabled();
  }
}
}  // namespace internal

namespace {
Tensor view_of(const Tensor& a, Shape sizes, Shape strides, int64_t offset) {
  return make_view(a, std::move(sizes), std::move(strides), offset);
}
}  // namespace

// ---- transpose / permute / t ---------------------------------------------------------------------
namespace {
struct TransposeBackward0 : Node {
  int64_t d0, d1;
  TransposeBackward0(int64_t a, int64_t b) : d0(a), d1(b) {}
  std::string name() const override { return "TransposeBackward0"; }
  TensorList apply(TensorList&& g) override { return {transpose(g[0], d0, d1)}; }
};

struct PermuteBackward0 : Node {
  std::vector<int64_t> inverse;
  explicit PermuteBackward0(std::vector<int64_t> inv) : inverse(std::move(inv)) {}
  std::string name() const override { return "PermuteBackward0"; }
  TensorList apply(TensorList&& g) override { return {permute(g[0], inverse)}; }
};

struct TBackward0 : Node {
  std::string name() const override { return "TBackward0"; }
  TensorList apply(TensorList&& g) override { return {t(g[0])}; }
};

Tensor swap_dims(const Tensor& a, int64_t d0, int64_t d1) {
  Shape sizes = a.shape(), strides = a.strides();
  std::swap(sizes[d0], sizes[d1]);
  std::swap(strides[d0], strides[d1]);
  return view_of(a, std::move(sizes), std::move(strides), a.storage_offset());
}
}  // namespace

Tensor transpose(const Tensor& a, int64_t dim0, int64_t dim1) {
  const int64_t nd = std::max<int64_t>(a.dim(), 1);  // 0-dim tensors accept dims 0 and -1
  int64_t d0 = wrap_dim(dim0, nd, "transpose"), d1 = wrap_dim(dim1, nd, "transpose");
  Tensor out = a.dim() == 0 ? view_of(a, {}, {}, a.storage_offset()) : swap_dims(a, d0, d1);
  internal::finish_view(out, a, make_node<TransposeBackward0>({a}, d0, d1));
  return out;
}

Tensor permute(const Tensor& a, const std::vector<int64_t>& dims) {
  const int64_t nd = a.dim();
  GC_CHECK(static_cast<int64_t>(dims.size()) == nd, "[permute] number of dimensions in the tensor input does not match "
           "the length of the desired ordering of dimensions i.e. input.dim() = ", nd, " is not equal to len(dims) = ",
           dims.size());
  Shape sizes(nd), strides(nd);
  std::vector<int64_t> inverse(nd, -1);
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = wrap_dim(dims[i], nd, "permute");
    GC_CHECK(inverse[d] < 0, "[permute] permute(): duplicate dims are not allowed.");
    inverse[d] = i;
    sizes[i] = a.shape()[d];
    strides[i] = a.strides()[d];
  }
  Tensor out = view_of(a, std::move(sizes), std::move(strides), a.storage_offset());
  internal::finish_view(out, a, make_node<PermuteBackward0>({a}, std::move(inverse)));
  return out;
}

Tensor t(const Tensor& a) {
  GC_CHECK(a.dim() <= 2, "[t] t() expects a tensor with <= 2 dimensions, but self is ", a.dim(), "D");
  Tensor out = a.dim() < 2 ? view_of(a, a.shape(), a.strides(), a.storage_offset()) : swap_dims(a, 0, 1);
  internal::finish_view(out, a, make_node<TBackward0>({a}));
  return out;
}

// ---- unsqueeze / squeeze -------------------------------------------------------------------------
namespace {
struct UnsqueezeBackward0 : Node {
  int64_t dim;
  explicit UnsqueezeBackward0(int64_t d) : dim(d) {}
  std::string name() const override { return "UnsqueezeBackward0"; }
  TensorList apply(TensorList&& g) override { return {squeeze(g[0], dim)}; }
};

// Reinserts the squeezed dims (ascending), so the gradient is a view too.
struct SqueezeBackward : Node {
  std::vector<int64_t> removed;
  int variant;  // 0: squeeze(), 1: squeeze(dim), 2: squeeze(dims)
  SqueezeBackward(std::vector<int64_t> r, int v) : removed(std::move(r)), variant(v) {}
  std::string name() const override { return "SqueezeBackward" + std::to_string(variant); }
  TensorList apply(TensorList&& g) override {
    Tensor r = g[0];
    for (int64_t d : removed) r = unsqueeze(r, d);
    return {r};
  }
};

Tensor squeeze_impl(const Tensor& a, const std::vector<bool>& candidate, int variant) {
  Shape sizes, strides;
  std::vector<int64_t> removed;
  for (int64_t d = 0; d < a.dim(); ++d) {
    if (candidate[d] && a.shape()[d] == 1) {
      removed.push_back(d);
    } else {
      sizes.push_back(a.shape()[d]);
      strides.push_back(a.strides()[d]);
    }
  }
  Tensor out = view_of(a, std::move(sizes), std::move(strides), a.storage_offset());
  internal::finish_view(out, a, make_node<SqueezeBackward>({a}, std::move(removed), variant));
  return out;
}
}  // namespace

Tensor unsqueeze(const Tensor& a, int64_t dim) {
  int64_t d = wrap_dim(dim, a.dim() + 1, "unsqueeze");
  Shape sizes = a.shape(), strides = a.strides();
  // The new dim's stride keeps the tensor contiguous when it was (any value works for size 1).
  int64_t stride = d < a.dim() ? sizes[d] * strides[d] : 1;
  sizes.insert(sizes.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  Tensor out = view_of(a, std::move(sizes), std::move(strides), a.storage_offset());
  internal::finish_view(out, a, make_node<UnsqueezeBackward0>({a}, d));
  return out;
}

Tensor squeeze(const Tensor& a) { return squeeze_impl(a, std::vector<bool>(a.dim(), true), 0); }

Tensor squeeze(const Tensor& a, int64_t dim) {
  std::vector<bool> candidate(a.dim(), false);
  int64_t d = wrap_dim(dim, std::max<int64_t>(a.dim(), 1), "squeeze");
  if (a.dim() > 0) candidate[d] = true;
  return squeeze_impl(a, candidate, 1);
}

Tensor squeeze(const Tensor& a, const std::vector<int64_t>& dims) {
  std::vector<bool> candidate(a.dim(), false);
  for (int64_t dim : dims) {
    int64_t d = wrap_dim(dim, std::max<int64_t>(a.dim(), 1), "squeeze");
    if (a.dim() > 0) {
      GC_CHECK(!candidate[d], "[squeeze] dim ", d, " appears multiple times in the list of dims");
      candidate[d] = true;
    }
  }
  return squeeze_impl(a, candidate, 2);
}

// ---- slice / narrow ------------------------------------------------------------------------------
namespace {
struct SliceBackward0 : Node {
  Shape self_shape;
  int64_t dim, start, end, step;
  SliceBackward0(Shape s, int64_t d, int64_t b, int64_t e, int64_t st)
      : self_shape(std::move(s)), dim(d), start(b), end(e), step(st) {}
  std::string name() const override { return "SliceBackward0"; }
  TensorList apply(TensorList&& g) override { return {internal::slice_backward(g[0], self_shape, dim, start, end, step)}; }
};

// The gradient of slice_backward is the slice of the incoming gradient (double backward).
struct SliceBackwardBackward0 : Node {
  int64_t dim, start, end, step;
  SliceBackwardBackward0(int64_t d, int64_t b, int64_t e, int64_t st) : dim(d), start(b), end(e), step(st) {}
  std::string name() const override { return "SliceBackwardBackward0"; }
  TensorList apply(TensorList&& g) override { return {slice(g[0], dim, start, end, step)}; }
};
}  // namespace

namespace internal {
Tensor slice_backward(const Tensor& grad, const Shape& self_shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step) {
  Tensor out = zeros(self_shape, grad.dtype());
  {
    GradModeGuard no_grad(false);
    copy_into(slice(out, dim, start, end, step), grad);
  }
  if (auto node = make_node<SliceBackwardBackward0>({grad}, dim, start, end, step)) set_history({out}, node);
  return out;
}
}  // namespace internal

Tensor slice(const Tensor& a, int64_t dim, std::optional<int64_t> start_opt, std::optional<int64_t> end_opt,
             int64_t step) {
  GC_CHECK_T(IndexError, a.dim() > 0, "[slice] slice() cannot be applied to a 0-dim tensor.");
  GC_CHECK_T(ValueError, step > 0, "[slice] step must be greater than zero");
  int64_t d = wrap_dim(dim, a.dim(), "slice");
  const int64_t size = a.shape()[d];
  // Python slice semantics: negative bounds count from the end, then both are clamped to [0, size].
  auto clamp_bound = [size](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + size : *v;
    return std::min(std::max<int64_t>(x, 0), size);
  };
  int64_t start = clamp_bound(start_opt, 0), end = std::max(clamp_bound(end_opt, size), start);
  Shape sizes = a.shape(), strides = a.strides();
  sizes[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor out = view_of(a, std::move(sizes), std::move(strides), a.storage_offset() + start * a.strides()[d]);
  internal::finish_view(out, a, make_node<SliceBackward0>({a}, a.shape(), d, start, end, step));
  return out;
}

Tensor narrow(const Tensor& a, int64_t dim, int64_t start, int64_t length) {
  GC_CHECK(a.dim() > 0, "[narrow] narrow() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, a.dim(), "narrow");
  const int64_t size = a.shape()[d];
  GC_CHECK_T(IndexError, start >= -size && start <= size, "[narrow] start out of range (expected to be in range of [",
             -size, ", ", size, "], but got ", start, ")");
  if (start < 0) start += size;
  GC_CHECK(length >= 0, "[narrow] narrow(): length must be non-negative.");
  GC_CHECK(start + length <= size, "[narrow] start (", start, ") + length (", length, ") exceeds dimension size (",
           size, ").");
  return slice(a, d, start, start + length, 1);
}

// ---- flatten / unflatten -------------------------------------------------------------------------
Tensor flatten(const Tensor& a, int64_t start_dim, int64_t end_dim) {
  if (a.dim() == 0) return reshape(a, {1});
  int64_t s = wrap_dim(start_dim, a.dim(), "flatten"), e = wrap_dim(end_dim, a.dim(), "flatten");
  GC_CHECK(s <= e, "[flatten] flatten() has invalid args: start_dim cannot come after end_dim");
  if (s == e) return a;
  Shape shape(a.shape().begin(), a.shape().begin() + s);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= a.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), a.shape().begin() + e + 1, a.shape().end());
  return reshape(a, shape);
}

Tensor unflatten(const Tensor& a, int64_t dim, const Shape& sizes) {
  int64_t d = wrap_dim(dim, a.dim(), "unflatten");
  GC_CHECK(!sizes.empty(), "[unflatten] unflatten: sizes must be non-empty");
  Shape inner = sizes;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < inner.size(); ++i) {
    if (inner[i] == -1) {
      GC_CHECK(infer < 0, "[unflatten] only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else {
      known *= inner[i];
    }
  }
  if (infer >= 0) {
    GC_CHECK(known != 0 && a.shape()[d] % known == 0, "[unflatten] Provided sizes ", shape_str(sizes),
             " don't multiply up to the size of dim ", dim, " (", a.shape()[d], ") in the input tensor");
    inner[infer] = a.shape()[d] / known;
  } else {
    GC_CHECK(known == a.shape()[d], "[unflatten] Provided sizes ", shape_str(sizes),
             " don't multiply up to the size of dim ", dim, " (", a.shape()[d], ") in the input tensor");
  }
  Shape shape(a.shape().begin(), a.shape().begin() + d);
  shape.insert(shape.end(), inner.begin(), inner.end());
  shape.insert(shape.end(), a.shape().begin() + d + 1, a.shape().end());
  return view(a, shape);
}

// ---- split / chunk / unbind (multi-output views) -------------------------------------------------
namespace {
// Missing gradients (outputs that were not used) count as zeros.
Tensor or_zeros(const Tensor& g, const Shape& shape, DType dtype) { return g.defined() ? g : zeros(shape, dtype); }

struct SplitBackward : Node {
  std::vector<int64_t> sizes;
  Shape self_shape;
  int64_t dim;
  bool with_sizes;
  DType dtype;
  SplitBackward(std::vector<int64_t> s, Shape ss, int64_t d, bool w, DType t)
      : sizes(std::move(s)), self_shape(std::move(ss)), dim(d), with_sizes(w), dtype(t) {}
  std::string name() const override { return with_sizes ? "SplitWithSizesBackward0" : "SplitBackward0"; }
  TensorList apply(TensorList&& g) override {
    TensorList pieces;
    for (size_t i = 0; i < sizes.size(); ++i) {
      Shape s = self_shape;
      s[dim] = sizes[i];
      pieces.push_back(or_zeros(g[i], s, dtype));
    }
    return {cat(pieces, dim)};
  }
};

struct UnbindBackward0 : Node {
  Shape self_shape;
  int64_t dim;
  DType dtype;
  UnbindBackward0(Shape s, int64_t d, DType t) : self_shape(std::move(s)), dim(d), dtype(t) {}
  std::string name() const override { return "UnbindBackward0"; }
  TensorList apply(TensorList&& g) override {
    Shape piece = self_shape;
    piece[dim] = 1;
    TensorList pieces;
    for (const Tensor& gi : g) pieces.push_back(gi.defined() ? unsqueeze(gi, dim) : zeros(piece, dtype));
    return {cat(pieces, dim)};
  }
};

TensorList split_views(const Tensor& a, const std::vector<int64_t>& sizes, int64_t d, bool with_sizes) {
  TensorList outs;
  int64_t start = 0;
  {
    GradModeGuard no_grad(false);  // the pieces share one node, recorded below
    for (int64_t s : sizes) {
      outs.push_back(slice(a, d, start, start + s, 1));
      start += s;
    }
  }
  internal::finish_view(outs, a, make_node<SplitBackward>({a}, sizes, a.shape(), d, with_sizes, a.dtype()));
  return outs;
}
}  // namespace

TensorList split(const Tensor& a, int64_t split_size, int64_t dim) {
  GC_CHECK(a.dim() > 0, "[split] split expects at least a 1-dimensional tensor");
  int64_t d = wrap_dim(dim, a.dim(), "split");
  const int64_t size = a.shape()[d];
  GC_CHECK(split_size >= 0, "[split] split expects split_size be non-negative, but got split_size=", split_size);
  GC_CHECK(split_size > 0 || size == 0, "[split] split_size can only be 0 if dimension size is 0, but got dimension size of ",
           size);
  std::vector<int64_t> sizes;
  if (split_size == 0) {
    sizes.push_back(0);
  } else {
    for (int64_t start = 0; start < size; start += split_size) sizes.push_back(std::min(split_size, size - start));
    if (sizes.empty()) sizes.push_back(0);
  }
  return split_views(a, sizes, d, false);
}

TensorList split_with_sizes(const Tensor& a, const std::vector<int64_t>& sizes, int64_t dim) {
  GC_CHECK(a.dim() > 0, "[split] split expects at least a 1-dimensional tensor");
  int64_t d = wrap_dim(dim, a.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    GC_CHECK(s >= 0, "[split_with_sizes] split_with_sizes expects split_sizes have only non-negative entries, but got "
             "split_sizes=", shape_str(sizes));
    total += s;
  }
  GC_CHECK(total == a.shape()[d], "[split_with_sizes] split_with_sizes expects split_sizes to sum exactly to ",
           a.shape()[d], " (input tensor's size at dimension ", d, "), but got split_sizes=", shape_str(sizes));
  return split_views(a, sizes, d, true);
}

TensorList chunk(const Tensor& a, int64_t chunks, int64_t dim) {
  GC_CHECK(a.dim() > 0, "[chunk] chunk expects at least a 1-dimensional tensor");
  GC_CHECK(chunks > 0, "[chunk] chunk expects `chunks` to be greater than 0, got: ", chunks);
  int64_t d = wrap_dim(dim, a.dim(), "chunk");
  const int64_t size = a.shape()[d];
  int64_t split_size = (size + chunks - 1) / chunks;
  // PyTorch: with a zero split size but a nonzero chunk count, every chunk is empty.
  if (split_size == 0 && size == 0) {
    std::vector<int64_t> sizes(chunks, 0);
    return split_with_sizes(a, sizes, d);
  }
  return split(a, split_size, d);
}

TensorList unbind(const Tensor& a, int64_t dim) {
  GC_CHECK_T(IndexError, a.dim() > 0, "[unbind] Dimension specified as ", dim, " but tensor has no dimensions");
  int64_t d = wrap_dim(dim, a.dim(), "unbind");
  TensorList outs;
  {
    GradModeGuard no_grad(false);
    for (int64_t i = 0; i < a.shape()[d]; ++i) outs.push_back(select(a, d, i));
  }
  internal::finish_view(outs, a, make_node<UnbindBackward0>({a}, a.shape(), d, a.dtype()));
  return outs;
}

// ---- as_strided ----------------------------------------------------------------------------------
namespace {
struct AsStridedBackward0 : Node {
  internal::Geometry input, output;
  AsStridedBackward0(internal::Geometry i, internal::Geometry o) : input(std::move(i)), output(std::move(o)) {}
  std::string name() const override { return "AsStridedBackward0"; }
  TensorList apply(TensorList&& g) override { return {internal::strided_scatter(g[0], input, output)}; }
};

struct StridedScatterBackward : Node {
  internal::Geometry input, output;
  StridedScatterBackward(internal::Geometry i, internal::Geometry o) : input(std::move(i)), output(std::move(o)) {}
  std::string name() const override { return "AsStridedScatterBackward0"; }
  TensorList apply(TensorList&& g) override { return {internal::strided_gather(g[0], input, output)}; }
};

struct StridedGatherBackward : Node {
  internal::Geometry input, output;
  StridedGatherBackward(internal::Geometry i, internal::Geometry o) : input(std::move(i)), output(std::move(o)) {}
  std::string name() const override { return "AsStridedBackward0"; }
  TensorList apply(TensorList&& g) override { return {internal::strided_scatter(g[0], input, output)}; }
};

// Elements of storage needed to hold geometry `g` (0 for an empty tensor).
int64_t extent(const internal::Geometry& g) {
  int64_t last = g.offset;
  for (size_t d = 0; d < g.sizes.size(); ++d) {
    if (g.sizes[d] == 0) return 0;
    last += (g.sizes[d] - 1) * g.strides[d];
  }
  return last + 1;
}

// A zeroed buffer laid out as `input` in a storage large enough for `output` too.
Tensor zeroed_buffer(const internal::Geometry& input, const internal::Geometry& output, DType dtype) {
  Tensor flat = zeros({std::max(extent(input), extent(output))}, dtype);
  return make_view(flat, input.sizes, input.strides, input.offset);
}
}  // namespace

namespace internal {
Geometry geometry_of(const Tensor& t) { return {t.shape(), t.strides(), t.storage_offset()}; }

Tensor strided_scatter(const Tensor& grad, const Geometry& input, const Geometry& output) {
  Tensor buffer = zeroed_buffer(input, output, grad.dtype());
  Tensor region = make_view(buffer, output.sizes, output.strides, output.offset);
  // Overlapping output elements (stride 0, say) share one input element: their gradients add up.
  GC_DISPATCH_ALL(grad.dtype(), [&] {
    kernels::reduce_loop<scalar_t, scalar_t>(
        region, grad, [](scalar_t acc, scalar_t v) { return static_cast<scalar_t>(acc + v); },
        [](scalar_t acc, scalar_t v) { return static_cast<scalar_t>(acc + v); },
        [](const scalar_t* p, int64_t n, int64_t s) {
          scalar_t r = 0;
          for (int64_t i = 0; i < n; ++i) r = static_cast<scalar_t>(r + p[i * s]);
          return r;
        });
  });
  if (auto node = make_node<StridedScatterBackward>({grad}, input, output)) set_history({buffer}, node);
  return buffer;
}

Tensor strided_gather(const Tensor& grad, const Geometry& input, const Geometry& output) {
  Tensor buffer = zeroed_buffer(input, output, grad.dtype());
  copy_into(buffer, grad);
  Tensor out = empty(output.sizes, grad.dtype());
  copy_into(out, make_view(buffer, output.sizes, output.strides, output.offset));
  if (auto node = make_node<StridedGatherBackward>({grad}, input, output)) set_history({out}, node);
  return out;
}
}  // namespace internal

// ---- In-place writes through views ---------------------------------------------------------------
namespace {
// The base's history after an in-place op on one of its views: the written region's gradient goes
// to the op (`result` edge), the rest of the gradient to the base's previous history.
struct CopySlices : Node {
  internal::Geometry base, view;
  CopySlices(internal::Geometry b, internal::Geometry v) : base(std::move(b)), view(std::move(v)) {}
  std::string name() const override { return "CopySlices"; }
  TensorList apply(TensorList&& g) override {
    TensorList r(2);
    if (needs_grad(0)) {
      Tensor covered = internal::strided_scatter(ones(view.sizes, DType::Bool), base, view);
      r[0] = where(covered, zeros({}, g[0].dtype()), g[0]);
    }
    if (needs_grad(1)) r[1] = internal::strided_gather(g[0], base, view);
    return r;
  }
};
}  // namespace

namespace internal {
void rebase_view_history(const Tensor& view, const std::shared_ptr<Node>& node, uint32_t output_nr) {
  TensorImpl* impl = view.impl();
  Tensor base(impl->view_base);
  auto copy_slices = std::make_shared<CopySlices>(geometry_of(base), geometry_of(view));
  copy_slices->set_next_edges({base});
  copy_slices->add_next_edge(Edge{node, output_nr}, InputMeta{view.shape(), view.dtype()});
  set_history({base}, copy_slices);
  // The view's own history is regenerated from the base on next use (its version is about to move).
  impl->grad_fn.reset();
  impl->view_version = view.version() - 1;
}

void refresh_view_history(const Tensor& view) {
  TensorImpl* impl = view.impl();
  Tensor base(impl->view_base);
  impl->view_version = view.version();
  if (impl->view_no_grad || !base.requires_grad()) return;
  auto node = std::make_shared<AsStridedBackward0>(geometry_of(base), geometry_of(view));
  node->set_next_edges({base});
  set_history({view}, node);
  impl->differentiable_view = true;
  if (impl->retains_grad) node->retain_grad_for(0, view.impl_ptr());
}
}  // namespace internal

Tensor as_strided(const Tensor& a, const Shape& sizes, const Shape& strides, std::optional<int64_t> offset_opt) {
  GC_CHECK(sizes.size() == strides.size(), "[as_strided] mismatch in length of strides and shape");
  int64_t offset = offset_opt.value_or(a.storage_offset());
  GC_CHECK(offset >= 0, "[as_strided] Tensor: invalid storage offset ", offset);
  for (size_t d = 0; d < sizes.size(); ++d) {
    GC_CHECK(sizes[d] >= 0, "[as_strided] Trying to create tensor with negative dimension ", sizes[d], ": ",
             shape_str(sizes));
    GC_CHECK(strides[d] >= 0, "[as_strided] as_strided: Negative strides are not supported at the moment, got strides: ",
             shape_str(strides));
  }
  internal::Geometry out_geom{sizes, strides, offset};
  const int64_t needed = extent(out_geom);
  const int64_t available = static_cast<int64_t>(a.storage()->nbytes() / itemsize(a.dtype()));
  GC_CHECK(needed <= available, "[as_strided] setStorage: sizes ", shape_str(sizes), ", strides ", shape_str(strides),
           ", storage offset ", offset, ", and itemsize ", itemsize(a.dtype()), " requiring a storage size of ",
           needed * itemsize(a.dtype()), " are out of bounds for storage of size ", available * itemsize(a.dtype()));
  Tensor out = view_of(a, sizes, strides, offset);
  internal::finish_view(out, a, make_node<AsStridedBackward0>({a}, internal::geometry_of(a), out_geom));
  return out;
}

}  // namespace gradcore

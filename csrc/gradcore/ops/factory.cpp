// Creation, conversion and copy ops.
#include <algorithm>
#include <cmath>
#include <mutex>
#include <random>
#include <vector>

#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"

namespace gradcore {

// ---- Filled tensors ------------------------------------------------------------------------------
Tensor full(const Shape& shape, Scalar value, std::optional<DType> dtype) {
  Tensor out = empty(shape, dtype.value_or(scalar_dtype(value)));
  GC_DISPATCH_ALL(out.dtype(), [&] {
    auto* p = out.data<scalar_t>();
    const auto v = static_cast<scalar_t>(value.value);
    std::fill(p, p + out.numel(), v);
  });
  return out;
}

Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1, dtype); }

Tensor scalar_tensor(Scalar value, std::optional<DType> dtype, bool wrapped) {
  // A Python float keeps double precision until promotion picks the computation type.
  DType t = dtype.value_or(value.kind == Scalar::Kind::Float ? DType::Float64 : scalar_dtype(value));
  Tensor out = full({}, value, t);
  out.impl()->wrapped_number = wrapped;
  return out;
}

Tensor arange(Scalar start, Scalar end, Scalar step, std::optional<DType> dtype) {
  GC_CHECK(step.value != 0, "[arange] step must be nonzero");
  GC_CHECK(std::isfinite(start.value) && std::isfinite(end.value), "[arange] unsupported range: ", start.value,
           " -> ", end.value);
  GC_CHECK((step.value > 0 && end.value >= start.value) || (step.value < 0 && end.value <= start.value),
           "[arange] upper bound and larger bound inconsistent with step sign");
  bool integral = start.kind != Scalar::Kind::Float && end.kind != Scalar::Kind::Float && step.kind != Scalar::Kind::Float;
  DType t = dtype.value_or(integral ? DType::Int64 : DType::Float32);
  double count = std::ceil((end.value - start.value) / step.value);
  GC_CHECK_T(OutOfMemory, count < 9.0e18, "[arange] the range is too large");
  Tensor out = empty({static_cast<int64_t>(count)}, t);
  GC_DISPATCH_ALL(t, [&] {
    auto* p = out.data<scalar_t>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<scalar_t>(start.value + static_cast<double>(i) * step.value);
  });
  return out;
}

// ---- Random numbers ------------------------------------------------------------------------------
namespace {
struct Generator {
  std::mutex mutex;
  std::mt19937_64 engine{67280421310721ull};  // PyTorch's default seed
};
Generator& generator() {
  static Generator g;
  return g;
}

template <typename Sample>
Tensor random_tensor(const Shape& shape, DType dtype, const char* op, Sample sample) {
  Tensor out = empty(shape, dtype);
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  GC_DISPATCH_FLOATING(dtype, op, [&] {
    auto* p = out.data<scalar_t>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<scalar_t>(sample(g.engine));
  });
  return out;
}
}  // namespace

void manual_seed(uint64_t seed) {
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  g.engine.seed(seed);
}

Tensor rand(const Shape& shape, DType dtype) {
  // 53 random bits -> [0, 1); float32 rounding may give 1.0, so such draws are rejected.
  return random_tensor(shape, dtype, "rand", [dtype](std::mt19937_64& e) {
    for (;;) {
      double u = static_cast<double>(e() >> 11) * 0x1.0p-53;
      if (dtype == DType::Float64 || static_cast<float>(u) < 1.0f) return u;
    }
  });
}

Tensor randn(const Shape& shape, DType dtype) {
  std::normal_distribution<double> normal;
  return random_tensor(shape, dtype, "randn", [&normal](std::mt19937_64& e) { return normal(e); });
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  GC_CHECK(low < high, "random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high);
  GC_CHECK(dtype != DType::Bool || low >= 0, "from is out of bounds for bool");
  GC_CHECK(dtype != DType::Bool || high <= 2, "to - 1 is out of bounds for bool");
  Tensor out = empty(shape, dtype);
  std::uniform_int_distribution<int64_t> uniform(low, high - 1);
  Generator& g = generator();
  std::lock_guard<std::mutex> lock(g.mutex);
  GC_DISPATCH_ALL(dtype, [&] {
    auto* p = out.data<scalar_t>();
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<scalar_t>(uniform(g.engine));
  });
  return out;
}

Tensor randperm(int64_t n, DType dtype) {
  GC_CHECK_T(NotImplemented, dtype != DType::Bool, "\"randperm\" not implemented for 'Bool'");
  Tensor out = empty({n}, dtype);
  std::vector<int64_t> perm(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<size_t>(i)] = i;
  {
    Generator& g = generator();
    std::lock_guard<std::mutex> lock(g.mutex);
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates
      const int64_t j = std::uniform_int_distribution<int64_t>(0, i)(g.engine);
      std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
    }
  }
  GC_DISPATCH_ALL(dtype, [&] {
    auto* p = out.data<scalar_t>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<scalar_t>(perm[static_cast<size_t>(i)]);
  });
  return out;
}

// ---- Conversion and copies -----------------------------------------------------------------------
namespace internal {

void copy_into(const Tensor& dst, const Tensor& src) {
  GC_DISPATCH_ALL(dst.dtype(), [&] {
    using Out = scalar_t;
    GC_DISPATCH_ALL(src.dtype(), [&] {
      kernels::unary_loop<Out, scalar_t>(dst, src, [](scalar_t x) { return static_cast<Out>(x); });
    });
  });
}

Tensor cast(const Tensor& t, DType dtype) {
  Tensor out = empty(t.shape(), dtype);
  copy_into(out, t);
  out.impl()->wrapped_number = t.impl()->wrapped_number;
  return out;
}

Tensor snapshot_for_inplace(const Tensor& self) {
  Tensor data = empty(self.shape(), self.dtype());
  copy_into(data, self);
  auto impl = std::make_shared<TensorImpl>(*self.impl());
  impl->storage = data.storage();
  impl->version = data.impl()->version;
  impl->strides = data.strides();
  impl->offset = 0;
  impl->grad.reset();
  impl->retains_grad = false;
  impl->differentiable_view = false;
  impl->view_base.reset();
  impl->view_multi_output = false;
  impl->refresh_geometry();
  return Tensor(std::move(impl));
}

void rebase_history(const Tensor& self, const std::shared_ptr<Node>& node, uint32_t output_nr) {
  TensorImpl* impl = self.impl();
  if (impl->view_base && node) return rebase_view_history(self, node, output_nr);
  impl->grad_fn = node;
  impl->output_nr = output_nr;
  if (impl->retains_grad && node) node->retain_grad_for(output_nr, self.impl_ptr());
}

namespace {
// The forward op's name as PyTorch's messages give it: "UnbindBackward0" -> "Unbind".
std::string forward_name(const Node& node) {
  std::string n = node.name();
  size_t at = n.rfind("Backward");
  return at == std::string::npos ? n : n.substr(0, at);
}
}  // namespace

void check_inplace(const Tensor& self, const char* op) {
  for (size_t d = 0; d < self.shape().size(); ++d)
    GC_CHECK(self.strides()[d] != 0 || self.shape()[d] <= 1, "[", op,
             "] unsupported operation: more than one element of the written-to tensor refers to a single memory "
             "location. Please clone() the tensor before performing the operation.");
  GC_CHECK(!self.impl()->is_inference || InferenceMode::is_enabled(), "[", op, "] Inplace update to inference tensor "
           "outside InferenceMode is not allowed.You can make a clone to get a normal tensor before doing inplace "
           "update.");
  if (!GradMode::is_enabled()) return;
  const TensorImpl* impl = self.impl();
  if (impl->view_base) {
    Tensor base(impl->view_base);
    if (!base.requires_grad()) return;
    GC_CHECK(!(base.is_leaf()), "[", op, "] a view of a leaf Variable that requires grad is being used in an in-place "
             "operation.");
    GC_CHECK(!impl->view_no_grad, "[", op, "] A view was created in no_grad mode and its base or another view of its "
             "base has been modified inplace with grad mode enabled. Given that this use case is ambiguous and "
             "error-prone, it is forbidden. You can clarify your code by moving both the view and the inplace either "
             "both inside the no_grad block (if you don't want the inplace to be tracked) or both outside (if you want "
             "the inplace to be tracked).");
    GC_CHECK(!impl->view_multi_output, "[", op, "] Output ", self.output_nr(), " of ", forward_name(*self.grad_fn()),
             " is a view and is being modified inplace. This view is the output of a function that returns multiple "
             "views. Such functions do not allow the output views to be modified inplace. You should replace the "
             "inplace operation by an out-of-place one.");
    return;
  }
  GC_CHECK(!(self.is_leaf() && self.requires_grad()), "[", op,
           "] a leaf Variable that requires grad is being used in an in-place operation.");
}

}  // namespace internal

namespace {
// Conversion and copy pass the gradient through; the engine casts it back to the input's dtype.
struct ToCopyBackward0 : Node {
  std::string name() const override { return "ToCopyBackward0"; }
  TensorList apply(TensorList&& g) override { return {std::move(g[0])}; }
};
struct CloneBackward0 : Node {
  std::string name() const override { return "CloneBackward0"; }
  TensorList apply(TensorList&& g) override { return {std::move(g[0])}; }
};
// dst's old value is overwritten (zero gradient); src receives the gradient.
struct CopyBackwards : Node {
  std::string name() const override { return "CopyBackwards"; }
  TensorList apply(TensorList&& g) override { return {zeros(g[0].shape(), g[0].dtype()), g[0]}; }
};
}  // namespace

Tensor to_dtype(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = internal::cast(t, dtype);
  out.impl()->wrapped_number = false;
  if (is_floating(dtype))
    if (auto node = make_node<ToCopyBackward0>({t})) set_history({out}, node);
  return out;
}

namespace {
// A fresh tensor with t's strides when t is dense and non-overlapping (a permuted contiguous
// layout, such as a transpose), else contiguous: PyTorch's preserve_format.
Tensor empty_preserving_layout(const Tensor& t) {
  if (t.is_contiguous() || t.dim() < 2) return empty(t.shape(), t.dtype());
  std::vector<int64_t> order(t.dim());
  for (int64_t d = 0; d < t.dim(); ++d) order[d] = d;
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return t.strides()[a] < t.strides()[b]; });
  int64_t expected = 1;
  for (int64_t d : order) {
    if (t.shape()[d] == 1) continue;
    if (t.strides()[d] != expected) return empty(t.shape(), t.dtype());
    expected *= t.shape()[d];
  }
  Tensor flat = empty({t.numel()}, t.dtype());
  return make_view(flat, t.shape(), t.strides(), 0);
}
}  // namespace

namespace {
Tensor clone_into(const Tensor& t, Tensor out) {
  internal::copy_into(out, t);
  if (auto node = make_node<CloneBackward0>({t})) set_history({out}, node);
  return out;
}
}  // namespace

Tensor clone(const Tensor& t) { return clone_into(t, empty_preserving_layout(t)); }

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone_into(t, empty(t.shape(), t.dtype())); }

Tensor& copy_(Tensor& dst, const Tensor& src) {
  internal::check_inplace(dst, "copy_");
  GC_CHECK(broadcast_shapes(dst.shape(), src.shape(), "copy_") == dst.shape(), "[copy_] the size of src ",
           shape_str(src.shape()), " must be broadcastable to the size of the destination ", shape_str(dst.shape()));
  internal::copy_into(dst, src);
  if (auto node = make_node<CopyBackwards>({dst, src})) internal::rebase_history(dst, node, 0);
  dst.bump_version();
  return dst;
}

// ---- fill_ / zero_ -------------------------------------------------------------------------------
namespace {
struct FillBackward0 : Node {
  std::string name() const override { return "FillBackward0"; }
  TensorList apply(TensorList&& g) override { return {zeros(g[0].shape(), g[0].dtype())}; }
};
}  // namespace

Tensor& fill_(Tensor& self, Scalar value) {
  internal::check_inplace(self, "fill_");
  internal::copy_into(self, scalar_tensor(value, self.dtype()));
  if (self.requires_grad() && GradMode::is_enabled()) {
    auto node = std::make_shared<FillBackward0>();
    node->set_next_edges({self});
    internal::rebase_history(self, node, 0);
  }
  self.bump_version();
  return self;
}

Tensor& zero_(Tensor& self) { return fill_(self, 0); }

}  // namespace gradcore

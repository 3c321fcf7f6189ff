#include "gradcore/tensor.h"

#include "gradcore/grad_mode.h"
#include "gradcore/ops/internal.h"

#include <limits>
#include <sstream>

#include "gradcore/autograd/engine.h"
#include "gradcore/autograd/node.h"
#include "gradcore/error.h"

namespace gradcore {

std::string shape_list_str(const Shape& shape) {
  std::string r = "[";
  for (size_t i = 0; i < shape.size(); ++i) r += (i ? ", " : "") + std::to_string(shape[i]);
  return r + "]";
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? ",)" : ")");
  return os.str();
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) {
    if (s < 0) {
      std::string dims = shape_str(shape);
      dims = "[" + dims.substr(1, dims.size() - (shape.size() == 1 ? 3 : 2)) + "]";
      throw Error(detail::cat("Trying to create tensor with negative dimension ", s, ": ", dims));
    }
    GC_CHECK_T(OutOfMemory, !__builtin_mul_overflow(n, s, &n),
               "[alloc] shape ", shape_str(shape), " has too many elements");
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    GC_CHECK(!__builtin_mul_overflow(s, std::max<int64_t>(shape[i], 1), &s), "Stride calculation overflowed for shape ",
             shape_str(shape));
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t lo = ndim > 0 ? -ndim : -1, hi = ndim > 0 ? ndim - 1 : 0;  // 0-dim tensors accept 0 and -1
  GC_CHECK_T(IndexError, dim >= lo && dim <= hi, "[", op, "] Dimension out of range (expected to be in range of [",
             lo, ", ", hi, "], but got ", dim, ")");
  return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

TensorImpl::TensorImpl(std::shared_ptr<Storage> storage_, DType dtype_, Shape sizes_,
                       Shape strides_, int64_t offset_, std::shared_ptr<VersionCounter> version_)
    : storage(std::move(storage_)),
      version(std::move(version_)),
      sizes(std::move(sizes_)),
      strides(std::move(strides_)),
      offset(offset_),
      dtype(dtype_) {
  // By default a tensor shares its storage's counter: the aliasing constructor costs no allocation.
  if (!version) version = std::shared_ptr<VersionCounter>(storage, &storage->version());
  refresh_geometry();
}

void TensorImpl::refresh_geometry() {
  numel = 1;
  for (int64_t s : sizes) numel *= s;
  contiguous = true;
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 1) continue;  // the stride of a size-1 dim never matters
    if (strides[i] != expected) {
      contiguous = false;
      break;
    }
    expected *= sizes[i];
  }
  if (numel == 0) contiguous = true;
}

Tensor empty(const Shape& shape, DType dtype) {
  int64_t n = shape_numel(shape);
  size_t bytes = 0;
  GC_CHECK_T(OutOfMemory, !__builtin_mul_overflow(static_cast<size_t>(n), itemsize(dtype), &bytes),
             "[alloc] shape ", shape_str(shape), " is too large");
  auto storage = Storage::allocate(bytes);
  auto impl = std::make_shared<TensorImpl>(std::move(storage), dtype, shape, contiguous_strides(shape), 0);
  impl->is_inference = InferenceMode::is_enabled();
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>(base.storage(), base.dtype(), std::move(sizes), std::move(strides), offset,
                                           base.impl()->version);
  impl->is_inference = base.impl()->is_inference;
  return Tensor(std::move(impl));
}

const Shape& Tensor::shape() const { return impl_->sizes; }
const Shape& Tensor::strides() const { return impl_->strides; }
int64_t Tensor::size(int64_t d) const { return impl_->sizes[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::dim() const { return static_cast<int64_t>(impl_->sizes.size()); }
int64_t Tensor::numel() const { return impl_->numel; }
int64_t Tensor::storage_offset() const { return impl_->offset; }
DType Tensor::dtype() const { return impl_->dtype; }
bool Tensor::is_contiguous() const { return impl_->contiguous; }
const std::shared_ptr<Storage>& Tensor::storage() const { return impl_->storage; }

void* Tensor::raw_data() const {
  auto* base = static_cast<char*>(impl_->storage->data());
  return base ? base + impl_->offset * static_cast<int64_t>(itemsize(impl_->dtype)) : nullptr;
}

double Tensor::item() const {
  GC_CHECK(numel() == 1, "a Tensor with ", numel(),
           " elements cannot be converted to Scalar");
  return GC_DISPATCH_ALL(dtype(), [&] { return static_cast<double>(*data<scalar_t>()); });
}

bool Tensor::requires_grad() const { return impl_->requires_grad || grad_fn() != nullptr; }

void Tensor::set_requires_grad(bool value) {
  if (!is_leaf()) {
    GC_CHECK(value,
             "you can only change requires_grad flags of leaf variables. If you want to use a "
             "computed variable in a subgraph that doesn't require differentiation use "
             "var_no_grad = var.detach().");
    return;
  }
  GC_CHECK(!value || is_floating(dtype()),
           "only Tensors of floating point dtype can require gradients");
  GC_CHECK(!value || !impl_->is_inference || InferenceMode::is_enabled(),
           "Setting requires_grad=True on inference tensor outside InferenceMode is not allowed.");
  impl_->requires_grad = value;
}

bool Tensor::is_leaf() const { return impl_->grad_fn == nullptr; }
const std::shared_ptr<Node>& Tensor::grad_fn() const {
  // A view whose base (or another view of it) was modified in place takes its history from the base.
  if (impl_->view_base && impl_->view_version != impl_->version->value.load(std::memory_order_relaxed))
    internal::refresh_view_history(*this);
  return impl_->grad_fn;
}
uint32_t Tensor::output_nr() const { return impl_->output_nr; }
Tensor Tensor::grad() const { return Tensor(impl_->grad); }

void Tensor::set_grad(const Tensor& grad) {
  if (grad.defined()) {
    GC_CHECK(grad.impl() != impl(), "can't assign Variable as its own grad");
    GC_CHECK(grad.dtype() == dtype(), "assigned grad has data of a different type");
    GC_CHECK(grad.shape() == shape(), "assigned grad has data of a different size");
  }
  impl_->grad = grad.impl_ptr();
}

void Tensor::retain_grad() {
  GC_CHECK(requires_grad(), "can't retain_grad on Tensor that has requires_grad=False");
  if (is_leaf() || impl_->retains_grad) return;
  impl_->retains_grad = true;
  impl_->grad_fn->retain_grad_for(impl_->output_nr, impl_);
}
bool Tensor::retains_grad() const { return impl_->retains_grad; }

uint32_t Tensor::version() const { return impl_->version->value.load(std::memory_order_relaxed); }
void Tensor::bump_version() const { impl_->version->value.fetch_add(1, std::memory_order_relaxed); }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  run_backward({*this}, {gradient}, retain_graph || create_graph, create_graph);
}

Tensor Tensor::detach() const {
  return make_view(*this, impl_->sizes, impl_->strides, impl_->offset);
}

Tensor& Tensor::detach_() {
  impl_->grad_fn.reset();
  impl_->output_nr = 0;
  impl_->requires_grad = false;
  return *this;
}

}  // namespace gradcore

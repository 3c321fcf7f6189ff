// Tensor: a strided view (dtype, sizes, strides, offset) on a shared Storage, plus its autograd state.
//
// Note [Ownership]
//   Tensor (a handle) -> TensorImpl -> Storage (shared by views).
//   TensorImpl -> grad_fn: strong. A leaf's TensorImpl -> its AccumulateGrad: weak, while
//   AccumulateGrad -> leaf: strong, so the graph keeps leaves alive but a leaf never keeps a graph.
//   Nodes hold their next nodes strongly through edges and never point back at their outputs: saved
//   outputs are stored without grad_fn (see SavedTensor). The graph is therefore acyclic and freed by
//   reference counting; Node's destructor unlinks long chains iteratively (no recursion).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gradcore/dtype.h"
#include "gradcore/storage.h"

namespace gradcore {

class Node;
class TensorImpl;
struct LeafHooks;

/// Sizes or strides of a tensor, outermost dimension first. Strides are counted in elements.
using Shape = std::vector<int64_t>;

/// Formats a shape like PyTorch's tuples: "(2, 3)", "(5,)", "()".
std::string shape_str(const Shape& shape);

/// Formats a shape as PyTorch's C++ messages do: "[2, 3]".
std::string shape_list_str(const Shape& shape);

/// Product of the sizes (1 for a 0-dim shape); throws on negative sizes or overflow.
int64_t shape_numel(const Shape& shape);

/// Row-major (C-contiguous) strides for `shape`.
Shape contiguous_strides(const Shape& shape);

/// Wraps a possibly negative dimension index into [0, ndim); IndexError when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);

/// A reference-counted handle to a TensorImpl; copying a Tensor shares the same tensor (like Python).
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  /// False for a null handle (an absent gradient, say).
  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  const Shape& shape() const;
  const Shape& strides() const;
  int64_t size(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  int64_t storage_offset() const;
  DType dtype() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;

  /// Address of the first element (storage start + offset).
  void* raw_data() const;
  /// Typed address of the first element; the caller guarantees the dtype.
  template <typename T>
  T* data() const { return static_cast<T*>(raw_data()); }
  /// The value of a one-element tensor as double; Error otherwise.
  double item() const;

  // Autograd state.
  bool requires_grad() const;
  /// Marks a leaf as requiring grad (Error on a non-leaf when turning it off, or on a non-float dtype).
  void set_requires_grad(bool value);
  bool is_leaf() const;
  const std::shared_ptr<Node>& grad_fn() const;
  /// Index of this tensor among its grad_fn's outputs.
  uint32_t output_nr() const;
  /// The accumulated gradient (undefined when none).
  Tensor grad() const;
  /// Sets (or with an undefined tensor, clears) the gradient; checks shape and dtype.
  void set_grad(const Tensor& grad);
  /// Asks a non-leaf to keep its gradient in .grad during backward.
  void retain_grad();
  bool retains_grad() const;
  /// Current value of the shared version counter.
  uint32_t version() const;
  /// Records an in-place modification.
  void bump_version() const;

  /// Computes gradients of this tensor w.r.t. graph leaves (see autograd/engine.h).
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  /// A tensor sharing storage and version counter, cut from the graph.
  Tensor detach() const;
  /// Cuts this tensor from the graph in place (Error on views of graph tensors).
  Tensor& detach_();

 private:
  std::shared_ptr<TensorImpl> impl_;
};

using TensorList = std::vector<Tensor>;

/// The data behind a Tensor handle. Fields are public for the core's ops; users go through Tensor.
class TensorImpl {
 public:
  /// A tensor with the given geometry over `storage`, sharing `version` (the storage's if null).
  TensorImpl(std::shared_ptr<Storage> storage, DType dtype, Shape sizes, Shape strides,
             int64_t offset, std::shared_ptr<VersionCounter> version = nullptr);

  std::shared_ptr<Storage> storage;
  std::shared_ptr<VersionCounter> version;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;  // in elements
  int64_t numel = 0;
  DType dtype = DType::Float32;
  bool contiguous = true;
  /// Set on 0-dim tensors made from Python numbers: they take part in type promotion by category only.
  bool wrapped_number = false;
  /// Set on views made by differentiable view ops from a tensor that requires grad; `view_version`
  /// is the version at creation. Autograd refuses such a view once it (or its base) was modified in
  /// place, since its recorded history would no longer describe its data.
  bool differentiable_view = false;
  uint32_t view_version = 0;
  /// For a view made by a view op: the tensor that owns the memory (never itself a view). In-place
  /// ops on the view rewrite the base's history (CopySlices). Strong: a view keeps its base alive.
  std::shared_ptr<TensorImpl> view_base;
  /// Set on the outputs of multi-output view ops (split, unbind), which PyTorch forbids writing in place.
  bool view_multi_output = false;
  /// Set on views made with grad mode off: autograd does not track in-place writes through them.
  bool view_no_grad = false;
  /// Made in inference mode (or a view of such a tensor): never saved for backward.
  bool is_inference = false;

  // Autograd metadata. A leaf "requires grad" by its flag; a non-leaf by having a grad_fn.
  bool requires_grad = false;
  bool retains_grad = false;
  uint32_t output_nr = 0;
  std::shared_ptr<Node> grad_fn;
  std::weak_ptr<Node> grad_accumulator;
  std::shared_ptr<TensorImpl> grad;
  /// Gradient and post-accumulate hooks of a leaf (null when none were registered).
  std::shared_ptr<LeafHooks> leaf_hooks;

  /// Recomputes `numel` and `contiguous` after sizes or strides change.
  void refresh_geometry();
};

/// A fresh contiguous tensor with uninitialised data.
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
/// A tensor viewing `base`'s storage with new geometry; shares the version counter.
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);

}  // namespace gradcore

// The autograd graph: nodes (grad_fn), edges between them, saved tensors, and AccumulateGrad.
// See Note [Ownership] in tensor.h for who keeps whom alive.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gradcore/tensor.h"

namespace gradcore {

class SavedTensor;

/// Where a gradient flows: input `input_nr` of node `fn` (an invalid edge is a non-differentiable input).
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  bool valid() const { return fn != nullptr; }
};

/// Shape and dtype of a forward input: the gradient flowing to it is reduced and cast to match.
struct InputMeta {
  Shape shape;
  DType dtype = DType::Float32;
};

/// A hook on a tensor's gradient: returns a replacement, or an undefined tensor to keep it.
using TensorHook = std::function<Tensor(const Tensor&)>;
/// A hook before a node runs: gets the node's incoming gradients; a non-empty result replaces them.
using NodePreHook = std::function<TensorList(const TensorList&)>;
/// A hook after a node ran: gets (gradients it produced, gradients it received); a non-empty result
/// replaces the produced ones.
using NodePostHook = std::function<TensorList(const TensorList&, const TensorList&)>;

/// Hooks attached to a node; allocated on first registration, so a node without hooks pays one pointer.
struct NodeHooks {
  std::vector<std::pair<uint64_t, std::pair<uint32_t, TensorHook>>> tensor;  // by forward output nr
  std::vector<std::pair<uint64_t, NodePreHook>> pre;
  std::vector<std::pair<uint64_t, NodePostHook>> post;
};

/// Hooks attached to a leaf tensor (they outlive its AccumulateGrad, which is made per graph).
struct LeafHooks {
  std::vector<std::pair<uint64_t, TensorHook>> grad;
  std::vector<std::pair<uint64_t, std::function<void(const Tensor&)>>> post_accumulate;
};

/// A fresh id for a hook (unique in the process), for removing it later.
uint64_t next_hook_id();

/// A backward function. In backward-pass terms its "inputs" are gradients w.r.t. the forward
/// outputs, and its "outputs" are gradients w.r.t. the forward inputs, one per next edge.
class Node : public std::enable_shared_from_this<Node> {
 public:
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// PyTorch's class name of this node ("MulBackward0").
  virtual std::string name() const = 0;
  /// Maps gradients of the forward outputs to gradients of the forward inputs (one per next edge;
  /// undefined where an input needs none). Gradients may be broadcast-shaped: the engine reduces them.
  virtual TensorList apply(TensorList&& grads) = 0;
  /// Frees saved tensors after backward (unless retain_graph).
  virtual void release_saved() {}

  /// Edges to the nodes of this node's forward inputs.
  const std::vector<Edge>& next_edges() const { return next_edges_; }
  /// Shape and dtype of forward input i.
  const InputMeta& input_meta(size_t i) const { return input_meta_[i]; }
  /// Number of forward outputs (gradients this node receives).
  uint32_t num_inputs() const { return num_inputs_; }
  /// Creation order; later nodes run first when several are ready.
  uint64_t sequence_nr() const { return sequence_nr_; }
  /// Whether the gradient for forward input i is needed.
  bool needs_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].valid(); }

  /// Makes backward store the gradient of forward output `output_nr` in `tensor`'s .grad
  /// (Tensor::retain_grad). Held weakly: a dead tensor is skipped.
  void retain_grad_for(uint32_t output_nr, const std::shared_ptr<TensorImpl>& tensor);
  /// Called by the engine with this node's incoming gradients before apply().
  void store_retained_grads(const TensorList& grads);

  /// Registers a hook on the gradient of forward output `output_nr` (Tensor.register_hook on a non-leaf).
  uint64_t add_tensor_hook(uint32_t output_nr, TensorHook hook);
  /// Registers a hook run before the node (grad_fn.register_prehook).
  uint64_t add_pre_hook(NodePreHook hook);
  /// Registers a hook run after the node (grad_fn.register_hook).
  uint64_t add_post_hook(NodePostHook hook);
  /// Removes a hook by id; false when it is not (or no longer) registered here.
  bool remove_hook(uint64_t id);
  /// The registered hooks, or null when there are none.
  NodeHooks* hooks() const { return hooks_.get(); }
  /// Stores `t` in the node's member `slot` for backward, noting it under `name` for graph inspection.
  void save(const char* name, SavedTensor& slot, const Tensor& t, bool is_output);
  /// The saved tensors by name (graph_to_dot shows their shapes); a node may override it.
  virtual std::vector<std::pair<std::string, const SavedTensor*>> saved_tensors() const;

  /// Where the forward op that made this node was called (recorded in anomaly mode; empty otherwise).
  const std::string& creation_trace() const { return creation_trace_; }
  void set_creation_trace(std::string trace) { creation_trace_ = std::move(trace); }

  /// Connects this node to the forward inputs (records edges and input metadata).
  void set_next_edges(const TensorList& inputs);
  void set_num_inputs(uint32_t n) { num_inputs_ = n; }
  /// Appends one edge with the metadata of the forward input it stands for.
  void add_next_edge(Edge edge, InputMeta meta);

 protected:
  std::vector<Edge> next_edges_;
  std::vector<InputMeta> input_meta_;
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained_;
  std::unique_ptr<NodeHooks> hooks_;
  std::string creation_trace_;
  // Names and slots of saved tensors: a fixed array, so saving costs no allocation.
  std::array<std::pair<const char*, const SavedTensor*>, 4> saved_slots_{};
  uint8_t num_saved_ = 0;
  uint32_t num_inputs_ = 1;
  uint64_t sequence_nr_;
};

/// The sink of a leaf tensor: adds incoming gradients into `leaf.grad`.
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(Tensor leaf);
  std::string name() const override { return "AccumulateGrad"; }
  TensorList apply(TensorList&& grads) override;
  /// The leaf this node accumulates into.
  const Tensor& variable() const { return leaf_; }

 private:
  Tensor leaf_;
  // Two threads running backward on graphs that share this leaf accumulate one at a time.
  std::mutex mutex_;
};

/// A tensor saved for backward. Checks on unpack that it was not modified in place since it was
/// saved, and that it was not released by an earlier backward.
class SavedTensor {
 public:
  SavedTensor() = default;
  /// Saves `t`; `is_output` marks the saving node's own output (stored without grad_fn: no cycle).
  SavedTensor(const Tensor& t, bool is_output);
  /// The saved tensor; `owner` is the saving node (restores grad_fn on saved outputs).
  Tensor unpack(Node* owner) const;
  /// Frees the data; later unpacks raise the "backward through the graph a second time" error.
  void release();
  bool defined() const { return data_ != nullptr || released_; }
  /// Whether release() freed it.
  bool released() const { return released_; }
  /// Shape of the saved tensor (empty when none or released).
  Shape shape() const { return data_ ? data_->sizes : Shape(); }

 private:
  std::shared_ptr<TensorImpl> data_;
  uint32_t saved_version_ = 0;
  uint32_t output_nr_ = 0;
  bool is_output_ = false;
  bool released_ = false;
};

/// Adds `incoming` into the gradient slot `slot` as AccumulateGrad does for leaves: in place when no
/// graph is being recorded, never aliasing a caller's tensor.
void accumulate_into(std::shared_ptr<TensorImpl>& slot, const Tensor& incoming);

/// Runs the leaf's gradient hooks (Tensor.register_hook on a leaf) on `grad`, in registration order.
Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad);

/// True when grad mode is on and any of `inputs` requires grad.
bool any_requires_grad(const TensorList& inputs);
/// The edge a gradient for `t` flows into: its grad_fn, or its leaf's AccumulateGrad.
Edge gradient_edge(const Tensor& t);
/// Makes `node` the grad_fn of `outputs` (output i gets output_nr i).
void set_history(const TensorList& outputs, const std::shared_ptr<Node>& node);

/// Creates node `N`, wires it to `inputs` and returns it; null when no input requires grad.
template <typename N, typename... Args>
std::shared_ptr<N> make_node(const TensorList& inputs, Args&&... args) {
  if (!any_requires_grad(inputs)) return nullptr;
  auto node = std::make_shared<N>(std::forward<Args>(args)...);
  node->set_next_edges(inputs);
  return node;
}

}  // namespace gradcore

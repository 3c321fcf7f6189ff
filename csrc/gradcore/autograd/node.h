// The autograd graph: nodes (grad_fn), edges between them, saved tensors, and AccumulateGrad.
// See Note [Ownership] in tensor.h for who keeps whom alive.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gradcore/tensor.h"

namespace gradcore {

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

  /// Connects this node to the forward inputs (records edges and input metadata).
  void set_next_edges(const TensorList& inputs);
  void set_num_inputs(uint32_t n) { num_inputs_ = n; }
  /// Appends one edge with the metadata of the forward input it stands for.
  void add_next_edge(Edge edge, InputMeta meta);

 protected:
  std::vector<Edge> next_edges_;
  std::vector<InputMeta> input_meta_;
  std::vector<std::pair<uint32_t, std::weak_ptr<TensorImpl>>> retained_;
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

#include "gradcore/autograd/node.h"

#include <atomic>

#include "gradcore/autograd/engine.h"
#include "gradcore/grad_mode.h"
#include "gradcore/ops.h"

namespace gradcore {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};
std::atomic<uint64_t> hook_counter{0};
}  // namespace

uint64_t next_hook_id() { return hook_counter.fetch_add(1, std::memory_order_relaxed) + 1; }

uint64_t Node::add_tensor_hook(uint32_t output_nr, TensorHook hook) {
  if (!hooks_) hooks_ = std::make_unique<NodeHooks>();
  uint64_t id = next_hook_id();
  hooks_->tensor.push_back({id, {output_nr, std::move(hook)}});
  return id;
}

uint64_t Node::add_pre_hook(NodePreHook hook) {
  if (!hooks_) hooks_ = std::make_unique<NodeHooks>();
  uint64_t id = next_hook_id();
  hooks_->pre.emplace_back(id, std::move(hook));
  return id;
}

uint64_t Node::add_post_hook(NodePostHook hook) {
  if (!hooks_) hooks_ = std::make_unique<NodeHooks>();
  uint64_t id = next_hook_id();
  hooks_->post.emplace_back(id, std::move(hook));
  return id;
}

namespace {
template <typename V>
bool erase_id(V& v, uint64_t id) {
  for (auto it = v.begin(); it != v.end(); ++it)
    if (it->first == id) {
      v.erase(it);
      return true;
    }
  return false;
}
}  // namespace

bool Node::remove_hook(uint64_t id) {
  return hooks_ && (erase_id(hooks_->tensor, id) || erase_id(hooks_->pre, id) || erase_id(hooks_->post, id));
}

Tensor run_leaf_hooks(const Tensor& leaf, Tensor grad) {
  std::shared_ptr<LeafHooks> hooks = leaf.impl()->leaf_hooks;  // a hook may remove itself: iterate a copy
  if (!hooks || hooks->grad.empty()) return grad;
  auto list = hooks->grad;
  for (auto& [id, hook] : list) {
    Tensor r = hook(grad);
    if (r.defined()) grad = std::move(r);
  }
  return grad;
}

Node::Node() : sequence_nr_(next_sequence_nr.fetch_add(1, std::memory_order_relaxed)) {}

// A chain of 10^6 nodes would recurse 10^6 deep if each node's edges simply went out of scope. Instead
// the outermost destructor on a thread drains a queue it owns: nested destructors only hand their edges
// to it. The thread_local is a plain pointer, so it is still valid in destructors run at exit.
Node::~Node() {
  thread_local std::vector<std::shared_ptr<Node>>* pending = nullptr;
  if (pending) {
    for (Edge& e : next_edges_)
      if (e.fn) pending->push_back(std::move(e.fn));
    return;
  }
  std::vector<std::shared_ptr<Node>> queue;
  for (Edge& e : next_edges_)
    if (e.fn) queue.push_back(std::move(e.fn));
  pending = &queue;
  while (!queue.empty()) {
    std::shared_ptr<Node> n = std::move(queue.back());
    queue.pop_back();
    n.reset();  // may run ~Node of n, which appends its edges to `queue`
  }
  pending = nullptr;
}

void Node::set_next_edges(const TensorList& inputs) {
  next_edges_.reserve(inputs.size());
  input_meta_.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) {  // requires_grad() refreshes a stale view's history
      next_edges_.push_back(gradient_edge(t));
      input_meta_.push_back({t.shape(), t.dtype()});
    } else {
      next_edges_.emplace_back();
      input_meta_.emplace_back();
    }
  }
}

AccumulateGrad::AccumulateGrad(Tensor leaf) : leaf_(std::move(leaf)) {}

namespace {
// True when nothing but `t`'s handle sees its buffer (no other tensor, view or saved copy). The
// storage count includes the version counter's alias of it when the tensor uses the default counter.
bool sole_owner(const Tensor& t) {
  const TensorImpl* impl = t.impl();
  long expected = impl->version.get() == &impl->storage->version() ? 2 : 1;
  return t.impl_ptr().use_count() == 1 && impl->storage.use_count() == expected;
}
}  // namespace

void accumulate_into(std::shared_ptr<TensorImpl>& slot, const Tensor& g) {
  if (!slot) {
    if (GradMode::is_enabled()) {
      slot = g.impl_ptr();  // create_graph: the gradient keeps its history
    } else if (sole_owner(g) && g.is_contiguous() && g.storage_offset() == 0) {
      slot = g.detach().impl_ptr();  // only the engine sees this buffer: take it without a copy
    } else {
      slot = clone(g.detach()).impl_ptr();  // never alias a user's tensor or a broadcast view
    }
  } else if (GradMode::is_enabled()) {
    slot = add(Tensor(slot), g).impl_ptr();
  } else {
    Tensor existing(slot);
    add_(existing, g);  // in place, as PyTorch does: references to .grad see the sum
  }
}

TensorList AccumulateGrad::apply(TensorList&& grads) {
  if (!grads[0].defined()) return {};
  {
    std::lock_guard<std::mutex> lock(mutex_);
    accumulate_into(leaf_.impl()->grad, grads[0]);
  }
  if (std::shared_ptr<LeafHooks> hooks = leaf_.impl()->leaf_hooks) {
    auto list = hooks->post_accumulate;
    for (auto& [id, hook] : list) hook(leaf_);
  }
  return {};
}

void Node::retain_grad_for(uint32_t output_nr, const std::shared_ptr<TensorImpl>& tensor) {
  for (auto& [nr, t] : retained_)
    if (nr == output_nr && t.lock() == tensor) return;
  retained_.emplace_back(output_nr, tensor);
}

void Node::store_retained_grads(const TensorList& grads) {
  for (auto& [nr, weak] : retained_) {
    std::shared_ptr<TensorImpl> t = weak.lock();
    if (t && t->grad_fn.get() == this && nr < grads.size() && grads[nr].defined())
      accumulate_into(t->grad, grads[nr]);  // grads[nr] is still referenced by the caller: never taken
  }
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output)
    : saved_version_(t.version()), output_nr_(t.output_nr()), is_output_(is_output) {
  GC_CHECK(!t.impl()->is_inference || InferenceMode::is_enabled(),
           "Inference tensors cannot be saved for backward. Please do not use Tensors created in inference mode in "
           "computation tracked by autograd. To work around this, you can make a clone to get a normal tensor and use "
           "it in autograd, or use `torch.no_grad()` instead of `torch.inference_mode()`.");
  if (is_output) {
    // Keep the data and autograd flags but not grad_fn: the node would otherwise own itself.
    auto copy = std::make_shared<TensorImpl>(*t.impl());
    copy->grad_fn.reset();
    copy->grad.reset();
    copy->grad_accumulator.reset();
    copy->requires_grad = false;
    data_ = std::move(copy);
  } else {
    data_ = t.impl_ptr();
  }
}

Tensor SavedTensor::unpack(Node* owner) const {
  GC_CHECK(!released_,
           "Trying to backward through the graph a second time (or directly access saved tensors "
           "after they have already been freed). Saved intermediate values of the graph are freed "
           "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
           "backward through the graph a second time or if you need to access saved tensors after "
           "calling backward.");
  if (!data_) return Tensor();
  uint32_t now = data_->version->value.load(std::memory_order_relaxed);
  if (now != saved_version_) {
    std::string producer;
    const Node* fn = is_output_ ? owner : data_->grad_fn.get();
    if (fn) producer = detail::cat(", which is output ", output_nr_, " of ", fn->name(), ",");
    std::string dims = shape_str(data_->sizes);
    dims = "[" + dims.substr(1, dims.size() - (data_->sizes.size() == 1 ? 3 : 2)) + "]";
    throw Error(detail::cat(
        "one of the variables needed for gradient computation has been modified by an inplace "
        "operation: [",
        legacy_type_name(data_->dtype), " ", dims, "]", producer, " is at version ", now,
        "; expected version ", saved_version_,
        " instead. Hint: the backtrace further above shows the operation that failed to compute "
        "its gradient. The variable in question was changed in there or anywhere later. Good "
        "luck!"));
  }
  if (!is_output_ || !owner) return Tensor(data_);
  // A saved output seen from a double backward: give it back its place in the graph.
  auto restored = std::make_shared<TensorImpl>(*data_);
  restored->grad_fn = owner->shared_from_this();
  restored->output_nr = output_nr_;
  return Tensor(std::move(restored));
}

void SavedTensor::release() {
  if (data_) {  // a slot that never held a tensor stays usable: nothing was freed
    data_.reset();
    released_ = true;
  }
}

bool any_requires_grad(const TensorList& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void Node::save(const char* name, SavedTensor& slot, const Tensor& t, bool is_output) {
  slot = SavedTensor(t, is_output);
  for (uint8_t i = 0; i < num_saved_; ++i)
    if (saved_slots_[i].second == &slot) return;
  if (num_saved_ < saved_slots_.size()) saved_slots_[num_saved_++] = {name, &slot};
}

std::vector<std::pair<std::string, const SavedTensor*>> Node::saved_tensors() const {
  std::vector<std::pair<std::string, const SavedTensor*>> out;
  for (uint8_t i = 0; i < num_saved_; ++i) out.emplace_back(saved_slots_[i].first, saved_slots_[i].second);
  return out;
}

void Node::add_next_edge(Edge edge, InputMeta meta) {
  next_edges_.push_back(std::move(edge));
  input_meta_.push_back(std::move(meta));
}

Edge gradient_edge(const Tensor& t) {
  TensorImpl* impl = t.impl();
  if (t.grad_fn()) return {impl->grad_fn, impl->output_nr};
  // Threads building graphs on the same leaf must share one AccumulateGrad (its lock serialises
  // accumulation), and a weak_ptr is not safe to read and write concurrently.
  static std::mutex accumulator_mutex;
  std::lock_guard<std::mutex> lock(accumulator_mutex);
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    impl->grad_accumulator = acc;
  }
  return {std::move(acc), 0};
}

namespace {
// Anomaly mode: remember where the node was made, and report the first forward op whose output holds
// NaN or inf (the usual origin of a NaN gradient), once per anomaly-mode session.
void record_anomaly(const TensorList& outputs, Node& node) {
  if (!AnomalyMode::capture_trace) return;
  node.set_creation_trace(AnomalyMode::capture_trace());
  if (!AnomalyMode::check_nan() || !AnomalyMode::warn) return;
  for (const Tensor& t : outputs) {
    if (!is_floating(t.dtype()) || t.numel() == 0) continue;
    if (all(isfinite(t)).item() != 0) continue;
    if (AnomalyMode::claim_first_report())
      AnomalyMode::warn(detail::cat("Anomaly detection: ", node.name(), " is the first recorded op whose forward "
                                    "output holds nan or inf values. It was called from:\n", node.creation_trace()));
    return;
  }
}
}  // namespace

void set_history(const TensorList& outputs, const std::shared_ptr<Node>& node) {
  node->set_num_inputs(static_cast<uint32_t>(outputs.size()));
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i].impl();
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
  }
  if (AnomalyMode::is_enabled()) record_anomaly(outputs, *node);
}

}  // namespace gradcore

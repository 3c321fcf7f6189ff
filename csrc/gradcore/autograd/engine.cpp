#include "gradcore/autograd/engine.h"

#include <algorithm>
#include <atomic>

#include "gradcore/grad_mode.h"
#include "gradcore/ops.h"

namespace gradcore {

namespace {

// Per-backward bookkeeping of one node: how many edges still have to deliver a gradient, and the
// gradients delivered so far (one slot per forward output of the node).
struct NodeTask {
  Node* fn;
  int64_t dependencies = 0;
  TensorList buffer;
};

// Node -> task index, open addressing. A backward touches each node a few times; a flat table
// keeps that cheap and needs no per-node allocation.
class NodeIndex {
 public:
  explicit NodeIndex(size_t expected) { slots_.assign(capacity_for(expected), {nullptr, 0}); }

  // Index of `fn`, inserting `next` if absent; `inserted` tells which happened.
  uint32_t find_or_insert(Node* fn, uint32_t next, bool& inserted) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = hash(fn) & mask;; i = (i + 1) & mask) {
      if (slots_[i].first == fn) {
        inserted = false;
        return slots_[i].second;
      }
      if (!slots_[i].first) {
        slots_[i] = {fn, next};
        ++count_;
        inserted = true;
        return next;
      }
    }
  }
  // Index of `fn`, or -1.
  int64_t find(Node* fn) const {
    size_t mask = slots_.size() - 1;
    for (size_t i = hash(fn) & mask; slots_[i].first; i = (i + 1) & mask)
      if (slots_[i].first == fn) return slots_[i].second;
    return -1;
  }

 private:
  static size_t capacity_for(size_t n) {
    size_t c = 16;
    while (c < 2 * n) c *= 2;
    return c;
  }
  static size_t hash(Node* p) { return (reinterpret_cast<uintptr_t>(p) >> 4) * 0x9E3779B97F4A7C15ull >> 20; }
  void grow() {
    std::vector<std::pair<Node*, uint32_t>> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, {nullptr, 0});
    count_ = 0;
    bool ignored;
    for (auto& [fn, idx] : old)
      if (fn) find_or_insert(fn, idx, ignored);
  }
  std::vector<std::pair<Node*, uint32_t>> slots_;
  size_t count_ = 0;
};

Tensor accumulate(const Tensor& existing, Tensor incoming) {
  if (!existing.defined()) return incoming;
  if (!incoming.defined()) return existing;
  return add(existing, incoming);
}

// The gradient for forward input `i` of `fn` must have that input's shape and dtype: broadcasting in
// the forward pass is undone here, once, instead of in every backward formula.
Tensor conform(Tensor grad, const Node& fn, size_t i) {
  const InputMeta& meta = fn.input_meta(i);
  if (grad.shape() != meta.shape) {
    Shape b = broadcast_shapes(meta.shape, grad.shape(), "backward");
    GC_CHECK(b == grad.shape(), "Function ", fn.name(), " returned an invalid gradient at index ", i,
             " - got ", shape_str(grad.shape()), " but expected shape compatible with ",
             shape_str(meta.shape));
    grad = sum_to(grad, meta.shape);
  }
  if (grad.dtype() != meta.dtype) grad = to_dtype(grad, meta.dtype);
  return grad;
}

Tensor seed_gradient(const Tensor& root, const Tensor& given, size_t i) {
  if (!given.defined()) {
    GC_CHECK(root.numel() == 1, "grad can be implicitly created only for scalar outputs");
    GC_CHECK(is_floating(root.dtype()), "grad can be implicitly created only for real scalar outputs but got ",
             dtype_name(root.dtype()));
    return ones(root.shape(), root.dtype());
  }
  if (given.shape() != root.shape())
    throw Error(detail::cat("Mismatch in shape: grad_output[", i, "] has a shape of ",
                            shape_str(given.shape()), " and output[", i, "] has a shape of ",
                            shape_str(root.shape()), "."));
  return given.dtype() == root.dtype() ? given : to_dtype(given, root.dtype());
}

}  // namespace

namespace {
std::atomic<bool> anomaly_enabled{false};
std::atomic<bool> anomaly_check_nan{true};
std::atomic<bool> anomaly_reported{false};

// Tensor hooks of the gradients a node receives: a leaf's own hooks for AccumulateGrad, else the
// hooks registered on the node per forward output.
void run_tensor_hooks(Node* fn, TensorList& grads) {
  if (auto* acc = dynamic_cast<AccumulateGrad*>(fn)) {
    if (acc->variable().impl()->leaf_hooks && grads[0].defined()) grads[0] = run_leaf_hooks(acc->variable(), grads[0]);
    return;
  }
  NodeHooks* hooks = fn->hooks();
  if (!hooks || hooks->tensor.empty()) return;
  auto list = hooks->tensor;  // a hook may remove itself
  for (auto& [id, entry] : list) {
    Tensor& g = grads[entry.first];
    if (!g.defined()) continue;
    Tensor r = entry.second(g);
    if (r.defined()) g = std::move(r);
  }
}

void run_pre_hooks(Node* fn, TensorList& grads) {
  NodeHooks* hooks = fn->hooks();
  if (!hooks || hooks->pre.empty()) return;
  auto list = hooks->pre;
  for (auto& [id, hook] : list) {
    TensorList r = hook(grads);
    if (!r.empty()) {
      GC_CHECK(r.size() == grads.size(), "hook 'prehook' has returned an incorrect number of values (got ", r.size(),
               ", but expected ", grads.size(), ")");
      grads = std::move(r);
    }
  }
}

void run_post_hooks(Node* fn, TensorList& outputs, const TensorList& grads) {
  NodeHooks* hooks = fn->hooks();
  if (!hooks || hooks->post.empty()) return;
  auto list = hooks->post;
  for (auto& [id, hook] : list) {
    TensorList r = hook(outputs, grads);
    if (!r.empty()) {
      GC_CHECK(r.size() == outputs.size(), "hook 'hook' has returned an incorrect number of values (got ", r.size(),
               ", but expected ", outputs.size(), ")");
      outputs = std::move(r);
    }
  }
}

void check_anomaly(const Node& fn, const TensorList& outputs) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& o = outputs[i];
    if (!o.defined() || !is_floating(o.dtype())) continue;
    if (any(isnan(o)).item() != 0) {
      std::string msg = detail::cat("Function '", fn.name(), "' returned nan values in its ", i, "th output.");
      if (!fn.creation_trace().empty())
        msg += "\nTraceback of forward call that caused the error:\n" + fn.creation_trace();
      throw Error(msg);
    }
  }
}

// Marks the nodes from which a captured edge can be reached (post-order, iterative): only those
// have to run when gradients are wanted for specific inputs.
std::vector<char> nodes_leading_to(const std::vector<NodeTask>& tasks, const NodeIndex& index,
                                   const std::vector<int64_t>& targets, const std::vector<uint32_t>& roots) {
  std::vector<char> needed(tasks.size(), 0), state(tasks.size(), 0);  // state: 0 new, 1 open, 2 done
  for (int64_t t : targets)
    if (t >= 0) needed[t] = 1;
  std::vector<std::pair<uint32_t, size_t>> stack;
  for (uint32_t r : roots)
    if (!state[r]) stack.push_back({r, 0}), state[r] = 1;
  while (!stack.empty()) {
    auto& [idx, next] = stack.back();
    const auto& edges = tasks[idx].fn->next_edges();
    if (next < edges.size()) {
      const Edge& e = edges[next++];
      if (!e.valid()) continue;
      uint32_t child = static_cast<uint32_t>(index.find(e.fn.get()));
      if (state[child] == 0) {
        state[child] = 1;
        stack.push_back({child, 0});
      }
      continue;
    }
    for (const Edge& e : edges)
      if (e.valid() && needed[index.find(e.fn.get())]) needed[idx] = 1;
    state[idx] = 2;
    stack.pop_back();
  }
  return needed;
}
}  // namespace

bool AnomalyMode::is_enabled() { return anomaly_enabled.load(std::memory_order_relaxed); }
bool AnomalyMode::check_nan() { return anomaly_check_nan.load(std::memory_order_relaxed); }
bool AnomalyMode::claim_first_report() { return !anomaly_reported.exchange(true); }
void AnomalyMode::set_enabled(bool enabled, bool check_nan) {
  if (enabled && !anomaly_enabled.load()) anomaly_reported.store(false);
  anomaly_enabled.store(enabled);
  anomaly_check_nan.store(check_nan);
}
std::function<std::string()> AnomalyMode::capture_trace;
std::function<void(const std::string&)> AnomalyMode::warn;

TensorList run_backward(const TensorList& roots, const TensorList& grad_roots, bool keep_graph,
                        bool create_graph, const TensorList& inputs, bool allow_unused, bool accumulate_inputs) {
  GC_CHECK(roots.size() == grad_roots.size(), "grad requires one gradient per output: got ",
           grad_roots.size(), " gradients for ", roots.size(), " outputs");
  std::vector<Edge> root_edges;
  TensorList seeds;
  for (size_t i = 0; i < roots.size(); ++i) {
    GC_CHECK(roots[i].requires_grad(), "element ", i,
             " of tensors does not require grad and does not have a grad_fn");
    seeds.push_back(seed_gradient(roots[i], grad_roots[i], i));
    root_edges.push_back(gradient_edge(roots[i]));
  }

  // Gradients asked for by autograd.grad are captured where they enter the input's edge.
  const bool capture = !inputs.empty();
  std::vector<Edge> capture_edges;
  for (size_t i = 0; i < inputs.size(); ++i) {
    GC_CHECK(inputs[i].requires_grad(), "One of the differentiated Tensors does not require grad");
    capture_edges.push_back(gradient_edge(inputs[i]));
  }

  // 1. Discover the graph and count, for each node, the edges pointing at it. Iterative: no recursion.
  std::vector<NodeTask> tasks;
  NodeIndex index(16);
  std::vector<Node*> stack;
  auto visit = [&](Node* fn) -> uint32_t {
    bool inserted;
    uint32_t idx = index.find_or_insert(fn, static_cast<uint32_t>(tasks.size()), inserted);
    if (inserted) {
      tasks.push_back({fn, 0, TensorList(fn->num_inputs())});
      stack.push_back(fn);
    }
    return idx;
  };
  for (const Edge& e : root_edges) visit(e.fn.get());
  while (!stack.empty()) {
    Node* fn = stack.back();
    stack.pop_back();
    for (const Edge& e : fn->next_edges())
      if (e.valid()) tasks[visit(e.fn.get())].dependencies++;
  }

  std::vector<int64_t> capture_task(capture_edges.size());
  for (size_t i = 0; i < capture_edges.size(); ++i) capture_task[i] = index.find(capture_edges[i].fn.get());
  TensorList captured(capture_edges.size());

  // 2. Seed the roots and run every node whose gradients have all arrived.
  for (size_t i = 0; i < root_edges.size(); ++i) {
    NodeTask& t = tasks[index.find(root_edges[i].fn.get())];
    t.buffer[root_edges[i].input_nr] = accumulate(t.buffer[root_edges[i].input_nr], seeds[i]);
  }
  std::vector<uint32_t> ready;
  for (const Edge& e : root_edges) {
    uint32_t idx = static_cast<uint32_t>(index.find(e.fn.get()));
    if (tasks[idx].dependencies == 0 && std::find(ready.begin(), ready.end(), idx) == ready.end())
      ready.push_back(idx);
  }

  std::vector<char> needed;
  if (capture) {
    std::vector<uint32_t> root_tasks;
    for (const Edge& e : root_edges) root_tasks.push_back(static_cast<uint32_t>(index.find(e.fn.get())));
    needed = nodes_leading_to(tasks, index, capture_task, root_tasks);
  }
  const bool anomaly = AnomalyMode::is_enabled() && AnomalyMode::check_nan();

  GradModeGuard grad_mode(create_graph);
  while (!ready.empty()) {
    uint32_t idx = ready.back();
    ready.pop_back();
    Node* fn = tasks[idx].fn;
    TensorList grads = std::move(tasks[idx].buffer);
    TensorList outputs;
    const bool run = !capture || needed[idx];

    if (run) {
      run_tensor_hooks(fn, grads);
      bool is_target = false;
      for (size_t c = 0; c < capture_edges.size(); ++c)
        if (capture_task[c] == idx) {
          captured[c] = grads[capture_edges[c].input_nr];
          is_target = true;
        }
      // autograd.grad leaves .grad untouched; backward(inputs=) accumulates only into the inputs.
      const bool skip_leaf = capture && dynamic_cast<AccumulateGrad*>(fn) && !(accumulate_inputs && is_target);
      if (!skip_leaf) {
        run_pre_hooks(fn, grads);
        fn->store_retained_grads(grads);
        bool any_grad = std::any_of(grads.begin(), grads.end(), [](const Tensor& g) { return g.defined(); });
        const bool post_hooks = fn->hooks() && !fn->hooks()->post.empty();
        TensorList received = post_hooks ? grads : TensorList();
        if (any_grad) outputs = fn->apply(std::move(grads));
        if (post_hooks) run_post_hooks(fn, outputs, received);
        if (anomaly) check_anomaly(*fn, outputs);
      }
      if (!keep_graph) fn->release_saved();
    }

    const std::vector<Edge>& edges = fn->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      if (!edges[i].valid()) continue;
      uint32_t next = static_cast<uint32_t>(index.find(edges[i].fn.get()));
      NodeTask& t = tasks[next];
      if (i < outputs.size() && outputs[i].defined()) {
        Tensor& slot = t.buffer[edges[i].input_nr];
        slot = accumulate(slot, conform(std::move(outputs[i]), *fn, i));
      }
      if (--t.dependencies == 0) ready.push_back(next);
    }
  }

  if (accumulate_inputs) {
    // Leaves were accumulated by their AccumulateGrad above; non-leaf inputs get .grad here.
    // (A non-leaf that retains its grad already got it when its node ran.)
    for (size_t c = 0; c < captured.size(); ++c)
      if (!inputs[c].is_leaf() && !inputs[c].retains_grad() && captured[c].defined())
        accumulate_into(inputs[c].impl()->grad, captured[c]);
    return {};
  }

  if (capture && !allow_unused)
    for (size_t c = 0; c < captured.size(); ++c)
      GC_CHECK(captured[c].defined(),
               "One of the differentiated Tensors appears to not have been used in the graph. Set "
               "allow_unused=True if this is the desired behavior.");
  return captured;
}

}  // namespace gradcore

// Custom autograd Functions (gradcore.autograd.Function): the graph node that calls the user's
// Python backward, and the step that wires a forward's outputs into the graph.
#include "bindings/py_callable.h"
#include "gradcore/ops/internal.h"

namespace gradcore::python {

namespace {

// The node of one Function.apply call. Holds the Function class (for backward) and ctx; ctx holds
// only a weak reference back (NodeRef), so no cycle goes through ctx.
class PyFunctionNode : public Node {
 public:
  PyFunctionNode(py::object cls, py::object ctx, std::string name)
      : cls_(std::make_shared<PyHandle>(std::move(cls))), ctx_(std::make_shared<PyHandle>(std::move(ctx))),
        name_(std::move(name)) {}
  std::string name() const override { return name_; }

  TensorList apply(TensorList&& grads) override {
    py::gil_scoped_acquire gil;
    py::tuple args(grads.size() + 1);
    args[0] = ctx_->get();
    for (size_t i = 0; i < grads.size(); ++i) {
      if (grads[i].defined()) args[i + 1] = py::cast(grads[i]);
      else if (materialize_grads) args[i + 1] = py::cast(zeros(output_meta[i].shape, output_meta[i].dtype));
      else args[i + 1] = py::none();
    }
    py::object result = cls_->get().attr("backward")(*args);
    py::tuple r = py::isinstance<py::tuple>(result) ? result.cast<py::tuple>() : py::make_tuple(result);
    size_t n = tensor_position.size();
    size_t got = r.size();
    while (got > n && r[got - 1].is_none()) --got;  // trailing Nones beyond the inputs are allowed
    GC_CHECK(got == n, "function ", name_, " returned an incorrect number of gradients (expected ", n, ", got ",
             r.size(), ")");
    TensorList out(next_edges().size());
    for (size_t j = 0; j < n; ++j) {
      py::handle g = r[j];
      if (tensor_position[j] < 0) {
        GC_CHECK(g.is_none(), "function ", name_, " returned a gradient different than None at position ", j + 1,
                 ", but the corresponding forward input was not a Variable");
        continue;
      }
      if (g.is_none()) continue;
      GC_CHECK_T(TypeError, is_tensor(g), "function ", name_, " returned a gradient that is not a Tensor or None at "
                 "position ", j + 1, ": ", Py_TYPE(g.ptr())->tp_name);
      out[tensor_position[j]] = g.cast<Tensor>();
    }
    return out;
  }

  void release_saved() override {
    for (SavedTensor& s : saved) s.release();
  }

  std::vector<std::pair<std::string, const SavedTensor*>> saved_tensors() const override {
    std::vector<std::pair<std::string, const SavedTensor*>> out;
    for (size_t i = 0; i < saved.size(); ++i) out.emplace_back("saved_tensors[" + std::to_string(i) + "]", &saved[i]);
    return out;
  }

  /// For each forward argument: its index among the tensor inputs, or -1 for a non-tensor.
  std::vector<int> tensor_position;
  std::vector<InputMeta> output_meta;
  std::vector<SavedTensor> saved;
  bool materialize_grads = true;

 private:
  std::shared_ptr<PyHandle> cls_, ctx_;
  std::string name_;
};

// ctx's way back to its node: weak, and typed so that saved_tensors can be unpacked.
struct NodeRef {
  std::weak_ptr<PyFunctionNode> node;
  py::tuple saved_tensors() const {
    auto n = node.lock();
    GC_CHECK(n, "saved_tensors can only be accessed while the graph that saved them is alive");
    py::tuple out(n->saved.size());
    for (size_t i = 0; i < n->saved.size(); ++i) {
      Tensor t = n->saved[i].unpack(n.get());
      out[i] = t.defined() ? py::cast(t) : py::none();
    }
    return out;
  }
};

bool same_tensor(const Tensor& a, const Tensor& b) { return a.impl() == b.impl(); }

std::vector<Tensor> tensors_in(const py::object& seq) {
  std::vector<Tensor> out;
  if (seq.is_none()) return out;
  for (py::handle h : seq)
    if (is_tensor(h)) out.push_back(h.cast<Tensor>());
  return out;
}

bool contains(const std::vector<Tensor>& list, const Tensor& t) {
  return std::any_of(list.begin(), list.end(), [&](const Tensor& x) { return same_tensor(x, t); });
}

// Wires Function.apply's outputs into the graph (when `record`): a PyFunctionNode over the tensor
// inputs; outputs get it as grad_fn, except non-differentiable ones; inputs modified in place
// (mark_dirty) are rebased; an input returned unchanged comes back as a new alias of it.
py::object function_finish(py::object cls, py::object ctx, py::tuple args, py::object outputs, bool record) {
  const bool single = is_tensor(outputs);
  py::tuple outs = single ? py::make_tuple(outputs) : outputs.cast<py::tuple>();
  std::vector<Tensor> dirty = tensors_in(py::getattr(ctx, "dirty_tensors", py::none()));
  std::vector<Tensor> non_diff = tensors_in(py::getattr(ctx, "non_differentiable", py::none()));
  py::object to_save = py::getattr(ctx, "to_save", py::none());
  ctx.attr("to_save") = py::none();  // ctx must not keep the tensors alive: the node holds them now

  TensorList inputs;
  std::vector<int> position;
  for (py::handle a : args) {
    if (is_tensor(a)) {
      position.push_back(static_cast<int>(inputs.size()));
      inputs.push_back(a.cast<Tensor>());
    } else {
      position.push_back(-1);
    }
  }
  for (const Tensor& d : dirty)
    GC_CHECK(std::any_of(inputs.begin(), inputs.end(), [&](const Tensor& x) { return same_tensor(x, d); }),
             "mark_dirty only accepts input tensors, but argument 0 isn't one");

  if (!record || !any_requires_grad(inputs)) {
    for (const Tensor& d : dirty) internal::check_inplace(d, "mark_dirty");
    return outputs;
  }

  py::str cls_name = cls.attr("__name__");
  auto node = std::make_shared<PyFunctionNode>(cls, ctx, std::string(cls_name) + "Backward");
  node->tensor_position = position;
  node->materialize_grads = py::getattr(ctx, "materialize_grads", py::bool_(true)).cast<bool>();
  node->set_next_edges(inputs);

  py::tuple result(outs.size());
  uint32_t nr = 0;
  TensorList wired;
  for (size_t i = 0; i < outs.size(); ++i) {
    py::handle o = outs[i];
    if (!is_tensor(o)) {
      result[i] = o;
      continue;
    }
    Tensor t = o.cast<Tensor>();
    const bool is_input = contains(inputs, t);
    const bool is_dirty = contains(dirty, t);
    if (is_input && !is_dirty) t = make_view(t, t.shape(), t.strides(), t.storage_offset());  // an alias
    node->output_meta.push_back({t.shape(), t.dtype()});
    if (contains(non_diff, t) || !is_floating(t.dtype())) {
      if (is_dirty) t.detach_();
    } else if (is_dirty) {
      internal::check_inplace(t, "mark_dirty");
      internal::rebase_history(t, node, nr);
      t.bump_version();
    } else {
      t.impl()->grad_fn = node;
      t.impl()->output_nr = nr;
    }
    ++nr;
    wired.push_back(t);
    result[i] = py::cast(t);
  }
  node->set_num_inputs(nr);

  if (!to_save.is_none()) {
    for (py::handle h : to_save) {
      if (h.is_none()) {
        node->saved.emplace_back();
        continue;
      }
      GC_CHECK_T(TypeError, is_tensor(h), "save_for_backward can only save variables, but argument ", node->saved.size(),
                 " is of type ", Py_TYPE(h.ptr())->tp_name);
      Tensor t = h.cast<Tensor>();
      // An output is saved without its grad_fn (it would own its own node); inputs as they are.
      auto it = std::find_if(wired.begin(), wired.end(), [&](const Tensor& w) { return same_tensor(w, t); });
      const bool is_output = it != wired.end() && it->grad_fn() == node;
      node->saved.emplace_back(is_output ? *it : t, is_output);
    }
  }
  ctx.attr("_node_ref") = NodeRef{node};
  return single ? result[0] : py::object(result);
}

// A node that refuses to run: the graph of a backward marked @once_differentiable.
struct DelayedError : Node {
  std::string message;
  explicit DelayedError(std::string m) : message(std::move(m)) {}
  std::string name() const override { return "Error"; }
  TensorList apply(TensorList&&) override { throw Error(message); }
};

}  // namespace

void bind_function(py::module_& m) {
  py::class_<NodeRef>(m, "_FunctionNodeRef").def("saved_tensors", &NodeRef::saved_tensors);
  m.def("_function_finish", &function_finish);
  m.def("_delayed_error", [](py::tuple outputs, const TensorList& inputs, std::string message) {
    auto node = make_node<DelayedError>(inputs, std::move(message));
    if (!node) return outputs;
    py::tuple result(outputs.size());
    TensorList wired;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (!is_tensor(outputs[i])) {
        result[i] = outputs[i];
        continue;
      }
      Tensor t = outputs[i].cast<Tensor>().detach();
      wired.push_back(t);
      result[i] = py::cast(t);
    }
    if (!wired.empty()) set_history(wired, node);
    return result;
  });
}

}  // namespace gradcore::python

// Autograd from Python: grad_fn nodes, grad mode, and the engine entry point.
#include <algorithm>
#include <cstdio>

#include "bindings/common.h"
#include "bindings/py_callable.h"
#include "gradcore/autograd/engine.h"
#include "gradcore/grad_mode.h"

namespace gradcore::python {

TensorList grads_from_hook_result(const py::object& result, size_t expected, const char* what) {
  if (result.is_none()) return {};
  GC_CHECK_T(TypeError, py::isinstance<py::sequence>(result) && !is_tensor(result), what,
             " must return None or a tuple of Tensors, not ", Py_TYPE(result.ptr())->tp_name);
  py::sequence seq = result.cast<py::sequence>();
  GC_CHECK(seq.size() == expected, "hook '", what, "' has returned an incorrect number of values (got ", seq.size(),
           ", but expected ", expected, ")");
  TensorList out;
  for (py::handle h : seq) out.push_back(h.is_none() ? Tensor() : h.cast<Tensor>());
  return out;
}

namespace {

// What a RemovableHandle removes: a hook on a node, or on a leaf tensor.
struct RemovableHandle {
  std::weak_ptr<Node> node;
  std::weak_ptr<TensorImpl> leaf;
  uint64_t id = 0;
  void remove() {
    if (auto n = node.lock()) n->remove_hook(id);
    if (auto t = leaf.lock())
      if (t->leaf_hooks) {
        auto& g = t->leaf_hooks->grad;
        auto& p = t->leaf_hooks->post_accumulate;
        g.erase(std::remove_if(g.begin(), g.end(), [&](const auto& e) { return e.first == id; }), g.end());
        p.erase(std::remove_if(p.begin(), p.end(), [&](const auto& e) { return e.first == id; }), p.end());
      }
  }
};

// A Tensor hook: fn(grad) -> Tensor or None, called with the GIL.
TensorHook tensor_hook(py::function fn) {
  auto handle = std::make_shared<PyHandle>(std::move(fn));
  return [handle](const Tensor& grad) -> Tensor {
    py::gil_scoped_acquire gil;
    py::object r = handle->get()(grad);
    if (r.is_none()) return Tensor();
    GC_CHECK_T(TypeError, is_tensor(r), "hook must return None or a Tensor, not ", Py_TYPE(r.ptr())->tp_name);
    Tensor t = r.cast<Tensor>();
    GC_CHECK(t.shape() == grad.shape(), "hook 'hook' has changed the size of value: expected ", shape_str(grad.shape()),
             " but got ", shape_str(t.shape()));
    return t;
  };
}

RemovableHandle register_tensor_hook(const Tensor& t, py::function fn) {
  GC_CHECK(t.requires_grad(), "cannot register a hook on a tensor that doesn't require gradient");
  RemovableHandle h;
  if (t.grad_fn()) {
    h.node = t.grad_fn();
    h.id = t.grad_fn()->add_tensor_hook(t.output_nr(), tensor_hook(std::move(fn)));
    return h;
  }
  if (!t.impl()->leaf_hooks) t.impl()->leaf_hooks = std::make_shared<LeafHooks>();
  h.leaf = t.impl_ptr();
  h.id = next_hook_id();
  t.impl()->leaf_hooks->grad.emplace_back(h.id, tensor_hook(std::move(fn)));
  return h;
}

RemovableHandle register_post_accumulate_hook(const Tensor& t, py::function fn) {
  GC_CHECK(t.requires_grad(), "cannot register a hook on a tensor that doesn't require gradient");
  GC_CHECK(t.is_leaf(), "post accumulate grad hooks cannot be registered on non-leaf tensors");
  auto handle = std::make_shared<PyHandle>(std::move(fn));
  if (!t.impl()->leaf_hooks) t.impl()->leaf_hooks = std::make_shared<LeafHooks>();
  RemovableHandle h;
  h.leaf = t.impl_ptr();
  h.id = next_hook_id();
  t.impl()->leaf_hooks->post_accumulate.emplace_back(h.id, [handle](const Tensor& leaf) {
    py::gil_scoped_acquire gil;
    py::object r = handle->get()(leaf);
    GC_CHECK(r.is_none(), "post accumulate grad hooks must return None");
  });
  return h;
}

}  // namespace

void bind_autograd(py::module_& m) {
  py::class_<RemovableHandle>(m, "RemovableHandle")
      .def("remove", &RemovableHandle::remove)
      .def_readonly("id", &RemovableHandle::id)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](RemovableHandle& h, py::args) { h.remove(); });

  TensorClass tensor = tensor_class(m);
  tensor.def("register_hook", &register_tensor_hook, py::arg("hook"))
      .def("register_post_accumulate_grad_hook", &register_post_accumulate_hook, py::arg("hook"));

  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
      .def("register_hook", [](const std::shared_ptr<Node>& n, py::function fn) {
        auto handle = std::make_shared<PyHandle>(std::move(fn));
        RemovableHandle h;
        h.node = n;
        h.id = n->add_post_hook([handle](const TensorList& grad_inputs, const TensorList& grad_outputs) {
          py::gil_scoped_acquire gil;
          py::object r = handle->get()(grads_to_tuple(grad_inputs), grads_to_tuple(grad_outputs));
          return grads_from_hook_result(r, grad_inputs.size(), "hook");
        });
        return h;
      }, py::arg("fn"))
      .def("register_prehook", [](const std::shared_ptr<Node>& n, py::function fn) {
        auto handle = std::make_shared<PyHandle>(std::move(fn));
        RemovableHandle h;
        h.node = n;
        h.id = n->add_pre_hook([handle](const TensorList& grad_outputs) {
          py::gil_scoped_acquire gil;
          py::object r = handle->get()(grads_to_tuple(grad_outputs));
          return grads_from_hook_result(r, grad_outputs.size(), "prehook");
        });
        return h;
      }, py::arg("fn"))
      .def("name", &Node::name)
      .def_property_readonly("next_functions", [](const Node& n) {
        py::tuple out(n.next_edges().size());
        for (size_t i = 0; i < n.next_edges().size(); ++i) {
          const Edge& e = n.next_edges()[i];
          out[i] = py::make_tuple(e.fn ? py::cast(e.fn) : py::none(), e.input_nr);
        }
        return out;
      })
      .def_property_readonly("variable", [](const Node& n) -> py::object {
        if (auto* acc = dynamic_cast<const AccumulateGrad*>(&n)) return py::cast(acc->variable());
        throw py::attribute_error(n.name() + " object has no attribute 'variable'");
      })
      .def("_sequence_nr", &Node::sequence_nr)
      .def("_saved_tensor_shapes", [](const Node& n) {
        py::list out;
        for (auto& [name, slot] : n.saved_tensors()) {
          if (!slot->defined()) continue;
          out.append(py::make_tuple(name, slot->released() ? py::object(py::none()) : py::object(py::tuple(py::cast(slot->shape())))));
        }
        return out;
      })
      .def("__repr__", [](py::handle self) {
        char addr[32];
        std::snprintf(addr, sizeof addr, "%p", static_cast<void*>(self.ptr()));
        return "<" + self.cast<const Node&>().name() + " object at " + addr + ">";
      });

  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("_set_grad_enabled", &GradMode::set_enabled);
  // The engine runs without the GIL: other Python threads go on, and hooks or custom Functions take
  // the GIL when they call into Python.
  m.def("_run_backward", [](const TensorList& roots, const std::vector<std::optional<Tensor>>& grads, bool keep_graph,
                            bool create_graph, const TensorList& inputs, bool allow_unused, bool accumulate_inputs) {
    TensorList seeds;
    for (const auto& g : grads) seeds.push_back(g.value_or(Tensor()));
    py::gil_scoped_release no_gil;
    return run_backward(roots, seeds, keep_graph, create_graph, inputs, allow_unused, accumulate_inputs);
  }, py::arg("roots"), py::arg("grads"), py::arg("keep_graph"), py::arg("create_graph"), py::arg("inputs"),
        py::arg("allow_unused"), py::arg("accumulate_inputs") = false);

  m.def("_set_detect_anomaly", [](bool enabled, bool check_nan) {
    if (enabled && !AnomalyMode::capture_trace) {
      AnomalyMode::capture_trace = [] {
        py::gil_scoped_acquire gil;
        py::list frames = py::module_::import("traceback").attr("format_stack")();
        std::string out;
        for (py::handle f : frames) out += f.cast<std::string>();
        return out;
      };
      AnomalyMode::warn = [](const std::string& msg) {
        py::gil_scoped_acquire gil;
        if (PyErr_WarnEx(PyExc_RuntimeWarning, msg.c_str(), 1) < 0) throw py::error_already_set();
      };
    }
    AnomalyMode::set_enabled(enabled, check_nan);
  });
  m.def("is_anomaly_enabled", &AnomalyMode::is_enabled);
  m.def("is_inference_mode_enabled", &InferenceMode::is_enabled);
  m.def("_set_inference_mode", &InferenceMode::set_enabled);
  tensor.def("is_inference", [](const Tensor& t) { return t.impl()->is_inference; });
  m.def("is_anomaly_check_nan_enabled", &AnomalyMode::check_nan);
}

}  // namespace gradcore::python

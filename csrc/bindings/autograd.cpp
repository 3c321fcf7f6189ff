// Autograd from Python: grad_fn nodes, grad mode, and the engine entry point.
#include <cstdio>

#include "bindings/common.h"
#include "gradcore/autograd/engine.h"
#include "gradcore/grad_mode.h"

namespace gradcore::python {

void bind_autograd(py::module_& m) {
  py::class_<Node, std::shared_ptr<Node>>(m, "Node")
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
      .def("__repr__", [](py::handle self) {
        char addr[32];
        std::snprintf(addr, sizeof addr, "%p", static_cast<void*>(self.ptr()));
        return "<" + self.cast<const Node&>().name() + " object at " + addr + ">";
      });

  m.def("is_grad_enabled", &GradMode::is_enabled);
  m.def("_set_grad_enabled", &GradMode::set_enabled);
  m.def("_run_backward", [](const TensorList& roots, const std::vector<std::optional<Tensor>>& grads, bool keep_graph,
                            bool create_graph, const TensorList& inputs, bool allow_unused) {
    TensorList seeds;
    for (const auto& g : grads) seeds.push_back(g.value_or(Tensor()));
    return run_backward(roots, seeds, keep_graph, create_graph, inputs, allow_unused);
  }, py::arg("roots"), py::arg("grads"), py::arg("keep_graph"), py::arg("create_graph"), py::arg("inputs"),
        py::arg("allow_unused"));
}

}  // namespace gradcore::python

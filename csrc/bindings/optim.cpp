// Optimizer steps (gradcore._C._sgd_step, _adam_step, _rmsprop_step) and Tensor.__init__, which
// gradcore.nn.Parameter uses to make Tensor-subclass instances over an existing tensor's data.
#include "bindings/common.h"
#include "gradcore/optim.h"

namespace gradcore::python {

namespace {
/// A list whose None entries become undefined tensors.
TensorList optional_tensors(const std::vector<std::optional<Tensor>>& in) {
  TensorList out;
  out.reserve(in.size());
  for (const auto& t : in) out.push_back(t ? *t : Tensor());
  return out;
}
}  // namespace

void bind_optim(py::module_& m) {
  // Tensor(data, requires_grad=False): a new tensor object sharing data's storage and version counter,
  // detached from data's graph (like data.detach()). Python subclasses (nn.Parameter) call it from
  // their __new__/__init__ so that their instances are Tensors over that data.
  tensor_class(m).def(py::init([](const Tensor& data, bool requires_grad) {
    Tensor out = data.detach();
    if (requires_grad) out.set_requires_grad(true);
    return out.impl_ptr();
  }), py::arg("data"), py::arg("requires_grad") = false);

  m.def("_sgd_step", [](const TensorList& params, const TensorList& grads,
                        const std::vector<std::optional<Tensor>>& momentum_buffers, double lr, double momentum,
                        double dampening, bool nesterov, double weight_decay, bool maximize) {
    TensorList bufs = optional_tensors(momentum_buffers);
    optim::sgd_step(params, grads, bufs, lr, momentum, dampening, nesterov, weight_decay, maximize);
    return bufs;
  }, py::arg("params"), py::arg("grads"), py::arg("momentum_buffers"), py::arg("lr"), py::arg("momentum"),
        py::arg("dampening"), py::arg("nesterov"), py::arg("weight_decay"), py::arg("maximize"),
        "SGD update in place over all params (torch.optim.SGD's formula); returns the momentum buffers, "
        "new ones created where an entry was None (empty list when momentum == 0).");
  m.def("_adam_step", [](const TensorList& params, const TensorList& grads, const TensorList& exp_avgs,
                         const TensorList& exp_avg_sqs, const std::vector<std::optional<Tensor>>& max_exp_avg_sqs,
                         const TensorList& steps, double lr, double beta1, double beta2, double eps,
                         double weight_decay, bool amsgrad, bool maximize, bool decoupled_weight_decay) {
    optim::adam_step(params, grads, exp_avgs, exp_avg_sqs, optional_tensors(max_exp_avg_sqs), steps, lr, beta1, beta2,
                     eps, weight_decay, amsgrad, maximize, decoupled_weight_decay);
  }, py::arg("params"), py::arg("grads"), py::arg("exp_avgs"), py::arg("exp_avg_sqs"), py::arg("max_exp_avg_sqs"),
        py::arg("steps"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("amsgrad"), py::arg("maximize"), py::arg("decoupled_weight_decay"),
        "Adam/AdamW update in place over all params (torch.optim.Adam's formula).");
  m.def("_rmsprop_step", [](const TensorList& params, const TensorList& grads, const TensorList& square_avgs,
                            const std::vector<std::optional<Tensor>>& grad_avgs,
                            const std::vector<std::optional<Tensor>>& momentum_buffers, const TensorList& steps,
                            double lr, double alpha, double eps, double weight_decay, double momentum, bool centered,
                            bool maximize) {
    optim::rmsprop_step(params, grads, square_avgs, optional_tensors(grad_avgs), optional_tensors(momentum_buffers),
                        steps, lr, alpha, eps, weight_decay, momentum, centered, maximize);
  }, py::arg("params"), py::arg("grads"), py::arg("square_avgs"), py::arg("grad_avgs"), py::arg("momentum_buffers"),
        py::arg("steps"), py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("momentum"), py::arg("centered"), py::arg("maximize"),
        "RMSprop update in place over all params (torch.optim.RMSprop's formula).");
}

}  // namespace gradcore::python

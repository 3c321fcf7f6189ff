"""SGD, Adam, AdamW and RMSprop. Each step() gathers a group's parameters, gradients and state once and
makes one C++ call that updates them all in place (torch.optim's single-tensor formulas)."""
from .. import _C
from .optimizer import Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop"]


def _zeros_like(p):
    return _C.zeros(tuple(p.shape), dtype=p.dtype)


def _step_tensor():
    return _C.zeros((), dtype=_C.float32)


def _gather(optimizer, group, buffers):
    """The group's parameters that have a gradient, their gradients, their step counters, and for each
    state name in ``buffers`` the list of those state tensors. State is created on first use: a float32
    ``step`` and zeroed buffers, in PyTorch's key order."""
    params, grads, steps = [], [], []
    columns = {name: [] for name in buffers}
    for p in group["params"]:
        if p.grad is None:
            continue
        params.append(p)
        grads.append(p.grad)
        state = optimizer.state[p]
        if len(state) == 0:
            state["step"] = _step_tensor()
            for name in buffers:
                state[name] = _zeros_like(p)
        steps.append(state["step"])
        for name in buffers:
            columns[name].append(state[name])
    return params, grads, steps, columns


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (dampening, Nesterov), weight decay and maximize."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False,
                 foreach=None, differentiable=False, fused=None):
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening, "weight_decay": weight_decay,
                    "nesterov": nesterov, "maximize": maximize, "foreach": foreach, "differentiable": differentiable,
                    "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() when given."""
        loss = self._run_closure(closure)
        state = self.state
        for group in self.param_groups:
            params, grads, bufs = [], [], []
            momentum = group["momentum"]
            for p in group["params"]:
                g = p.grad
                if g is not None:
                    params.append(p)
                    grads.append(g)
                    if momentum != 0:
                        bufs.append(state[p].get("momentum_buffer"))
            if not params:
                continue
            bufs = _C._sgd_step(params, grads, bufs, group["lr"], momentum, group["dampening"], group["nesterov"],
                                group["weight_decay"], group["maximize"])
            if momentum != 0:
                for p, b in zip(params, bufs):
                    state[p]["momentum_buffer"] = b
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba), with optional amsgrad, maximize and (AdamW's) decoupled weight decay."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay, "amsgrad": amsgrad,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused, "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() when given."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            amsgrad = group["amsgrad"]
            names = ["exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if amsgrad else [])
            params, grads, steps, buf = _gather(self, group, names)
            if not params:
                continue
            beta1, beta2 = group["betas"]
            _C._adam_step(params, grads, buf["exp_avg"], buf["exp_avg_sq"], buf.get("max_exp_avg_sq", []), steps,
                          group["lr"], beta1, beta2, group["eps"], group["weight_decay"], amsgrad, group["maximize"],
                          group["decoupled_weight_decay"])
        return loss


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): p *= 1 - lr * weight_decay before the update."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)


class RMSprop(Optimizer):
    """RMSprop (Hinton), with optional momentum, centering, weight decay and maximize."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps, "centered": centered,
                    "weight_decay": weight_decay, "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure() when given."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            momentum, centered = group["momentum"], group["centered"]
            names = ["square_avg"] + (["momentum_buffer"] if momentum > 0 else []) + (["grad_avg"] if centered else [])
            params, grads, steps, buf = _gather(self, group, names)
            if not params:
                continue
            _C._rmsprop_step(params, grads, buf["square_avg"], buf.get("grad_avg", []), buf.get("momentum_buffer", []),
                             steps, group["lr"], group["alpha"],
                             group["eps"], group["weight_decay"], momentum, centered, group["maximize"])
        return loss

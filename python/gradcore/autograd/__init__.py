"""gradcore.autograd: reverse-mode automatic differentiation (backward, grad, grad modes)."""
from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates into the leaves' ``.grad`` the gradients of ``tensors`` (seeded with ``grad_tensors``)."""
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(roots)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        raise NotImplementedError("backward(inputs=...) is not supported yet; use autograd.grad")
    _C._run_backward(roots, grads, retain_graph, create_graph, [], False)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned as a tuple (``.grad`` is left untouched)."""
    roots = _as_list(outputs)
    wrt = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(roots)
    if retain_graph is None:
        retain_graph = create_graph
    return tuple(_C._run_backward(roots, grads, retain_graph, create_graph, wrt, allow_unused))

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


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         materialize_grads=False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned as a tuple (``.grad`` is left untouched).

    ``materialize_grads=True`` returns zeros instead of None for inputs the outputs do not depend on (and
    implies ``allow_unused=True``; asking for ``allow_unused=False`` with it is an error, as in PyTorch).
    """
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, "
                         "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    roots = _as_list(outputs)
    wrt = _as_list(inputs)
    grads = _as_list(grad_outputs) or [None] * len(roots)
    if retain_graph is None:
        retain_graph = create_graph
    result = tuple(_C._run_backward(roots, grads, retain_graph, create_graph, wrt, allow_unused))
    if materialize_grads:
        from .. import zeros_like

        result = tuple(zeros_like(x, requires_grad=create_graph) if g is None else g for g, x in zip(result, wrt))
    return result


from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from . import functional  # noqa: E402
from .graph import graph_to_dot, render  # noqa: E402

"""gradcore.autograd: reverse-mode automatic differentiation (backward, grad, grad modes, custom
Functions, anomaly detection)."""
import warnings

from .. import _C
from .grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_inference_mode_enabled
from .function import Function, FunctionCtx, once_differentiable
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


_CREATE_GRAPH_LEAK = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter and its "
    "gradient which can cause a memory leak. We recommend using autograd.grad when creating the graph to avoid "
    "this. If you have to use this function, make sure to reset the .grad fields of your parameters to None "
    "after use to break the cycle and avoid the leak.")


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates into the leaves' ``.grad`` the gradients of ``tensors`` (seeded with ``grad_tensors``).

    With ``inputs``, only those tensors (leaves or not) accumulate ``.grad``, and only the part of the
    graph leading to them runs.
    """
    roots = _as_list(tensors)
    grads = _as_list(grad_tensors) or [None] * len(roots)
    if retain_graph is None:
        retain_graph = create_graph
    wrt = _as_list(inputs)
    if inputs is not None and not wrt:
        raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if create_graph and (not wrt or any(t.is_leaf for t in wrt)):
        # The .grad of a leaf would hold a graph that refers back to the leaf (as in PyTorch).
        warnings.warn(_CREATE_GRAPH_LEAK, UserWarning, stacklevel=3)
    _C._run_backward(roots, grads, retain_graph, create_graph, wrt, True, bool(wrt))


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=None,
         is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned as a tuple (``.grad`` is left untouched).

    Only the part of the graph leading to ``inputs`` runs. ``materialize_grads`` returns zeros instead
    of None for inputs the outputs do not depend on (and implies ``allow_unused``).
    """
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) is not supported")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when materialize_grads=True, but got: "
                         "allow_unused=False.")
    allow_unused = bool(allow_unused) or materialize_grads
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

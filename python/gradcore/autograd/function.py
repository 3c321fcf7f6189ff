"""Custom differentiable operations: ``class F(gradcore.autograd.Function)``, as in PyTorch.

``forward`` runs under no_grad; ``F.apply`` then connects its outputs to a graph node whose backward
calls ``F.backward(ctx, *grad_outputs)`` (from the C++ engine, with the GIL). Tensors given to
``ctx.save_for_backward`` live in that node, under the same version-counter and release rules as the
built-in ops; ``ctx`` keeps only a weak reference to the node, so no reference cycle goes through it.
"""
import functools

from .. import _C
from .grad_mode import no_grad


class FunctionCtx:
    """The ``ctx`` of a custom Function: what forward leaves for backward."""

    def save_for_backward(self, *tensors):
        """Saves tensors (or None) for backward; read them back as ``ctx.saved_tensors``."""
        self.to_save = tensors

    def mark_dirty(self, *tensors):
        """Declares inputs that forward modified in place (they must be returned as outputs)."""
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        """Declares outputs that have no gradient (their incoming gradients are zeros or None)."""
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        """With False, backward receives None instead of zeros for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        ref = getattr(self, "_node_ref", None)
        if ref is None:
            return tuple(getattr(self, "to_save", None) or ())
        return ref.saved_tensors()


def _is_overridden(cls, name):
    return getattr(cls, name) is not getattr(Function, name)


class Function:
    """Base class of custom autograd operations (static ``forward`` and ``backward``).

    Either ``forward(ctx, *args)``, or ``forward(*args)`` plus ``setup_context(ctx, inputs, output)``.
    """

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply() takes positional arguments only")
        ctx = FunctionCtx()
        grad_enabled = _C.is_grad_enabled()
        ctx.needs_input_grad = tuple(grad_enabled and isinstance(a, _C.Tensor) and a.requires_grad for a in args)
        with no_grad():
            if _is_overridden(cls, "setup_context"):
                outputs = cls.forward(*args)
                cls.setup_context(ctx, args, outputs)
            else:
                outputs = cls.forward(ctx, *args)
        if not isinstance(outputs, (_C.Tensor, tuple)):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple, not {type(outputs).__name__}")
        return _C._function_finish(cls, ctx, args, outputs, grad_enabled)


def once_differentiable(fn):
    """Marks a backward as not differentiable: it runs under no_grad, and differentiating its result
    (create_graph=True) raises instead of silently giving a wrong second derivative."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        needs = [a for a in args if isinstance(a, _C.Tensor) and a.requires_grad]
        if not _C.is_grad_enabled() or not needs:
            return outputs
        single = not isinstance(outputs, tuple)
        wired = _C._delayed_error(outputs if not single else (outputs,), needs,
                                  "trying to differentiate twice a function that was marked with "
                                  "@once_differentiable")
        return wired[0] if single else wired

    return wrapper

"""gradcore.nn.Parameter: a Tensor subclass that Modules register as a learnable parameter."""
from .. import _C

__all__ = ["Parameter"]


class Parameter(_C.Tensor):
    """A tensor that a Module registers as a parameter when assigned as an attribute.

    ``Parameter(data, requires_grad=True)`` is a new tensor over ``data``'s storage (no copy, like
    ``data.detach()``); it requires grad by default. It is a genuine Tensor (``isinstance(p, Tensor)``),
    so every op, the optimizers and printing take it as one; results of ops on it are plain Tensors.
    """

    def __new__(cls, data=None, requires_grad=True):
        return _C.Tensor.__new__(cls)

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = _C.empty(0)
        if not isinstance(data, _C.Tensor):
            raise TypeError(f"Parameter(): argument 'data' must be Tensor, not {type(data).__name__}")
        _C.Tensor.__init__(self, data, requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + _C.Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = type(self)(self.detach().clone(), self.requires_grad)
        memo[id(self)] = out
        return out

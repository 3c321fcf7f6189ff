"""Python-level Tensor methods: printing, backward, iteration. Everything else is bound in C++."""
import numpy as _np

from . import _C
from ._tensor_str import format_tensor

Tensor = _C.Tensor


def _repr(self):
    grad_fn = self.grad_fn
    return format_tensor(_np.asarray(self.detach()), requires_grad=self.requires_grad,
                         grad_fn_name=grad_fn.name() if grad_fn is not None else None)


def _backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates the gradient of this tensor into the leaves of its graph (``.grad``)."""
    from .autograd import backward

    backward(self, gradient, retain_graph, create_graph, inputs)


def _iter(self):
    if self.dim() == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(len(self)))


def _format(self, spec):
    if self.dim() == 0:
        return self.item().__format__(spec)
    return object.__format__(self, spec)


def _array(self, dtype=None, copy=None):
    if self.requires_grad:
        raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
    a = _np.asarray(memoryview(self))
    return a.astype(dtype, copy=False) if dtype is not None else a


def _new_factory(factory):
    def new(self, *size, dtype=None, requires_grad=False, device=None):
        out = factory(*size, dtype=dtype if dtype is not None else self.dtype)
        return out.requires_grad_(True) if requires_grad else out

    new.__name__ = "new_" + factory.__name__
    new.__doc__ = f"``{factory.__name__}`` with this tensor's dtype (unless ``dtype`` is given)."
    return new


def _new_full(self, size, fill_value, *, dtype=None, requires_grad=False, device=None):
    out = _C.full(size, fill_value, dtype=dtype if dtype is not None else self.dtype)
    return out.requires_grad_(True) if requires_grad else out


def _new_tensor(self, data, dtype=None, requires_grad=False, device=None):
    from . import tensor

    return tensor(data, dtype=dtype if dtype is not None else self.dtype, requires_grad=requires_grad)


Tensor.new_zeros = _new_factory(_C.zeros)
Tensor.new_ones = _new_factory(_C.ones)
Tensor.new_empty = _new_factory(_C.empty)
Tensor.new_full = _new_full
Tensor.new_tensor = _new_tensor
Tensor.__repr__ = _repr
Tensor.__str__ = _repr
Tensor.__format__ = _format
Tensor.__iter__ = _iter
Tensor.__array__ = _array
Tensor.__array_priority__ = 1000  # numpy defers binary operators to the tensor
Tensor.backward = _backward


def _uniform_(self, a=0.0, b=1.0, *, generator=None):
    """Fills self with samples from U(a, b) (in place, not recorded by autograd)."""
    from .autograd.grad_mode import no_grad

    with no_grad():
        r = _C.rand(tuple(self.shape), dtype=self.dtype if self.is_floating_point() else _C.float64)
        return self.copy_(r * (b - a) + a)


def _normal_(self, mean=0.0, std=1.0, *, generator=None):
    """Fills self with samples from N(mean, std^2) (in place, not recorded by autograd)."""
    from .autograd.grad_mode import no_grad

    with no_grad():
        r = _C.randn(tuple(self.shape), dtype=self.dtype if self.is_floating_point() else _C.float64)
        return self.copy_(r * std + mean)


Tensor.uniform_ = _uniform_
Tensor.normal_ = _normal_

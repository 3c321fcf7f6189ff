"""Named-tuple results of reductions that return values and indices (like ``torch.return_types``)."""
from collections import namedtuple as _namedtuple


def _values_indices(name):
    base = _namedtuple(name, ["values", "indices"])

    def __repr__(self):
        return f"gradcore.return_types.{name}(\nvalues={self.values!r},\nindices={self.indices!r})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    cls.__doc__ = f"``(values, indices)`` of ``Tensor.{name}(dim)``; unpacks like a tuple."
    return cls


max = _values_indices("max")  # noqa: A001
min = _values_indices("min")  # noqa: A001

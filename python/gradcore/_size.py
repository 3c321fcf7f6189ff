"""gradcore.Size: the shape of a tensor, a tuple subclass like torch.Size."""
from . import _C


class Size(tuple):
    """The sizes of a tensor's dimensions; a tuple of ints that prints as ``gradcore.Size([2, 3])``."""

    __slots__ = ()

    def __repr__(self):
        return f"gradcore.Size([{', '.join(str(s) for s in self)}])"

    def numel(self):
        """Number of elements of a tensor of this shape."""
        n = 1
        for s in self:
            n *= s
        return n


_C._set_size_class(Size)

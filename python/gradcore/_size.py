"""gradcore.Size: the shape of a tensor, a tuple subclass like torch.Size."""
from . import _C


class Size(tuple):
    """The sizes of a tensor's dimensions; a tuple of ints that prints as ``gradcore.Size([2, 3])``.

    Slicing and concatenation give a Size again, as in PyTorch.
    """

    __slots__ = ()

    def __repr__(self):
        return f"gradcore.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def numel(self):
        """Number of elements of a tensor of this shape."""
        n = 1
        for s in self:
            n *= s
        return n


_C._set_size_class(Size)

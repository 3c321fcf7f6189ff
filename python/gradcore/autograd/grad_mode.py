"""Grad-mode context managers. The mode is thread-local, kept in the C++ core."""
import functools

from .. import _C


class _GradModeContext:
    """Base for context managers that are also decorators (PyTorch's behaviour)."""

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(*self._args):
                return fn(*args, **kwargs)

        return wrapper

    _args = ()

    def __enter__(self):
        self._previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        return False


class no_grad(_GradModeContext):
    """Disables gradient recording inside the block (or the decorated function)."""

    _mode = False


class enable_grad(_GradModeContext):
    """Enables gradient recording inside the block (or the decorated function)."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode to ``mode``; takes effect at once (usable as a function), and as a context
    manager restores the previous mode on exit."""

    def __init__(self, mode):
        self._previous = _C.is_grad_enabled()
        self._mode = _builtin_bool(mode)
        self._args = (mode,)
        _C._set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        return False


_builtin_bool = bool

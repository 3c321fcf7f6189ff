"""Grad-mode context managers. The mode is thread-local, kept in the C++ core."""
import functools

from .. import _C


class _DecoratorContext:
    """A context manager that also decorates functions (each call runs inside a fresh context)."""

    def __call__(self, fn):
        make = self._clone

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with make():
                return fn(*args, **kwargs)

        return wrapper

    def _clone(self):
        return self.__class__()


class _SetMode(_DecoratorContext):
    _mode = True

    def __new__(cls, orig_func=None):
        # Allows the bare decorator form `@no_grad` besides `@no_grad()` and `with no_grad():`.
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)

    def __enter__(self):
        self._previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        return False


class no_grad(_SetMode):
    """Disables gradient recording inside the block (or the decorated function)."""

    _mode = False


class enable_grad(_SetMode):
    """Enables gradient recording inside the block (or the decorated function)."""

    _mode = True


class set_grad_enabled(_DecoratorContext):
    """Sets grad mode to ``mode``. Takes effect at once (so it also works as a plain function call);
    as a context manager it restores the previous mode on exit; as a decorator it applies the mode
    only while the decorated function runs."""

    def __init__(self, mode):
        self._previous = _C.is_grad_enabled()
        self._mode = bool(mode)
        _C._set_grad_enabled(self._mode)

    def __call__(self, fn):
        _C._set_grad_enabled(self._previous)  # a decorator must not change the caller's mode
        return super().__call__(fn)

    def _clone(self):
        return set_grad_enabled(self._mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous)
        return False


class inference_mode(_DecoratorContext):
    """Like no_grad, and tensors made inside are inference tensors: autograd refuses to save them for
    backward or see them modified in place outside inference mode (``Tensor.is_inference()``)."""

    def __new__(cls, mode=True):
        if callable(mode):  # the bare decorator form `@inference_mode`
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        if callable(mode):
            return
        self._mode = bool(mode)

    def _clone(self):
        return inference_mode(self._mode)

    def __enter__(self):
        self._previous = (_C.is_grad_enabled(), _C.is_inference_mode_enabled())
        if self._mode:
            _C._set_grad_enabled(False)
        _C._set_inference_mode(self._mode)
        return self

    def __exit__(self, *exc):
        _C._set_grad_enabled(self._previous[0])
        _C._set_inference_mode(self._previous[1])
        return False


is_inference_mode_enabled = _C.is_inference_mode_enabled

"""Anomaly detection: find the operation behind a NaN gradient.

While enabled, every graph node remembers the Python stack of the forward call that made it; backward
checks each node's gradients for NaN and raises naming the node and that stack. Beyond PyTorch, the
first recorded forward op whose output holds NaN or inf is reported as a RuntimeWarning, since that is
usually where a NaN gradient starts.
"""
from .. import _C


def set_detect_anomaly(mode, check_nan=True):
    """Turns anomaly detection on or off (a function, and a context manager like PyTorch's)."""
    return _AnomalyGuard(mode, check_nan)


class _AnomalyGuard:
    def __init__(self, mode, check_nan=True):
        self.previous = (_C.is_anomaly_enabled(), _C.is_anomaly_check_nan_enabled())
        _C._set_detect_anomaly(bool(mode), bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _C._set_detect_anomaly(*self.previous)
        return False


class detect_anomaly:
    """Context manager (and decorator) enabling anomaly detection inside it."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self.guard = _AnomalyGuard(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        return self.guard.__exit__(*exc)

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


is_anomaly_enabled = _C.is_anomaly_enabled
is_anomaly_check_nan_enabled = _C.is_anomaly_check_nan_enabled

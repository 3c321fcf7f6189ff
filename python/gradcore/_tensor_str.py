"""Tensor pretty-printing that reproduces PyTorch's ``repr(tensor)`` byte for byte.

gradcore promises a PyTorch-compatible API, and users (and doctests) compare
printed tensors directly, so the layout here mirrors ``torch/_tensor_str.py``
of PyTorch 2.13: same precision rules, same choice between fixed and
scientific notation, same column alignment, line wrapping, summarisation and
suffixes. The only intended difference is that dtypes are spelled
``gradcore.float64`` instead of ``torch.float64``.

The module works on plain numpy arrays and imports nothing from gradcore, so it
can be used (and tested) before the compiled core is available.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import Any, Iterator, List, Optional

import numpy as np

__all__ = ["format_tensor", "set_printoptions", "get_printoptions", "printoptions"]


# ---------------------------------------------------------------------------
# Print options
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: Optional[bool] = None


_OPTS = _PrintOptions()

# Profiles only touch these four fields; sci_mode is handled separately below.
_PROFILES = {
    "default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
    "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
    "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80),
}


def set_printoptions(
    precision: Optional[int] = None,
    threshold: Optional[float] = None,
    edgeitems: Optional[int] = None,
    linewidth: Optional[int] = None,
    profile: Optional[str] = None,
    sci_mode: Optional[bool] = None,
) -> None:
    """Set options for printing tensors (same semantics as ``torch.set_printoptions``).

    Args:
        precision: digits after the decimal point for floating point output (default 4).
        threshold: number of elements above which the output is summarised (default 1000).
        edgeitems: items shown at the start and end of each summarised dimension (default 3).
        linewidth: characters per line used for wrapping (default 80).
        profile: ``"default"``, ``"short"`` or ``"full"``; applied first, then
            overridden by any of the explicit options above.
        sci_mode: force scientific notation on (True) or off (False); None
            lets the formatter decide.
    """
    if profile is not None and profile in _PROFILES:
        # An unknown profile name is silently ignored, as in torch.
        for name, value in _PROFILES[profile].items():
            setattr(_OPTS, name, value)

    if precision is not None:
        _OPTS.precision = precision
    if threshold is not None:
        _OPTS.threshold = threshold
    if edgeitems is not None:
        _OPTS.edgeitems = edgeitems
    if linewidth is not None:
        _OPTS.linewidth = linewidth
    # Unlike the other options, torch resets sci_mode on *every* call, so
    # omitting it returns to automatic selection. Keep that quirk.
    _OPTS.sci_mode = sci_mode


def get_printoptions() -> dict[str, Any]:
    """Return the current print options as a dict accepted by :func:`set_printoptions`."""
    return dataclasses.asdict(_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Temporarily change print options; accepts the arguments of :func:`set_printoptions`."""
    saved = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**saved)


# ---------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------

# numpy dtype -> name printed after "gradcore.". float64/int64/bool/float32 are
# what gradcore produces; the narrower types are accepted so that callers
# handing us other arrays still get torch's output rather than an error.
_DTYPE_NAMES = {
    np.dtype(np.float16): "float16",
    np.dtype(np.float32): "float32",
    np.dtype(np.float64): "float64",
    np.dtype(np.uint8): "uint8",
    np.dtype(np.int8): "int8",
    np.dtype(np.int16): "int16",
    np.dtype(np.int32): "int32",
    np.dtype(np.int64): "int64",
    np.dtype(np.bool_): "bool",
}

# The default floating dtype. Torch omits "dtype=" for the default dtype,
# int64 and bool on non-empty tensors, because those are what a literal like
# tensor([1., 2]) / tensor([1, 2]) / tensor([True]) would infer anyway.
_DEFAULT_DTYPE = np.dtype(np.float32)
_DTYPE_PREFIX = "gradcore."
_INFERABLE_DTYPES = (_DEFAULT_DTYPE, np.dtype(np.int64), np.dtype(np.bool_))


# ---------------------------------------------------------------------------
# Element formatting
# ---------------------------------------------------------------------------


class _Formatter:
    """Decides one notation and one column width for a whole tensor.

    Every element is printed the same way so that columns line up; the
    decision is taken from the (possibly summarised) data that will actually
    be shown.
    """

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1

        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.max_width = max(self.max_width, len(str(v)))
            return

        # Zeros and non-finite values carry no information about magnitude,
        # so they must not influence the notation or the width (which is why
        # "nan"/"inf" can be wider than the column and stick out).
        shown = flat[np.isfinite(flat) & (flat != 0)]
        if shown.size == 0:
            return

        # Integer-valued floats print as "3." which is both shorter and
        # makes the float dtype visible.
        self.int_mode = bool(np.all(np.ceil(shown) == shown))

        if _OPTS.sci_mode is None:
            # Magnitudes are compared in double precision so that float16 /
            # float32 extremes do not overflow the ratio.
            magnitudes = np.abs(shown).astype(np.float64)
            lo = float(magnitudes.min())
            hi = float(magnitudes.max())
            self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
        else:
            self.sci_mode = bool(_OPTS.sci_mode)

        precision = _OPTS.precision
        shown_list = shown.tolist()
        if self.sci_mode:
            widths = (len(f"{v:.{precision}e}") for v in shown_list)
        elif self.int_mode:
            # +1 for the trailing "." that marks the value as floating.
            widths = (len(f"{v:.0f}") + 1 for v in shown_list)
        else:
            widths = (len(f"{v:.{precision}f}") for v in shown_list)
        self.max_width = max(self.max_width, max(widths))

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}"
            if not (math.isinf(value) or math.isnan(value)):
                text += "."
        else:
            text = f"{value:.{_OPTS.precision}f}"
        return text.rjust(self.max_width)


# ---------------------------------------------------------------------------
# Layout
# ---------------------------------------------------------------------------


def _summarized(values: np.ndarray) -> np.ndarray:
    """The elements that will be visible once '...' replaces the middle.

    The formatter is built from these only, so hidden elements never widen
    the columns or flip the notation.
    """
    edge = _OPTS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        if values.shape[0] > 2 * edge:
            # With edge == 0 torch concatenates x[:0] and x[-0:], i.e. the
            # whole vector; the slice semantics below reproduce that.
            return np.concatenate((values[:edge], values[-edge:]))
        return values
    if not edge:
        return values[tuple(slice(0, 0) for _ in range(values.ndim))]
    # For ndim >= 2 every sub-tensor is cut the same way, so cutting each
    # axis independently gives the same result as torch's recursive stack.
    for axis, size in enumerate(values.shape):
        if size > 2 * edge:
            keep = np.r_[0:edge, size - edge : size]
            values = np.take(values, keep, axis=axis)
    return values


def _vector_str(values: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    edge = _OPTS.edgeitems
    # Each element takes its width plus ", " between neighbours.
    element_length = fmt.width() + 2
    per_line = max(1, math.floor((_OPTS.linewidth - indent) / element_length))

    if summarize and not edge:
        items = ["..."]
    elif summarize and values.shape[0] > 2 * edge:
        items = (
            [fmt.format(v) for v in values[:edge].tolist()]
            + [" ..."]
            + [fmt.format(v) for v in values[-edge:].tolist()]
        )
    else:
        items = [fmt.format(v) for v in values.tolist()]

    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    # Continuation lines start under the first element, just after "[".
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(values: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    if values.ndim == 0:
        return fmt.format(values.item())
    if values.ndim == 1:
        return _vector_str(values, indent, summarize, fmt)

    edge = _OPTS.edgeitems
    n = values.shape[0]
    if summarize and n > 2 * edge:
        rows = list(range(edge)) + [None] + list(range(n - edge, n))
    else:
        rows = list(range(n))
    blocks = ["..." if i is None else _nested_str(values[i], indent + 1, summarize, fmt) for i in rows]

    # Deeper nesting gets more blank lines between blocks so that the
    # structure is visible: one newline for matrices, two for 3-D, ...
    separator = "," + "\n" * (values.ndim - 1) + " " * (indent + 1)
    return "[" + separator.join(blocks) + "]"


def _body_str(values: np.ndarray, indent: int) -> str:
    summarize = values.size > _OPTS.threshold
    fmt = _Formatter(_summarized(values) if summarize else values)
    return _nested_str(values, indent, summarize, fmt)


def _add_suffixes(text: str, suffixes: List[str], indent: int) -> str:
    parts = [text]
    # torch's measure of the last line is two characters longer than the line
    # really is (rfind returns -1 without a newline, and +1 instead of -1
    # otherwise); wrapping decisions depend on it, so it is reproduced.
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        size = _layout_len(suffix)
        if last_line_len + size + 2 > _OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + size
        else:
            parts.append(", " + suffix)
            last_line_len += size + 2
    parts.append(")")
    return "".join(parts)


def _layout_len(suffix: str) -> int:
    """Length of ``suffix`` as torch would see it when deciding to wrap.

    "gradcore." is three characters longer than "torch.". Measuring our own
    spelling would move some dtype suffixes onto a new line where torch keeps
    them on the last one; wrapping exactly where torch does keeps the output
    identical to torch's up to the module name.
    """
    return len(suffix) - (len(_DTYPE_PREFIX) - len("torch.")) * suffix.count(_DTYPE_PREFIX)


def format_tensor(
    values: np.ndarray,
    *,
    requires_grad: bool = False,
    grad_fn_name: str | None = None,
) -> str:
    """Return the ``repr`` PyTorch would print for a CPU tensor holding ``values``.

    Args:
        values: the tensor's data; 0-dim for scalars, zero-size for empty tensors.
        requires_grad: print ``requires_grad=True`` (ignored when ``grad_fn_name`` is given,
            since a non-leaf tensor shows its grad_fn instead).
        grad_fn_name: name of the autograd node, printed as ``grad_fn=<NAME>``.
    """
    values = np.asarray(values)
    dtype_name = _DTYPE_NAMES.get(values.dtype)
    if dtype_name is None:
        raise TypeError(f"format_tensor: unsupported dtype {values.dtype}")

    prefix = "tensor("
    indent = len(prefix)
    suffixes = []

    if values.size == 0:
        # (0,) is implied by "[]"; any other empty shape cannot be inferred.
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        # Without elements, nothing hints at an integer or bool dtype, so
        # everything but the default float dtype is spelled out.
        if values.dtype != _DEFAULT_DTYPE:
            suffixes.append(f"dtype={_DTYPE_PREFIX}{dtype_name}")
        body = "[]"
    else:
        # With edgeitems=0 nothing of the shape is visible in the body.
        if not _OPTS.edgeitems:
            suffixes.append(f"size={tuple(values.shape)}")
        if values.dtype not in _INFERABLE_DTYPES:
            suffixes.append(f"dtype={_DTYPE_PREFIX}{dtype_name}")
        body = _body_str(values, indent)

    if grad_fn_name is not None:
        suffixes.append(f"grad_fn=<{grad_fn_name}>")
    elif requires_grad:
        suffixes.append("requires_grad=True")

    return _add_suffixes(prefix + body, suffixes, indent)

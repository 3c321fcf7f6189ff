"""gradcore: a small tensor engine with automatic differentiation.

The C++ core (``gradcore._C``) holds tensors, kernels and the autograd engine; this package adds the
PyTorch-shaped Python surface: creation functions, grad-mode context managers and printing.
Use it as ``import gradcore as torch``.
"""
import builtins as _builtins

from . import _C
from ._C import (
    Tensor,
    dtype,
    float32,
    float64,
    int64,
    from_numpy,
    from_dlpack,
    ones,
    zeros,
    empty,
    full,
    rand,
    randn,
    randperm,
    arange,
    manual_seed,
    is_grad_enabled,
)
from ._C import set_num_threads, get_num_threads, memory_stats, empty_cache, reset_peak_memory_stats
from ._tensor_str import set_printoptions, get_printoptions
from .autograd.grad_mode import no_grad, enable_grad, set_grad_enabled, inference_mode, is_inference_mode_enabled
from . import autograd
from . import _tensor  # noqa: F401  (adds the Python-level Tensor methods)
from . import return_types
from ._size import Size

bool = _C.bool  # noqa: A001  (PyTorch's name; shadows the builtin inside this module only)
float = float32  # noqa: A001
double = float64
long = int64

__version__ = "0.1.0"


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (a number, nested lists/tuples, a numpy array or a tensor).

    The dtype is inferred like PyTorch: bools -> bool, ints -> int64, any float -> float32.
    """
    import numpy as np

    if isinstance(data, Tensor):
        out = data.detach().clone()
        if dtype is not None:
            out = out.to(dtype)
    elif isinstance(data, np.ndarray):
        out = from_numpy(np.array(data, dtype=np.float32 if data.dtype == np.float16 else data.dtype, order="C"))
        if dtype is not None:
            out = out.to(dtype)
    else:
        out = _C._tensor_from_data(data, dtype)
    if requires_grad:
        out.requires_grad_(True)
    return out


def _like(factory):
    def like(input, *, dtype=None, requires_grad=False, device=None):
        return factory(input.shape, dtype=dtype if dtype is not None else input.dtype, requires_grad=requires_grad)

    like.__name__ = factory.__name__ + "_like"
    like.__doc__ = f"``{factory.__name__}`` with the shape (and by default the dtype) of ``input``."
    return like


ones_like = _like(ones)
zeros_like = _like(zeros)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


_py_bool = _builtins.bool


def _int_arg(value, name, position):
    if isinstance(value, _py_bool) or not isinstance(value, int):
        raise TypeError(f"randint(): argument '{name}' (position {position}) must be int, not {type(value).__name__}")


def randint(*args, low=0, high=None, size=None, dtype=None, requires_grad=False, device=None, generator=None):
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``
    (int64 unless ``dtype`` says otherwise)."""
    if len(args) > 3:
        raise TypeError(f"randint() takes at most 3 positional arguments ({len(args)} given)")
    if len(args) == 3:
        low, high, size = args
    elif len(args) == 2 and size is None:
        high, size = args
    elif len(args) == 2:
        low, high = args
    elif len(args) == 1 and high is None:
        high = args[0]
    elif len(args) == 1:
        low = args[0]
    if high is None or size is None:
        raise TypeError(f"randint() missing required argument '{'high' if high is None else 'size'}'")
    _int_arg(low, "low", 1)
    _int_arg(high, "high", 2 if len(args) == 3 else 1)
    if isinstance(size, int):
        raise TypeError(f"randint(): argument 'size' (position {len(args)}) must be tuple of ints, not int")
    return _C._randint(low, high, size, dtype, requires_grad)


def randint_like(input, low=0, high=None, *, dtype=None, requires_grad=False, device=None):
    """``randint`` with the shape (and by default the dtype) of ``input``; ``randint_like(x, high)``
    or ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype if dtype is not None else input.dtype,
                   requires_grad=requires_grad)


def full_like(input, fill_value, *, dtype=None, requires_grad=False, device=None):
    """``full`` with the shape (and by default the dtype) of ``input``."""
    return full(input.shape, fill_value, dtype=dtype if dtype is not None else input.dtype, requires_grad=requires_grad)


def eye(n, m=None, *, dtype=None, requires_grad=False, device=None):
    """A 2-D tensor with ones on the diagonal and zeros elsewhere."""
    m = n if m is None else m
    out = zeros(n, m, dtype=dtype if dtype is not None else float32)
    k = n if n < m else m
    if k:
        out.view(-1)[:: m + 1][:k] = 1
    return out.requires_grad_(requires_grad) if requires_grad else out


def linspace(start, end, steps, *, dtype=None, requires_grad=False, device=None):
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    dt = dtype if dtype is not None else float32
    if steps == 1:
        out = full((1,), start, dtype=dt)
    else:
        step = (end - start) / (steps - 1)
        idx = arange(steps, dtype=float64)
        # Like PyTorch, the second half counts back from `end` so both ends are exact.
        out = where(idx < steps // 2, start + step * idx, end - step * (steps - 1 - idx)).to(dt)
    return out.requires_grad_(requires_grad) if requires_grad else out


def is_tensor(obj):
    """Whether ``obj`` is a gradcore Tensor."""
    return isinstance(obj, Tensor)


# Function forms of the Tensor methods (torch.add(x, y) == x.add(y)). A C++ method is exported as
# the builtin function behind it, so gradcore.add(x, y) costs what x.add(y) does (no Python frame in
# between); the first argument is positional (PyTorch also accepts it as input=).
def _function(name):
    method = Tensor.__dict__[name]
    if hasattr(method, "__func__"):
        return method.__func__

    def fn(input, *args, **kwargs):  # a method written in Python (gradcore/_tensor.py)
        return method(input, *args, **kwargs)

    fn.__name__ = name
    fn.__doc__ = f"Function form of ``Tensor.{name}``."
    return fn


for _name in ("add", "sub", "mul", "div", "neg", "reciprocal", "exp", "log", "sqrt", "sum", "mean", "norm", "eq", "ne",
              "lt", "le", "gt", "ge", "all", "any", "clone", "detach", "reshape", "numel",
              "floor_divide", "remainder", "fmod", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor",
              "logical_not", "logical_and", "logical_or", "logical_xor", "isnan", "isinf", "isfinite", "square",
              "nonzero",
              "transpose", "swapaxes", "swapdims", "permute", "t", "unsqueeze", "squeeze", "narrow", "flatten",
              "unflatten", "split", "chunk", "unbind", "as_strided",
              # more reductions
              "prod", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "logsumexp", "cumsum",
              # joining, splitting and gathering
              "flip", "tril", "triu", "gather", "scatter", "scatter_add", "index_select", "index_add", "masked_fill"):
    globals()[_name] = _function(_name)
subtract, multiply, divide, negative = sub, mul, div, neg
cat = concat = concatenate = _C.cat
stack = _C.stack

# Pointwise math and activations (function forms of the methods; in-place ones where PyTorch has them).
for _name in ("exp2", "log2", "log1p", "expm1", "rsqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs",
              "absolute", "sign", "floor", "ceil", "round", "erf", "clamp", "clip", "clamp_min", "clamp_max",
              "maximum", "minimum", "lerp", "exp_", "exp2_", "log2_", "log1p_", "expm1_", "rsqrt_", "sin_", "cos_",
              "tan_", "tanh_", "sigmoid_", "erf_", "relu_", "abs_", "floor_", "ceil_", "round_", "clamp_", "clip_"):
    globals()[_name] = _function(_name)


def pow(input, exponent):
    """``input ** exponent``; either may be a number (a number base gives PowBackward2, as in PyTorch)."""
    if isinstance(input, Tensor):
        return input.pow(exponent)
    return exponent.__rpow__(input)


# Linear algebra and softmax (C++ functions with PyTorch's argument names).
from ._C import matmul, mm, bmm, mv, dot, outer, addmm, softmax, log_softmax  # noqa: E402


def where(condition, input, other):
    """Elements of ``input`` where ``condition`` is true, else of ``other`` (broadcast)."""
    return _C.where(condition, input, other)


del _name, _builtins

from . import nn  # noqa: E402  (gradcore.nn.functional; imported last: it uses the functions above)
from . import optim  # noqa: E402  (optimizers and learning-rate schedulers)
from .serialization import save, load  # noqa: E402

"""Table-driven tests of gradcore's op surface against PyTorch.

One table (``OPS``) drives everything. Each row has a name, a function ``fn(lib, *inputs)`` written once
against the PyTorch API (it is called with ``lib=gradcore`` and with ``lib=torch``) and sample input
specs (shape, dtype, value domain, memory layout). From it come:

a) ``test_forward``       values, shape, dtype (and requires_grad) vs torch, in float32 and float64;
b) ``test_grad_vs_torch``  ``sum(out * w).backward()`` with fixed random ``w``; ``.grad`` of every float
                           input vs torch;
c) ``test_gradcheck``      float64 central differences (helpers.gradcheck), gradcore only: runs without torch;
d) ``test_grad_fn_name``   ``grad_fn.name()`` vs ``type(torch_out.grad_fn).__name__`` (separate table).

An input spec with dtype "float" is instantiated as float32 and as float64 (float64 only for gradcheck);
concrete dtypes ("float32", "int64", "bool", ...) are kept as written (type promotion rows). Layout
"select" builds the input as ``base.select(last_dim, 1)`` of a tensor with an extra trailing dim of size 2
(strided, offset); "expand" builds it as ``base.expand(shape)`` of a tensor whose last dim is 1 (stride 0).
Both libraries build the view the same way, and gradients are compared on the base (the leaf).
"""

import operator
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np
import pytest

import gradcore
import helpers as H

requires_torch = pytest.mark.requires_torch

FLOATS = ("float32", "float64")


def _torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------------
# Input specs
# ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class A:
    """One tensor input: its shape (as the op sees it), dtype, value domain and layout."""

    shape: Tuple[int, ...]
    dtype: str = "float"  # "float" = parametrized float32/float64; else a concrete dtype name
    domain: str = "real"
    layout: str = "contig"  # "contig" | "select" | "expand" | "t" | "step"
    grad: bool = True  # float input that should require grad in gradient tests

    def resolve(self, float_dtype):
        return float_dtype if self.dtype == "float" else self.dtype

    def base_shape(self):
        if self.layout == "select":
            return tuple(self.shape) + (2,)
        if self.layout == "expand":
            assert self.shape and self.shape[-1] != 1, "expand layout needs a last dim > 1"
            return tuple(self.shape[:-1]) + (1,)
        if self.layout == "t":
            assert len(self.shape) >= 2, "transposed layout needs 2 dims"
            return tuple(self.shape[:-2]) + (self.shape[-1], self.shape[-2])
        if self.layout == "step":
            return tuple(self.shape[:-1]) + (2 * self.shape[-1],)
        return tuple(self.shape)

    def view(self, base):
        if self.layout == "select":
            return base.select(len(self.shape), 1)
        if self.layout == "expand":
            return base.expand(*self.shape)
        if self.layout == "t":
            return base.transpose(-1, -2)
        if self.layout == "step":
            return base[..., 1::2]
        return base

    def label(self):
        s = "x".join(str(d) for d in self.shape) if self.shape else "0d"
        if self.dtype != "float":
            s += ":" + {"float32": "f32", "float64": "f64", "int64": "i64", "bool": "b"}[self.dtype]
        if self.layout != "contig":
            s += ":" + {"select": "sel", "expand": "exp", "t": "t", "step": "step"}[self.layout]
        return s


def S(*args, label=None):
    """A sample: the op's tensor inputs, in order."""
    return Sample(tuple(args), label)


@dataclass(frozen=True)
class Sample:
    args: Tuple[A, ...]
    label: Optional[str] = None

    def id(self):
        if self.label:
            return self.label
        return ",".join(a.label() for a in self.args) if self.args else "noargs"

    def has_float_param(self):
        return any(a.dtype == "float" for a in self.args)

    def all_floats_param(self):
        """Every float input is the parametrized "float" (so float64 gradcheck instantiates them all)."""
        return all(a.dtype in ("float", "int64", "bool") for a in self.args)


def F(*shape, domain="real", layout="contig"):
    return A(tuple(shape), "float", domain, layout)


def T(dtype, *shape, domain=None, layout="contig", grad=True):
    default = {"int64": "int", "bool": "bool"}.get(dtype, "real")
    return A(tuple(shape), dtype, domain or default, layout, grad)


def _values(domain, shape, rng):
    if domain == "real":
        return rng.uniform(-2.0, 2.0, shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "nonzero":
        return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 2.0, shape)
    if domain == "frac":  # fractional values of both signs, for float -> int truncation
        return rng.uniform(-3.0, 3.0, shape)
    if domain == "int":  # small integers (as floats for float dtypes): ties for comparisons, zeros
        return rng.integers(-2, 3, shape).astype(np.float64)
    if domain == "nzint":
        return rng.choice([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], shape)
    if domain == "posint":
        return rng.integers(1, 5, shape).astype(np.float64)
    if domain == "nonneg":
        return rng.integers(0, 4, shape).astype(np.float64)
    if domain == "bool":
        return (rng.random(shape) < 0.5).astype(np.float64)
    if domain == "true":
        return np.ones(shape)
    if domain == "zero":
        return np.zeros(shape)
    raise ValueError(domain)


def make_arrays(sample, float_dtype, rng):
    """numpy arrays (already in their final dtype) for the bases of the sample's inputs."""
    out = []
    for a in sample.args:
        dt = a.resolve(float_dtype)
        v = _values(a.domain, a.base_shape(), rng)
        if dt == "bool":
            v = v != 0
        out.append(np.asarray(v).astype(H.np_dtype(dt)))
    return out


def make_inputs(lib, sample, float_dtype, arrays, requires_grad):
    """(leaves, views) of ``lib`` for the sample: leaves are the bases, views what the op receives."""
    leaves, views = [], []
    for a, arr in zip(sample.args, arrays):
        rg = requires_grad and a.grad and a.resolve(float_dtype) in FLOATS
        leaf = H.from_numpy(lib, arr, rg)
        leaves.append(leaf)
        views.append(a.view(leaf))
    return leaves, views


# ---------------------------------------------------------------------------------------------------
# The op table
# ---------------------------------------------------------------------------------------------------

@dataclass
class Op:
    name: str
    fn: Callable
    samples: list
    grad: bool = True  # output is float and differentiable w.r.t. the float inputs
    check: str = "values"  # "values" | "meta" (shape, dtype, requires_grad only: random/empty results)
    extra: Optional[Callable] = None  # out -> python value that must equal torch's
    gradcheck: bool = True


OPS = []


def op(name, fn, samples, **kw):
    OPS.append(Op(name, fn, list(samples), **kw))


# Shapes -------------------------------------------------------------------------------------------

UNARY = [F(3, 4), F(5), F(), F(0, 3), F(2, 1, 3), F(4, layout="select"), F(3, 4, layout="select"),
         F(3, 4, layout="expand"), F(3, 4, layout="t"), F(2, 5, layout="step")]
BINARY = [
    (F(3, 4), F(3, 4)),
    (F(3, 1), F(1, 4)),
    (F(2, 3), F(3)),
    (F(3), F(2, 3)),
    (F(), F(2, 3)),
    (F(2, 3), F()),
    (F(), F()),
    (F(0, 3), F(3)),
    (F(2, 1, 3), F(4, 1)),
    (F(4, layout="select"), F(4)),
    (F(3, 4, layout="select"), F(3, 4, layout="expand")),
    (F(3, 4, layout="expand"), F(4, layout="select")),
    (F(3, 4, layout="t"), F(3, 4)),
    (F(2, 3, 4, layout="t"), F(3, 1, layout="step")),
]


def _with_domain(specs, *domains):
    """Copies of the spec tuple with per-argument domains (None keeps the spec's)."""
    return tuple(A(a.shape, a.dtype, d or a.domain, a.layout, a.grad) for a, d in zip(specs, domains))


def unary(domain="real", shapes=UNARY):
    return [S(*_with_domain((a,), domain)) for a in shapes]


def binary(d0="real", d1="real", pairs=BINARY):
    return [S(*_with_domain(p, d0, d1)) for p in pairs]


def no_grad_operand(samples, index=1):
    """The same samples with input ``index`` not requiring grad.

    ``y.mul_(z)`` / ``y.div_(z)`` need the original ``y`` only to differentiate w.r.t. ``z``; these variants
    check the path where the overwritten value is not needed.
    """
    out = []
    for s in samples:
        args = list(s.args)
        a = args[index]
        args[index] = A(a.shape, a.dtype, a.domain, a.layout, grad=False)
        out.append(Sample(tuple(args), s.label))
    return out


# Creation -----------------------------------------------------------------------------------------

NOARGS = [S()]
creation = [
    ("eye", lambda lib: lib.eye(3)),
    ("eye_rect_f64", lambda lib: lib.eye(2, 4, dtype=lib.float64)),
    ("eye_empty", lambda lib: lib.eye(0, 3)),
    ("linspace", lambda lib: lib.linspace(-1, 2, 7)),
    ("linspace_f64_long", lambda lib: lib.linspace(0.1, 1e3, 1001, dtype=lib.float64)),
    ("linspace_one_zero", lambda lib: lib.cat([lib.linspace(3, 5, 1), lib.linspace(0, 1, 0)])),
    ("new_zeros", lambda lib: lib.ones(2, dtype=lib.float64).new_zeros(2, 3)),
    ("new_ones_tuple", lambda lib: lib.tensor([1, 2]).new_ones((2,))),
    ("new_full", lambda lib: lib.ones(2).new_full((2, 2), 7)),
    ("new_tensor", lambda lib: lib.ones(2, dtype=lib.float64).new_tensor([1, 2])),
    ("tensor_nested_float", lambda lib: lib.tensor([[1.5, 2], [3, 4]])),
    ("tensor_nested_int", lambda lib: lib.tensor([[1, 2], [3, 4]])),
    ("tensor_bool", lambda lib: lib.tensor([True, False, True])),
    ("tensor_mixed_int_float", lambda lib: lib.tensor([1, 2.5])),
    ("tensor_mixed_bool_int", lambda lib: lib.tensor([True, 2])),
    ("tensor_scalar_float", lambda lib: lib.tensor(3.5)),
    ("tensor_scalar_int", lambda lib: lib.tensor(7)),
    ("tensor_scalar_bool", lambda lib: lib.tensor(False)),
    ("tensor_empty", lambda lib: lib.tensor([])),
    ("tensor_empty_nested", lambda lib: lib.tensor([[], []])),
    ("tensor_tuple", lambda lib: lib.tensor(((1.0, 2.0), (3.0, 4.0)))),
    ("tensor_dtype_f64", lambda lib: lib.tensor([1, 2], dtype=lib.float64)),
    ("tensor_dtype_i64", lambda lib: lib.tensor([1.7, -2.7], dtype=lib.int64)),
    ("tensor_dtype_bool", lambda lib: lib.tensor([0.0, 2.0], dtype=lib.bool)),
    ("tensor_requires_grad", lambda lib: lib.tensor([1.0, 2.0], requires_grad=True)),
    ("tensor_numpy_f64", lambda lib: lib.tensor(np.arange(6.0).reshape(2, 3))),
    ("tensor_numpy_f32", lambda lib: lib.tensor(np.arange(6, dtype=np.float32))),
    ("tensor_numpy_i64", lambda lib: lib.tensor(np.arange(6, dtype=np.int64).reshape(3, 2))),
    ("tensor_numpy_noncontig", lambda lib: lib.tensor(np.arange(12.0).reshape(3, 4)[:, 1])),
    ("tensor_numpy_0d", lambda lib: lib.tensor(np.array(2.5))),
    ("tensor_numpy_dtype", lambda lib: lib.tensor(np.arange(3.0), dtype=lib.float32)),
    ("ones", lambda lib: lib.ones(2, 3)),
    ("ones_tuple", lambda lib: lib.ones((2, 3))),
    ("ones_list", lambda lib: lib.ones([4])),
    ("ones_0d", lambda lib: lib.ones(())),
    ("ones_size0", lambda lib: lib.ones(0, 3)),
    ("ones_f64", lambda lib: lib.ones(2, dtype=lib.float64)),
    ("ones_i64", lambda lib: lib.ones(2, 2, dtype=lib.int64)),
    ("ones_bool", lambda lib: lib.ones(3, dtype=lib.bool)),
    ("ones_requires_grad", lambda lib: lib.ones(2, requires_grad=True)),
    ("zeros", lambda lib: lib.zeros(3)),
    ("zeros_tuple_f64", lambda lib: lib.zeros((2, 2), dtype=lib.float64)),
    ("zeros_i64", lambda lib: lib.zeros(2, dtype=lib.int64)),
    ("zeros_bool", lambda lib: lib.zeros(2, dtype=lib.bool)),
    ("full_float", lambda lib: lib.full((2, 3), 1.5)),
    ("full_int", lambda lib: lib.full((2,), 3)),
    ("full_bool", lambda lib: lib.full((2,), True)),
    ("full_dtype", lambda lib: lib.full((2, 2), 2, dtype=lib.float64)),
    ("full_list_size", lambda lib: lib.full([3], -1.25)),
    ("full_0d", lambda lib: lib.full((), 4.0)),
    ("full_requires_grad", lambda lib: lib.full((2,), 1.0, requires_grad=True)),
    ("arange_int", lambda lib: lib.arange(5)),
    ("arange_start_end_step", lambda lib: lib.arange(1, 7, 2)),
    ("arange_float_step", lambda lib: lib.arange(0, 1, 0.25)),
    ("arange_float_end", lambda lib: lib.arange(5.0)),
    ("arange_negative_step", lambda lib: lib.arange(10, 0, -3)),
    ("arange_empty", lambda lib: lib.arange(0)),
    ("arange_dtype", lambda lib: lib.arange(4, dtype=lib.float64)),
    ("arange_float_inexact", lambda lib: lib.arange(-1.0, 1.0, 0.3)),
    ("from_numpy_f64", lambda lib: lib.from_numpy(np.arange(6.0).reshape(2, 3))),
    ("from_numpy_f32", lambda lib: lib.from_numpy(np.linspace(0, 1, 5, dtype=np.float32))),
    ("from_numpy_i64", lambda lib: lib.from_numpy(np.arange(4, dtype=np.int64))),
    ("from_numpy_bool", lambda lib: lib.from_numpy(np.array([True, False]))),
    ("from_numpy_0d", lambda lib: lib.from_numpy(np.array(1.5))),
    ("from_numpy_noncontig", lambda lib: lib.from_numpy(np.arange(12.0).reshape(3, 4)[:, ::2])),
    ("from_numpy_size0", lambda lib: lib.from_numpy(np.zeros((0, 2)))),
]
for _name, _fn in creation:
    op(_name, _fn, NOARGS, grad=False, gradcheck=False)

def _in_unit_interval(out):
    return (out >= 0).all().item(), (out < 1).all().item()


for _name, _fn in [
    ("empty", lambda lib: lib.empty(2, 3)),
    ("empty_size0", lambda lib: lib.empty(0)),
    ("empty_dtype", lambda lib: lib.empty(2, dtype=lib.int64)),
    ("rand", lambda lib: lib.rand(3, 4)),
    ("rand_f64", lambda lib: lib.rand((2,), dtype=lib.float64)),
    ("rand_requires_grad", lambda lib: lib.rand(2, requires_grad=True)),
    ("randn", lambda lib: lib.randn(2, 3)),
    ("randn_0d", lambda lib: lib.randn(())),
]:
    _unit = _in_unit_interval if _name.split("_")[0] == "rand" else None
    op(_name, _fn, NOARGS, grad=False, check="meta", gradcheck=False, extra=_unit)



def _in_range(low, high):
    return lambda out: ((out >= low).all().item(), (out < high).all().item())


def _sorted_values(out):  # a permutation of 0..n-1 sorts to the same list in both libraries
    return sorted(out.tolist())


for _name, _fn, _extra in [
    ("randint", lambda lib: lib.randint(5, (3, 4)), _in_range(0, 5)),
    ("randint_low_high", lambda lib: lib.randint(-3, 3, (50,)), _in_range(-3, 3)),
    ("randint_f64", lambda lib: lib.randint(2, 9, (2, 2), dtype=lib.float64), _in_range(2, 9)),
    ("randint_f32_requires_grad", lambda lib: lib.randint(4, (3,), dtype=lib.float32, requires_grad=True),
     _in_range(0, 4)),
    ("randint_bool", lambda lib: lib.randint(2, (6,), dtype=lib.bool), _in_range(0, 2)),
    ("randint_0d", lambda lib: lib.randint(3, ()), _in_range(0, 3)),
    ("randint_keywords", lambda lib: lib.randint(low=1, high=4, size=[2, 3]), _in_range(1, 4)),
    ("randint_size_keyword", lambda lib: lib.randint(2, 7, size=(5,)), _in_range(2, 7)),
    ("randint_size0", lambda lib: lib.randint(3, (0, 2)), _in_range(0, 3)),
    ("randperm", lambda lib: lib.randperm(7), _sorted_values),
    ("randperm_f32_requires_grad", lambda lib: lib.randperm(5, dtype=lib.float32, requires_grad=True),
     _sorted_values),
    ("randperm_empty", lambda lib: lib.randperm(0), _sorted_values),
]:
    op(_name, _fn, NOARGS, grad=False, check="meta", gradcheck=False, extra=_extra)

LIKE = [S(F(2, 3)), S(F()), S(F(0, 3)), S(F(4, layout="select")), S(T("int64", 3)), S(T("bool", 2, 2))]
op("ones_like", lambda lib, x: lib.ones_like(x), LIKE, grad=False)
op("zeros_like", lambda lib, x: lib.zeros_like(x), LIKE, grad=False)
op("zeros_like_dtype", lambda lib, x: lib.zeros_like(x, dtype=lib.int64), LIKE, grad=False)
op("full_like", lambda lib, x: lib.full_like(x, 7), LIKE, grad=False)
op("full_like_frac", lambda lib, x: lib.full_like(x, 2.75), LIKE[:5], grad=False)
op("full_like_dtype", lambda lib, x: lib.full_like(x, 2.5, dtype=lib.float64), LIKE, grad=False)
op("ones_like_requires_grad", lambda lib, x: lib.ones_like(x, requires_grad=True), LIKE[:4], grad=False)
op("empty_like", lambda lib, x: lib.empty_like(x), LIKE, grad=False, check="meta")
op("rand_like", lambda lib, x: lib.rand_like(x), LIKE[:4], grad=False, check="meta", extra=_in_unit_interval)
op("randint_like", lambda lib, x: lib.randint_like(x, 4), LIKE[:5], grad=False, check="meta", extra=_in_range(0, 4))
op("randint_like_low_high", lambda lib, x: lib.randint_like(x, -2, 2, dtype=lib.int64), LIKE, grad=False,
   check="meta", extra=_in_range(-2, 2))
op("randn_like", lambda lib, x: lib.randn_like(x, dtype=lib.float64), LIKE, grad=False, check="meta")

# Arithmetic -----------------------------------------------------------------------------------------

op("add", lambda lib, x, y: x + y, binary())
op("add_method", lambda lib, x, y: x.add(y), binary(pairs=BINARY[:4]))
op("add_fn_alpha", lambda lib, x, y: lib.add(x, y, alpha=2), binary(pairs=BINARY[:4] + BINARY[9:10]))
op("add_method_alpha_frac", lambda lib, x, y: x.add(y, alpha=-0.5), binary(pairs=BINARY[1:3]))
op("add_number", lambda lib, x: x + 2, unary())
op("add_number_reflected", lambda lib, x: 2.5 + x, unary())
op("add_method_number", lambda lib, x: x.add(3), unary(shapes=UNARY[:3]))
op("sub", lambda lib, x, y: x - y, binary())
op("sub_method_alpha", lambda lib, x, y: x.sub(y, alpha=2), binary(pairs=BINARY[:4]))
op("sub_fn", lambda lib, x, y: lib.sub(x, y), binary(pairs=BINARY[:3]))
op("subtract_fn", lambda lib, x, y: lib.subtract(x, y, alpha=0.5), binary(pairs=BINARY[1:3]))
op("sub_number", lambda lib, x: x - 2, unary())
op("sub_number_reflected", lambda lib, x: 2 - x, unary())
op("sub_fn_number", lambda lib, x: lib.sub(x, 2.5), unary(shapes=UNARY[:3]))
op("mul", lambda lib, x, y: x * y, binary())
op("mul_method", lambda lib, x, y: x.mul(y), binary(pairs=BINARY[:4]))
op("mul_fn", lambda lib, x, y: lib.mul(x, y), binary(pairs=BINARY[:3]))
op("multiply_fn", lambda lib, x, y: lib.multiply(x, y), binary(pairs=BINARY[1:3]))
op("mul_number", lambda lib, x: x * 3, unary())
op("mul_number_reflected", lambda lib, x: -1.5 * x, unary())
op("mul_method_number", lambda lib, x: x.mul(2.5), unary(shapes=UNARY[:3]))
op("mul_self", lambda lib, x: x * x, unary(shapes=UNARY[:3]))
op("div", lambda lib, x, y: x / y, binary("real", "nonzero"))
op("div_method", lambda lib, x, y: x.div(y), binary("real", "nonzero", BINARY[:4]))
op("div_fn", lambda lib, x, y: lib.div(x, y), binary("real", "nonzero", BINARY[:3]))
op("divide_fn", lambda lib, x, y: lib.divide(x, y), binary("real", "nonzero", BINARY[1:3]))
op("div_number", lambda lib, x: x / 2, unary())
op("div_number_reflected", lambda lib, x: 1 / x, unary("nonzero"))
op("div_method_number", lambda lib, x: x.div(4), unary(shapes=UNARY[:3]))
op("pow_square", lambda lib, x: x ** 2, unary())
op("pow_cube", lambda lib, x: x ** 3, unary())
op("pow_half", lambda lib, x: x ** 0.5, unary("pos"))
op("pow_neg_frac", lambda lib, x: x ** -1.5, unary("pos"))
op("pow_zero_exponent", lambda lib, x: x ** 0, unary())
op("pow_zero_exponent_at_zero", lambda lib, x: x ** 0, unary("int", UNARY[:2]))
op("pow_one_exponent", lambda lib, x: x ** 1, unary(shapes=UNARY[:3]))
op("pow_square_at_zero", lambda lib, x: x ** 2, unary("zero", UNARY[:2]))
op("pow_tensor", lambda lib, x, y: x ** y, binary("pos", "real"))
op("pow_method_tensor", lambda lib, x, y: x.pow(y), binary("pos", "real", BINARY[:4]))
op("pow_fn_tensor", lambda lib, x, y: lib.pow(x, y), binary("pos", "real", BINARY[:3]))
op("pow_method_number", lambda lib, x: x.pow(2), unary(shapes=UNARY[:4]))
op("pow_fn_number", lambda lib, x: lib.pow(x, 3), unary(shapes=UNARY[:3]))
op("pow_number_base", lambda lib, x: 2 ** x, unary())
op("pow_float_number_base", lambda lib, x: 0.5 ** x, unary(shapes=UNARY[:4]))
op("pow_fn_number_base", lambda lib, x: lib.pow(2, x), unary(shapes=UNARY[:2]))
op("neg", lambda lib, x: -x, unary())
op("neg_method", lambda lib, x: x.neg(), unary(shapes=UNARY[:4]))
op("neg_fn", lambda lib, x: lib.neg(x), unary(shapes=UNARY[:2]))
op("negative_fn", lambda lib, x: lib.negative(x), unary(shapes=UNARY[:2]))
op("pos", lambda lib, x: +x, unary(shapes=UNARY[:2]))
op("exp", lambda lib, x: x.exp(), unary())
op("exp_fn", lambda lib, x: lib.exp(x), unary(shapes=UNARY[:3]))
op("log", lambda lib, x: x.log(), unary("pos"))
op("log_fn", lambda lib, x: lib.log(x), unary("pos", UNARY[:3]))
op("sqrt", lambda lib, x: x.sqrt(), unary("pos"))
op("sqrt_fn", lambda lib, x: lib.sqrt(x), unary("pos", UNARY[:3]))
op("chain", lambda lib, x, y: ((x * y).exp() + y.sqrt() * 2 - x / y).log(),
   [S(F(3, 4, domain="pos"), F(4, domain="pos")), S(F(2, 3, domain="pos", layout="select"), F(domain="pos"))])
op("reuse_input", lambda lib, x: (x * 2 + x.exp()) * x, unary(shapes=UNARY[:3]))

# where
WHERE = [
    S(T("bool", 3, 4), F(3, 4), F(3, 4)),
    S(T("bool", 3, 1), F(1, 4), F()),
    S(T("bool", 4), F(3, 4), F(3, 1)),
    S(T("bool"), F(2, 3), F(2, 3)),
    S(T("bool", 0, 3), F(0, 3), F(3)),
    S(T("bool", 4, layout="select"), F(4, layout="select"), F(3, 4, layout="expand")),
]
op("where", lambda lib, c, x, y: lib.where(c, x, y), WHERE)
op("where_cond_from_compare", lambda lib, x, y: lib.where(x > y, x, y), binary(pairs=BINARY[:4]))
op("where_scalar_other", lambda lib, c, x: lib.where(c, x, 0.0),
   [S(T("bool", 3, 4), F(3, 4)), S(T("bool", 4), F(2, 4))])
op("where_scalar_input", lambda lib, c, x: lib.where(c, 1.5, x),
   [S(T("bool", 3, 4), F(3, 4)), S(T("bool", 2, 1), F(3))])

# Reductions ---------------------------------------------------------------------------------------

RED = [F(3, 4), F(2, 3, 4), F(5), F(0, 3), F(3, 4, layout="select"), F(3, 4, layout="expand"), F(3, 4, layout="t"),
       F(2, 3, 4, layout="step")]
RED_ALL = [S(a) for a in RED + [F()]]
for _lib_name in ("sum", "mean"):
    def _red(name):
        m = lambda x, *a, **k: getattr(x, name)(*a, **k)  # noqa: E731
        op(f"{name}_all", lambda lib, x: m(x), RED_ALL)
        op(f"{name}_fn_all", lambda lib, x: getattr(lib, name)(x), RED_ALL[:2])
        op(f"{name}_dim0", lambda lib, x: m(x, 0), [S(a) for a in RED])
        op(f"{name}_dim_neg", lambda lib, x: m(x, -1), [S(a) for a in RED])
        op(f"{name}_dim_kw", lambda lib, x: m(x, dim=1), [S(F(3, 4)), S(F(0, 3))])
        op(f"{name}_dim_keepdim", lambda lib, x: m(x, 1, keepdim=True), [S(a) for a in RED if len(a.shape) >= 2])
        op(f"{name}_dim_tuple", lambda lib, x: m(x, (0, 1)), [S(a) for a in RED if len(a.shape) >= 2])
        op(f"{name}_dim_tuple_3d", lambda lib, x: m(x, (0, 2), keepdim=True),
           [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
        op(f"{name}_dim_list", lambda lib, x: m(x, [-1, 0]), [S(F(3, 4))])
        op(f"{name}_fn_dim", lambda lib, x: getattr(lib, name)(x, 1), [S(F(3, 4)), S(F(2, 3, 4))])
        op(f"{name}_0d_dim0", lambda lib, x: m(x, 0), [S(F())])
        op(f"{name}_keepdim_all_dims", lambda lib, x: m(x, (0, 1), keepdim=True), [S(F(3, 4))])
        op(f"{name}_dtype_kw", lambda lib, x: m(x, dtype=lib.float64), [S(F(3, 4))])

    _red(_lib_name)
op("sum_int64", lambda lib, x: x.sum(), [S(T("int64", 3, 4)), S(T("int64", 3, 4, layout="select"))], grad=False)
op("sum_int64_dim", lambda lib, x: x.sum(0), [S(T("int64", 3, 4))], grad=False)
op("sum_bool", lambda lib, x: x.sum(), [S(T("bool", 3, 4))], grad=False)
op("sum_bool_dim", lambda lib, x: x.sum(1), [S(T("bool", 3, 4))], grad=False)

NORM = [S(F(3, 4)), S(F(5)), S(F()), S(F(0, 3)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand"))]
op("norm", lambda lib, x: x.norm(), NORM)
op("norm_fn", lambda lib, x: lib.norm(x), NORM[:2])
op("norm_p2", lambda lib, x: x.norm(2), NORM[:2])
op("norm_fro", lambda lib, x: x.norm("fro"), NORM[:2])
op("norm_at_zero", lambda lib, x: x.norm(), [S(F(3, domain="zero"))], gradcheck=False)  # not differentiable at 0

# Comparisons (forward only, bool results) ---------------------------------------------------------------

CMP_PAIRS = [
    (F(3, 4), F(3, 4)),
    (F(3, 1), F(1, 4)),
    (F(2, 3), F()),
    (F(), F()),
    (F(0, 3), F(3)),
    (F(4, layout="select"), F(4, layout="expand")),
    (T("int64", 3, 4), T("int64", 4)),
    (T("int64", 3, 4), F(3, 4)),
    (F(4), T("int64", 4)),
    (T("float32", 2, 3), T("float64", 2, 3)),
]
CMP = [S(*_with_domain(p, "int", "int")) for p in CMP_PAIRS]
CMP_BOOL = [S(T("bool", 3, 4), T("bool", 3, 4)), S(T("bool", 4), T("int64", 2, 4))]
CMP_UNARY = [S(A(a.shape, a.dtype, "int", a.layout)) for a in UNARY[:4] + UNARY[6:]] + [S(T("int64", 3, 4))]
_CMP_OPS = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
}
for _n, _operator in _CMP_OPS.items():
    def _cmp(n, operator):
        op(f"{n}_operator", lambda lib, x, y: operator(x, y), CMP + (CMP_BOOL if n in ("eq", "ne") else []), grad=False)
        op(f"{n}_method", lambda lib, x, y: getattr(x, n)(y), CMP[:4], grad=False)
        op(f"{n}_fn", lambda lib, x, y: getattr(lib, n)(x, y), CMP[:3], grad=False)
        op(f"{n}_number", lambda lib, x: operator(x, 1), CMP_UNARY, grad=False)
        op(f"{n}_float_number", lambda lib, x: operator(x, 0.5), CMP_UNARY[:3] + CMP_UNARY[-1:], grad=False)
        op(f"{n}_number_reflected", lambda lib, x: operator(1, x), CMP_UNARY[:3], grad=False)
        op(f"{n}_method_number", lambda lib, x: getattr(x, n)(0), CMP_UNARY[:3], grad=False)

    _cmp(_n, _operator)

# all / any
LOGICAL = [
    S(T("bool", 3, 4)), S(T("bool", 3, 4, domain="true")), S(T("bool", 3, 4, domain="zero")),
    S(T("bool", 0, 3)), S(T("bool")), S(T("bool", domain="true")), S(T("bool", 4, layout="select", domain="true")),
    S(F(3, 4, domain="int")), S(F(3, domain="posint")), S(F(3, 4, domain="zero")), S(T("int64", 5)),
    S(T("int64", 5, domain="nzint")),
]
op("all", lambda lib, x: x.all(), LOGICAL, grad=False)
op("any", lambda lib, x: x.any(), LOGICAL, grad=False)
op("all_fn", lambda lib, x: lib.all(x), LOGICAL[:3], grad=False)
op("any_fn", lambda lib, x: lib.any(x), LOGICAL[:3], grad=False)
op("all_of_compare", lambda lib, x, y: (x == y).all(), CMP[:3], grad=False)

# Views, copies, conversions -------------------------------------------------------------------------------

_is_contig = lambda out: out.is_contiguous()  # noqa: E731
_strides = lambda out: tuple(out.stride())  # noqa: E731
op("clone", lambda lib, x: x.clone(), unary(), extra=_is_contig)
op("clone_fn", lambda lib, x: lib.clone(x), unary(shapes=UNARY[:2]))
op("contiguous", lambda lib, x: x.contiguous(), unary(), extra=_is_contig)
op("expand", lambda lib, x: x.expand(3, 4),
   [S(F(3, 1)), S(F(1, 4)), S(F(4)), S(F()), S(F(3, 4)), S(F(3, 1, layout="select"))],
   extra=_strides)
op("expand_minus_one", lambda lib, x: x.expand(-1, 4), [S(F(3, 1)), S(F(2, 1, layout="select"))], extra=_strides)
op("expand_new_dims", lambda lib, x: x.expand(2, 3, 4), [S(F(3, 1)), S(F(4)), S(F())], extra=_strides)
op("expand_to_size0", lambda lib, x: x.expand(0, 3), [S(F(1, 3)), S(F(3))])
op("expand_tuple", lambda lib, x: x.expand((2, 3)), [S(F(3)), S(F(2, 1))])
op("expand_of_expand", lambda lib, x: x.expand(2, 3, 4), [S(F(3, 4, layout="expand"))])
op("view_flat", lambda lib, x: x.view(-1), [S(F(3, 4)), S(F()), S(F(0, 3)), S(F(2, 3, 4))], extra=_strides)
op("view_shape", lambda lib, x: x.view(2, 6), [S(F(3, 4)), S(F(12)), S(F(2, 2, 3))], extra=_strides)
op("view_infer", lambda lib, x: x.view(4, -1), [S(F(3, 4)), S(F(2, 6))])
op("view_tuple", lambda lib, x: x.view((6, 2)), [S(F(3, 4))])
op("view_0d_to_1", lambda lib, x: x.view(1), [S(F())])
op("view_1_to_0d", lambda lib, x: x.view(()), [S(F(1))])
op("view_of_strided", lambda lib, x: x.view(2, 2), [S(F(4, layout="select"))], extra=_strides)
op("view_add_unit_dims", lambda lib, x: x.view(3, 1, 4), [S(F(3, 4)), S(F(3, 4, layout="select"))])
op("reshape", lambda lib, x: x.reshape(2, 6),
   [S(F(3, 4)), S(F(12)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand"))])
op("reshape_flat", lambda lib, x: x.reshape(-1), unary())
op("reshape_tuple", lambda lib, x: x.reshape((4, 3)), [S(F(3, 4)), S(F(2, 6, layout="expand"))])
op("reshape_fn", lambda lib, x: lib.reshape(x, (6, 2)), [S(F(3, 4)), S(F(3, 4, layout="select"))])
op("reshape_0d", lambda lib, x: x.reshape(1, 1), [S(F())])
op("reshape_size0", lambda lib, x: x.reshape(3, 0), [S(F(0, 3))])
op("select", lambda lib, x: x.select(0, 1),
   [S(F(3, 4)), S(F(2, 3, 4)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand"))])
op("select_last", lambda lib, x: x.select(1, -1), [S(F(3, 4)), S(F(2, 3, 4)), S(F(3, 4, layout="expand"))])
op("select_neg_dim", lambda lib, x: x.select(-1, 0), [S(F(3, 4)), S(F(5)), S(F(0, 3))])
op("select_to_0d", lambda lib, x: x.select(0, 2), [S(F(5)), S(F(4, layout="select"))])
op("select_twice", lambda lib, x: x.select(1, 2).select(0, 1), [S(F(3, 4)), S(F(3, 4, layout="select"))])
op("getitem", lambda lib, x: x[1],
   [S(F(3, 4)), S(F(2, 3, 4)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand"))])
op("getitem_negative", lambda lib, x: x[-1], [S(F(3, 4)), S(F(4))])
op("getitem_to_0d", lambda lib, x: x[0], [S(F(4)), S(F(4, layout="select"))])
op("getitem_twice", lambda lib, x: x[1][2], [S(F(3, 4)), S(F(3, 4, layout="expand"))])
op("select_int64", lambda lib, x: x.select(1, 0), [S(T("int64", 3, 4))], grad=False)
op("getitem_bool", lambda lib, x: x[2], [S(T("bool", 4))], grad=False)

op("to_float64", lambda lib, x: x.to(lib.float64), unary())
op("to_float32", lambda lib, x: x.to(lib.float32), unary(shapes=UNARY[:4] + UNARY[6:7]), gradcheck=False)
op("double", lambda lib, x: x.double(), unary(shapes=UNARY[:4]))
op("float", lambda lib, x: x.float(), unary(shapes=UNARY[:4]), gradcheck=False)  # float32 output
op("to_same_dtype", lambda lib, x: x.to(x.dtype) * 2, unary(shapes=UNARY[:3]))
op("to_int64_trunc", lambda lib, x: x.to(lib.int64), unary("frac", UNARY[:4] + UNARY[6:7]), grad=False)
op("long", lambda lib, x: x.long(), unary("frac", UNARY[:3]), grad=False)
op("to_bool", lambda lib, x: x.to(lib.bool), unary("int", UNARY[:4]), grad=False)
op("bool", lambda lib, x: x.bool(), unary("int", UNARY[:3]), grad=False)
op("int64_to_float", lambda lib, x: x.float(), [S(T("int64", 3, 4)), S(T("int64", 4, layout="select"))], grad=False)
op("int64_to_float64", lambda lib, x: x.to(lib.float64), [S(T("int64", 3))], grad=False)
op("int64_to_bool", lambda lib, x: x.bool(), [S(T("int64", 3, 4))], grad=False)
op("bool_to_long", lambda lib, x: x.long(), [S(T("bool", 3, 4))], grad=False)
op("bool_to_float64", lambda lib, x: x.to(lib.float64), [S(T("bool", 3, 4))], grad=False)
op("bool_to_double", lambda lib, x: x.double(), [S(T("bool", 2))], grad=False)
op("detach", lambda lib, x: x.detach(), unary(shapes=UNARY[:4] + UNARY[6:7]), grad=False, gradcheck=False)
op("data", lambda lib, x: x.data, unary(shapes=UNARY[:3]), grad=False, gradcheck=False)
# (no gradcheck: finite differences see through detach)
op("detach_then_use", lambda lib, x, y: x.detach() * y, binary(pairs=BINARY[:3]), gradcheck=False)

# In-place ops on a non-leaf (y = x * 1 first): forward and gradient through them ---------------------------


def _inplace(apply):
    def fn(lib, x, *rest):
        y = x * 1
        apply(y, *rest)
        return y
    return fn


def _iadd(y, z):
    y += z


def _isub(y, z):
    y -= z


def _imul(y, z):
    y *= z


def _idiv(y, z):
    y /= z


INPLACE_PAIRS = [
    (F(3, 4), F(3, 4)),
    (F(3, 4), F(4)),
    (F(2, 3), F()),
    (F(), F()),
    (F(0, 3), F(3)),
    (F(3, 4), F(3, 4, layout="select")),
    (F(3, 4), F(4, layout="expand")),
    (F(4, layout="select"), F(4)),
]
op("add_", _inplace(lambda y, z: y.add_(z)), binary(pairs=INPLACE_PAIRS))
op("add__alpha", _inplace(lambda y, z: y.add_(z, alpha=2)), binary(pairs=INPLACE_PAIRS[:3]))
op("add__number", _inplace(lambda y: y.add_(2.5)), unary(shapes=UNARY[:4]))
op("sub_", _inplace(lambda y, z: y.sub_(z)), binary(pairs=INPLACE_PAIRS))
op("sub__alpha", _inplace(lambda y, z: y.sub_(z, alpha=0.5)), binary(pairs=INPLACE_PAIRS[:3]))
op("sub__number", _inplace(lambda y: y.sub_(1)), unary(shapes=UNARY[:3]))
op("mul_", _inplace(lambda y, z: y.mul_(z)), binary(pairs=INPLACE_PAIRS))
op("mul__const_operand", _inplace(lambda y, z: y.mul_(z)), no_grad_operand(binary(pairs=INPLACE_PAIRS)))
op("mul__number", _inplace(lambda y: y.mul_(3)), unary(shapes=UNARY[:4]))
op("div_", _inplace(lambda y, z: y.div_(z)), binary("real", "nonzero", INPLACE_PAIRS))
op("div__const_operand", _inplace(lambda y, z: y.div_(z)), no_grad_operand(binary("real", "nonzero", INPLACE_PAIRS)))
op("div__number", _inplace(lambda y: y.div_(2)), unary(shapes=UNARY[:3]))
op("iadd", _inplace(_iadd), binary(pairs=INPLACE_PAIRS[:5]))
op("iadd_number", _inplace(lambda y: _iadd(y, 2)), unary(shapes=UNARY[:3]))
op("isub", _inplace(_isub), binary(pairs=INPLACE_PAIRS[:5]))
op("imul", _inplace(_imul), binary(pairs=INPLACE_PAIRS[:5]))
op("imul_const_operand", _inplace(_imul), no_grad_operand(binary(pairs=INPLACE_PAIRS[:3])))
op("imul_number", _inplace(lambda y: _imul(y, -2)), unary(shapes=UNARY[:3]))
op("idiv", _inplace(_idiv), binary("real", "nonzero", INPLACE_PAIRS[:5]))
op("idiv_const_operand", _inplace(_idiv), no_grad_operand(binary("real", "nonzero", INPLACE_PAIRS[:3])))
op("idiv_number", _inplace(lambda y: _idiv(y, 4)), unary(shapes=UNARY[:3]))
op("zero_", _inplace(lambda y: y.zero_()), unary(shapes=UNARY[:4]), gradcheck=True)
op("fill_", _inplace(lambda y: y.fill_(1.5)), unary(shapes=UNARY[:4]))
op("fill__int", _inplace(lambda y: y.fill_(2)), unary(shapes=UNARY[:2]))
op("fill__0d_tensor", _inplace(lambda y, v: y.fill_(v)), [S(F(3, 4), F()), S(F(2), F())])
op("copy_", _inplace(lambda y, z: y.copy_(z)), binary(pairs=INPLACE_PAIRS))
op("add__input", lambda lib, x: _inplace(lambda y: y.add_(x))(lib, x), [S(F(3, 4)), S(F())])
op("add__self", lambda lib, x: _inplace(lambda y: y.add_(y))(lib, x), [S(F(3, 4))])
op("mul__by_input", lambda lib, x: _inplace(lambda y: y.mul_(x))(lib, x), [S(F(3, 4)), S(F())])
op("mul__by_detached_input", lambda lib, x: _inplace(lambda y: y.mul_(x.detach()))(lib, x), [S(F(3, 4)), S(F())],
   gradcheck=False)  # finite differences see through detach
op("inplace_chain", _inplace(lambda y, z: y.mul_(z).add_(z).div_(2)), binary("real", "nonzero", INPLACE_PAIRS[:3]))
op("inplace_chain_const_operand", _inplace(lambda y, z: y.mul_(z).add_(z).div_(2)),
   no_grad_operand(binary("real", "nonzero", INPLACE_PAIRS[:3])))
op("inplace_chain_grad_operand", _inplace(lambda y, z: y.mul_(2).add_(z).sub_(z, alpha=3).div_(4)),
   binary(pairs=INPLACE_PAIRS[:3]))
op("inplace_then_op", lambda lib, x, z: _inplace(lambda y: y.add_(z))(lib, x).exp(), binary(pairs=INPLACE_PAIRS[:3]))
# In-place ops through a view of a graph tensor (PyTorch's CopySlices) are not supported yet: they raise
# a clear RuntimeError instead of giving a wrong gradient (test_inplace_through_view_of_graph_tensor_raises).
op("inplace_through_expanded_input", _inplace(lambda y, z: y.add_(z)), [S(F(3, 4, layout="expand"), F(3, 4))])
op("add__float64_into_float32", _inplace(lambda y, z: y.add_(z)),
   [S(T("float32", 3, 4), T("float64", 4)), S(T("float32", 3), T("float64"))])
op("copy__float64_into_float32", _inplace(lambda y, z: y.copy_(z)), [S(T("float32", 3, 4), T("float64", 4))])
op("copy__int64_into_float", _inplace(lambda y, z: y.copy_(z)), [S(F(3, 4), T("int64", 4))])
op("add__int64", lambda lib, x, z: _inplace(lambda y: y.add_(z))(lib, x),
   [S(T("int64", 3, 4), T("int64", 4))], grad=False)
op("mul__int64_number", lambda lib, x: _inplace(lambda y: y.mul_(3))(lib, x), [S(T("int64", 3, 4))], grad=False)
op("iadd_int64_bool", lambda lib, x, z: _inplace(lambda y: _iadd(y, z))(lib, x),
   [S(T("int64", 3), T("bool", 3))], grad=False)
op("fill__bool", lambda lib, x: _inplace(lambda y: y.fill_(True))(lib, x), [S(T("int64", 3))], grad=False)
op("zero__int64", lambda lib, x: _inplace(lambda y: y.zero_())(lib, x), [S(T("int64", 3))], grad=False)

# Pointwise math and activations ---------------------------------------------------------------------

def _nnf(lib, name):
    """gelu / silu: torch.nn.functional's, and gradcore's core ops (gradcore.nn is added separately)."""
    return getattr(gradcore._C if lib is gradcore else lib.nn.functional, name)


# Float math: name -> value domain (away from poles and domain edges). tan runs on x / 2 (|x| < 1).
_MATH = {"exp2": "real", "log2": "pos", "log1p": "pos", "expm1": "real", "rsqrt": "pos", "sin": "real",
         "cos": "real", "tanh": "real", "sigmoid": "real", "erf": "real"}
for _n, _dom in _MATH.items():
    def _math(n, dom):
        op(n, lambda lib, x: getattr(x, n)(), unary(dom))
        op(f"{n}_fn", lambda lib, x: getattr(lib, n)(x), unary(dom, UNARY[:3]))
        op(f"promote_{n}_i64", lambda lib, x: getattr(lib, n)(x),
           [S(T("int64", 3, 4, domain="posint")), S(T("int64", 4, domain="posint", layout="select"))], grad=False)
        op(f"promote_{n}_bool", lambda lib, x: getattr(x, n)(), [S(T("bool", 3, 4))], grad=False)

    _math(_n, _dom)
op("tan", lambda lib, x: (x * 0.5).tan(), unary())
op("tan_fn", lambda lib, x: lib.tan(x), unary("real", UNARY[:3]))
op("promote_tan_i64", lambda lib, x: x.tan(), [S(T("int64", 3, 4))], grad=False)

# Ops keeping the dtype; kinks (relu/abs at 0, sign/floor/ceil/round everywhere) compared with torch.
for _n in ("relu", "abs", "sign", "floor", "ceil", "round"):
    def _keep(n):
        dom = "frac" if n in ("floor", "ceil", "round") else "real"
        op(n, lambda lib, x: getattr(x, n)(), unary(dom))
        op(f"{n}_fn", lambda lib, x: getattr(lib, n)(x), unary(dom, UNARY[:3]))
        op(f"{n}_at_ints", lambda lib, x: getattr(x, n)(), unary("int", UNARY[:3]), gradcheck=False)
        op(f"{n}_int64", lambda lib, x: getattr(x, n)(),
           [S(T("int64", 3, 4)), S(T("int64", 4, layout="select")), S(T("int64"))], grad=False)

    _keep(_n)
op("sign_bool", lambda lib, x: x.sign(), [S(T("bool", 3, 4))], grad=False)
op("abs_operator", lambda lib, x: abs(x), unary(shapes=UNARY[:3]))
op("absolute_fn", lambda lib, x: lib.absolute(x), unary(shapes=UNARY[:2]))
op("relu_at_zero", lambda lib, x: x.relu(), unary("zero", UNARY[:2]), gradcheck=False)
op("abs_at_zero", lambda lib, x: x.abs(), unary("zero", UNARY[:2]), gradcheck=False)
op("round_half_even", lambda lib, x: (x + 0.5).round(), unary("int", UNARY[:3]), gradcheck=False)
op("round_decimals", lambda lib, x: x.round(decimals=2), unary("frac", UNARY[:4]))
op("round_decimals_fn", lambda lib, x: lib.round(x * 100, decimals=-1), unary("frac", UNARY[:2]))
# NaN propagation (log of a negative number is NaN; gradients through the NaN elements vs torch)
_NAN = [S(F(3, 4)), S(F(5))]
op("relu_nan", lambda lib, x: x.log().relu(), _NAN, gradcheck=False)
op("abs_nan", lambda lib, x: x.log().abs(), _NAN, gradcheck=False)
op("sign_nan", lambda lib, x: x.log().sign(), _NAN, gradcheck=False)
op("sigmoid_nan", lambda lib, x: x.log().sigmoid(), _NAN, gradcheck=False)

# clamp / clip: number bounds, tensor bounds (broadcast), one side None, at the bounds, NaN
op("clamp", lambda lib, x: x.clamp(-0.5, 1.0), unary())
op("clamp_min_kw", lambda lib, x: x.clamp(min=0.3), unary())
op("clamp_max_kw", lambda lib, x: x.clamp(max=-0.2), unary(shapes=UNARY[:4]))
op("clamp_none_max", lambda lib, x: x.clamp(min=-1, max=None), unary(shapes=UNARY[:3]))
op("clamp_fn", lambda lib, x: lib.clamp(x, -1, 1), unary(shapes=UNARY[:4]))
op("clamp_fn_kw", lambda lib, x: lib.clamp(x, max=0.5), unary(shapes=UNARY[:2]))
op("clip", lambda lib, x: x.clip(-0.5, 0.5), unary(shapes=UNARY[:4]))
op("clip_fn", lambda lib, x: lib.clip(x, min=0.0), unary(shapes=UNARY[:3]))
op("clamp_min_above_max", lambda lib, x: x.clamp(1.0, -1.0), unary(shapes=UNARY[:2]))
op("clamp_at_bounds", lambda lib, x: x.clamp(-1, 1), unary("int", UNARY[:3]), gradcheck=False)
op("clamp_nan", lambda lib, x: x.log().clamp(-0.5, 0.5), _NAN, gradcheck=False)
op("clamp_nan_bound", lambda lib, x: x.clamp(min=float("nan")), unary(shapes=UNARY[:2]), gradcheck=False)
CLAMP3 = [
    S(F(3, 4), F(3, 4), F(3, 4)),
    S(F(3, 4), F(4), F(3, 1)),
    S(F(3, 4), F(3, 1), F()),
    S(F(), F(), F()),
    S(F(0, 3), F(3), F(3)),
    S(F(3, 4, layout="select"), F(4), F(3, 4, layout="expand")),
]
op("clamp_tensor", lambda lib, x, lo, hi: x.clamp(lo - 1, hi + 1), CLAMP3)
op("clamp_tensor_fn", lambda lib, x, lo, hi: lib.clamp(x, min=lo, max=hi), CLAMP3[:3])
# self smaller than the broadcast output: forward only (torch's own clamp backward fails on these shapes)
op("clamp_tensor_broadcast_self", lambda lib, x, lo, hi: x.clamp(lo, hi),
   [S(F(4), F(3, 4), F()), S(F(), F(2, 3), F(2, 3))], grad=False)
op("clamp_tensor_min", lambda lib, x, lo: x.clamp(min=lo), binary())
op("clamp_tensor_max", lambda lib, x, hi: lib.clamp(x, max=hi), binary(pairs=BINARY[:4] + BINARY[9:]))
op("clamp_tensor_min_gt_max", lambda lib, x, lo, hi: x.clamp(lo + 3, hi - 3), CLAMP3[:3])
op("clamp_tensor_at_bounds", lambda lib, x, lo, hi: x.clamp(lo, hi),
   [S(*_with_domain(s.args, "int", "int", "int")) for s in CLAMP3[:3]], gradcheck=False)
op("clamp_tensor_min_ties", lambda lib, x, lo: x.clamp(min=lo), binary("int", "int", BINARY[:4]), gradcheck=False)
op("clamp_tensor_max_ties", lambda lib, x, hi: x.clamp(max=hi), binary("int", "int", BINARY[:4]), gradcheck=False)
op("clamp_tensor_nan", lambda lib, x, lo: x.clamp(min=lo.log()), binary(pairs=BINARY[:3]), gradcheck=False)
op("clamp_min_number", lambda lib, x: x.clamp_min(0.2), unary(shapes=UNARY[:4]))
op("clamp_min_fn_tensor", lambda lib, x, y: lib.clamp_min(x, y), binary(pairs=BINARY[:4]))
op("clamp_max_number", lambda lib, x: lib.clamp_max(x, -0.1), unary(shapes=UNARY[:4]))
op("clamp_max_tensor", lambda lib, x, y: x.clamp_max(y), binary(pairs=BINARY[:4]))
op("promote_clamp_i64_int", lambda lib, x: x.clamp(-1, 1), [S(T("int64", 3, 4)), S(T("int64"))], grad=False)
op("promote_clamp_i64_float", lambda lib, x: x.clamp(min=0.5), [S(T("int64", 3, 4))], grad=False)
op("promote_clamp_bool_int", lambda lib, x: x.clamp(min=0), [S(T("bool", 3, 4))], grad=False)
op("promote_clamp_i64_f32_tensor", lambda lib, x, y: x.clamp(max=y), [S(T("int64", 3, 4), T("float32", 4))],
   grad=False)
op("promote_clamp_f32_f64_tensor", lambda lib, x, y: x.clamp(min=y), [S(T("float32", 3, 4), T("float64", 4))])
op("promote_clamp_f32_f64_0d", lambda lib, x, y: x.clamp(min=y), [S(T("float32", 3, 4), T("float64"))])
op("promote_clamp_three_tiers", lambda lib, x, lo, hi: x.clamp(lo, hi),
   [S(T("int64", 3, domain="int"), T("float64", domain="int"), T("float32", 3, domain="int"))], grad=False)

# maximum / minimum: broadcast, ties split the gradient, NaN propagates
for _n in ("maximum", "minimum"):
    def _mm(n):
        op(n, lambda lib, x, y: getattr(lib, n)(x, y), binary())
        op(f"{n}_method", lambda lib, x, y: getattr(x, n)(y), binary(pairs=BINARY[:4]))
        op(f"{n}_ties", lambda lib, x, y: getattr(lib, n)(x, y), binary("int", "int"), gradcheck=False)
        op(f"{n}_self", lambda lib, x: getattr(lib, n)(x, x), unary(shapes=UNARY[:3]), gradcheck=False)
        op(f"{n}_nan", lambda lib, x, y: getattr(lib, n)(x.log(), y), binary(pairs=BINARY[:4]), gradcheck=False)
        op(f"{n}_nan_other", lambda lib, x, y: getattr(lib, n)(x, y.log()), binary(pairs=BINARY[:4]),
           gradcheck=False)
        op(f"promote_{n}_i64", lambda lib, x, y: getattr(lib, n)(x, y),
           [S(T("int64", 3, 4), T("int64", 4)), S(T("bool", 3), T("bool", 3)), S(T("bool", 3), T("int64", 3))],
           grad=False)
        op(f"promote_{n}_i64_f32", lambda lib, x, y: getattr(lib, n)(x, y),
           [S(T("int64", 3, 4), T("float32", 3, 4)), S(T("float32", 3), T("float64"))])

    _mm(_n)

# lerp: number weight (both formula branches), tensor weight (broadcast over all three)
op("lerp", lambda lib, x, y: x.lerp(y, 0.3), binary())
op("lerp_large_weight", lambda lib, x, y: lib.lerp(x, y, 0.8), binary(pairs=BINARY[:4]))
op("lerp_negative_weight", lambda lib, x, y: lib.lerp(x, y, -0.7), binary(pairs=BINARY[:3]))
op("lerp_weight_ends", lambda lib, x, y: lib.lerp(x, y, 1) + lib.lerp(x, y, 0), binary(pairs=BINARY[:3]))
LERP3 = [
    S(F(3, 4), F(3, 4), F(3, 4)),
    S(F(3, 4), F(4), F(3, 1)),
    S(F(4), F(3, 1), F()),
    S(F(2), F(3, 2), F(4, 1, 1)),
    S(F(0, 3), F(3), F(3)),
    S(F(3, 4, layout="select"), F(4), F(3, 4, layout="expand")),
]
op("lerp_tensor_weight", lambda lib, x, y, w: x.lerp(y, w), LERP3)
op("lerp_tensor_weight_fn", lambda lib, x, y, w: lib.lerp(x, y, w), LERP3[:3])
op("lerp_0d_weight_other_dtype", lambda lib, x, y, w: lib.lerp(x, y, w),
   [S(T("float32", 3, 4), T("float32", 3, 4), T("float64")), S(T("float64", 3), T("float64", 3), T("float32"))])

# gelu / silu (core ops behind nn.functional)
op("gelu", lambda lib, x: _nnf(lib, "gelu")(x), unary())
op("gelu_none", lambda lib, x: _nnf(lib, "gelu")(x, approximate="none"), unary(shapes=UNARY[:3]))
op("gelu_tanh", lambda lib, x: _nnf(lib, "gelu")(x, approximate="tanh"), unary())
op("silu", lambda lib, x: _nnf(lib, "silu")(x), unary())

# In-place forms on a non-leaf (y = x * 1 first)
for _n, _dom in list(_MATH.items()) + [("tan", "real"), ("relu", "real"), ("abs", "real"), ("floor", "frac"),
                                       ("ceil", "frac"), ("round", "frac")]:
    def _inpl(n, dom):
        op(f"{n}_", _inplace(lambda y: getattr(y, n + "_")()), unary(dom, UNARY[:4] + UNARY[5:7]))
        op(f"{n}__fn", lambda lib, x: _inplace(lambda y: getattr(lib, n + "_")(y))(lib, x), unary(dom, UNARY[:2]))

    _inpl(_n, _dom)
op("exp_", _inplace(lambda y: y.exp_()), unary(shapes=UNARY[:4] + UNARY[5:7]))
op("exp__fn", lambda lib, x: _inplace(lambda y: lib.exp_(y))(lib, x), unary(shapes=UNARY[:2]))
op("sign_", _inplace(lambda y: y.sign_()), unary(shapes=UNARY[:4]))
op("round__decimals", _inplace(lambda y: y.round_(decimals=1)), unary("frac", UNARY[:3]))
op("relu__at_zero", _inplace(lambda y: y.relu_()), unary("int", UNARY[:3]), gradcheck=False)
op("clamp_", _inplace(lambda y: y.clamp_(-0.5, 0.5)), unary(shapes=UNARY[:4] + UNARY[5:7]))
op("clamp__min", _inplace(lambda y: y.clamp_(min=0.1)), unary(shapes=UNARY[:3]))
op("clamp__fn", lambda lib, x: _inplace(lambda y: lib.clamp_(y, max=0.2))(lib, x), unary(shapes=UNARY[:2]))
op("clip_", _inplace(lambda y: y.clip_(-1, 1)), unary(shapes=UNARY[:3]))
op("clamp__tensor", _inplace(lambda y, lo, hi: y.clamp_(lo, hi + 1)),
   [S(F(3, 4), F(4), F(3, 1)), S(F(3, 4), F(3, 4), F()), S(F(4, layout="select"), F(4), F(4))])
op("lerp_", _inplace(lambda y, z: y.lerp_(z, 0.3)), binary(pairs=INPLACE_PAIRS))
op("lerp__tensor_weight", _inplace(lambda y, z, w: y.lerp_(z, w)), [S(F(3, 4), F(4), F(3, 1)), S(F(3), F(3), F())])
op("silu_", lambda lib, x: _inplace(lambda y: (gradcore._C.silu_ if lib is gradcore else
                                                lambda t: lib.nn.functional.silu(t, inplace=True))(y))(lib, x),
   unary(shapes=UNARY[:3]))
op("relu__int64", lambda lib, x: _inplace(lambda y: y.relu_())(lib, x), [S(T("int64", 3, 4))], grad=False)
op("abs__int64", lambda lib, x: _inplace(lambda y: y.abs_())(lib, x), [S(T("int64", 3, 4))], grad=False)
op("clamp__int64", lambda lib, x: _inplace(lambda y: y.clamp_(-1, 1))(lib, x), [S(T("int64", 3, 4))], grad=False)
op("inplace_activation_chain", _inplace(lambda y, z: y.add_(z).mul_(2).clamp_(max=0.5).sigmoid_()),
   binary(pairs=INPLACE_PAIRS[:3]))

_POINTWISE_INPLACE = [
    ("relu_", lambda y: y.relu_()), ("sigmoid_", lambda y: y.sigmoid_()), ("tanh_", lambda y: y.tanh_()),
    ("exp_", lambda y: y.exp_()), ("abs_", lambda y: y.abs_()), ("floor_", lambda y: y.floor_()),
    ("round_", lambda y: y.round_(decimals=1)), ("clamp_", lambda y: y.clamp_(0, 0.2)),
    ("clip_", lambda y: y.clip_(max=0.1)), ("lerp_", lambda y: y.lerp_(y * 0, 0.5)),
]


@requires_torch
@pytest.mark.parametrize("name,fn", _POINTWISE_INPLACE, ids=[m[0] for m in _POINTWISE_INPLACE])
def test_pointwise_inplace_returns_self_and_bumps_version(name, fn):
    torch = _torch()
    results = {}
    for lib in (gradcore, torch):
        y = lib.full((2, 3), 0.75)
        v0 = y._version
        r = fn(y)
        results[lib.__name__] = (r is y, y._version > v0, H.to_numpy(y).tolist())
    assert results["gradcore"] == results["torch"]


# Second derivatives (create_graph=True): the backward formulas are differentiable ops. Inputs in [0.5, 2].
SECOND_ORDER = [
    ("sigmoid", lambda lib, x, y: x.sigmoid()),
    ("tanh", lambda lib, x, y: x.tanh()),
    ("erf", lambda lib, x, y: x.erf()),
    ("sin_cos", lambda lib, x, y: x.sin() * y.cos()),
    ("tan", lambda lib, x, y: (x * 0.5).tan()),
    ("rsqrt", lambda lib, x, y: x.rsqrt()),
    ("log1p_log2", lambda lib, x, y: x.log1p() * y.log2()),
    ("exp2_expm1", lambda lib, x, y: x.exp2() + y.expm1() * x),
    ("gelu", lambda lib, x, y: _nnf(lib, "gelu")(x - 1)),
    ("gelu_tanh", lambda lib, x, y: _nnf(lib, "gelu")(x - 1, approximate="tanh")),
    ("silu", lambda lib, x, y: _nnf(lib, "silu")(x - 1)),
    ("relu_times", lambda lib, x, y: (x - 1).relu() * y),
    ("abs_times", lambda lib, x, y: (x - 1).abs() * x),
    ("clamp_square", lambda lib, x, y: x.clamp(0.8, 1.5) ** 2),
    ("clamp_tensor_square", lambda lib, x, y: x.clamp(min=y * 0.9, max=y * 1.1) ** 2),
    ("maximum_times", lambda lib, x, y: lib.maximum(x, y) * x),
    ("lerp_tensor", lambda lib, x, y: x.lerp(y * 2, y - 1)),
    ("lerp_number_square", lambda lib, x, y: x.lerp(y, 0.3) ** 2),
]


@requires_torch
@pytest.mark.parametrize("name,fn", SECOND_ORDER, ids=[s[0] for s in SECOND_ORDER])
def test_second_derivative_vs_torch(name, fn, rng):
    torch = _torch()
    x, y = rng.uniform(0.5, 2.0, (2, 3, 4))
    w, vx, vy = rng.standard_normal((3, 3, 4))
    results = {}
    for lib in (gradcore, torch):
        a, b = H.from_numpy(lib, x, True), H.from_numpy(lib, y, True)
        out = fn(lib, a, b)
        first = lib.autograd.grad((out * H.from_numpy(lib, w)).sum(), [a, b], create_graph=True, allow_unused=True)
        total = sum((g * H.from_numpy(lib, v)).sum() for g, v in zip(first, (vx, vy)) if g is not None)
        total.backward()
        results[lib.__name__] = (first, (a.grad, b.grad))
    for (g_first, g_second), (t_first, t_second) in [(results["gradcore"], results["torch"])]:
        for what, gs, ts in (("first", g_first, t_first), ("second", g_second, t_second)):
            for i, (g, t) in enumerate(zip(gs, ts)):
                assert (g is None) == (t is None), f"{what} derivative of input {i}: {g!r} vs torch's {t!r}"
                if t is not None:
                    H.assert_close(g.detach(), t.detach(), what=f"{what} derivative of input {i}")



# Integer and logical ops ------------------------------------------------------------------------------

op("floordiv", lambda lib, x, y: x // y, binary("real", "nonzero"), grad=False)
op("floordiv_number", lambda lib, x: (x // 0.7) + (2.5 // x), unary("nonzero"), grad=False)
op("floordiv_int", lambda lib, x, y: x // y, [S(T("int64", 3, 4), T("int64", 4, domain="nzint")),
                                               S(T("int64", 5, layout="step"), T("int64", domain="nzint"))], grad=False)
op("mod", lambda lib, x, y: x % y, binary("real", "nonzero"))
op("mod_number", lambda lib, x: x % 0.7, unary("nonzero"))
op("number_mod_tensor", lambda lib, x: 3 % x, unary("nonzero"), grad=False)  # torch has no derivative here
op("mod_int", lambda lib, x, y: (x % y, -7 % y, x % -3)[0] + (-7 % y) + (x % -3),
   [S(T("int64", 3, 4), T("int64", 4, domain="nzint"))], grad=False)
op("fmod", lambda lib, x, y: lib.fmod(x, y), binary("real", "nonzero"))
op("fmod_int", lambda lib, x, y: x.fmod(y), [S(T("int64", 3, 4), T("int64", 4, domain="nzint"))], grad=False)
op("remainder_method", lambda lib, x, y: x.remainder(y), binary("real", "nonzero", pairs=BINARY[:4]))
op("div_rounding", lambda lib, x, y: x.div(y, rounding_mode="floor") + lib.div(x, y, rounding_mode="trunc"),
   binary("real", "nonzero", pairs=BINARY[:4]))
op("div_rounding_int", lambda lib, x, y: x.div(y, rounding_mode="trunc") * 10 + x.div(y, rounding_mode="floor"),
   [S(T("int64", 3, 4), T("int64", 4, domain="nzint"))], grad=False)
op("invert_bool", lambda lib, x: ~x, [S(T("bool", 3, 4)), S(T("bool", 4, layout="select")), S(T("bool"))], grad=False)
op("invert_int", lambda lib, x: ~x, [S(T("int64", 3, 4))], grad=False)
for _name, _f in (("and", lambda a, b: a & b), ("or", lambda a, b: a | b), ("xor", lambda a, b: a ^ b)):
    op("bitwise_" + _name, lambda lib, x, y, f=_f: f(x, y),
       [S(T("bool", 3, 4), T("bool", 4)), S(T("int64", 3, 4), T("int64", 3, 4)), S(T("int64", 3), T("bool", 2, 3))],
       grad=False)
    op("bitwise_" + _name + "_number", lambda lib, x, f=_f: f(x, 3) + f(5, x), [S(T("int64", 3, 4))], grad=False)
op("logical_ops", lambda lib, x, y: lib.stack([lib.logical_and(x, y), lib.logical_or(x, y), lib.logical_xor(x, y),
                                                 lib.logical_not(x).expand_as(lib.logical_and(x, y))]),
   [S(T("float32", 3, 4, domain="int"), T("int64", 4)), S(T("bool", 3), T("float64", 3, domain="int"))], grad=False)
def _with_specials(lib, x):
    """x with a NaN, +inf and -inf written in (differentiable ops only)."""
    specials = lib.tensor([float("nan"), float("inf"), -float("inf")], dtype=x.dtype)
    return lib.cat([x.flatten(), specials])


op("isnan_isinf_isfinite", lambda lib, x: lib.stack([lib.isnan(_with_specials(lib, x)), _with_specials(lib, x).isinf(),
                                                      lib.isfinite(_with_specials(lib, x))]), unary(), grad=False)
op("isfinite_int", lambda lib, x: x.isfinite() & ~lib.isnan(x), [S(T("int64", 3))], grad=False)
op("square", lambda lib, x: x.square() + lib.square(x), unary())
op("mask_combination", lambda lib, x: x.masked_fill(~((x > 0) & (x < 1)) | (x == 0), 0.0), unary())


# More reductions --------------------------------------------------------------------------------------

RED_S = [S(a) for a in RED]  # RED = [3x4, 2x3x4, 5, 0x3, 3x4 select, 3x4 expand]
RED_2D = [S(a) for a in RED if len(a.shape) >= 2]
RED_NONEMPTY = [S(a) for a in RED if 0 not in a.shape]
RED_ALL_NONEMPTY = [s for s in RED_ALL if 0 not in s.args[0].shape]
_INF = float("inf")


def _masked(values):
    """x * constant, to put zeros (or other fixed values) at known places of a float input."""
    return lambda lib, x: x * lib.tensor(values)


# prod (its gradient with zeros in a slice: the product of the others for a lone zero, else 0)
op("prod_all", lambda lib, x: x.prod(), RED_ALL)
op("prod_fn", lambda lib, x: lib.prod(x), RED_ALL[:2])
op("prod_dim0", lambda lib, x: x.prod(0), RED_S)
op("prod_dim_neg_keepdim", lambda lib, x: x.prod(-1, keepdim=True), RED_S)
op("prod_fn_dim_kw", lambda lib, x: lib.prod(x, dim=1, keepdim=False), RED_2D[:2])
op("prod_0d_dim", lambda lib, x: x.prod(0), [S(F())])
op("prod_dtype_kw", lambda lib, x: x.prod(dtype=lib.float64), [S(F(3, 4))])
op("prod_one_zero", lambda lib, x: _masked([1.0, 0.0, 1.0, 1.0])(lib, x).prod(), [S(F(4)), S(F(4, layout="select"))])
op("prod_two_zeros", lambda lib, x: _masked([0.0, 1.0, 0.0, 1.0])(lib, x).prod(), [S(F(4))])
op("prod_dim_zeros", lambda lib, x: _masked([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])(lib, x).prod(1),
   [S(F(3, 3)), S(F(3, 3, layout="expand"))])
op("prod_dim0_zeros", lambda lib, x: _masked([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])(lib, x).prod(0),
   [S(F(3, 3))])
op("prod_int_domain", lambda lib, x: x.prod(1), [S(F(3, 4, domain="int")), S(F(2, 3, 4, domain="int"))])
op("prod_int64", lambda lib, x: x.prod(), [S(T("int64", 3, 4)), S(T("int64", 3, 4, layout="select"))], grad=False)
op("prod_int64_dim", lambda lib, x: x.prod(1), [S(T("int64", 3, 4))], grad=False)
op("prod_bool", lambda lib, x: x.prod(), [S(T("bool", 3, 4)), S(T("bool", 3, domain="true"))], grad=False)
op("prod_bool_dim", lambda lib, x: x.prod(0), [S(T("bool", 3, 4))], grad=False)
op("prod_int64_dtype", lambda lib, x: x.prod(dtype=lib.float32), [S(T("int64", 3))], grad=False)

# max / min / amax / amin / argmax / argmin (real values: no ties except along expanded dims)
for _n in ("max", "min"):
    def _extreme(n):
        op(f"{n}_all", lambda lib, x: getattr(x, n)(), RED_ALL_NONEMPTY)
        op(f"{n}_fn_all", lambda lib, x: getattr(lib, n)(x), RED_ALL_NONEMPTY[:2])
        op(f"{n}_dim0_values", lambda lib, x: getattr(x, n)(0).values, RED_NONEMPTY)
        op(f"{n}_dim0_indices", lambda lib, x: getattr(x, n)(0).indices, RED_NONEMPTY, grad=False)
        op(f"{n}_dim_neg_values", lambda lib, x: getattr(x, n)(-1)[0], RED_S)
        op(f"{n}_dim_neg_indices", lambda lib, x: getattr(x, n)(-1)[1], RED_S, grad=False)
        op(f"{n}_dim_keepdim", lambda lib, x: getattr(x, n)(1, keepdim=True).values, RED_2D)
        op(f"{n}_dim_keepdim_indices", lambda lib, x: getattr(x, n)(dim=1, keepdim=True).indices, RED_2D, grad=False)
        op(f"{n}_fn_dim", lambda lib, x: getattr(lib, n)(x, 1).values, [S(F(3, 4)), S(F(2, 3, 4))])
        op(f"{n}_0d_dim", lambda lib, x: getattr(x, n)(0).values, [S(F())])
        op(f"{n}_0d_dim_indices", lambda lib, x: getattr(x, n)(-1, keepdim=True).indices, [S(F())], grad=False)
        op(f"{n}_unpack", lambda lib, x: (lambda v, i: v * 2 + i)(*getattr(x, n)(1)), [S(F(3, 4)), S(F(0, 3))])
        op(f"{n}_middle_dim", lambda lib, x: getattr(x, n)(1).values, [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
        op(f"{n}_int64", lambda lib, x: getattr(x, n)(), [S(T("int64", 3, 4))], grad=False)
        op(f"{n}_int64_dim", lambda lib, x: getattr(x, n)(1).values, [S(T("int64", 3, 4))], grad=False)
        op(f"{n}_bool", lambda lib, x: getattr(x, n)(), [S(T("bool", 3, 4))], grad=False)
        op(f"{n}_bool_dim", lambda lib, x: getattr(x, n)(0).values, [S(T("bool", 3, 4))], grad=False)

        a = "a" + n
        op(f"{a}_all", lambda lib, x: getattr(x, a)(), RED_ALL_NONEMPTY)
        op(f"{a}_fn", lambda lib, x: getattr(lib, a)(x, 1), [S(F(3, 4)), S(F(2, 3, 4))])
        op(f"{a}_dim0", lambda lib, x: getattr(x, a)(0), RED_NONEMPTY)
        op(f"{a}_dim_neg", lambda lib, x: getattr(x, a)(-1), RED_S)
        op(f"{a}_dim_tuple", lambda lib, x: getattr(x, a)((0, -1)), RED_2D[:2] + RED_2D[3:])
        op(f"{a}_dim_tuple_keepdim", lambda lib, x: getattr(x, a)(dim=(0, 2), keepdim=True),
           [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
        op(f"{a}_dim_list_keepdim", lambda lib, x: getattr(x, a)([1], True), RED_2D)
        op(f"{a}_empty_tuple", lambda lib, x: getattr(x, a)(()), [S(F(3, 4)), S(F())])
        op(f"{a}_0d_dim", lambda lib, x: getattr(x, a)(0), [S(F())])
        op(f"{a}_ties", lambda lib, x: getattr(x, a)(1), [S(F(3, 4, domain="int")), S(F(4, 5, domain="nonneg"))],
           gradcheck=False)  # not differentiable at ties: compared with torch's even split
        op(f"{a}_ties_all", lambda lib, x: getattr(x, a)(), [S(F(3, 4, domain="int"))], gradcheck=False)
        op(f"{a}_int64", lambda lib, x: getattr(x, a)(0), [S(T("int64", 3, 4))], grad=False)
        op(f"{a}_bool", lambda lib, x: getattr(x, a)(1), [S(T("bool", 3, 4))], grad=False)

        g = "arg" + n
        op(f"{g}_all", lambda lib, x: getattr(x, g)(), RED_ALL_NONEMPTY, grad=False)
        op(f"{g}_fn", lambda lib, x: getattr(lib, g)(x, 1), [S(F(3, 4)), S(F(2, 3, 4))], grad=False)
        op(f"{g}_dim0", lambda lib, x: getattr(x, g)(0), RED_NONEMPTY, grad=False)
        op(f"{g}_dim_neg_keepdim", lambda lib, x: getattr(x, g)(-1, keepdim=True), RED_S, grad=False)
        op(f"{g}_none_keepdim", lambda lib, x: getattr(x, g)(dim=None, keepdim=True), RED_2D[:2], grad=False)
        op(f"{g}_0d", lambda lib, x: getattr(x, g)(0), [S(F())], grad=False)
        op(f"{g}_ties", lambda lib, x: getattr(x, g)(1), [S(F(4, 6, domain="int")), S(T("int64", 4, 6))], grad=False)
        op(f"{g}_ties_all", lambda lib, x: getattr(x, g)(), [S(F(4, 6, domain="nonneg")), S(T("int64", 7))], grad=False)

    _extreme(_n)

# var / std
def _quiet(fn):
    """``fn`` with warnings silenced (var/std warn when N - correction <= 0: test_var_dof_warning)."""
    import warnings

    def run(lib, *args):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return fn(lib, *args)

    return run


for _n in ("var", "std"):
    def _var(n):
        m = lambda x, *a, **k: getattr(x, n)(*a, **k)  # noqa: E731
        op(f"{n}_all", lambda lib, x: m(x), RED_ALL[:3] + RED_ALL[4:6])
        op(f"{n}_fn", lambda lib, x: getattr(lib, n)(x), RED_ALL[:2])
        op(f"{n}_dim0", lambda lib, x: m(x, 0), RED_NONEMPTY)
        op(f"{n}_dim_neg", _quiet(lambda lib, x: m(x, -1)), RED_S)
        op(f"{n}_dim_tuple", lambda lib, x: m(x, (0, -1)), RED_2D[:2] + RED_2D[3:])
        op(f"{n}_dim_keepdim", lambda lib, x: m(x, 1, keepdim=True), RED_2D[:2] + RED_2D[3:])
        op(f"{n}_correction0", lambda lib, x: m(x, 1, correction=0), [S(F(3, 4)), S(F(2, 3, 4))])
        op(f"{n}_correction2", lambda lib, x: m(x, dim=0, correction=2), [S(F(4, 3)), S(F(5))])
        op(f"{n}_correction_frac", lambda lib, x: m(x, correction=0.5), [S(F(3, 4))])
        op(f"{n}_unbiased_kw", lambda lib, x: m(x, unbiased=False), [S(F(3, 4)), S(F(5))])
        op(f"{n}_unbiased_positional", lambda lib, x: m(x, False), [S(F(3, 4))])
        op(f"{n}_dim_unbiased_keepdim_positional", lambda lib, x: m(x, 1, False, True), [S(F(3, 4))])
        op(f"{n}_fn_dim", lambda lib, x: getattr(lib, n)(x, dim=1, correction=0, keepdim=True), [S(F(3, 4))])
        op(f"{n}_none_keepdim", lambda lib, x: m(x, dim=None, keepdim=True), [S(F(3, 4))])
        op(f"{n}_constant_slice", lambda lib, x: m(x * 0 + 1, 1), [S(F(3, 4))], gradcheck=n == "var")
        op(f"{n}_0d", _quiet(lambda lib, x: m(x)), [S(F())], gradcheck=False)  # one element: NaN (N - correction = 0)
        op(f"{n}_one_element_dim", _quiet(lambda lib, x: m(x, 1)), [S(F(3, 1))], gradcheck=False)
        op(f"{n}_size0_dim", _quiet(lambda lib, x: m(x, 1)), [S(F(0, 3))])
        op(f"{n}_size0_all", _quiet(lambda lib, x: m(x)), [S(F(0, 3))])
        op(f"{n}_correction_too_large", _quiet(lambda lib, x: m(x, 1, correction=5)), [S(F(3, 4))], gradcheck=False)

    _var(_n)

# logsumexp (stable: max + log(sum(exp(x - max))); all -inf slices give -inf)
LSE_ROWS = [[True, True, True], [False, False, False], [True, False, True]]
op("logsumexp_dim1", lambda lib, x: x.logsumexp(1), RED_2D)
op("logsumexp_dim_neg", lambda lib, x: x.logsumexp(-1), RED_S)
op("logsumexp_dim0_keepdim", lambda lib, x: x.logsumexp(0, keepdim=True), RED_S)
op("logsumexp_dim_tuple", lambda lib, x: x.logsumexp((0, 2)), [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
op("logsumexp_dim_all_tuple", lambda lib, x: x.logsumexp(dim=(0, 1), keepdim=True), [S(F(3, 4)), S(F(0, 3))])
op("logsumexp_fn", lambda lib, x: lib.logsumexp(x, 1), [S(F(3, 4))])
op("logsumexp_fn_keepdim", lambda lib, x: lib.logsumexp(x, dim=-1, keepdim=True), [S(F(3, 4))])
op("logsumexp_0d", lambda lib, x: x.logsumexp(0), [S(F())])
op("logsumexp_large", lambda lib, x: (x * 1000).logsumexp(1), [S(F(3, 4)), S(F(3, 4, layout="expand"))])
op("logsumexp_large_negative", lambda lib, x: (x * 1000 - 1e4).logsumexp(0), [S(F(3, 4))])
op("logsumexp_neg_inf_rows", lambda lib, x: lib.where(lib.tensor(LSE_ROWS), x, -_INF).logsumexp(1), [S(F(3, 3))],
   gradcheck=False)  # -inf outputs: finite differences give NaN
op("logsumexp_inf", lambda lib, x: lib.where(lib.tensor(LSE_ROWS), x, _INF).logsumexp(1), [S(F(3, 3))], grad=False)
op("logsumexp_int64", lambda lib, x: x.logsumexp(1), [S(T("int64", 3, 4))], grad=False)
op("logsumexp_bool", lambda lib, x: x.logsumexp(0), [S(T("bool", 3))], grad=False)

# norm (linalg.vector_norm: p = 0, 1, 2, inf, -inf, 'fro', other numbers)
NORM_P = [("p1", 1), ("p3", 3), ("p1_5", 1.5), ("p0_5", 0.5), ("pinf", _INF), ("pninf", -_INF), ("pneg1", -1),
          ("p0", 0), ("p2_float", 2.0)]
for _label, _p in NORM_P:
    def _norm(label, p):
        empty_ok = p >= 0 and p != _INF
        op(f"norm_{label}", lambda lib, x: x.norm(p), NORM if empty_ok else NORM[:3] + NORM[4:])
        op(f"norm_{label}_dim", lambda lib, x: x.norm(p, dim=1), RED_2D)
        op(f"norm_{label}_dim_neg_keepdim", lambda lib, x: x.norm(p, -1, True), RED_S if empty_ok else RED_S[:3] + RED_S[4:])

    _norm(_label, _p)
op("norm_p1_empty_slice_dim", lambda lib, x: x.norm(_INF, dim=1), [S(F(0, 3))])  # no reduction over the empty dim
op("norm_dim_tuple", lambda lib, x: x.norm(dim=(0, 2)), [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
op("norm_fro_dim", lambda lib, x: x.norm("fro", dim=1), RED_2D)
op("norm_fro_dims_keepdim", lambda lib, x: x.norm(p="fro", dim=(0, 1), keepdim=True), RED_2D[:1] + RED_2D[2:])
op("norm_none_p", lambda lib, x: x.norm(None, 0), [S(F(3, 4))])
op("norm_fn_dim", lambda lib, x: lib.norm(x, 3, 1), [S(F(3, 4))])
op("norm_fn_kw", lambda lib, x: lib.norm(x, p=1, dim=(1,), keepdim=True), [S(F(3, 4))])
op("norm_dtype_kw", lambda lib, x: x.norm(dtype=lib.float64), [S(F(3, 4))])
op("norm_0d_dim", lambda lib, x: x.norm(1, dim=0), [S(F())])
op("norm_p1_at_zero", lambda lib, x: x.norm(1), [S(F(3, 4, domain="int"))], gradcheck=False)  # kink at 0
op("norm_p3_at_zero", lambda lib, x: x.norm(3, dim=-1), [S(F(3, 4, domain="int")), S(F(3, domain="zero"))])
op("norm_p1_5_at_zero", lambda lib, x: x.norm(1.5, dim=0), [S(F(3, 4, domain="int"))], gradcheck=False)
op("norm_p0_5_at_zero", lambda lib, x: x.norm(0.5, dim=1), [S(F(3, 4, domain="int"))], gradcheck=False)
op("norm_dim_at_zero", lambda lib, x: x.norm(dim=1), [S(F(3, 4, domain="zero"))], gradcheck=False)
op("norm_pinf_ties", lambda lib, x: x.norm(_INF, dim=1), [S(F(3, 4, domain="nzint"))], gradcheck=False)

# cumsum (gradient: the cumulative sum from the other end)
op("cumsum_dim0", lambda lib, x: x.cumsum(0), RED_S)
op("cumsum_dim_neg", lambda lib, x: x.cumsum(-1), RED_S)
op("cumsum_middle", lambda lib, x: x.cumsum(dim=1), [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select"))])
op("cumsum_fn", lambda lib, x: lib.cumsum(x, 1), [S(F(3, 4))])
op("cumsum_fn_kw", lambda lib, x: lib.cumsum(x, dim=0), [S(F(3, 4))])
op("cumsum_0d", lambda lib, x: x.cumsum(0), [S(F())])
op("cumsum_0d_neg", lambda lib, x: x.cumsum(-1), [S(F())])
op("cumsum_dtype", lambda lib, x: x.cumsum(1, dtype=lib.float64), [S(F(3, 4))])
op("cumsum_twice", lambda lib, x: x.cumsum(0).cumsum(-1), [S(F(3, 4))])
op("cumsum_int64", lambda lib, x: x.cumsum(0), [S(T("int64", 3, 4)), S(T("int64", 4, layout="select"))], grad=False)
op("cumsum_bool", lambda lib, x: x.cumsum(1), [S(T("bool", 3, 4))], grad=False)
op("cumsum_int64_dtype", lambda lib, x: x.cumsum(1, dtype=lib.float32), [S(T("int64", 3, 4))], grad=False)

# all / any over dims
LOGICAL_ND = [s for s in LOGICAL if s.args[0].shape]
for _n in ("all", "any"):
    def _logical(n):
        op(f"{n}_dim_neg", lambda lib, x: getattr(x, n)(-1), LOGICAL, grad=False)
        op(f"{n}_dim0_keepdim", lambda lib, x: getattr(x, n)(0, keepdim=True), LOGICAL_ND, grad=False)
        op(f"{n}_dim_tuple", lambda lib, x: getattr(x, n)((0, 1)), [s for s in LOGICAL if len(s.args[0].shape) == 2],
           grad=False)
        op(f"{n}_fn_dim", lambda lib, x: getattr(lib, n)(x, dim=1), LOGICAL_ND[:3], grad=False)

    _logical(_n)


# More views ------------------------------------------------------------------------------------------

V3 = [F(2, 3, 4), F(2, 3, 4, layout="t"), F(2, 3, 4, layout="select"), F(2, 3, 4, layout="step")]
op("transpose", lambda lib, x: x.transpose(0, 2), [S(a) for a in V3] + [S(F(0, 3, 2))])
op("transpose_neg_dims", lambda lib, x: x.transpose(-1, -2), [S(a) for a in V3])
op("transpose_0d", lambda lib, x: x.transpose(0, -1), [S(F())])
op("swapaxes", lambda lib, x: lib.swapaxes(x, 0, 1), [S(F(2, 3, 4))])
op("permute", lambda lib, x: x.permute(2, 0, 1), [S(a) for a in V3])
op("permute_tuple_fn", lambda lib, x: lib.permute(x, (1, -1, 0)), [S(F(2, 3, 4)), S(F(0, 2, 3))])
op("t_2d", lambda lib, x: x.t(), [S(F(3, 4)), S(F(3, 4, layout="t")), S(F(3, 4, layout="select"))])
op("t_1d_0d", lambda lib, x: lib.t(x), [S(F(5)), S(F())])
op("T", lambda lib, x: x.T, [S(F(3, 4)), S(F(3, 4, layout="step"))])
op("mT", lambda lib, x: x.mT, [S(a) for a in V3])
op("unsqueeze", lambda lib, x: x.unsqueeze(1), [S(F(3, 4)), S(F(3)), S(F(3, 4, layout="t"))])
op("unsqueeze_neg", lambda lib, x: lib.unsqueeze(x, -1), [S(F(3, 4)), S(F()), S(F(0, 2))])
op("squeeze_all", lambda lib, x: x.squeeze(), [S(F(3, 1, 4, 1)), S(F(1)), S(F()), S(F(1, 3, layout="select"))])
op("squeeze_dim", lambda lib, x: x.squeeze(1), [S(F(3, 1, 4)), S(F(3, 2, 4)), S(F(3, 1, layout="t"))])
op("squeeze_dims", lambda lib, x: lib.squeeze(x, (1, -1)), [S(F(3, 1, 4, 1)), S(F(1, 1, 2))])
op("narrow", lambda lib, x: x.narrow(1, 1, 2), [S(a) for a in V3])
op("narrow_neg_start", lambda lib, x: lib.narrow(x, -1, -3, 2), [S(F(2, 5)), S(F(3, 4, layout="t"))])
op("flatten", lambda lib, x: x.flatten(), [S(a) for a in V3] + [S(F()), S(F(0, 3))])
op("flatten_range", lambda lib, x: lib.flatten(x, 1, -1), [S(a) for a in V3])
op("unflatten", lambda lib, x: x.unflatten(1, (2, -1)), [S(F(3, 4)), S(F(3, 4, layout="t")), S(F(2, 4, layout="step"))])
op("view_as_reshape_as", lambda lib, x, y: x.view_as(y) + x.reshape_as(y), [S(F(3, 4), F(2, 6)), S(F(4, 3), F(12))])
op("expand_as", lambda lib, x, y: x.expand_as(y), [S(F(3, 1), F(3, 4)), S(F(4), F(2, 3, 4))])
op("split_size", lambda lib, x: lib.cat([p * (i + 1) for i, p in enumerate(x.split(2))]),
   [S(F(5, 3)), S(F(5, 3, layout="t")), S(F(4, 2, layout="select"))])
op("split_sizes_dim", lambda lib, x: x.split([1, 3], dim=1)[1], [S(F(2, 4)), S(F(2, 4, layout="step"))])
op("split_unused_outputs", lambda lib, x: x.split(1, 0)[1] * 2, [S(F(3, 4))])
op("chunk", lambda lib, x: lib.cat([c.sum(0, keepdim=True) * (i + 1) for i, c in enumerate(x.chunk(3, 0))]),
   [S(F(7, 2)), S(F(3, 2)), S(F(2, 3, layout="t"))])
op("chunk_fn", lambda lib, x: lib.chunk(x, 2, -1)[1], [S(F(3, 5))])
op("unbind", lambda lib, x: x.unbind(1)[2] * 3 + x.unbind(1)[0], [S(F(2, 3)), S(F(2, 3, layout="t"))])
op("unbind_fn", lambda lib, x: lib.unbind(x)[1], [S(F(3)), S(F(2, 3, 4, layout="select"))])
op("as_strided", lambda lib, x: x.as_strided((2, 2), (1, 2), 1), [S(F(3, 4))])
op("as_strided_overlap", lambda lib, x: lib.as_strided(x, (3, 3), (1, 1)), [S(F(6))])
op("view_chain", lambda lib, x: x.t().unsqueeze(0)[:, 1:].flatten(1).narrow(1, 0, 3), [S(F(3, 4))])
op("view_of_view_grad", lambda lib, x: (x * 2).t()[::2] * x[0, 0], [S(F(3, 4))])


# Joining, splitting and gathering --------------------------------------------------------------------

op("cat", lambda lib, x, y: lib.cat([x, y]), [S(F(2, 3), F(4, 3)), S(F(2, 3, layout="t"), F(1, 3)), S(F(0, 3), F(2, 3)),
                                              S(F(2, 3, layout="select"), F(2, 3, layout="expand"))])
op("cat_dim", lambda lib, x, y: lib.cat((x, y, x), dim=-1), [S(F(2, 3), F(2, 1)), S(F(2, 3, 2), F(2, 3, 4, layout="t"))])
op("cat_promote", lambda lib, x, y: lib.cat([x, y]), [S(T("float32", 2), T("float64", 3)), S(T("int64", 2), T("float32", 3))])
op("cat_int", lambda lib, x, y: lib.concat([x, y], 0), [S(T("int64", 2, 2), T("int64", 1, 2)), S(T("bool", 2), T("bool", 1))],
   grad=False)
op("cat_legacy_empty", lambda lib, x, y: lib.cat([x, y], 1), [S(F(0), F(2, 3))])
op("cat_one_input_no_grad", lambda lib, x: lib.cat([x, lib.ones(2, 3, dtype=x.dtype)]), [S(F(1, 3))])


def _index(lib, data):
    """An int64 index tensor (built the same way in both libraries)."""
    return lib.tensor(data, dtype=lib.int64)


def _index_strided(lib, data):
    """``data`` as a non-contiguous int64 index: column 0 of pairs (each value twice)."""
    return lib.tensor([[v, v] for v in data], dtype=lib.int64).select(1, 0)


PAIRS_SAME = [
    (F(3, 4), F(3, 4)), (F(), F()), (F(0, 3), F(0, 3)), (F(4, layout="select"), F(4)),
    (F(3, 4, layout="select"), F(3, 4, layout="expand")), (F(3, 4, layout="t"), F(3, 4)),
]
op("stack", lambda lib, x, y: lib.stack([x, y]), binary(pairs=PAIRS_SAME))
op("stack_dim1", lambda lib, x, y: lib.stack((x, y, x), dim=1), binary(pairs=PAIRS_SAME[:1] + PAIRS_SAME[2:]))
op("stack_dim_neg", lambda lib, x, y: lib.stack([x, y], -1), binary(pairs=PAIRS_SAME))
op("stack_single", lambda lib, x: lib.stack([x], 0), unary(shapes=UNARY[:4]))
op("stack_promote", lambda lib, x, y: lib.stack([x, y]),
   [S(T("float32", 3), T("float64", 3)), S(T("int64", 2, 3), T("float32", 2, 3))])
op("stack_int_bool", lambda lib, x, y: lib.stack([x, y], 1), [S(T("int64", 3), T("bool", 3)), S(T("bool", 2), T("bool", 2))],
   grad=False)

FLIP_SHAPES = [F(3, 4), F(5), F(2, 3, 4), F(0, 3), F(3, 4, layout="select"), F(3, 4, layout="expand"), F(3, 4, layout="t")]
op("flip0", lambda lib, x: x.flip(0), unary(shapes=FLIP_SHAPES))
op("flip_last", lambda lib, x: x.flip(-1), unary(shapes=FLIP_SHAPES))
op("flip_all", lambda lib, x: lib.flip(x, [0, -1]), unary(shapes=[F(3, 4), F(2, 3, 4), F(0, 3), F(3, 4, layout="select")]))
op("flip_varargs", lambda lib, x: x.flip(2, 0), unary(shapes=[F(2, 3, 4), F(2, 3, 4, layout="expand")]))
op("flip_kw", lambda lib, x: lib.flip(x, dims=(1,)), unary(shapes=[F(3, 4)]))
op("flip_none", lambda lib, x: x.flip([]), unary(shapes=[F(3, 4), F()]))
op("flip_0d", lambda lib, x: x.flip(0), unary(shapes=[F()]))
op("flip_int_bool", lambda lib, x: x.flip(1), [S(T("int64", 2, 3)), S(T("bool", 2, 3))], grad=False)

REPEAT_SHAPES = [F(3, 4), F(2, 1, 3), F(0, 3), F(3, 4, layout="select"), F(3, 4, layout="expand"), F(3, 4, layout="t")]
op("repeat", lambda lib, x: x.repeat(2, 3, *([1] * (x.dim() - 2))), unary(shapes=REPEAT_SHAPES))
op("repeat_leading", lambda lib, x: x.repeat(2, 1, 3), unary(shapes=[F(3, 4), F(4), F(4, layout="select"), F(3, 4, layout="expand")]))
op("repeat_list", lambda lib, x: x.repeat([3, 2]), unary(shapes=[F(4), F(2, 3)]))
op("repeat_ones", lambda lib, x: x.repeat(1, 1), unary(shapes=[F(3, 4)]))
op("repeat_zero", lambda lib, x: x.repeat(0, 2), unary(shapes=[F(3, 4), F(4)]))
op("repeat_0d", lambda lib, x: x.repeat(2, 3), unary(shapes=[F()]))
op("repeat_0d_none", lambda lib, x: x.repeat(()), unary(shapes=[F()]))
op("repeat_int_bool", lambda lib, x: x.repeat(2, 2), [S(T("int64", 3)), S(T("bool", 2, 3))], grad=False)

TRI_SHAPES = [F(4, 4), F(3, 5), F(5, 3), F(2, 3, 4), F(0, 3), F(3, 0), F(2, 0, 3), F(4, 4, layout="select"),
              F(3, 4, layout="expand"), F(3, 4, layout="t"), F(2, 3, 4, layout="t")]
op("tril", lambda lib, x: x.tril(), unary(shapes=TRI_SHAPES))
op("triu", lambda lib, x: x.triu(), unary(shapes=TRI_SHAPES))
for _k in (1, -1, 2, -2, 7, -7):
    op(f"tril_diag{_k}", lambda lib, x, k=_k: lib.tril(x, k), unary(shapes=[F(4, 4), F(3, 5), F(2, 5, 3)]))
    op(f"triu_diag{_k}", lambda lib, x, k=_k: lib.triu(x, diagonal=k), unary(shapes=[F(4, 4), F(3, 5), F(2, 5, 3)]))
op("tril_triu_int_bool", lambda lib, x: (x.tril(1), x.triu(-1))[0], [S(T("int64", 3, 4)), S(T("bool", 4, 3))],
   grad=False)
op("triu_int_bool", lambda lib, x: x.triu(1), [S(T("int64", 3, 4)), S(T("bool", 2, 4, 3))], grad=False)

MASKS = [
    (F(3, 4), T("bool", 3, 4)),
    (F(3, 4), T("bool", 4)),  # broadcast mask
    (F(3, 4), T("bool", 3, 1)),
    (F(4), T("bool", 3, 4)),  # the mask broadcasts self (out of place only)
    (F(), T("bool")),
    (F(3, 4), T("bool")),
    (F(0, 3), T("bool", 3)),
    (F(3, 4, layout="select"), T("bool", 3, 4, layout="select")),
    (F(3, 4, layout="expand"), T("bool", 3, 4, layout="expand")),
    (F(3, 4, layout="t"), T("bool", 3, 4, layout="t")),
]
op("masked_fill", lambda lib, x, m: x.masked_fill(m, -1.5), [S(*p) for p in MASKS])
op("masked_fill_int_value", lambda lib, x, m: lib.masked_fill(x, m, 2), [S(*p) for p in MASKS[:3]])
op("masked_fill_kw", lambda lib, x, m: lib.masked_fill(x, mask=m, value=0.25), [S(*MASKS[0])])
op("masked_fill_tensor_value", lambda lib, x, m, v: x.masked_fill(m, v),
   [S(*p, F()) for p in MASKS[:6]] + [S(*MASKS[7], F())])
op("masked_fill_tensor_value_f64_into_f32", lambda lib, x, m, v: x.masked_fill(m, v),
   [S(T("float32", 3, 4), T("bool", 4), T("float64"))])
op("masked_fill_tensor_value_const", lambda lib, x, m, v: x.masked_fill(m, v),
   [S(F(3, 4), T("bool", 4), T("int64"))])
op("masked_fill_int_bool", lambda lib, x, m: x.masked_fill(m, 2.7),
   [S(T("int64", 3, 4), T("bool", 4)), S(T("bool", 3), T("bool", 3))], grad=False)
op("masked_fill_", lambda lib, x, m: _inplace(lambda y: y.masked_fill_(m, 0.5))(lib, x),
   [S(*p) for p in MASKS if p[0].shape != (4,)])
op("masked_fill__tensor_value", lambda lib, x, m, v: _inplace(lambda y: y.masked_fill_(m, v))(lib, x),
   [S(F(3, 4), T("bool", 4), F()), S(F(), T("bool"), F()), S(F(3, 4, layout="select"), T("bool", 3, 1), F())])
op("masked_fill__int", lambda lib, x, m: _inplace(lambda y: y.masked_fill_(m, 3))(lib, x),
   [S(T("int64", 3, 4), T("bool", 4))], grad=False)

# gather: out[i][j] = x[i][idx[i][j]] (dim 1); duplicates accumulate in the gradient.
op("gather_dim1", lambda lib, x: x.gather(1, _index(lib, [[0, 3, 3], [2, 1, 0]])),
   unary(shapes=[F(3, 4), F(2, 4), F(3, 4, layout="select"), F(3, 4, layout="expand"), F(3, 4, layout="t")]))
op("gather_dim0", lambda lib, x: lib.gather(x, 0, _index(lib, [[2, 0, 1, 1], [0, 0, 2, 1]])),
   unary(shapes=[F(3, 4), F(3, 4, layout="select"), F(3, 4, layout="expand")]))
op("gather_dim_neg_kw", lambda lib, x: lib.gather(x, dim=-1, index=_index(lib, [[1], [0], [1]])), unary(shapes=[F(3, 2)]))
op("gather_3d", lambda lib, x: x.gather(1, _index(lib, [[[2, 0]], [[1, 1]]])), unary(shapes=[F(2, 3, 4), F(2, 3, 4, layout="select")]))
op("gather_index_strided", lambda lib, x: x.gather(1, _index(lib, [[0, 1, 2], [2, 2, 1], [3, 0, 0]]).t()),
   unary(shapes=[F(3, 4), F(3, 4, layout="select")]))
op("gather_index_expanded", lambda lib, x: x.gather(1, _index(lib, [[3], [1]]).expand(2, 5)), unary(shapes=[F(2, 4)]))
op("gather_index_longer", lambda lib, x: x.gather(1, _index(lib, [[0, 1, 1, 0, 1, 0]])), unary(shapes=[F(3, 2)]))
op("gather_0d", lambda lib, x: x.gather(0, _index(lib, 0)), unary(shapes=[F()]))
op("gather_0d_self_1d_index", lambda lib, x: x.gather(0, _index(lib, [0, 0, 0])), unary(shapes=[F()]))
op("gather_1d_self_0d_index", lambda lib, x: x.gather(0, _index(lib, 3)), unary(shapes=[F(5), F(5, layout="select")]))
op("gather_empty_index", lambda lib, x: x.gather(1, _index(lib, [[], []])), unary(shapes=[F(3, 4)]))
op("gather_size0_self", lambda lib, x: x.gather(1, _index(lib, [[0, 2]])[:0]), unary(shapes=[F(0, 3)]))
op("gather_int_bool", lambda lib, x: x.gather(1, _index(lib, [[0, 2], [1, 1]])), [S(T("int64", 2, 3)), S(T("bool", 2, 3))],
   grad=False)

# scatter: no duplicate targets (which position wins is unspecified in PyTorch).
_SC_IDX = [[0, 2], [3, 1], [1, 0]]
op("scatter_src", lambda lib, x, s: x.scatter(1, _index(lib, _SC_IDX), s),
   [S(F(3, 4), F(3, 2)), S(F(3, 4, layout="select"), F(3, 2, layout="select")),
    S(F(3, 4, layout="expand"), F(3, 2)), S(F(3, 4), F(3, 2, layout="expand"))])
op("scatter_src_larger", lambda lib, x, s: x.scatter(1, _index(lib, _SC_IDX), s), [S(F(3, 4), F(4, 5))], grad=False)
op("scatter_src_dim0", lambda lib, x, s: lib.scatter(x, 0, _index(lib, [[2, 0, 1, 0]]), s), [S(F(3, 4), F(1, 4))])
op("scatter_src_kw", lambda lib, x, s: x.scatter(dim=-1, index=_index(lib, [[1], [0]]), src=s), [S(F(2, 3), F(2, 1))])
op("scatter_index_strided", lambda lib, x, s: x.scatter(1, _index(lib, [[0, 3, 1], [2, 1, 0]]).t(), s), [S(F(3, 4), F(3, 2))])
op("scatter_value", lambda lib, x: x.scatter(1, _index(lib, _SC_IDX), 2.5),
   unary(shapes=[F(3, 4), F(3, 4, layout="select"), F(3, 4, layout="expand")]))
op("scatter_value_kw", lambda lib, x: lib.scatter(x, 1, _index(lib, [[1, 1], [0, 2]]), value=-1), unary(shapes=[F(2, 3)]))
op("scatter_0d", lambda lib, x, s: x.scatter(0, _index(lib, 0), s), [S(F(), F())])
op("scatter_0d_value", lambda lib, x: x.scatter(0, _index(lib, 0), 3.0), unary(shapes=[F()]))
op("scatter_empty_index", lambda lib, x, s: x.scatter(1, _index(lib, [[], []]), s), [S(F(3, 4), F(2, 0))])
op("scatter_int_bool", lambda lib, x, s: x.scatter(1, _index(lib, [[0, 2], [1, 0]]), s),
   [S(T("int64", 2, 3), T("int64", 2, 2)), S(T("bool", 2, 3), T("bool", 2, 2))], grad=False)
op("scatter_value_int", lambda lib, x: x.scatter(1, _index(lib, [[0, 2], [1, 0]]), 2.7), [S(T("int64", 2, 3))], grad=False)
op("scatter_", lambda lib, x, s: _inplace(lambda y: y.scatter_(1, _index(lib, _SC_IDX), s))(lib, x),
   [S(F(3, 4), F(3, 2)), S(F(3, 4, layout="select"), F(3, 2, layout="expand"))])
op("scatter__value", lambda lib, x: _inplace(lambda y: y.scatter_(0, _index(lib, [[1, 0, 2, 2]]), value=0.5))(lib, x),
   unary(shapes=[F(3, 4), F(3, 4, layout="select")]))

_SA_IDX = [[0, 0, 3], [2, 2, 2], [1, 3, 1]]  # duplicates add up
op("scatter_add", lambda lib, x, s: x.scatter_add(1, _index(lib, _SA_IDX), s),
   [S(F(3, 4), F(3, 3)), S(F(3, 4, layout="select"), F(3, 3, layout="select")), S(F(3, 4, layout="expand"), F(3, 3)),
    S(F(3, 4), F(3, 3, layout="expand")), S(F(3, 4, layout="t"), F(3, 3, layout="t"))])
op("scatter_add_dim0", lambda lib, x, s: lib.scatter_add(x, 0, _index(lib, [[0, 0, 1, 2], [0, 2, 2, 2]]), s),
   [S(F(3, 4), F(2, 4))])
op("scatter_add_index_expanded", lambda lib, x, s: x.scatter_add(1, _index(lib, [[2], [0]]).expand(2, 3), s),
   [S(F(2, 4), F(2, 3))])
op("scatter_add_0d", lambda lib, x, s: x.scatter_add(0, _index(lib, [0, 0]), s), [S(F(), F(2))])
op("scatter_add_empty_index", lambda lib, x, s: x.scatter_add(0, _index(lib, []), s), [S(F(3), F(0))])
op("scatter_add_int", lambda lib, x, s: x.scatter_add(1, _index(lib, [[0, 0], [1, 1]]), s),
   [S(T("int64", 2, 3), T("int64", 2, 2))], grad=False)
op("scatter_add_", lambda lib, x, s: _inplace(lambda y: y.scatter_add_(1, _index(lib, _SA_IDX), s))(lib, x),
   [S(F(3, 4), F(3, 3)), S(F(3, 4, layout="select"), F(3, 3, layout="expand"))])

# index_select: duplicates, 0-dim index, empty index, strided index.
_IS_SHAPES = [F(3, 4), F(4, 4), F(3, 4, layout="select"), F(3, 4, layout="expand"), F(3, 4, layout="t")]
op("index_select_dim0", lambda lib, x: x.index_select(0, _index(lib, [2, 0, 2, 1])), unary(shapes=_IS_SHAPES))
op("index_select_dim1", lambda lib, x: lib.index_select(x, 1, _index(lib, [3, 3, 0])), unary(shapes=_IS_SHAPES))
op("index_select_dim_neg_kw", lambda lib, x: lib.index_select(x, dim=-1, index=_index(lib, [1])),
   unary(shapes=[F(2, 3, 4), F(2, 3, 4, layout="select")]))
op("index_select_0d_index", lambda lib, x: x.index_select(1, _index(lib, 2)), unary(shapes=_IS_SHAPES[:1]))
op("index_select_empty_index", lambda lib, x: x.index_select(0, _index(lib, [])), unary(shapes=[F(3, 4), F(0, 4)]))
op("index_select_strided_index", lambda lib, x: x.index_select(1, _index_strided(lib, [0, 3, 1])), unary(shapes=_IS_SHAPES))
op("index_select_1d", lambda lib, x: x.index_select(0, _index(lib, [4, 0, 0, 2])), unary(shapes=[F(5), F(5, layout="select")]))
op("index_select_0d_self", lambda lib, x: x.index_select(0, _index(lib, [0])), unary(shapes=[F()]))
op("index_select_int_bool", lambda lib, x: x.index_select(1, _index(lib, [2, 0])), [S(T("int64", 2, 3)), S(T("bool", 2, 3))],
   grad=False)

op("index_add", lambda lib, x, s: x.index_add(1, _index(lib, [3, 0, 3]), s),
   [S(F(2, 4), F(2, 3)), S(F(2, 4, layout="select"), F(2, 3, layout="expand")), S(F(2, 4, layout="expand"), F(2, 3))])
op("index_add_alpha", lambda lib, x, s: lib.index_add(x, 0, _index(lib, [1, 1]), s, alpha=-2.0), [S(F(3, 4), F(2, 4))])
op("index_add_strided_index", lambda lib, x, s: x.index_add(0, _index_strided(lib, [2, 0]), s), [S(F(3, 4), F(2, 4))])
op("index_add_0d", lambda lib, x, s: x.index_add(0, _index(lib, [0]), s), [S(F(), F())])
op("index_add_int", lambda lib, x, s: x.index_add(0, _index(lib, [1, 1]), s, alpha=3), [S(T("int64", 3), T("int64", 2))],
   grad=False)
op("index_add_", lambda lib, x, s: _inplace(lambda y: y.index_add_(1, _index(lib, [0, 0, 2]), s))(lib, x),
   [S(F(2, 4), F(2, 3)), S(F(2, 4, layout="select"), F(2, 3))])

# Double backward through the copy ops (their backward is built from differentiable ops).
def _double_backward(fn):
    def run(lib, x):
        with lib.enable_grad():  # gradcheck's numerical pass runs under no_grad
            if not x.requires_grad:  # forward test / numerical pass: differentiate w.r.t. a fresh leaf
                x = x.detach().clone().requires_grad_(True)
            y = fn(lib, x)
            (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        return g
    return run


op("double_backward_gather", _double_backward(lambda lib, x: x.gather(1, _index(lib, [[0, 0, 2], [1, 3, 3]]))),
   unary(shapes=[F(2, 4)]))
op("double_backward_index_select", _double_backward(lambda lib, x: x.index_select(0, _index(lib, [1, 1, 0]))),
   unary(shapes=[F(2, 4)]))
op("double_backward_scatter_add", _double_backward(lambda lib, x: x.scatter_add(1, _index(lib, [[0, 0], [3, 1]]), x[:, :2] * 2)),
   unary(shapes=[F(2, 4)]))
op("double_backward_masked_fill", _double_backward(lambda lib, x: x.masked_fill(x > 0, 1.0)),
   unary(shapes=[F(3, 4)]))
op("double_backward_flip_repeat_tril", _double_backward(lambda lib, x: lib.stack([x.flip(0).repeat(2, 1).tril(), x.triu().repeat(2, 1)])),
   unary(shapes=[F(3, 3)]))



# Indexing ----------------------------------------------------------------------------------------------

def _idx(lib, *values):
    return lib.tensor(list(values))


op("getitem_basic", lambda lib, x: x[1:, ::2, None, -1], [S(F(3, 4, 5)), S(F(3, 4, 5, layout="t"))])
op("getitem_ellipsis", lambda lib, x: x[..., 1] + x[0, ...].sum(0), [S(F(3, 3)), S(F(3, 3, layout="step"))])
op("getitem_neg_step_slices", lambda lib, x: x[-2:, -3:-1], [S(F(3, 4)), S(F(3, 4, layout="select"))])
op("getitem_out_of_range_slice", lambda lib, x: x[2:10, 5:], [S(F(3, 4))])
op("getitem_list", lambda lib, x: x[[0, 2, 2]], [S(F(3, 4)), S(F(3, 4, layout="t")), S(F(3))])
op("getitem_tensor_2d", lambda lib, x: x[_idx(lib, [0, 1], [2, -1])], [S(F(3, 4)), S(F(3, 2, layout="expand"))])
op("getitem_adv_last_dim", lambda lib, x: x[..., [1, 0, 1]], [S(F(2, 3, 4)), S(F(2, 3, 4, layout="t"))])
op("getitem_adv_pair", lambda lib, x: x[[0, 1], :, [1, 2]], [S(F(3, 4, 5)), S(F(3, 4, 5, layout="step"))])
op("getitem_adv_adjacent", lambda lib, x: x[:, [0, 1], [1, 2]], [S(F(3, 4, 5))])
op("getitem_adv_broadcast", lambda lib, x: x[:, [[0], [1]], [1, 2]], [S(F(3, 4, 5))])
op("getitem_int_and_adv", lambda lib, x: x[0, :, [1, 2]], [S(F(3, 4, 5))])
op("getitem_mask", lambda lib, x: x[x > 0.3], [S(F(3, 4)), S(F(3, 4, layout="t")), S(F())])
op("getitem_mask_partial", lambda lib, x: x[x[:, 0] > 0], [S(F(4, 3)), S(F(4, 3, layout="select"))])
op("getitem_bool_list", lambda lib, x: x[[True, False, True]], [S(F(3, 2))])
op("getitem_true_false", lambda lib, x: x[True] * 2 + x[None], [S(F(2, 3))])
op("getitem_false", lambda lib, x: x[False], [S(F(2, 3))])
op("getitem_0d_index_tensor", lambda lib, x: x[lib.tensor(1)], [S(F(3, 4))])
op("getitem_int_tensor", lambda lib, x: x[[1, 0]], [S(T("int64", 3, 2)), S(T("bool", 3))], grad=False)
op("getitem_empty_index", lambda lib, x: x[[]], [S(F(3, 4))])


def _set(index, value_fn):
    def fn(lib, x, *vs):
        y = x * 1
        y[index] = value_fn(lib, x, *vs)
        return y
    return fn


op("setitem_number_slice", _set((0, slice(1, 3)), lambda lib, x: 7.0), [S(F(3, 4)), S(F(3, 4, layout="t"))])
op("setitem_tensor_broadcast", _set((slice(None), 1), lambda lib, x, v: v), [S(F(3, 4), F(3)), S(F(3, 4), F(1)),
                                                                           S(F(3, 4, layout="t"), F(3, layout="select"))])
op("setitem_leading_ones", _set(0, lambda lib, x, v: v), [S(F(3, 4), F(1, 4))])
op("setitem_list", _set(([0, 2],), lambda lib, x, v: v), [S(F(3, 4), F(2, 4)), S(F(3, 4), F(4))])
op("setitem_mask_number", _set(None, lambda lib, x: 0.0), [])  # placeholder replaced below
OPS.pop()
op("setitem_mask", lambda lib, x: (lambda y: (y.__setitem__(y > 0.5, 0.0), y)[1])(x * 2), [S(F(3, 4)), S(F(5))])
op("setitem_mask_values", lambda lib, x: (lambda y: (y.__setitem__(x > 0.5, x[x > 0.5] ** 2), y)[1])(x * 1),
   [S(F(3, 4))])
op("setitem_adv_pair", _set(([0, 1], slice(None), [1, 2]), lambda lib, x, v: v), [S(F(3, 4, 5), F(2, 4)), S(F(3, 4, 5), F(4))])
op("setitem_dtype_cast", _set(1, lambda lib, x, v: v), [S(T("float32", 3, 2), T("float64", 2))])
op("setitem_int_tensor", lambda lib, x: (lambda y: (y.__setitem__((0, [1]), 7), y)[1])(x * 1), [S(T("int64", 2, 3))],
   grad=False)
op("index_put_accumulate", lambda lib, x, v: (x * 1).index_put_((lib.tensor([0, 0, 2]),), v, accumulate=True),
   [S(F(3, 2), F(3, 2)), S(F(3, 2), F(2))])
op("index_put_functional", lambda lib, x, v: x.index_put((lib.tensor([1, 0]),), v), [S(F(3, 2), F(2, 2))])
op("nonzero", lambda lib, x: x.nonzero(), [S(T("int64", 3, 4, domain="int")), S(T("bool", 5)), S(T("bool"))], grad=False)


# Linear algebra ----------------------------------------------------------------------------------------

MATMUL = [
    S(F(3), F(3)),
    S(F(3), F(3, 4)),
    S(F(2, 3), F(3)),
    S(F(2, 3), F(3, 4)),
    S(F(2, 1, 3, 4), F(5, 4, 2)),
    S(F(2, 2, 3), F(2, 3, 4)),
    S(F(2, 2, 3), F(3, 4)),  # folded into one mm
    S(F(2, 3), F(5, 3, 4)),  # folded, transposed
    S(F(3), F(5, 3, 4)),
    S(F(5, 2, 3), F(3)),
    S(F(1, 2, 3), F(5, 3, 4)),
    S(F(2, 5, 2, 3), F(3, 4)),
    S(F(7, 13), F(13, 17)),  # edge tiles of the kernel
    S(F(0, 3), F(3, 4)),
    S(F(2, 0), F(0, 3)),  # K = 0: zeros
    S(F(2, 3), F(3, 0)),
    S(F(0), F(0)),
    S(F(0, 2, 3), F(3, 4)),
    S(F(3, 0, 2), F(3, 2, 4)),
    S(F(2, 3, layout="select"), F(3, 4, layout="expand")),
    S(F(3, layout="select"), F(3, 4, layout="select")),
    S(F(2, 3, 4, layout="select"), F(4, 2)),
    S(F(2, 3, 4, layout="expand"), F(2, 4, 3, layout="select")),
    S(F(4, layout="expand"), F(2, 4, 3, layout="expand")),
]
MATMUL_T = [S(F(2, 3, layout="t"), F(3, 4)), S(F(2, 3), F(3, 4, layout="t")), S(F(5, 7, layout="t"), F(7, 9, layout="t")),
            S(F(3), F(3, 4, layout="t")), S(F(2, 3, layout="t"), F(3)), S(F(2, 3, 4, layout="t"), F(4, 2, layout="t")),
            S(F(2, 3, layout="t"), F(2, 3, 4, layout="t")), S(F(2, 2, 3, layout="step"), F(3, 4, layout="step"))]
MATMUL += MATMUL_T
MATMUL_FOLD = [MATMUL[i] for i in (6, 7, 8, 9, 11, 21)]
op("matmul", lambda lib, x, y: x @ y, MATMUL)
op("matmul_fn", lambda lib, x, y: lib.matmul(x, y), MATMUL[:8])
op("matmul_method", lambda lib, x, y: x.matmul(y), MATMUL[:8])
# Which path matmul takes (fold into mm / mv, or broadcast + bmm) depends on requires_grad and strides.
op("matmul_const_lhs", lambda lib, x, y: x @ y, no_grad_operand(MATMUL_FOLD + MATMUL[4:6], 0))
op("matmul_const_rhs", lambda lib, x, y: x @ y, no_grad_operand(MATMUL_FOLD + MATMUL[4:6], 1))
op("matmul_int64", lambda lib, x, y: x @ y,
   [S(T("int64", 2, 3), T("int64", 3, 4)), S(T("int64", 3), T("int64", 3)), S(T("int64", 2, 3), T("int64", 3)),
    S(T("int64", 3), T("int64", 3, 2)), S(T("int64", 2, 2, 3), T("int64", 2, 3, 2)), S(T("int64", 2, 2, 3), T("int64", 3))],
   grad=False)
MM = [S(F(2, 3), F(3, 4)), S(F(1, 5), F(5, 1)), S(F(7, 13), F(13, 17)), S(F(0, 3), F(3, 2)), S(F(2, 0), F(0, 3)),
      S(F(3, 4, layout="select"), F(4, 2, layout="expand")), S(F(1, 6), F(6, 9))]
op("mm", lambda lib, x, y: lib.mm(x, y), MM)
op("mm_method", lambda lib, x, y: x.mm(y), MM[:2])
op("mm_transposed", lambda lib, x, y: lib.mm(x, y), [S(F(4, 3, layout="t"), F(3, 5, layout="t")), S(F(6, 17), F(17, 9, layout="t"))])
op("linear_transposed_weight", lambda lib, x, w, b: _F(lib).linear(x, w, b),
   [S(F(2, 3), F(4, 3, layout="t"), F(4)), S(F(5, 2, 3, layout="t"), F(4, 3), F(4))])
op("mm_int64", lambda lib, x, y: x.mm(y), [S(T("int64", 3, 4), T("int64", 4, 2))], grad=False)
BMM = [S(F(2, 2, 3), F(2, 3, 4)), S(F(3, 1, 5), F(3, 5, 1)), S(F(0, 2, 3), F(0, 3, 4)), S(F(2, 0, 3), F(2, 3, 4)),
       S(F(2, 2, 3, layout="select"), F(2, 3, 4, layout="expand"))]
op("bmm", lambda lib, x, y: lib.bmm(x, y), BMM)
op("bmm_method", lambda lib, x, y: x.bmm(y), BMM[:1])
op("bmm_transposed", lambda lib, x, y: lib.bmm(x, y), [S(F(2, 2, 3, layout="t"), F(2, 3, 4, layout="t"))])
MV = [S(F(2, 3), F(3)), S(F(0, 3), F(3)), S(F(2, 0), F(0)), S(F(3, 4, layout="select"), F(4, layout="select")),
      S(F(3, 4, layout="expand"), F(4))]
op("mv", lambda lib, x, v: lib.mv(x, v), MV)
op("mv_method", lambda lib, x, v: x.mv(v), MV[:1])
DOT = [S(F(3), F(3)), S(F(0), F(0)), S(F(5, layout="select"), F(5, layout="expand")), S(F(19), F(19))]
op("dot", lambda lib, x, y: lib.dot(x, y), DOT)
op("dot_method", lambda lib, x, y: x.dot(y), DOT[:1])
op("dot_int64", lambda lib, x, y: lib.dot(x, y), [S(T("int64", 4), T("int64", 4))], grad=False)
OUTER = [S(F(3), F(4)), S(F(0), F(2)), S(F(3, layout="select"), F(2, layout="expand"))]
op("outer", lambda lib, x, y: lib.outer(x, y), OUTER)
op("outer_method", lambda lib, x, y: x.outer(y), OUTER[:1])
op("outer_promote", lambda lib, x, y: lib.outer(x, y), [S(T("float32", 3), T("float64", 2))])
ADDMM = [S(F(4), F(2, 3), F(3, 4)), S(F(2, 4), F(2, 3), F(3, 4)), S(F(2, 1), F(2, 3), F(3, 4)), S(F(), F(2, 3), F(3, 4)),
         S(F(4), F(2, 0), F(0, 4)), S(F(4, layout="select"), F(2, 3, layout="select"), F(3, 4, layout="expand"))]
op("addmm", lambda lib, b, x, y: lib.addmm(b, x, y), ADDMM)
op("addmm_beta_alpha", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0.5, alpha=-2), ADDMM[:3])
op("addmm_beta0", lambda lib, b, x, y: lib.addmm(b, x, y, beta=0), ADDMM[:1])
op("addmm_method", lambda lib, b, x, y: b.addmm(x, y), [S(F(2, 4), F(2, 3), F(3, 4))])
op("matmul_chain", lambda lib, x, y, z: ((x @ y).exp() @ z).sum(-1),
   [S(F(2, 3), F(3, 4), F(4, 2)), S(F(2, 2, 3), F(3, 4), F(2, 4, 2))])


# nn.functional ----------------------------------------------------------------------------------------


def _F(lib):
    return lib.nn.functional


SOFTMAX = [S(F(3, 4)), S(F(2, 3, 4)), S(F(5)), S(F()), S(F(0, 3)), S(F(3, 4, layout="select")),
           S(F(3, 4, layout="expand"))]
for _sm in ("softmax", "log_softmax"):
    def _softmax_rows(name):
        op(f"{name}_last", lambda lib, x: getattr(_F(lib), name)(x, dim=-1), SOFTMAX)
        op(f"{name}_dim0", lambda lib, x: getattr(_F(lib), name)(x, 0), SOFTMAX)
        op(f"{name}_mid", lambda lib, x: getattr(_F(lib), name)(x, 1),
           [S(F(2, 3, 4)), S(F(2, 3, 4, layout="select")), S(F(2, 0, 4))])
        op(f"{name}_method", lambda lib, x: getattr(x, name)(1), SOFTMAX[:2])
        op(f"{name}_torch_fn", lambda lib, x: getattr(lib, name)(x, -1), SOFTMAX[:2])
        op(f"{name}_dtype", lambda lib, x: getattr(_F(lib), name)(x, 1, dtype=lib.float64), [S(F(3, 4))])
        # Stability: logits of size 1e4 (exp would overflow without the max subtracted).
        op(f"{name}_large_logits", lambda lib, x: getattr(_F(lib), name)(x * 1e4, 1), [S(F(3, 4)), S(F(2, 3, 4))],
           gradcheck=False)
        op(f"{name}_inf", lambda lib: getattr(_F(lib), name)(
            lib.tensor([[0.0, float("-inf"), 1.0], [float("-inf")] * 3, [float("inf"), 0.0, 1.0]]), 1),
           NOARGS, grad=False)

    _softmax_rows(_sm)


def _targets(lib, x):
    """Fixed class targets for an (N, C, ...) / (C,) input (classes 0..C-1, every one used)."""
    shape = tuple(x.shape)
    if len(shape) == 1:
        return lib.tensor(shape[0] - 1)
    n, c = shape[0], shape[1]
    rest = shape[2:]
    count = n
    for d in rest:
        count *= d
    return lib.tensor([(5 * i + 1) % c for i in range(count)], dtype=lib.int64).reshape((n,) + rest)


def _ignored_targets(lib, x):
    t = _targets(lib, x)
    flat = t.reshape(-1).tolist()
    flat[0] = -100
    return lib.tensor(flat, dtype=lib.int64).reshape(tuple(t.shape))


NLL = [S(F(3, 4)), S(F(4)), S(F(2, 3, 2)), S(F(2, 3, 2, 2)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand")),
       S(F(0, 4))]
NLL_IGN = [NLL[0], NLL[2], NLL[3], NLL[4]]  # (an ignored 0-dim target leaves nothing: see nll_loss_all_ignored)
SAME_SHAPE = [BINARY[0], BINARY[6], (F(0, 3), F(0, 3)), (F(4, layout="select"), F(4)), BINARY[10]]
_NOGRAD_POS = A((4,), "float", "pos", grad=False)  # weights: PyTorch refuses weights that require grad here
_W = lambda lib, x: lib.tensor([0.5, 1.0, 2.0, 1.5][: x.shape[1 if x.dim() > 1 else 0]], dtype=x.dtype)  # noqa: E731
for _red_name in ("mean", "sum", "none"):
    def _nll_rows(red):
        op(f"nll_loss_{red}", lambda lib, x: _F(lib).nll_loss(x, _targets(lib, x), reduction=red), NLL)
        op(f"nll_loss_{red}_ignore", lambda lib, x: _F(lib).nll_loss(x, _ignored_targets(lib, x), reduction=red), NLL_IGN)
        op(f"nll_loss_{red}_ignore_index", lambda lib, x: _F(lib).nll_loss(x, _targets(lib, x), ignore_index=1,
                                                                           reduction=red), NLL[:1] + NLL[2:3])
        op(f"nll_loss_{red}_weight", lambda lib, x: _F(lib).nll_loss(x, _targets(lib, x), weight=_W(lib, x),
                                                                     reduction=red), NLL[:5])
        op(f"cross_entropy_{red}", lambda lib, x: _F(lib).cross_entropy(x, _targets(lib, x), reduction=red), NLL)
        op(f"cross_entropy_{red}_weight_ignore", lambda lib, x: _F(lib).cross_entropy(
            x, _ignored_targets(lib, x), weight=_W(lib, x), reduction=red), NLL_IGN)
        op(f"cross_entropy_{red}_smoothing", lambda lib, x: _F(lib).cross_entropy(
            x, _ignored_targets(lib, x), reduction=red, label_smoothing=0.2), NLL_IGN)
        op(f"cross_entropy_{red}_smoothing_weight", lambda lib, x: _F(lib).cross_entropy(
            x, _ignored_targets(lib, x), weight=_W(lib, x), reduction=red, label_smoothing=0.1), NLL_IGN[:2])
        op(f"cross_entropy_{red}_probs", lambda lib, x, p: _F(lib).cross_entropy(x, p, reduction=red),
           [S(F(3, 4), F(3, 4, domain="pos")), S(F(4), F(4, domain="pos")), S(F(2, 3, 2), F(2, 3, 2, domain="pos"))])
        op(f"cross_entropy_{red}_probs_smoothing_weight", lambda lib, x, p: _F(lib).cross_entropy(
            x, p, weight=_W(lib, x), reduction=red, label_smoothing=0.3), [S(F(3, 4), F(3, 4, domain="pos"))])
        op(f"mse_loss_{red}", lambda lib, x, y: _F(lib).mse_loss(x, y, reduction=red),
           binary(pairs=[BINARY[0], BINARY[6], BINARY[7], BINARY[9], BINARY[10]]),
           gradcheck=red != "mean")  # the mean of (0, 3) is NaN: no finite differences
        op(f"l1_loss_{red}", lambda lib, x, y: _F(lib).l1_loss(x, y, reduction=red),
           binary(pairs=[BINARY[0], BINARY[6], BINARY[7], BINARY[9], BINARY[10]]),
           gradcheck=red != "mean")  # the mean of (0, 3) is NaN: no finite differences
        op(f"binary_cross_entropy_{red}", lambda lib, x, y: _F(lib).binary_cross_entropy(1 / (2 + x * x), y * y / 4,
                                                                                           reduction=red),
           binary(pairs=SAME_SHAPE))
        op(f"binary_cross_entropy_{red}_weight", lambda lib, x, y, w: _F(lib).binary_cross_entropy(
            1 / (2 + x * x), y * y / 4, weight=w, reduction=red), [S(F(3, 4), F(3, 4), _NOGRAD_POS)])
        op(f"bce_with_logits_{red}", lambda lib, x, y: _F(lib).binary_cross_entropy_with_logits(x, y * y / 4,
                                                                                                 reduction=red),
           binary(pairs=SAME_SHAPE))
        op(f"bce_with_logits_{red}_weights", lambda lib, x, y, w: _F(lib).binary_cross_entropy_with_logits(
            x, y * y / 4, weight=w, pos_weight=w * 2, reduction=red), [S(F(3, 4), F(3, 4), _NOGRAD_POS)])

    _nll_rows(_red_name)

op("nll_loss_0d_target_none", lambda lib, x: _F(lib).nll_loss(x, lib.tensor(1), reduction="none"), [S(F(4))])
op("nll_loss_all_ignored", lambda lib, x: _F(lib).nll_loss(x, lib.tensor([-100, -100])), [S(F(2, 3))],
   gradcheck=False)  # 0 / 0: NaN, like PyTorch; the gradient is zero
op("nll_loss_legacy_size_average", lambda lib, x: _F(lib).nll_loss(x, _targets(lib, x), size_average=False), NLL[:1])
op("cross_entropy_positional_weight", lambda lib, x: _F(lib).cross_entropy(x, _targets(lib, x), _W(lib, x)), NLL[:1])
# Large logits: no inf / NaN in the loss or its gradient.
op("cross_entropy_large_logits", lambda lib, x: _F(lib).cross_entropy(x * 1e4, _targets(lib, x)), NLL[:3],
   gradcheck=False)
op("bce_with_logits_large_logits", lambda lib, x, y: _F(lib).binary_cross_entropy_with_logits(x * 1e4, y * y / 4),
   binary(pairs=BINARY[:1]), gradcheck=False)
op("binary_cross_entropy_at_0_and_1", lambda lib: _F(lib).binary_cross_entropy(
    lib.tensor([0.0, 1.0, 0.5, 0.0]), lib.tensor([1.0, 0.0, 0.5, 0.0])), NOARGS, grad=False)  # log clamped at -100
op("l1_loss_at_zero_difference", lambda lib, x, y: _F(lib).l1_loss(x, y),
   [S(F(3, 4, domain="int"), F(3, 4, domain="int"))], gradcheck=False)  # kink: the gradient there is 0

LINEAR = [S(F(2, 3), F(4, 3), F(4)), S(F(3), F(4, 3), F(4)), S(F(5, 2, 3), F(4, 3), F(4)), S(F(0, 3), F(4, 3), F(4)),
          S(F(2, 3, layout="select"), F(4, 3), F(4)), S(F(5, 2, 3, layout="select"), F(4, 3, layout="expand"), F(4)),
          S(F(2, 2, 5, 3), F(4, 3), F(4, layout="select")), S(F(2, 3), F(4, 3), F())]
op("linear", lambda lib, x, w, b: _F(lib).linear(x, w, b), LINEAR)
op("linear_no_bias", lambda lib, x, w: _F(lib).linear(x, w),
   [S(F(2, 3), F(4, 3)), S(F(3), F(4, 3)), S(F(5, 2, 3), F(4, 3)), S(F(2, 3, layout="select"), F(4, 3, layout="select"))])
op("linear_vector_weight", lambda lib, x, w: _F(lib).linear(x, w), [S(F(2, 3), F(3))])

# dropout: random masks differ between the libraries; compare shapes and dtypes, and the kept values.
_dropout_values = lambda out: set(np.unique(H.to_numpy(out)).tolist()) <= {0.0, 2.0}  # noqa: E731
op("dropout", lambda lib: _F(lib).dropout(lib.ones(200), 0.5), NOARGS, grad=False, check="meta", extra=_dropout_values)
op("dropout_f64", lambda lib: _F(lib).dropout(lib.ones(3, 50, dtype=lib.float64)), NOARGS, grad=False, check="meta",
   extra=_dropout_values)
op("dropout_p0", lambda lib, x: _F(lib).dropout(x, 0.0) * 1, unary(shapes=UNARY[:4]))
op("dropout_p1", lambda lib, x: _F(lib).dropout(x, 1.0), unary(shapes=UNARY[:4]))
op("dropout_eval", lambda lib, x: _F(lib).dropout(x, 0.5, training=False) * 1, unary(shapes=UNARY[:4]))

# Activations: thin wrappers over the core ops (their own rows are in the pointwise section).
op("F.relu", lambda lib, x: _F(lib).relu(x), unary("nonzero", UNARY[:4]))
op("F.relu_inplace", lambda lib, x: _F(lib).relu(x * 1, inplace=True), unary("nonzero", UNARY[:2]))
op("F.sigmoid", lambda lib, x: _F(lib).sigmoid(x), unary(shapes=UNARY[:4]))
op("F.tanh", lambda lib, x: _F(lib).tanh(x), unary(shapes=UNARY[:4]))
op("F.gelu", lambda lib, x: _F(lib).gelu(x), unary(shapes=UNARY[:4]))
op("F.gelu_tanh", lambda lib, x: _F(lib).gelu(x, approximate="tanh"), unary(shapes=UNARY[:4]))
op("F.silu", lambda lib, x: _F(lib).silu(x), unary(shapes=UNARY[:4]))
op("F.silu_inplace", lambda lib, x: _F(lib).silu(x * 1, inplace=True), unary(shapes=UNARY[:2]))

for _name, _fn in [
    ("one_hot", lambda lib: _F(lib).one_hot(lib.tensor([0, 2, 1, 2]))),
    ("one_hot_num_classes", lambda lib: _F(lib).one_hot(lib.tensor([0, 2, 1]), 5)),
    ("one_hot_2d", lambda lib: _F(lib).one_hot(lib.tensor([[0, 1], [3, 1]]), num_classes=4)),
    ("one_hot_0d", lambda lib: _F(lib).one_hot(lib.tensor(2), 4)),
    ("one_hot_empty", lambda lib: _F(lib).one_hot(lib.tensor([], dtype=lib.int64), 3)),
]:
    op(_name, _fn, NOARGS, grad=False, gradcheck=False)

PAD = [S(F(3, 4)), S(F(2, 3, 4)), S(F(3, 4, layout="select")), S(F(3, 4, layout="expand")), S(F(0, 3))]
op("pad_last", lambda lib, x: _F(lib).pad(x, (1, 2)), PAD)
op("pad_two_dims", lambda lib, x: _F(lib).pad(x, (1, 1, 2, 0)), PAD)
op("pad_value", lambda lib, x: _F(lib).pad(x, (0, 2, 1, 1), value=2.5), PAD[:3])
op("pad_mode_kw", lambda lib, x: _F(lib).pad(x, [2, 1], mode="constant", value=-1.0), PAD[:2])
op("pad_negative_crops", lambda lib, x: _F(lib).pad(x, (-1, 1, 0, -1)), PAD[:4])
op("pad_crop_to_empty", lambda lib, x: _F(lib).pad(x, (-2, -2)), [S(F(3, 4))])
op("pad_all_dims", lambda lib, x: _F(lib).pad(x, (1, 0, 0, 1, 1, 1)), [S(F(2, 3, 4))])
op("pad_empty", lambda lib, x: _F(lib).pad(x, ()), [S(F(3, 4))])
op("pad_1d", lambda lib, x: _F(lib).pad(x, (2, 3)), [S(F(4)), S(F(4, layout="select"))])
op("pad_int64", lambda lib, x: _F(lib).pad(x, (1, 1), value=2.5), [S(T("int64", 2, 3))], grad=False)


# Type promotion (dtypes fixed; compared with torch's result dtype) ----------------------------------------

P = "promote_"
op(P + "f32_plus_f64", lambda lib, x, y: x + y,
   [S(T("float32", 3, 4), T("float64", 3, 4)), S(T("float64", 3), T("float32", 2, 3))])
op(P + "f32_mul_f64", lambda lib, x, y: x * y, [S(T("float32", 3, 4), T("float64", 4))])
op(P + "f32_div_f64", lambda lib, x, y: x / y, [S(T("float32", 3), T("float64", 3, domain="nonzero"))])
op(P + "f64_sub_f32", lambda lib, x, y: x - y, [S(T("float64", 3), T("float32", 3))])
op(P + "f32_pow_f64", lambda lib, x, y: x ** y, [S(T("float32", 3, domain="pos"), T("float64", 3))])
op(P + "i64_plus_float_number", lambda lib, x: x + 2.5, [S(T("int64", 3, 4)), S(T("int64"))], grad=False)
op(P + "i64_mul_float_number", lambda lib, x: 0.5 * x, [S(T("int64", 3))], grad=False)
op(P + "i64_plus_int_number", lambda lib, x: x + 2, [S(T("int64", 3))], grad=False)
op(P + "i64_plus_f32", lambda lib, x, y: x + y,
   [S(T("int64", 3, 4), T("float32", 3, 4)), S(T("float32", 4), T("int64", 3, 4))])
op(P + "i64_mul_f64_0d", lambda lib, x, y: x * y, [S(T("int64", 3), T("float64"))])
op(P + "bool_plus_i64", lambda lib, x, y: x + y, [S(T("bool", 3, 4), T("int64", 3, 4))], grad=False)
op(P + "bool_plus_int_number", lambda lib, x: x + 1, [S(T("bool", 3))], grad=False)
op(P + "int_number_plus_bool", lambda lib, x: 3 + x, [S(T("bool", 3))], grad=False)
op(P + "bool_plus_bool", lambda lib, x, y: x + y, [S(T("bool", 3), T("bool", 3))], grad=False)
op(P + "bool_mul_float_number", lambda lib, x: x * 2.5, [S(T("bool", 3))], grad=False)
op(P + "bool_plus_f32", lambda lib, x, y: x + y, [S(T("bool", 3), T("float32", 3))])
op(P + "bool_plus_true", lambda lib, x: x + True, [S(T("int64", 3))], grad=False)
op(P + "f32_plus_true", lambda lib, x: x + True, [S(T("float32", 3))])
op(P + "i64_div_i64", lambda lib, x, y: x / y, [S(T("int64", 3, 4), T("int64", 3, 4, domain="nzint"))], grad=False)
op(P + "i64_div_int_number", lambda lib, x: x / 2, [S(T("int64", 5))], grad=False)
op(P + "int_number_div_i64", lambda lib, x: 7 / x, [S(T("int64", 5, domain="nzint"))], grad=False)
op(P + "i64_div_method", lambda lib, x, y: x.div(y), [S(T("int64", 3), T("int64", 3, domain="nzint"))], grad=False)
op(P + "bool_div_bool", lambda lib, x, y: x / y, [S(T("bool", 3), T("bool", 3, domain="true"))], grad=False)
op(P + "f64_0d_plus_f32", lambda lib, x, y: x + y,
   [S(T("float64"), T("float32", 2, 3)), S(T("float32", 3), T("float64"))])
op(P + "f64_0d_mul_f32", lambda lib, x, y: x * y, [S(T("float64"), T("float32", 3))])
op(P + "i64_0d_plus_f32", lambda lib, x, y: x + y, [S(T("int64"), T("float32", 2, 3))])
op(P + "f32_0d_plus_i64", lambda lib, x, y: x + y, [S(T("float32"), T("int64", 3))])
op(P + "f64_0d_plus_i64", lambda lib, x, y: x + y, [S(T("float64"), T("int64", 3))])
op(P + "f32_0d_plus_f64_0d", lambda lib, x, y: x + y, [S(T("float32"), T("float64"))])
op(P + "f64_0d_plus_float_number", lambda lib, x: x + 1.5, [S(T("float64"))])
op(P + "f32_plus_int_number", lambda lib, x: x + 3, [S(T("float32", 3))])
op(P + "i64_pow_int", lambda lib, x: x ** 2, [S(T("int64", 3, 4))], grad=False)
op(P + "i64_pow_float", lambda lib, x: x ** 0.5, [S(T("int64", 3, 4, domain="posint"))], grad=False)
op(P + "int_pow_i64", lambda lib, x: 2 ** x, [S(T("int64", 4, domain="nonneg"))], grad=False)
op(P + "float_pow_i64", lambda lib, x: 2.5 ** x, [S(T("int64", 4))], grad=False)
op(P + "f32_pow_i64", lambda lib, x, y: x ** y, [S(T("float32", 3, domain="pos"), T("int64", 3))])
op(P + "i64_pow_i64", lambda lib, x, y: x ** y, [S(T("int64", 3), T("int64", 3, domain="nonneg"))], grad=False)
op(P + "exp_i64", lambda lib, x: x.exp(), [S(T("int64", 3))], grad=False)
op(P + "log_i64", lambda lib, x: x.log(), [S(T("int64", 3, domain="posint"))], grad=False)
op(P + "sqrt_i64", lambda lib, x: x.sqrt(), [S(T("int64", 3, domain="posint"))], grad=False)
op(P + "sqrt_bool", lambda lib, x: x.sqrt(), [S(T("bool", 3))], grad=False)
op(P + "neg_i64", lambda lib, x: -x, [S(T("int64", 3))], grad=False)
op(P + "i64_plus_bool", lambda lib, x, y: x + y, [S(T("int64", 3), T("bool", 3))], grad=False)
op(P + "where_i64_f32", lambda lib, c, x, y: lib.where(c, x, y), [S(T("bool", 3), T("int64", 3), T("float32", 3))])
op(P + "where_f32_f64", lambda lib, c, x, y: lib.where(c, x, y), [S(T("bool", 3), T("float32", 3), T("float64", 3))])
op(P + "where_f32_int_number", lambda lib, c, x: lib.where(c, x, 2), [S(T("bool", 3), T("float32", 3))])
op(P + "where_i64_float_number", lambda lib, c, x: lib.where(c, x, 2.5), [S(T("bool", 3), T("int64", 3))], grad=False)
op(P + "compare_i64_float_number", lambda lib, x: x < 0.5, [S(T("int64", 4))], grad=False)
op(P + "compare_f32_f64_0d", lambda lib, x, y: x == y,
   [S(T("float32", 3, domain="int"), T("float64", domain="int"))], grad=False)
op(P + "mean_f32_0d", lambda lib, x, y: (x + y).mean(), [S(T("float32", 3), T("float64"))])
op(P + "add_alpha_i64", lambda lib, x, y: x.add(y, alpha=3), [S(T("int64", 3), T("int64", 3))], grad=False)


# ---------------------------------------------------------------------------------------------------
# Parametrization
# ---------------------------------------------------------------------------------------------------

def _cases(kind):
    out = []
    for o in OPS:
        for s in o.samples:
            if kind == "forward":
                dts = FLOATS if s.has_float_param() else ("fixed",)
            elif kind == "grad":
                if not o.grad:
                    continue
                dts = FLOATS if s.has_float_param() else ("fixed",)
            else:  # gradcheck: float64 only; every float input must be the parametrized "float"
                if not (o.grad and o.gradcheck and s.has_float_param() and s.all_floats_param()):
                    continue
                dts = ("float64",)
            for dt in dts:
                out.append(pytest.param(o, s, dt, id=f"{o.name}[{s.id()}]-{dt}"))
    return out


def _float_dtype(dt):
    return "float64" if dt == "fixed" else dt


def _compare_outputs(got, expected, what="output", rtol=None, atol=None, meta_only=False):
    torch = _torch()
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, gradcore.Tensor), f"{what}: expected a Tensor, got {type(got).__name__}"
        if meta_only:
            assert tuple(got.shape) == tuple(expected.shape), (
                f"{what}: shape {tuple(got.shape)} != torch's {tuple(expected.shape)}")
            assert H.dtype_name(got.dtype) == H.dtype_name(expected.dtype), (
                f"{what}: dtype {H.dtype_name(got.dtype)} != torch's {H.dtype_name(expected.dtype)}")
        else:
            H.assert_close(got, expected, rtol=rtol, atol=atol, what=what)
        assert got.requires_grad == expected.requires_grad, (
            f"{what}: requires_grad {got.requires_grad} != torch's {expected.requires_grad}")
    else:
        assert got == expected, f"{what}: {got!r} != torch's {expected!r}"


# ---------------------------------------------------------------------------------------------------
# a) forward vs torch
# ---------------------------------------------------------------------------------------------------

@requires_torch
@pytest.mark.parametrize("o,sample,dt", _cases("forward"))
def test_forward(o, sample, dt, rng):
    torch = _torch()
    fdt = _float_dtype(dt)
    arrays = make_arrays(sample, fdt, rng)
    _, g_in = make_inputs(gradcore, sample, fdt, arrays, requires_grad=False)
    _, t_in = make_inputs(torch, sample, fdt, arrays, requires_grad=False)
    expected = o.fn(torch, *t_in)
    got = o.fn(gradcore, *g_in)
    _compare_outputs(got, expected, meta_only=o.check == "meta")
    if o.extra is not None:
        assert o.extra(got) == o.extra(expected), f"{o.extra(got)!r} != torch's {o.extra(expected)!r}"


# ---------------------------------------------------------------------------------------------------
# b) gradients vs torch
# ---------------------------------------------------------------------------------------------------

@requires_torch
@pytest.mark.parametrize("o,sample,dt", _cases("grad"))
def test_grad_vs_torch(o, sample, dt, rng):
    torch = _torch()
    fdt = _float_dtype(dt)
    arrays = make_arrays(sample, fdt, rng)
    g_leaves, g_in = make_inputs(gradcore, sample, fdt, arrays, requires_grad=True)
    t_leaves, t_in = make_inputs(torch, sample, fdt, arrays, requires_grad=True)
    t_out = o.fn(torch, *t_in)
    g_out = o.fn(gradcore, *g_in)
    tol = dict(rtol=1e-5, atol=1e-5) if "float32" in (fdt, H.dtype_name(t_out.dtype)) else {}
    _compare_outputs(g_out, t_out, what="output", **tol)

    w = rng.standard_normal(tuple(t_out.shape)).astype(H.np_dtype(H.dtype_name(t_out.dtype)))
    (t_out * H.from_numpy(torch, w)).sum().backward()
    (g_out * H.from_numpy(gradcore, w)).sum().backward()
    for i, (g, t) in enumerate(zip(g_leaves, t_leaves)):
        if not t.requires_grad:
            continue
        if t.grad is None:
            assert g.grad is None, f"input {i}: torch's grad is None, gradcore's is {g.grad!r}"
            continue
        assert g.grad is not None, f"input {i}: gradcore's .grad is None, torch's is {t.grad!r}"
        H.assert_close(g.grad, t.grad, what=f"grad of input {i}", **tol)


# ---------------------------------------------------------------------------------------------------
# c) float64 finite-difference gradcheck (no torch needed)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("o,sample,dt", _cases("gradcheck"))
def test_gradcheck(o, sample, dt, rng):
    arrays = make_arrays(sample, "float64", rng)
    leaves, _ = make_inputs(gradcore, sample, "float64", arrays, requires_grad=True)

    def fn(*bases):
        return o.fn(gradcore, *(a.view(b) for a, b in zip(sample.args, bases)))

    H.gradcheck(fn, leaves)


# ---------------------------------------------------------------------------------------------------
# d) grad_fn names vs torch
# ---------------------------------------------------------------------------------------------------

GRAD_FN = [
    ("x+2", lambda lib, x, y: x + 2),
    ("2+x", lambda lib, x, y: 2 + x),
    ("x+y", lambda lib, x, y: x + y),
    ("add(alpha)", lambda lib, x, y: x.add(y, alpha=2)),
    ("x-2", lambda lib, x, y: x - 2),
    ("2-x", lambda lib, x, y: 2 - x),
    ("x-y", lambda lib, x, y: x - y),
    ("x*3", lambda lib, x, y: x * 3),
    ("3*x", lambda lib, x, y: 3 * x),
    ("x*y", lambda lib, x, y: x * y),
    ("x/2", lambda lib, x, y: x / 2),
    ("1/x", lambda lib, x, y: 1 / x),
    ("x/y", lambda lib, x, y: x / y),
    ("-x", lambda lib, x, y: -x),
    ("x**2", lambda lib, x, y: x ** 2),
    ("x**y", lambda lib, x, y: x ** y),
    ("2**x", lambda lib, x, y: 2 ** x),
    ("exp", lambda lib, x, y: x.exp()),
    ("log", lambda lib, x, y: x.log()),
    ("sqrt", lambda lib, x, y: x.sqrt()),
    ("sum()", lambda lib, x, y: x.sum()),
    ("sum(dim)", lambda lib, x, y: x.sum(0)),
    ("mean()", lambda lib, x, y: x.mean()),
    ("mean(dim)", lambda lib, x, y: x.mean(1)),
    ("norm()", lambda lib, x, y: x.norm()),
    ("expand", lambda lib, x, y: x.select(1, 0).expand(2, 3)),
    ("view", lambda lib, x, y: x.view(-1)),
    ("reshape", lambda lib, x, y: x.reshape(4, 3)),
    ("reshape(non-contiguous)", lambda lib, x, y: x.select(1, 0).expand(2, 3).reshape(-1)),
    ("clone", lambda lib, x, y: x.clone()),
    ("contiguous(non-contiguous)", lambda lib, x, y: x.select(1, 0).contiguous()),
    ("select", lambda lib, x, y: x.select(0, 1)),
    ("getitem", lambda lib, x, y: x[1]),
    ("to(float64)", lambda lib, x, y: x.to(lib.float64)),
    ("double()", lambda lib, x, y: x.double()),
    ("where", lambda lib, x, y: lib.where(x > y, x, y)),
    ("add_", lambda lib, x, y: (x * 1).add_(y)),
    ("mul_", lambda lib, x, y: (x * 1).mul_(y)),
    # pointwise math and activations
    ("exp2", lambda lib, x, y: x.exp2()),
    ("log2", lambda lib, x, y: x.log2()),
    ("log1p", lambda lib, x, y: x.log1p()),
    ("expm1", lambda lib, x, y: x.expm1()),
    ("rsqrt", lambda lib, x, y: x.rsqrt()),
    ("sin", lambda lib, x, y: x.sin()),
    ("cos", lambda lib, x, y: x.cos()),
    ("tan", lambda lib, x, y: x.tan()),
    ("tanh", lambda lib, x, y: x.tanh()),
    ("sigmoid", lambda lib, x, y: lib.sigmoid(x)),
    ("erf", lambda lib, x, y: x.erf()),
    ("relu", lambda lib, x, y: lib.relu(x)),
    ("abs", lambda lib, x, y: x.abs()),
    ("sign", lambda lib, x, y: x.sign()),
    ("floor", lambda lib, x, y: x.floor()),
    ("ceil", lambda lib, x, y: x.ceil()),
    ("round", lambda lib, x, y: x.round()),
    ("round(decimals)", lambda lib, x, y: x.round(decimals=1)),
    ("clamp(numbers)", lambda lib, x, y: x.clamp(0.6, 1.5)),
    ("clamp(min=number)", lambda lib, x, y: x.clamp(min=1)),
    ("clamp(tensors)", lambda lib, x, y: x.clamp(y, y + 1)),
    ("clamp(min=tensor)", lambda lib, x, y: lib.clamp(x, min=y)),
    ("clip", lambda lib, x, y: x.clip(0.6, 1.5)),
    ("clamp_min(number)", lambda lib, x, y: x.clamp_min(1)),
    ("clamp_min(tensor)", lambda lib, x, y: x.clamp_min(y)),
    ("clamp_max(number)", lambda lib, x, y: x.clamp_max(1)),
    ("clamp_max(tensor)", lambda lib, x, y: x.clamp_max(y)),
    ("maximum", lambda lib, x, y: lib.maximum(x, y)),
    ("minimum", lambda lib, x, y: lib.minimum(x, y)),
    ("lerp(number)", lambda lib, x, y: x.lerp(y, 0.3)),
    ("lerp(tensor)", lambda lib, x, y: x.lerp(y, y)),
    ("gelu", lambda lib, x, y: _nnf(lib, "gelu")(x)),
    ("gelu(tanh)", lambda lib, x, y: _nnf(lib, "gelu")(x, approximate="tanh")),
    ("silu", lambda lib, x, y: _nnf(lib, "silu")(x)),
    ("relu_", lambda lib, x, y: (x * 1).relu_()),
    ("sigmoid_", lambda lib, x, y: (x * 1).sigmoid_()),
    ("tanh_", lambda lib, x, y: (x * 1).tanh_()),
    ("exp_", lambda lib, x, y: (x * 1).exp_()),
    ("clamp_", lambda lib, x, y: (x * 1).clamp_(0.6, 1.5)),
    ("abs_", lambda lib, x, y: (x * 1).abs_()),

    ("x%y", lambda lib, x, y: x % y),
    ("x%2", lambda lib, x, y: x % 2),
    ("fmod", lambda lib, x, y: lib.fmod(x, y)),
    ("div(rounding_mode)", lambda lib, x, y: x.div(y, rounding_mode="floor")),
    # more reductions
    ("prod()", lambda lib, x, y: x.prod()),
    ("prod(dim)", lambda lib, x, y: x.prod(1)),
    ("max()", lambda lib, x, y: x.max()),
    ("max(dim)", lambda lib, x, y: x.max(1).values),
    ("min()", lambda lib, x, y: x.min()),
    ("min(dim)", lambda lib, x, y: x.min(0)[0]),
    ("amax", lambda lib, x, y: x.amax(1)),
    ("amin", lambda lib, x, y: x.amin((0, 1))),
    ("var()", lambda lib, x, y: x.var()),
    ("var(dim)", lambda lib, x, y: x.var(1, correction=0)),
    ("std()", lambda lib, x, y: x.std()),
    ("std(dim)", lambda lib, x, y: x.std(0, keepdim=True)),
    ("logsumexp", lambda lib, x, y: x.logsumexp(1)),
    ("norm(1)", lambda lib, x, y: x.norm(1)),
    ("norm(inf, dim)", lambda lib, x, y: x.norm(float("inf"), dim=1)),
    ("norm(3, dim)", lambda lib, x, y: x.norm(3, 0)),
    ("cumsum", lambda lib, x, y: x.cumsum(1)),

    # more views
    ("transpose", lambda lib, x, y: x.transpose(0, 1)),
    ("permute", lambda lib, x, y: x.permute(1, 0)),
    ("t", lambda lib, x, y: x.t()),
    ("T", lambda lib, x, y: x.T),
    ("mT", lambda lib, x, y: x.mT),
    ("unsqueeze", lambda lib, x, y: x.unsqueeze(0)),
    ("squeeze()", lambda lib, x, y: x[None].squeeze()),
    ("squeeze(dim)", lambda lib, x, y: x[None].squeeze(0)),
    ("squeeze(dims)", lambda lib, x, y: x[None].squeeze((0, 1))),
    ("narrow", lambda lib, x, y: x.narrow(0, 1, 2)),
    ("slice", lambda lib, x, y: x[1:]),
    ("flatten", lambda lib, x, y: x.flatten()),
    ("unflatten", lambda lib, x, y: x.unflatten(1, (2, 2))),
    ("split", lambda lib, x, y: x.split(2)[0]),
    ("split(sizes)", lambda lib, x, y: x.split([1, 2])[0]),
    ("chunk", lambda lib, x, y: x.chunk(2)[1]),
    ("unbind", lambda lib, x, y: x.unbind()[0]),
    ("as_strided", lambda lib, x, y: x.as_strided((2, 2), (1, 2))),
    ("cat", lambda lib, x, y: lib.cat([x, y])),

    # joining, splitting and gathering
    ("stack", lambda lib, x, y: lib.stack([x, y], 1)),
    ("flip", lambda lib, x, y: x.flip(0)),
    ("repeat", lambda lib, x, y: x.repeat(2, 1, 1)),
    ("tril", lambda lib, x, y: x.tril(-1)),
    ("triu", lambda lib, x, y: x.triu(1)),
    ("masked_fill", lambda lib, x, y: x.masked_fill(y > 1, 0.0)),
    ("masked_fill(tensor value)", lambda lib, x, y: x.masked_fill(y > 1, y[0, 0])),
    ("masked_fill_", lambda lib, x, y: (x * 1).masked_fill_(y > 1, 0.0)),
    ("masked_fill_(tensor value)", lambda lib, x, y: (x * 1).masked_fill_(y > 1, y.sum())),
    ("gather", lambda lib, x, y: x.gather(1, lib.tensor([[0, 1], [2, 2]]))),
    ("scatter", lambda lib, x, y: x.scatter(1, lib.tensor([[0, 1], [2, 3]]), y)),
    ("scatter(value)", lambda lib, x, y: x.scatter(1, lib.tensor([[0, 1], [2, 3]]), 1.0)),
    ("scatter_", lambda lib, x, y: (x * 1).scatter_(1, lib.tensor([[0, 1], [2, 3]]), y)),
    ("scatter_(value)", lambda lib, x, y: (x * 1).scatter_(1, lib.tensor([[0, 1], [2, 3]]), 1.0)),
    ("scatter_add", lambda lib, x, y: x.scatter_add(1, lib.tensor([[0, 0], [2, 3]]), y)),
    ("scatter_add_", lambda lib, x, y: (x * 1).scatter_add_(1, lib.tensor([[0, 0], [2, 3]]), y)),
    ("index_select", lambda lib, x, y: x.index_select(1, lib.tensor([3, 0]))),
    ("index_add", lambda lib, x, y: x.index_add(0, lib.tensor([2, 2, 0]), y)),
    ("index_add_", lambda lib, x, y: (x * 1).index_add_(0, lib.tensor([2, 2, 0]), y)),

    # indexing
    ("getitem(list)", lambda lib, x, y: x[[0, 1]]),
    ("getitem(mask)", lambda lib, x, y: x[x > 1]),
    ("getitem(None)", lambda lib, x, y: x[None]),
    ("setitem(slice)", lambda lib, x, y: (lambda z: (z.__setitem__(0, y[0]), z)[1])(x * 1)),
    ("setitem(list)", lambda lib, x, y: (lambda z: (z.__setitem__([0, 2], y[0]), z)[1])(x * 1)),

    # linear algebra
    ("x@y", lambda lib, x, y: x @ y.reshape(4, 3)),
    ("matmul(1d,1d)", lambda lib, x, y: x[0] @ y[0]),
    ("matmul(2d,1d)", lambda lib, x, y: x @ y[0]),
    ("matmul(1d,2d)", lambda lib, x, y: x[0] @ y.reshape(4, 3)),
    ("matmul(3d,3d)", lambda lib, x, y: x.reshape(3, 2, 2) @ y.reshape(3, 2, 2)),
    ("matmul(broadcast)", lambda lib, x, y: x.reshape(3, 1, 2, 2) @ y.reshape(3, 2, 2)),
    ("matmul(3d,2d)", lambda lib, x, y: x.reshape(3, 2, 2) @ y.reshape(2, 6)),
    ("matmul(2d,3d)", lambda lib, x, y: x.reshape(6, 2) @ y.reshape(3, 2, 2)),
    ("matmul(1d,3d)", lambda lib, x, y: x[0] @ y.reshape(3, 4, 1)),
    ("matmul(3d,1d)", lambda lib, x, y: x.reshape(3, 1, 4) @ y[0]),
    ("mm", lambda lib, x, y: lib.mm(x, y.reshape(4, 3))),
    ("bmm", lambda lib, x, y: lib.bmm(x.reshape(3, 2, 2), y.reshape(3, 2, 2))),
    ("mv", lambda lib, x, y: lib.mv(x, y[0])),
    ("dot", lambda lib, x, y: lib.dot(x[0], y[0])),
    ("outer", lambda lib, x, y: lib.outer(x[0], y[0])),
    ("addmm", lambda lib, x, y: lib.addmm(x.select(1, 0), x, y.reshape(4, 3))),
    # nn.functional
    ("softmax", lambda lib, x, y: lib.nn.functional.softmax(x, 1)),
    ("log_softmax", lambda lib, x, y: lib.nn.functional.log_softmax(x, 0)),
    ("Tensor.softmax", lambda lib, x, y: x.softmax(-1)),
    ("nll_loss", lambda lib, x, y: lib.nn.functional.nll_loss(x, lib.tensor([0, 3, 1]))),
    ("nll_loss(none)", lambda lib, x, y: lib.nn.functional.nll_loss(x, lib.tensor([0, 3, 1]), reduction="none")),
    ("cross_entropy", lambda lib, x, y: lib.nn.functional.cross_entropy(x, lib.tensor([0, 3, 1]))),
    ("cross_entropy(label_smoothing)", lambda lib, x, y: lib.nn.functional.cross_entropy(x, lib.tensor([0, 3, 1]),
                                                                                         label_smoothing=0.1)),
    ("l1_loss", lambda lib, x, y: lib.nn.functional.l1_loss(x, y)),
    ("linear", lambda lib, x, y: lib.nn.functional.linear(x, y)),
    ("linear(bias)", lambda lib, x, y: lib.nn.functional.linear(x, y, x.select(1, 0))),
    ("linear(3d, bias)", lambda lib, x, y: lib.nn.functional.linear(x.reshape(3, 1, 4), y, x.select(1, 0))),
    ("dropout", lambda lib, x, y: lib.nn.functional.dropout(x, 0.3)),
    ("pad", lambda lib, x, y: lib.nn.functional.pad(x, (1, 2))),
]


@requires_torch
@pytest.mark.parametrize("label,fn", GRAD_FN, ids=[g[0] for g in GRAD_FN])
def test_grad_fn_name(label, fn, rng):
    torch = _torch()
    x = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    y = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32)
    t_out = fn(torch, H.from_numpy(torch, x, True), H.from_numpy(torch, y, True))
    g_out = fn(gradcore, H.from_numpy(gradcore, x, True), H.from_numpy(gradcore, y, True))
    expected = type(t_out.grad_fn).__name__
    assert g_out.grad_fn is not None, f"{label}: gradcore's grad_fn is None, torch's is {expected}"
    assert g_out.grad_fn.name() == expected


# ---------------------------------------------------------------------------------------------------
# Odds and ends of the surface that don't fit a row
# ---------------------------------------------------------------------------------------------------

INPLACE_METHODS = [
    ("add_", lambda y, z: y.add_(z)), ("sub_", lambda y, z: y.sub_(z)), ("mul_", lambda y, z: y.mul_(z)),
    ("div_", lambda y, z: y.div_(z)), ("zero_", lambda y, z: y.zero_()), ("fill_", lambda y, z: y.fill_(2.0)),
    ("copy_", lambda y, z: y.copy_(z)), ("add_number", lambda y, z: y.add_(1)),
]


@requires_torch
@pytest.mark.parametrize("name,fn", INPLACE_METHODS, ids=[m[0] for m in INPLACE_METHODS])
def test_inplace_returns_self_and_bumps_version(name, fn):
    torch = _torch()
    results = {}
    for lib in (gradcore, torch):
        y = lib.ones(2, 3)
        z = lib.full((3,), 2.0)
        v0 = y._version
        r = fn(y, z)
        results[lib.__name__] = (r is y, y._version > v0)
    assert results["gradcore"] == results["torch"]


@requires_torch
@pytest.mark.parametrize("op_name", ["iadd", "isub", "imul", "itruediv"])
def test_augmented_assignment_keeps_identity(op_name):
    torch = _torch()
    results = {}
    for lib in (gradcore, torch):
        y = before = lib.ones(3)
        y = getattr(operator, op_name)(y, lib.full((3,), 2.0))
        results[lib.__name__] = (y is before, H.to_numpy(before).tolist())
    assert results["gradcore"] == results["torch"]


@requires_torch
@pytest.mark.parametrize("attr", ["detach", "data"])
def test_detach_and_data_share_storage_and_drop_grad(attr):
    torch = _torch()
    results = {}
    for lib in (gradcore, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        d = y.detach() if attr == "detach" else y.data
        d.mul_(5)  # writes through to y
        results[lib.__name__] = (d.requires_grad, d.is_leaf, d.grad_fn is None, H.to_numpy(y).tolist())
    assert results["gradcore"] == results["torch"]


@requires_torch
def test_inplace_on_saved_tensor_raises_on_backward():
    torch = _torch()
    for lib in (torch, gradcore):
        x = lib.ones(3, requires_grad=True)
        y = x.exp()  # exp saves its result
        y.add_(1)
        with pytest.raises(RuntimeError):
            y.sum().backward()


INPLACE_NEEDS_SELF = [
    ("mul_by_self", lambda x, z: (lambda y: y.mul_(y))(x * 1)),  # the other operand is the overwritten y itself
    ("mul_of_saved_result", lambda x, z: (x * 1).exp().mul_(z)),  # exp saved the result that mul_ overwrites
    ("add_of_saved_result", lambda x, z: (x * 1).exp().add_(z)),
]


@requires_torch
@pytest.mark.parametrize("name,fn", INPLACE_NEEDS_SELF, ids=[m[0] for m in INPLACE_NEEDS_SELF])
def test_inplace_needing_overwritten_self_raises(name, fn):
    """Backward needs a value an in-place op overwrote: PyTorch raises (version counter check)."""
    torch = _torch()
    for lib in (torch, gradcore):
        x = lib.full((2, 3), 1.5, requires_grad=True)
        z = lib.full((3,), 2.0, requires_grad=True)
        out = fn(x, z)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.sum().backward()


@requires_torch
def test_inplace_on_leaf_requiring_grad_raises():
    torch = _torch()
    for lib in (torch, gradcore):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.add_(1)


@requires_torch
def test_inplace_on_leaf_under_no_grad_is_allowed():
    torch = _torch()
    results = {}
    for lib in (gradcore, torch):
        x = lib.ones(3, requires_grad=True)
        with lib.no_grad():
            x.mul_(3)
        results[lib.__name__] = (x.requires_grad, x.is_leaf, H.to_numpy(x).tolist())
    assert results["gradcore"] == results["torch"]


def test_from_numpy_shares_memory():
    a = np.arange(6.0).reshape(2, 3)
    t = gradcore.from_numpy(a)
    a[0, 1] = 42.0
    assert t.select(0, 0).select(0, 1).item() == 42.0
    t.mul_(2)
    assert a[1, 2] == 10.0


def test_gradcheck_helper_catches_a_wrong_gradient():
    """The helper itself: a function whose gradient is deliberately wrong must fail the check."""
    x = gradcore.from_numpy(np.array([0.3, -0.7, 1.1])).requires_grad_(True)

    def wrong(t):
        # forward: t * 2; backward: only the first term (detached second term) -> gradient 1, not 2
        return t + t.detach()

    with pytest.raises(AssertionError):
        H.gradcheck(wrong, [x])
    assert H.gradcheck(lambda t: t * 2, [x])

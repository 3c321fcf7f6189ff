"""gradcore.autograd.functional (vjp jvp jacobian hessian hvp vhp) and grad(materialize_grads=) vs PyTorch:
values, return structure (tensor vs tuple nesting), requires_grad of the results, strict-mode errors."""
import numpy as np
import pytest

import gradcore
import helpers as H

pytestmark = pytest.mark.requires_torch


def _torch():
    return pytest.importorskip("torch")


def _structure(r):
    """The nesting of tuples with (shape, requires_grad) at the leaves."""
    if isinstance(r, tuple):
        return tuple(_structure(x) for x in r)
    assert H.is_gradcore(r) or type(r).__module__.startswith("torch"), type(r)
    return (tuple(r.shape), r.requires_grad)


def _compare(got, expected, what="result"):
    assert _structure(got) == _structure(expected), f"{what}: {_structure(got)} vs torch's {_structure(expected)}"
    if isinstance(got, tuple):
        for i, (g, e) in enumerate(zip(got, expected)):
            _compare(g, e, f"{what}[{i}]")
    else:
        H.assert_close(got.detach(), expected.detach(), rtol=1e-10, atol=1e-12, what=what)


def _inputs(lib, arrays, requires_grad=False):
    return tuple(H.from_numpy(lib, a, requires_grad) for a in arrays)


A = np.random.default_rng(1).uniform(-1, 1, (2, 3))
B = np.random.default_rng(2).uniform(-1, 1, (3,))
S = np.array(0.7)

# Functions written once against the PyTorch API.
FUNCS = {
    "pointwise": lambda lib, x: (x.sin() * x).exp(),
    "scalar": lambda lib, x: (x ** 3).sum(),
    "two_in": lambda lib, x, y: (x * y).tanh(),
    "two_in_scalar": lambda lib, x, y: ((x @ y) ** 2).sum() + (x * y).sum() ** 2,
    "two_out": lambda lib, x, y: ((x * y).exp(), (x.sin() * y).sum()),
    "one_in_two_out": lambda lib, x: (x.sum(0), lib.nn.functional.softmax(x, 1)),
    "matmul": lambda lib, x, y: x @ y,
    "0d": lambda lib, s: s.exp() * s,
    "unused_input": lambda lib, x, y: x.exp(),
}


def _call(lib, name, *args, **kw):
    fn = FUNCS[name]
    return lambda *xs: fn(lib, *xs)


# (function, inputs as arrays, tuple-ness of inputs, v for vjp as arrays or None)
VJP_CASES = [
    ("pointwise", (A,), False, (A,)),
    ("scalar", (A,), False, None),
    ("two_in", (A, B), True, (A,)),
    ("two_out", (A, B), True, (A, np.array(2.0))),
    ("one_in_two_out", (A,), False, (B, A)),
    ("0d", (S,), False, None),
    ("unused_input", (A, B), True, (A,)),
]


def _maybe_tuple(lib, arrays, as_tuple):
    ts = _inputs(lib, arrays)
    return ts if as_tuple else ts[0]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,arrays,tup,v", VJP_CASES, ids=[c[0] for c in VJP_CASES])
def test_vjp(name, arrays, tup, v, create_graph):
    torch = _torch()
    res = {}
    for lib in (gradcore, torch):
        vv = None if v is None else _maybe_tuple(lib, v, len(v) > 1)
        res[lib.__name__] = lib.autograd.functional.vjp(_call(lib, name), _maybe_tuple(lib, arrays, tup), vv,
                                                        create_graph=create_graph)
    _compare(res["gradcore"], res["torch"])


JVP_CASES = [
    ("pointwise", (A,), False),
    ("scalar", (A,), False),
    ("two_in", (A, B), True),
    ("two_out", (A, B), True),
    ("one_in_two_out", (A,), False),
    ("0d", (S,), False),
    ("unused_input", (A, B), True),
]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,arrays,tup", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp(name, arrays, tup, create_graph):
    torch = _torch()
    rng = np.random.default_rng(3)
    vs = [rng.uniform(-1, 1, a.shape) for a in arrays]
    res = {}
    for lib in (gradcore, torch):
        res[lib.__name__] = lib.autograd.functional.jvp(_call(lib, name), _maybe_tuple(lib, arrays, tup),
                                                        _maybe_tuple(lib, vs, tup), create_graph=create_graph)
    _compare(res["gradcore"], res["torch"])


JAC_CASES = [
    ("pointwise", (A,), False),
    ("scalar", (A,), False),
    ("two_in", (A, B), True),
    ("two_out", (A, B), True),
    ("one_in_two_out", (A,), False),
    ("matmul", (A, B), True),
    ("0d", (S,), False),
    ("unused_input", (A, B), True),
    ("single_in_as_tuple", (A,), True),
]


@pytest.mark.parametrize("kw", [{}, {"create_graph": True}, {"vectorize": True}], ids=["plain", "create_graph",
                                                                                     "vectorize"])
@pytest.mark.parametrize("name,arrays,tup", JAC_CASES, ids=[c[0] for c in JAC_CASES])
def test_jacobian(name, arrays, tup, kw):
    torch = _torch()
    fname = "pointwise" if name == "single_in_as_tuple" else name
    res = {}
    for lib in (gradcore, torch):
        res[lib.__name__] = lib.autograd.functional.jacobian(_call(lib, fname), _maybe_tuple(lib, arrays, tup), **kw)
    _compare(res["gradcore"], res["torch"])


HESS_CASES = [
    ("scalar", (A,), False),
    ("two_in_scalar", (A, B), True),
    ("0d", (S,), False),
    ("scalar_as_tuple", (A,), True),
]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,arrays,tup", HESS_CASES, ids=[c[0] for c in HESS_CASES])
def test_hessian_hvp_vhp(name, arrays, tup, create_graph):
    torch = _torch()
    fname = "scalar" if name == "scalar_as_tuple" else name
    rng = np.random.default_rng(4)
    vs = [rng.uniform(-1, 1, a.shape) for a in arrays]
    res = {}
    for lib in (gradcore, torch):
        F = lib.autograd.functional
        f = _call(lib, fname)
        x = _maybe_tuple(lib, arrays, tup)
        v = _maybe_tuple(lib, vs, tup)
        res[lib.__name__] = (F.hessian(f, x, create_graph=create_graph), F.hvp(f, x, v, create_graph=create_graph),
                             F.vhp(f, x, v, create_graph=create_graph))
    for what, g, t in zip(("hessian", "hvp", "vhp"), res["gradcore"], res["torch"]):
        _compare(g, t, what)


def test_create_graph_results_are_differentiable():
    torch = _torch()
    grads = {}
    for lib in (gradcore, torch):
        x = H.from_numpy(lib, A, True)
        _, hv = lib.autograd.functional.hvp(lambda t: (t.sin() ** 2).sum(), x, lib.ones(2, 3, dtype=lib.float64),
                                            create_graph=True)
        hv.sum().backward()
        grads[lib.__name__] = x.grad
    H.assert_close(grads["gradcore"], grads["torch"], rtol=1e-10, atol=1e-12)


def test_inputs_are_not_modified_and_stay_leaves():
    x = H.from_numpy(gradcore, A, True)
    gradcore.autograd.functional.jacobian(lambda t: t.exp(), x)
    gradcore.autograd.functional.hessian(lambda t: (t ** 3).sum(), x, create_graph=True)
    assert x.is_leaf and x.grad is None


ERROR_CASES = [
    ("strict_independent", lambda F, lib, x, y: F.jacobian(lambda a, b: a.exp(), (x, y), strict=True)),
    ("strict_vjp", lambda F, lib, x, y: F.vjp(lambda a, b: a.exp(), (x, y), x, strict=True)),
    ("strict_output_no_grad", lambda F, lib, x, y: F.vjp(lambda a: a.detach(), x, x, strict=True)),
    ("strict_linear_hessian", lambda F, lib, x, y: F.hessian(lambda a: a.sum(), x, strict=True)),
    ("v_missing", lambda F, lib, x, y: F.vjp(lambda a: a.exp(), x)),
    ("v_wrong_size", lambda F, lib, x, y: F.vjp(lambda a: a.exp(), x, y)),
    ("v_wrong_length", lambda F, lib, x, y: F.jvp(lambda a, b: a * b, (x, y), (x,))),
    ("jvp_v_missing", lambda F, lib, x, y: F.jvp(lambda a: a.exp(), x)),
    ("hessian_not_scalar", lambda F, lib, x, y: F.hessian(lambda a: a.exp(), x)),
    ("hvp_tuple_output", lambda F, lib, x, y: F.hvp(lambda a: (a.sum(), a.sum()), x, x)),
    ("inputs_not_tensors", lambda F, lib, x, y: F.jacobian(lambda a: a, [1.0, 2.0])),
    ("output_not_tensor", lambda F, lib, x, y: F.jacobian(lambda a: 3.0, x)),
    ("vectorize_strict", lambda F, lib, x, y: F.jacobian(lambda a: a.exp(), x, strict=True, vectorize=True)),
]


@pytest.mark.parametrize("name,call", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_match_torch(name, call):
    torch = _torch()
    errors = {}
    for lib in (gradcore, torch):
        x, y = H.from_numpy(lib, A), H.from_numpy(lib, B)
        with pytest.raises(Exception) as info:
            call(lib.autograd.functional, lib, x, y)
        errors[lib.__name__] = (type(info.value), str(info.value).replace("torch.", "gradcore."))
    assert errors["gradcore"] == errors["torch"]


def test_strict_false_fills_zeros():
    x, y = H.from_numpy(gradcore, A), H.from_numpy(gradcore, B)
    jac = gradcore.autograd.functional.jacobian(lambda a, b: a.exp(), (x, y))
    assert tuple(jac[1].shape) == (2, 3, 3) and not H.to_numpy(jac[1]).any()


# ---------------------------------------------------------------------------------------------------
# grad(materialize_grads=)
# ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("create_graph", [False, True])
def test_grad_materialize_grads(create_graph):
    torch = _torch()
    res = {}
    for lib in (gradcore, torch):
        x, y = H.from_numpy(lib, A, True), H.from_numpy(lib, B, True)
        res[lib.__name__] = lib.autograd.grad((x.exp() * 2).sum(), [x, y], materialize_grads=True,
                                              create_graph=create_graph)
    _compare(res["gradcore"], res["torch"])


def test_grad_materialize_grads_errors_and_default():
    torch = _torch()
    for lib in (gradcore, torch):
        x, y = H.from_numpy(lib, B, True), H.from_numpy(lib, B, True)
        with pytest.raises(ValueError, match="Expected allow_unused to be True or not passed when "
                                             "materialize_grads=True, but got: allow_unused=False."):
            lib.autograd.grad((x * 2).sum(), [x, y], materialize_grads=True, allow_unused=False)
        with pytest.raises(RuntimeError):  # without it, an unused input is still an error
            lib.autograd.grad((x * 2).sum(), [x, y])
        assert lib.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)[1] is None

"""Reductions beyond the op table: ties and NaNs vs torch, accuracy of long sums, return types,
var/std warnings and double backward through the reduction gradients."""

import warnings

import numpy as np
import pytest

import gradcore
import helpers as H

requires_torch = pytest.mark.requires_torch
INF = float("inf")
NAN = float("nan")


def _torch():
    return pytest.importorskip("torch")


def _pair(lib, values, dtype="float64", requires_grad=True):
    return H.from_numpy(lib, np.asarray(values, dtype=H.np_dtype(dtype)), requires_grad)


# Values with ties along both dims (and a tie of the whole tensor's max and min).
TIES = [[1.0, 3.0, 3.0, -1.0], [2.0, -1.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0]]

TIE_CASES = [
    ("max()", lambda x: x.max()),
    ("min()", lambda x: x.min()),
    ("max(dim=1).values", lambda x: x.max(1).values),
    ("max(dim=0).values", lambda x: x.max(0).values),
    ("min(dim=1, keepdim).values", lambda x: x.min(1, keepdim=True).values),
    ("amax(1)", lambda x: x.amax(1)),
    ("amax()", lambda x: x.amax()),
    ("amin((0, 1))", lambda x: x.amin((0, 1))),
    ("amin(0, keepdim)", lambda x: x.amin(0, keepdim=True)),
    ("norm(inf)", lambda x: x.norm(INF)),
    ("norm(inf, dim=1)", lambda x: x.norm(INF, dim=1)),
    ("norm(-inf, dim=0)", lambda x: x.norm(-INF, dim=0)),
    ("prod(1) with zeros", lambda x: x.prod(1)),
    ("prod() with zeros", lambda x: x.prod()),
]


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("label,fn", TIE_CASES, ids=[c[0] for c in TIE_CASES])
def test_ties_match_torch(label, fn, dtype):
    """At ties PyTorch picks a subgradient (even split, or the chosen index); gradcore must pick the same."""
    torch = _torch()
    g_x, t_x = _pair(gradcore, TIES, dtype), _pair(torch, TIES, dtype)
    g_out, t_out = fn(g_x), fn(t_x)
    H.assert_close(g_out, t_out)
    w = np.arange(1.0, 1.0 + t_out.numel()).reshape(tuple(t_out.shape))
    (g_out * H.from_numpy(gradcore, w.astype(H.np_dtype(dtype)))).sum().backward()
    (t_out * H.from_numpy(torch, w.astype(H.np_dtype(dtype)))).sum().backward()
    H.assert_close(g_x.grad, t_x.grad, what="grad")


INDEX_CASES = [
    ("max(1)", lambda x: x.max(1).indices),
    ("max(0)", lambda x: x.max(0).indices),
    ("min(1)", lambda x: x.min(1)[1]),
    ("min(-2, keepdim)", lambda x: x.min(-2, keepdim=True)[1]),
    ("argmax()", lambda x: x.argmax()),
    ("argmin()", lambda x: x.argmin()),
    ("argmax(1)", lambda x: x.argmax(1)),
    ("argmin(0, keepdim)", lambda x: x.argmin(0, keepdim=True)),
]


@requires_torch
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("label,fn", INDEX_CASES, ids=[c[0] for c in INDEX_CASES])
def test_tie_indices_match_torch(label, fn, dtype):
    torch = _torch()
    H.assert_close(fn(_pair(gradcore, TIES, dtype, False)), fn(_pair(torch, TIES, dtype, False)))


NAN_VALUES = [[1.0, NAN, 3.0, NAN], [2.0, 5.0, -1.0, 0.0]]
NAN_CASES = [
    ("max()", lambda x: x.max()),
    ("min()", lambda x: x.min()),
    ("max(1).values", lambda x: x.max(1).values),
    ("max(1).indices", lambda x: x.max(1).indices),
    ("min(1).indices", lambda x: x.min(1).indices),
    ("amax(1)", lambda x: x.amax(1)),
    ("amin(0)", lambda x: x.amin(0)),
    ("argmax()", lambda x: x.argmax()),
    ("argmin(1)", lambda x: x.argmin(1)),
    ("logsumexp(1)", lambda x: x.logsumexp(1)),
]


@requires_torch
@pytest.mark.parametrize("label,fn", NAN_CASES, ids=[c[0] for c in NAN_CASES])
def test_nan_propagates_like_torch(label, fn):
    torch = _torch()
    H.assert_close(fn(_pair(gradcore, NAN_VALUES, "float32", False)), fn(_pair(torch, NAN_VALUES, "float32", False)))


@requires_torch
def test_max_all_gradient_with_nan_goes_to_the_nans():
    torch = _torch()
    grads = []
    for lib in (gradcore, torch):
        x = _pair(lib, NAN_VALUES)
        x.max().backward()
        grads.append(x.grad)
    H.assert_close(grads[0], grads[1])


def test_long_float32_sum_is_accurate():
    """16M float32 values: the sum (float blocks, added in double) stays within 1e-6 of numpy's float64 sum."""
    a = np.random.default_rng(0).uniform(0.5, 1.5, 1 << 24).astype(np.float32)
    expected = a.astype(np.float64).sum()
    t = gradcore.from_numpy(a)
    assert abs(t.sum().item() - expected) <= 1e-6 * expected
    assert abs(t.mean().item() - expected / a.size) <= 1e-6 * expected / a.size
    rows = gradcore.from_numpy(a.reshape(16, -1))
    np.testing.assert_allclose(H.to_numpy(rows.sum(1)), a.reshape(16, -1).astype(np.float64).sum(1), rtol=1e-6)
    cols = gradcore.from_numpy(a.reshape(-1, 16))
    np.testing.assert_allclose(H.to_numpy(cols.sum(0)), a.reshape(-1, 16).astype(np.float64).sum(0), rtol=1e-6)


def test_var_of_offset_data_is_accurate():
    """Two passes in double: a large mean does not swamp a small variance."""
    a = (1e4 + np.random.default_rng(1).standard_normal(1 << 20)).astype(np.float32)
    expected = a.astype(np.float64).var(ddof=1)
    assert abs(gradcore.from_numpy(a).var().item() - expected) <= 1e-5 * expected
    assert abs(gradcore.from_numpy(a).norm().item() - np.linalg.norm(a.astype(np.float64))) <= 1e-6 * np.linalg.norm(a)


def test_long_cumsum_is_accurate():
    a = np.random.default_rng(2).uniform(0.5, 1.5, 1 << 20).astype(np.float32)
    got = H.to_numpy(gradcore.from_numpy(a).cumsum(0))
    np.testing.assert_allclose(got, np.cumsum(a.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("name", ["max", "min"])
def test_values_indices_result(name):
    x = gradcore.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    r = getattr(x, name)(1)
    assert isinstance(r, tuple) and len(r) == 2
    assert type(r).__name__ == name and type(r) is getattr(gradcore.return_types, name)
    values, indices = r
    assert values is r.values or values.tolist() == r.values.tolist()
    assert r[1].tolist() == r.indices.tolist() == indices.tolist()
    assert indices.dtype == gradcore.int64
    assert values.tolist() == ([5.0, 7.0] if name == "max" else [1.0, 0.0])
    assert repr(r).startswith(f"gradcore.return_types.{name}(\nvalues=tensor(")
    assert getattr(gradcore, name)(x, dim=1, keepdim=True).values.shape == (2, 1)


DOF_CASES = [
    ("0d", (), lambda x, n: getattr(x, n)()),
    ("one_element_dim", (3, 1), lambda x, n: getattr(x, n)(1)),
    ("correction", (2, 3), lambda x, n: getattr(x, n)(1, correction=3)),
    ("size0_all", (0, 2), lambda x, n: getattr(x, n)()),
    ("size0_output", (0, 2), lambda x, n: getattr(x, n)(1)),
    ("fine", (2, 3), lambda x, n: getattr(x, n)(1)),
    ("fine_correction0", (3, 1), lambda x, n: getattr(x, n)(1, correction=0)),
]


@requires_torch
@pytest.mark.parametrize("name", ["var", "std"])
@pytest.mark.parametrize("label,shape,call", DOF_CASES, ids=[c[0] for c in DOF_CASES])
def test_var_dof_warning_like_torch(name, label, shape, call):
    """var/std warn (UserWarning) exactly when torch does: N - correction <= 0."""
    torch = _torch()
    warned = {}
    for lib in (torch, gradcore):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call(lib.ones(shape), name)
        warned[lib.__name__] = any("degrees of freedom is <= 0" in str(w.message) for w in caught)
    assert warned["gradcore"] == warned["torch"]


DOUBLE_BACKWARD = [
    ("prod(1)", lambda x: x.prod(1)),
    ("prod()", lambda x: x.prod()),
    ("prod(1) with zeros", lambda x: x.prod(1)),
    ("prod() with zeros", lambda x: x.prod()),
    ("prod(0) with zeros", lambda x: x.prod(0, keepdim=True)),
    ("logsumexp(1)", lambda x: x.logsumexp(1)),
    ("var(1)", lambda x: x.var(1)),
    ("std()", lambda x: x.std()),
    ("norm(3, dim=1)", lambda x: x.norm(3, dim=1)),
    ("norm(1.5)", lambda x: x.norm(1.5)),
    ("norm(0.5, dim=0)", lambda x: x.norm(0.5, dim=0)),
    ("norm()", lambda x: x.norm()),
    ("cumsum(1)", lambda x: x.cumsum(1) ** 2),
    ("amax(1)", lambda x: x.amax(1) ** 2),
    ("max(0).values", lambda x: x.max(0).values ** 2),
    ("min()", lambda x: x.min() ** 2),
]


@requires_torch
@pytest.mark.parametrize("label,fn", DOUBLE_BACKWARD, ids=[c[0] for c in DOUBLE_BACKWARD])
def test_double_backward_matches_torch(label, fn):
    """Backward formulas are built from differentiable ops: second derivatives match torch."""
    torch = _torch()
    values = np.random.default_rng(3).uniform(0.5, 2.0, (3, 4)) * np.array([1.0, -1.0, 1.0, -1.0])
    if "zeros" in label:  # rows with one, two and three zeros; columns with none, one and two
        values[0, 1] = values[1, 0] = values[1, 2] = values[2, 1] = values[2, 2] = values[2, 3] = 0.0
    w = np.random.default_rng(4).standard_normal((3, 4))
    grads = []
    for lib in (gradcore, torch):
        x = H.from_numpy(lib, values, True)
        (g,) = lib.autograd.grad(fn(x).sum(), x, create_graph=True)
        (gg,) = lib.autograd.grad((g * H.from_numpy(lib, w)).sum(), x)
        grads.append(gg)
    H.assert_close(grads[0], grads[1], what="second derivative")

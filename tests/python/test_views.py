"""Views: storage sharing, the version counter, and autograd through in-place writes to views.

Writes through a view (``y[0] = v``, ``y[:, 1].mul_(2)``, ``y.t()[0] = v``) rewrite the base's history as
PyTorch's CopySlices does; these tests compare values, gradients and grad_fn names with torch, and check
the gradients by finite differences without torch.
"""

import numpy as np
import pytest

import gradcore
import helpers as H

requires_torch = pytest.mark.requires_torch


def _setitem(y, index, value):
    y[index] = value
    return y


# Each case: fn(lib, x) with x a float64 leaf of shape (3, 4, 5) that requires grad.
CASES = [
    ("slice_fill", lambda L, x: _setitem(x * 1, (0, slice(1, 3)), 7.0)),
    ("column_copy", lambda L, x: _setitem(x * 1, (slice(None), 1), x[:, 2] * 3)),
    ("rows_index_put", lambda L, x: _setitem(x * 1, ([0, 2],), x[1] * x[1])),
    ("mask_fill", lambda L, x: _setitem(x * 2, x > 0.5, 0.0)),
    ("mask_values", lambda L, x: _setitem(x * 2, x > 0.5, x[x > 0.5] ** 2)),
    ("select_mul_", lambda L, x: (lambda y: (y[1].mul_(3), y)[1])(x * 1)),
    ("slice_add_tensor", lambda L, x: (lambda y: (y[2:].add_(x[0]), y)[1])(x * 1)),
    ("transposed_view_write", lambda L, x: _setitem((x[:, 0] * 1).t(), 0, x[:, 1, 2] * 2)),
    ("into_zeros", lambda L, x: _setitem(L.zeros(4, 4, 5, dtype=L.float64), slice(0, 2), x[0])),
    ("view_used_after_write", lambda L, x: (lambda y: (lambda v: (v.mul_(2), y * v.sum())[1])(y[1]))(x * 1)),
    ("two_writes_same_base", lambda L, x: (lambda y: (y[0].mul_(2), y[:, 1].add_(x[1, 1]), y)[2])(x * 1)),
    ("strided_slice_write", lambda L, x: _setitem(x * 1, (slice(None, None, 2), slice(1, None, 2)), x[0, :2, :] + 1)),
    ("nested_view_write", lambda L, x: (lambda y: (y[1][2:, 1:3].mul_(x[2, :2, :2]), y)[1])(x * 1)),
    ("write_then_read_other_view", lambda L, x: (lambda y: (lambda u: (y[0].mul_(5), u * 1)[1])(y[:, 0]))(x * 1)),
    ("product_then_write", lambda L, x: _setitem(x * x, (1, 1), x[0, 0]).sum(1)),
]


def _input(lib, rng_state=0):
    a = np.random.default_rng(rng_state).random((3, 4, 5))
    return H.from_numpy(lib, a, True)


@requires_torch
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_write_through_view_matches_torch(name, fn):
    torch = pytest.importorskip("torch")
    xg, xt = _input(gradcore), _input(torch)
    og, ot = fn(gradcore, xg), fn(torch, xt)
    H.assert_close(og, ot)
    assert og.grad_fn.name() == type(ot.grad_fn).__name__
    w = np.random.default_rng(1).random(tuple(ot.shape))
    (og * H.from_numpy(gradcore, w)).sum().backward()
    (ot * H.from_numpy(torch, w)).sum().backward()
    H.assert_close(xg.grad, xt.grad, what="gradient")


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_write_through_view_gradcheck(name, fn):
    x = _input(gradcore)
    H.gradcheck(lambda t: fn(gradcore, t), [x])


def test_writes_through_views_are_seen_by_base_and_other_views():
    base = gradcore.zeros(3, 4)
    row, col, t = base[1], base[:, 2], base.t()
    row.fill_(1.0)
    assert base.tolist()[1] == [1.0] * 4
    assert col.tolist() == [0.0, 1.0, 0.0]
    t[3, 0] = 5.0
    assert base[0, 3].item() == 5.0
    col.add_(gradcore.ones(3))
    assert base[:, 2].tolist() == [1.0, 2.0, 1.0]
    assert row._base is base and col._base is base and t._base is base
    assert base[1:][0]._base is base, "a view of a view has the root as its base"
    assert not base._is_view() and row._is_view()


def test_views_share_the_version_counter():
    base = gradcore.zeros(3, 4)
    v = base[0:2].t()
    before = base._version
    v.mul_(2)
    assert base._version == v._version == before + 1
    base.add_(1)
    assert v._version == before + 2


@pytest.mark.parametrize("make", [
    lambda b: b.t(), lambda b: b.transpose(0, 1), lambda b: b.permute(1, 0), lambda b: b[1:, ::2],
    lambda b: b.unsqueeze(0), lambda b: b[None, ..., None].squeeze(), lambda b: b.narrow(1, 1, 2),
    lambda b: b.view(12), lambda b: b.flatten(), lambda b: b.unflatten(1, (2, 2)), lambda b: b.split(1)[1],
    lambda b: b.chunk(2, 1)[0], lambda b: b.unbind(1)[3], lambda b: b.expand(2, 3, 4), lambda b: b.mT,
    lambda b: b.as_strided((2, 2), (1, 4), 1), lambda b: b[..., 1], lambda b: b.select(0, 2),
])
def test_view_ops_do_not_copy(make):
    base = gradcore.arange(12.0).reshape(3, 4).clone()
    v = make(base)
    assert v._base is base
    lo = base.data_ptr()
    assert lo <= v.data_ptr() < lo + base.numel() * base.element_size()


def test_view_of_leaf_written_in_place_raises():
    x = gradcore.ones(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being used in an in-place"):
        x[0].mul_(2)
    with gradcore.no_grad():
        x[0].mul_(2)
    assert x[0].tolist() == [2.0] * 4


def test_multi_output_view_written_in_place_raises():
    y = gradcore.ones(4, 2, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="Output 0 of Unbind is a view and is being modified inplace"):
        y.unbind(0)[0].add_(1)
    with pytest.raises(RuntimeError, match="Output 1 of Split is a view and is being modified inplace"):
        y.split(2)[1].add_(1)


def test_view_made_under_no_grad_then_written_with_grad_raises():
    y = gradcore.ones(3, requires_grad=True) * 1
    with gradcore.no_grad():
        v = y[:2]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(2)


def test_view_history_is_regenerated_after_base_changes():
    x = gradcore.ones(3, 4, requires_grad=True)
    y = x * 1
    v = y[0]
    assert v.grad_fn.name() == "SelectBackward0"
    y.mul_(2)
    assert v.grad_fn.name() == "AsStridedBackward0"
    v.sum().backward()
    assert x.grad.tolist() == [[2.0] * 4] + [[0.0] * 4] * 2


def test_write_into_tensor_without_grad_makes_it_require_grad():
    z = gradcore.zeros(3)
    w = gradcore.ones(1, requires_grad=True)
    z[0:1] = w * 4
    assert z.requires_grad and not z.is_leaf and z.grad_fn.name() == "CopySlices"
    (z * gradcore.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert w.grad.tolist() == [4.0]


def test_double_backward_through_write_into_view():
    x = gradcore.tensor([1.0, 2.0, 3.0], dtype=gradcore.float64, requires_grad=True)
    y = x * 1
    y[1:] = x[1:] ** 3
    (g,) = gradcore.autograd.grad(y.sum(), x, create_graph=True)
    assert g.tolist() == [1.0, 12.0, 27.0]
    (gg,) = gradcore.autograd.grad(g.sum(), x)
    assert gg.tolist() == [0.0, 12.0, 18.0]


@pytest.mark.parametrize("shape, perm", [
    ((1024, 1024), (1, 0)),       # the benchmark's x.t().contiguous()
    ((33, 70), (1, 0)),           # partial tiles on both sides
    ((3, 40, 65), (0, 2, 1)),     # a batch of transposes
    ((40, 3, 65), (2, 1, 0)),     # the tiled dims are not adjacent in the input
    ((31, 200), (1, 0)),          # too short to tile
])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
@pytest.mark.parametrize("threads", [1, 2])
def test_transposed_copies_are_exact(shape, perm, dtype, threads):
    """Copies of transposed views (walked in tiles) match numpy, element for element."""
    before = gradcore.get_num_threads()
    gradcore.set_num_threads(threads)
    try:
        a = (np.random.default_rng(1).standard_normal(shape) * 100).astype(dtype)
        want = np.ascontiguousarray(a.transpose(perm))
        x = gradcore.from_numpy(a).permute(*perm)
        np.testing.assert_array_equal(H.to_numpy(x.contiguous()), want)
        np.testing.assert_array_equal(H.to_numpy(x.clone()), want)
        if dtype == "float32":
            np.testing.assert_array_equal(H.to_numpy(x.double()), want.astype(np.float64))
    finally:
        gradcore.set_num_threads(before)

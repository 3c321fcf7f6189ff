"""The GEMM kernel behind mm / bmm / matmul, checked against numpy over odd shapes and layouts, plus
matmul's double backward and the numerical stability of softmax-based losses.

Shapes straddle the kernel's blocking (MR = 6 rows, NR = 16 / 8 columns, KC = 256 deep, MC = 144 /
96 rows) so that edge tiles, several K slices and several row blocks are all exercised; operands are
taken contiguous, transposed (swapped strides, no copy) and strided.
"""

import numpy as np
import pytest

import gradcore
import helpers as H

SHAPES = [
    (1, 1, 1), (1, 7, 1), (7, 1, 1), (1, 1, 9), (1, 17, 5), (5, 1, 17), (2, 3, 4), (6, 16, 8), (7, 17, 9),
    (13, 31, 29), (5, 33, 0), (0, 4, 3), (4, 0, 3), (37, 45, 300), (150, 20, 19), (145, 9, 17), (33, 100, 513),
]


def _operand(arr, layout):
    """A gradcore tensor with arr's values in the given memory layout."""
    if layout == "contig":
        return gradcore.from_numpy(np.ascontiguousarray(arr))
    if layout == "t":  # column-major storage: the transpose of a contiguous matrix (strides swapped)
        t = gradcore.from_numpy(np.asfortranarray(arr))
        assert arr.ndim < 2 or arr.shape[0] < 2 or arr.shape[1] < 2 or t.stride()[0] == 1
        return t
    if layout == "strided":  # every other column of a wider matrix
        wide = np.zeros(arr.shape[:-1] + (arr.shape[-1], 2), dtype=arr.dtype)
        wide[..., 1] = arr
        return gradcore.from_numpy(wide).select(-1, 1)
    raise ValueError(layout)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("m,n,k", SHAPES, ids=[f"{m}x{n}x{k}" for m, n, k in SHAPES])
@pytest.mark.parametrize("layouts", [("contig", "contig"), ("t", "contig"), ("contig", "t"), ("t", "t"),
                                     ("strided", "strided")], ids="-".join)
def test_mm_matches_numpy(m, n, k, dtype, layouts, rng):
    if dtype == "int64":
        a = rng.integers(-5, 6, (m, k)).astype(np.int64)
        b = rng.integers(-5, 6, (k, n)).astype(np.int64)
    else:
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
    ta, tb = _operand(a, layouts[0]), _operand(b, layouts[1])
    got = np.array(gradcore.mm(ta, tb))
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert got.shape == (m, n) and got.dtype == np.dtype(dtype)
    if dtype == "int64":
        np.testing.assert_array_equal(got, expected.astype(np.int64))
    else:
        tol = 1e-4 if dtype == "float32" else 1e-11
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol * max(1, k) ** 0.5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch,m,n,k", [(3, 7, 17, 9), (1, 1, 1, 1), (4, 1, 5, 300), (2, 6, 16, 0), (0, 2, 3, 4)])
def test_bmm_matches_numpy(batch, m, n, k, dtype, rng):
    a = rng.standard_normal((batch, m, k)).astype(dtype)
    b = rng.standard_normal((batch, k, n)).astype(dtype)
    got = np.array(gradcore.bmm(gradcore.from_numpy(a), gradcore.from_numpy(b)))
    tol = 1e-4 if dtype == "float32" else 1e-11
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=tol, atol=tol * max(1, k) ** 0.5)


def test_k_zero_gives_zeros():
    out = gradcore.mm(gradcore.ones(3, 0), gradcore.ones(0, 4))
    assert out.tolist() == [[0.0] * 4] * 3


def test_large_matmul_matches_numpy(rng):
    a = rng.standard_normal((300, 520)).astype(np.float32)
    b = rng.standard_normal((520, 3100)).astype(np.float32)  # more than one NC column block
    got = np.array(gradcore.from_numpy(a) @ gradcore.from_numpy(b))
    np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=1e-3, atol=1e-3)


def test_nan_in_uninitialised_output_does_not_leak():
    # mm writes into a fresh (uninitialised) buffer with beta = 0: NaN garbage must never be read.
    for _ in range(20):
        out = gradcore.mm(gradcore.ones(9, 5), gradcore.ones(5, 19))
        assert (out == 5.0).all().item()


# ---- double backward through matmul (backward is written with matmul ops) --------------------------------

DOUBLE = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((2, 2, 3), (2, 3, 4)), ((2, 1, 3, 4), (5, 4, 2)),
          ((2, 2, 3), (3, 4)), ((2, 3), (5, 3, 4))]


@pytest.mark.requires_torch
@pytest.mark.parametrize("sa,sb", DOUBLE, ids=[f"{a}@{b}" for a, b in DOUBLE])
def test_matmul_double_backward_matches_torch(sa, sb, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal(sa)
    b = rng.standard_normal(sb)
    results = []
    for lib in (gradcore, torch):
        x = H.from_numpy(lib, a, True)
        y = H.from_numpy(lib, b, True)
        out = lib.matmul(x, y)
        gx, gy = lib.autograd.grad((out * out).sum(), [x, y], create_graph=True)
        ((gx * gx).sum() + (gy * y).sum()).backward()
        results.append([H.to_numpy(t) for t in (out, gx, gy, x.grad, y.grad)])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


def test_linear_double_backward_gradcheck(rng):
    # d/dx of (d loss / d w): second-order terms through addmm's backward, by finite differences.
    x = gradcore.from_numpy(rng.standard_normal((2, 3))).requires_grad_(True)
    w = gradcore.from_numpy(rng.standard_normal((4, 3))).requires_grad_(True)
    b = gradcore.from_numpy(rng.standard_normal(4)).requires_grad_(True)

    def grad_w(x, w, b):
        with gradcore.enable_grad():  # (the numerical pass runs under no_grad with plain inputs)
            if not w.requires_grad:
                w = w.detach().requires_grad_(True)
            out = gradcore.nn.functional.linear(x, w, b)
            (g,) = gradcore.autograd.grad((out * out).sum(), [w], create_graph=True)
        return g

    H.gradcheck(grad_w, [x, w, b])


# ---- stability of softmax-based losses at large logits ----------------------------------------------------

@pytest.mark.requires_torch
@pytest.mark.parametrize("scale", [1e4, -1e4, 1e30])
def test_large_logits_are_finite_and_match_torch(scale, rng):
    torch = pytest.importorskip("torch")
    logits = (rng.standard_normal((4, 5)) * scale).astype(np.float32)
    target = [0, 4, 2, 1]
    results = []
    for lib in (gradcore, torch):
        F = lib.nn.functional
        x = H.from_numpy(lib, logits, True)
        t = lib.tensor(target)
        losses = [F.cross_entropy(x, t), F.nll_loss(F.log_softmax(x, 1), t, reduction="sum"),
                  F.softmax(x, 1).sum(), F.binary_cross_entropy_with_logits(x, lib.ones(4, 5) * 0.25)]
        total = losses[0] + losses[1] + losses[3]
        total.backward()
        results.append([H.to_numpy(v) for v in losses] + [H.to_numpy(x.grad)])
    for got, expected in zip(*results):
        assert np.isfinite(got).all(), got
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


NN_DOUBLE = [
    ("softmax", lambda lib, x: lib.nn.functional.softmax(x, 1)),
    ("log_softmax", lambda lib, x: lib.nn.functional.log_softmax(x, 0)),
    ("cross_entropy", lambda lib, x: lib.nn.functional.cross_entropy(x, lib.tensor([0, 3, 1]))),
    ("nll_loss_none", lambda lib, x: lib.nn.functional.nll_loss(x, lib.tensor([0, 3, 1]), reduction="none")),
    ("pad", lambda lib, x: lib.nn.functional.pad(x, (1, -1, 0, 2))),
    ("bce_with_logits", lambda lib, x: lib.nn.functional.binary_cross_entropy_with_logits(
        x, lib.full((3, 4), 0.3, dtype=lib.float64))),
]


@pytest.mark.requires_torch
@pytest.mark.parametrize("name,fn", NN_DOUBLE, ids=[n for n, _ in NN_DOUBLE])
def test_nn_double_backward_matches_torch(name, fn, rng):
    torch = pytest.importorskip("torch")
    a = rng.standard_normal((3, 4))
    w = rng.standard_normal((3, 4))
    results = []
    for lib in (gradcore, torch):
        x = H.from_numpy(lib, a, True)
        out = fn(lib, x)
        (g,) = lib.autograd.grad((out * out).sum(), [x], create_graph=True)
        (g * H.from_numpy(lib, w)).sum().backward()
        results.append([H.to_numpy(t) for t in (out, g, x.grad)])
    for got, expected in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)

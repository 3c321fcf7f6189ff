"""Ordinary model code, written once against the PyTorch API, gives torch's values and gradients.

Each model takes ``lib`` (gradcore or torch) and leaf tensors; inputs come from the same numpy arrays,
in float32 and float64, contiguous and as non-contiguous views (a transposed weight, a strided batch).
"""

import math

import numpy as np
import pytest

import gradcore
import helpers as H

pytestmark = pytest.mark.requires_torch


def mlp(lib, x, w1, b1, w2, b2, target):
    F = lib.nn.functional
    h = F.relu(x @ w1.t() + b1)
    h = F.gelu(h) * lib.sigmoid(h)
    logits = F.linear(h, w2, b2)
    return F.cross_entropy(logits, target) + 0.1 * F.mse_loss(logits.softmax(-1), F.one_hot(target, 4).to(x.dtype))


def softmax_classifier(lib, x, w, b, target):
    logp = lib.log_softmax(x @ w + b, dim=1)
    nll = -logp[lib.arange(x.shape[0]), target].mean()
    acc_penalty = (logp.argmax(1) == target).to(x.dtype).mean()  # no gradient, value only
    return nll + 0 * acc_penalty + 1e-3 * w.pow(2).sum()


def attention(lib, x, wq, wk, wv, wo):
    b, t, d = x.shape
    heads = 2
    q = (x @ wq).view(b, t, heads, d // heads).transpose(1, 2)
    k = (x @ wk).view(b, t, heads, d // heads).transpose(1, 2)
    v = (x @ wv).view(b, t, heads, d // heads).transpose(1, 2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d // heads)
    mask = lib.ones(t, t, dtype=lib.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    att = lib.softmax(scores, dim=-1)
    y = (att @ v).transpose(1, 2).reshape(b, t, d)
    y = y @ wo
    mu = y.mean(-1, keepdim=True)
    var = y.var(-1, keepdim=True, unbiased=False)
    return ((y - mu) / lib.sqrt(var + 1e-5)).tanh().sum(dim=(1, 2)).logsumexp(0)


def _arrays(rng, shapes):
    return [rng.standard_normal(s) * 0.5 for s in shapes]


CASES = {
    "mlp": (mlp, [(6, 5), (8, 5), (8,), (4, 8), (4,)], np.array([0, 3, 1, 2, 3, 0])),
    "softmax_classifier": (softmax_classifier, [(7, 5), (5, 3), (3,)], np.array([0, 2, 1, 1, 0, 2, 2])),
    "attention": (attention, [(2, 5, 4), (4, 4), (4, 4), (4, 4), (4, 4)], None),
}


def _build(lib, arrays, dtype, layout):
    leaves, args = [], []
    for i, a in enumerate(arrays):
        if layout == "strided" and i == 0:
            # A non-contiguous batch: every other row of a larger array (same values in both libs).
            big = np.zeros((a.shape[0] * 2,) + a.shape[1:])
            big[::2] = a
            leaf = H.from_numpy(lib, big.astype(dtype), True)
            leaves.append(leaf)
            args.append(leaf[::2])
        elif layout == "strided" and a.ndim == 2:
            leaf = H.from_numpy(lib, np.ascontiguousarray(a.T).astype(dtype), True)  # a transposed weight
            leaves.append(leaf)
            args.append(leaf.t())
        else:
            leaf = H.from_numpy(lib, a.astype(dtype), True)
            leaves.append(leaf)
            args.append(leaf)
    return leaves, args


@pytest.mark.parametrize("layout", ["contiguous", "strided"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(CASES))
def test_model_matches_torch(name, dtype, layout):
    torch = pytest.importorskip("torch")
    fn, shapes, target = CASES[name]
    arrays = _arrays(np.random.default_rng(7), shapes)
    results = []
    for lib in (gradcore, torch):
        leaves, args = _build(lib, arrays, dtype, layout)
        extra = [lib.tensor(target)] if target is not None else []
        loss = fn(lib, *args, *extra)
        loss.backward()
        results.append((loss, [leaf.grad for leaf in leaves]))
    (g_loss, g_grads), (t_loss, t_grads) = results
    H.assert_close(g_loss, t_loss)
    for i, (g, t) in enumerate(zip(g_grads, t_grads)):
        H.assert_close(g, t, what=f"gradient of input {i}")

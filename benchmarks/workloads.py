"""The one registry of benchmark workloads.

Each body is written once against the PyTorch API as ``body(lib, *inputs)``, where ``lib`` is
the library module (gradcore, torch, ...) and ``inputs`` are that library's tensors.
Inputs are described by `Input` recipes and allocated in `Workload.setup`, outside the timed
region. A workload may also carry a numpy variant with the same signature (``np`` first).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

SUITES = ("micro", "kernels", "gemm", "training")
SEED = 1234  # same seed for every library, so all of them see identical data

# Raised by setup/first call when a library lacks an op: the cell shows "—", not an error.
UNSUPPORTED = (AttributeError, NotImplementedError, TypeError)


class NoVariant(Exception):
    """The workload has nothing meaningful to run for this library (e.g. autograd on numpy)."""


@dataclass(frozen=True)
class Input:
    """Recipe for one input array, generated with numpy so every library gets the same values."""

    shape: tuple
    requires_grad: bool = False
    scale: float = 1.0
    classes: int = 0  # > 0: int64 labels in [0, classes) instead of float32 normals

    def array(self, rng: np.random.Generator) -> np.ndarray:
        if self.classes:
            return rng.integers(0, self.classes, self.shape, dtype=np.int64)
        return rng.standard_normal(self.shape, dtype=np.float32) * np.float32(self.scale)


def randn(*shape: int, grad: bool = False, scale: float = 1.0) -> Input:
    return Input(shape, grad, scale)


def to_tensor(lib: Any, arr: np.ndarray, requires_grad: bool) -> Any:
    """numpy -> lib tensor. from_numpy avoids a copy for big inputs; leaves needing grad go
    through tensor(..., requires_grad=True), the most basic way to make one."""
    if requires_grad:
        return lib.tensor(arr, requires_grad=True)
    from_numpy = getattr(lib, "from_numpy", None)
    return from_numpy(arr) if from_numpy is not None else lib.tensor(arr)


@dataclass(frozen=True)
class Workload:
    suite: str
    name: str
    body: Callable[..., Any]  # body(lib, *inputs): the timed code, PyTorch API only
    inputs: tuple = ()  # Input recipes, allocated by setup()
    numpy: Optional[Callable[..., Any]] = None  # numpy(np, *arrays), where a comparison is meaningful
    bytes: int = 0  # minimum memory traffic per call -> GB/s column
    flops: int = 0  # floating-point ops per call -> GFLOP/s column

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    def setup(self, lib: Any) -> Callable[[], Any]:
        """Allocate the inputs for `lib` and return the state: a zero-argument callable that
        runs the body once. The harness calls it directly in its timing loop (no extra frame)."""
        rng = np.random.default_rng(SEED)
        arrays = [spec.array(rng) for spec in self.inputs]
        if lib.__name__ == "numpy":
            if self.numpy is None:
                raise NoVariant
            return functools.partial(self.numpy, lib, *arrays)
        tensors = [to_tensor(lib, a, spec.requires_grad) for a, spec in zip(arrays, self.inputs)]
        return functools.partial(self.body, lib, *tensors)

    @staticmethod
    def run(state: Callable[[], Any]) -> Any:
        return state()


REGISTRY: list[Workload] = []


def register(suite: str, name: str, body: Callable[..., Any], **kw: Any) -> Callable[..., Any]:
    assert suite in SUITES, suite
    wl = Workload(suite, name, body, **kw)
    assert all(w.id != wl.id for w in REGISTRY), f"duplicate workload {wl.id}"
    REGISTRY.append(wl)
    return body


def workload(suite: str, name: str, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator form of register(), for bodies longer than a lambda."""
    return lambda body: register(suite, name, body, **kw)


def softmax(lib: Any) -> Callable[..., Any]:
    # torch has both spellings; a young library may only have one of them.
    return getattr(lib, "softmax", None) or lib.nn.functional.softmax


# --------------------------------------------------------------------------------------------
# micro: per-op overhead (dispatch, allocation, autograd bookkeeping) on tiny tensors.


@workload("micro", "seed loop 2x2 fwd+bwd")
def seed_loop(lib):
    x = lib.ones(2, 2, requires_grad=True)
    y = x + 2
    z = y * y * 3
    out = z.mean()
    out.backward()


register("micro", "2x2 + 2 (no grad)", lambda lib, x: x + 2,
         inputs=(randn(2, 2),), numpy=lambda np, x: x + 2)

register("micro", "2x2 * 3 requires_grad fwd", lambda lib, x: x * 3,
         inputs=(randn(2, 2, grad=True),))


@workload("micro", "chain 1000 ops + backward", inputs=(randn(2, 2, grad=True),))
def chain(lib, x):
    # Deep graph of tiny ops: measures the per-node cost of recording and walking the graph.
    y = x
    for i in range(500):
        y = y * 1.0001
        y = y + 0.0001
    y.sum().backward()  # x.grad accumulates across calls: one extra add, same for every lib


# --------------------------------------------------------------------------------------------
# kernels: memory-bound elementwise / reduction kernels. `bytes` is the minimum traffic
# (read inputs once, write output once), so GB/s is comparable to the machine's bandwidth.

F32 = 4
for op, body, np_body, n_in, writes_n in (
    ("add", lambda lib, a, b: a + b, lambda np, a, b: np.add(a, b), 2, True),
    ("mul", lambda lib, a, b: a * b, lambda np, a, b: np.multiply(a, b), 2, True),
    ("exp", lambda lib, a: lib.exp(a), lambda np, a: np.exp(a), 1, True),
    ("sum", lambda lib, a: a.sum(), lambda np, a: a.sum(), 1, False),
):
    for n, size in ((1 << 20, "1M"), (1 << 24, "16M")):
        register("kernels", f"{op} {size}", body, inputs=(randn(n),) * n_in, numpy=np_body,
                 bytes=F32 * n * (n_in + writes_n))

N = 1024
register("kernels", "sum dim=1 1024x1024", lambda lib, a: a.sum(dim=1), inputs=(randn(N, N),),
         numpy=lambda np, a: a.sum(axis=1), bytes=F32 * (N * N + N))
register("kernels", "transpose copy 1024x1024", lambda lib, a: a.t().contiguous(),
         inputs=(randn(N, N),), numpy=lambda np, a: np.ascontiguousarray(a.T),
         bytes=2 * F32 * N * N)


def np_softmax(np, a):
    # The natural numpy spelling (three passes); torch's is a fused kernel.
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


register("kernels", "softmax 1024x1024 dim=-1", lambda lib, a: softmax(lib)(a, dim=-1),
         inputs=(randn(N, N),), numpy=np_softmax, bytes=2 * F32 * N * N)


register("kernels", "max dim=1 1024x1024", lambda lib, a: a.max(dim=1), inputs=(randn(N, N),),
         numpy=lambda np, a: (a.max(axis=1), a.argmax(axis=1)), bytes=F32 * N * N)
register("kernels", "var dim=0 1024x1024", lambda lib, a: a.var(dim=0), inputs=(randn(N, N),),
         numpy=lambda np, a: a.var(axis=0, ddof=1), bytes=F32 * N * N)
register("kernels", "gather rows x[idx] 1024x1024", lambda lib, a, i: a[i],
         inputs=(randn(N, N), Input((N,), classes=N)), numpy=lambda np, a, i: a[i], bytes=2 * F32 * N * N)
register("kernels", "cat 2x 1024x1024 dim=1", lambda lib, a, b: lib.cat([a, b], dim=1),
         inputs=(randn(N, N), randn(N, N)), numpy=lambda np, a, b: np.concatenate([a, b], axis=1),
         bytes=4 * F32 * N * N)


@workload("kernels", "cross_entropy 128x10 fwd+bwd", inputs=(randn(128, 10, grad=True), Input((128,), classes=10)))
def cross_entropy_step(lib, logits, target):
    lib.nn.functional.cross_entropy(logits, target).backward()
    logits.grad = None


@workload("kernels", "softmax 1024x1024 fwd+bwd", inputs=(randn(N, N, grad=True),), bytes=4 * F32 * N * N)
def softmax_backward(lib, a):
    (softmax(lib)(a, dim=-1) * a).sum().backward()
    a.grad = None


# --------------------------------------------------------------------------------------------
# gemm: compute-bound matrix multiply; 2*M*N*K flops.

for n in (128, 512, 1024, 2048):
    register("gemm", f"matmul {n}", lambda lib, a, b: a @ b, inputs=(randn(n, n), randn(n, n)),
             numpy=lambda np, a, b: a @ b, flops=2 * n**3)

# The nn.Linear pattern: the transposed weight is a strided view, not a copy.
register("gemm", "x @ w.t() 512x1024 @ (1024x1024).t()", lambda lib, x, w: x @ w.t(),
         inputs=(randn(512, 1024), randn(1024, 1024)), numpy=lambda np, x, w: x @ w.T,
         flops=2 * 512 * 1024 * 1024)


# --------------------------------------------------------------------------------------------
# training: whole forward + backward (+ update) steps. flops count the matmuls only.

B, D, H, C = 128, 784, 512, 10


@workload("training", "MLP step 128x784-512-10", inputs=(
    randn(B, D), Input((B,), classes=C),
    randn(D, H, grad=True, scale=(2 / D) ** 0.5), randn(H, grad=True, scale=0.01),
    randn(H, C, grad=True, scale=(2 / H) ** 0.5), randn(C, grad=True, scale=0.01),
), flops=2 * B * (2 * D * H + 3 * H * C))  # fwd x@w1, h@w2; bwd dW1, dW2, dh (no dx needed)
def mlp_step(lib, x, y, w1, b1, w2, b2):
    F = lib.nn.functional
    h = F.relu(x @ w1 + b1)
    loss = F.cross_entropy(h @ w2 + b2, y)
    loss.backward()
    with lib.no_grad():  # plain SGD, as a hand-written training loop would do it
        for p in (w1, b1, w2, b2):
            p -= 0.01 * p.grad
            p.grad = None


@workload("training", "wide backward 256x1024 tanh", inputs=(
    randn(256, 1024), randn(1024, 1024, grad=True, scale=1 / 32), randn(1024, grad=True, scale=0.01),
), flops=4 * 256 * 1024 * 1024)  # fwd x@w, bwd dW (x needs no grad)
def wide_backward(lib, x, w, b):
    # A shallow, wide graph (contrast with the deep 1000-op chain): kernel-bound backward.
    lib.tanh(x @ w + b).sum().backward()
    w.grad = None  # reset so every call does the same work (no accumulation)
    b.grad = None


# The examples/train_digits.py network: 64-128-128-10 MLP, Adam, batches of 64 over 1437 samples per epoch
# (random data of the digits' shape, so the benchmark needs no scikit-learn). Model and optimizer are built
# once per library, outside the timed region; one call is one epoch (23 optimizer steps).
DIGITS_N, DIGITS_BATCH = 1437, 64
_digits_state: dict = {}


@workload("training", "digits MLP epoch 1437x64-128-128-10 Adam bs64", inputs=(
    randn(DIGITS_N, 64), Input((DIGITS_N,), classes=10),
), flops=2 * DIGITS_N * 3 * (64 * 128 + 128 * 128 + 128 * 10))  # fwd + 2 bwd matmuls per layer
def digits_epoch(lib, x, y):
    state = _digits_state.get(lib.__name__)
    if state is None:
        nn = lib.nn
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
        opt = lib.optim.Adam(model.parameters(), lr=1e-3)
        batches = [(x[i:i + DIGITS_BATCH], y[i:i + DIGITS_BATCH]) for i in range(0, DIGITS_N, DIGITS_BATCH)]
        state = _digits_state[lib.__name__] = (model, opt, nn.CrossEntropyLoss(), batches)
    model, opt, loss_fn, batches = state
    for xb, yb in batches:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()

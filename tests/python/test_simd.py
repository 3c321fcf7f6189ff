"""Every CPU dispatch path of the vectorised kernels, natively.

GRADCORE_CPU_CAPABILITY=avx512|avx2|default caps the instruction set the kernels use (read once at
load), so each path runs in a subprocess of its own; each one's results are compared with torch
(float64 references) and with each other. Paths the CPU lacks fall back to the best it has: the
test checks what the subprocess reports. tests/run_qemu.sh covers the same paths on emulated CPUs.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import gradcore

# Subprocesses import the same gradcore as this process (installed, or the in-tree build).
PYTHON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(gradcore.__file__)))

# Runs in each subprocess: evaluates the kernels on fixed inputs and prints the results as JSON.
_CHILD = r"""
import json, sys
import numpy as np
import gradcore as gc
rng = np.random.default_rng(0)
x32 = np.concatenate([np.linspace(-110, 110, 20011), rng.standard_normal(3001) * 3,
                      [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 88.72, -87.3]]).astype(np.float32)
pos = np.abs(x32)
a = rng.standard_normal((67, 45)).astype(np.float32)
b = rng.standard_normal((45, 131)).astype(np.float32)
big = rng.random(1 << 20).astype(np.float32)
out = {"capability": gc._C._get_cpu_capability()}
for dt in ("float32", "float64"):
    t = gc.tensor(x32.astype(dt))
    p = gc.tensor(pos.astype(dt))
    out[dt] = {
        "exp": t.exp().numpy().tolist(),
        "log": p.log().numpy().tolist(),
        "tanh": t.tanh().numpy().tolist(),
        "sigmoid": t.sigmoid().numpy().tolist(),
        "silu": gc.nn.functional.silu(t).numpy().tolist(),
        "gelu": gc.nn.functional.gelu(t, approximate="tanh").numpy().tolist(),
        "softmax": gc.softmax(gc.tensor(a.astype(dt)), -1).numpy().tolist(),
        "matmul": (gc.tensor(a.astype(dt)) @ gc.tensor(b.astype(dt))).numpy().tolist(),
        "matmul_t": (gc.tensor(a.T.copy().astype(dt)).t() @ gc.tensor(b.T.copy().astype(dt)).t()).numpy().tolist(),
        "sum": float(gc.tensor(big.astype(dt)).sum().item()),
    }
print(json.dumps(out))
"""

CAPABILITIES = ["avx512", "avx2", "default"]


def _run(capability):
    env = dict(os.environ, GRADCORE_CPU_CAPABILITY=capability)
    env["PYTHONPATH"] = os.pathsep.join([PYTHON_DIR, env.get("PYTHONPATH", "")])
    res = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def results():
    return {c: _run(c) for c in CAPABILITIES}


_ORDER = {"default": 0, "avx2": 1, "avx512": 2}


def test_capability_is_capped(results):
    best = _ORDER[gradcore._C._get_cpu_capability()] if "GRADCORE_CPU_CAPABILITY" not in os.environ else None
    for cap, r in results.items():
        got = r["capability"]
        assert _ORDER[got] <= _ORDER[cap]
        if best is not None:
            assert _ORDER[got] == min(_ORDER[cap], best)


def _torch_reference(name, x, dtype):
    t = torch.tensor(x, dtype=torch.float64)
    f = {
        "exp": torch.exp,
        "log": lambda v: torch.log(v.abs()),
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "silu": torch.nn.functional.silu,
        "gelu": lambda v: torch.nn.functional.gelu(v, approximate="tanh"),
    }[name]
    return f(t).to(dtype)


@pytest.mark.parametrize("cap", CAPABILITIES)
@pytest.mark.parametrize("dt", ["float32", "float64"])
@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "silu", "gelu"])
def test_unary_matches_torch(results, cap, dt, name):
    rng = np.random.default_rng(0)
    x32 = np.concatenate([np.linspace(-110, 110, 20011), rng.standard_normal(3001) * 3,
                          [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-40, -1e-40, 88.72, -87.3]]).astype(np.float32)
    tdt = getattr(torch, dt)
    ref = _torch_reference(name, x32.astype(dt), tdt).numpy()
    got = np.array(results[cap][dt][name], dtype=dt)
    # float32: <= 2 ulp for exp/log/tanh/sigmoid; silu/gelu are products (a few ulp), and gelu's
    # 1 + tanh cancels for negative x, so it gets an absolute floor too.
    rtol = {"float32": 3e-7, "float64": 5e-16}[dt] * (4 if name in ("silu", "gelu") else 2)
    atol = {"float32": 1e-44, "float64": 1e-320}[dt]  # subnormal results: a few units of denorm_min
    if name == "gelu":
        atol = 1e-6 if dt == "float32" else 1e-15
    if name == "silu" and dt == "float32":
        atol = 1e-40  # x * sigmoid(x) is subnormal below -87
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("cap", CAPABILITIES)
def test_softmax_matmul_sum(results, cap):
    rng = np.random.default_rng(0)
    rng.standard_normal(3001)  # the child's draws, in its order
    a = rng.standard_normal((67, 45)).astype(np.float32)
    b = rng.standard_normal((45, 131)).astype(np.float32)
    big = rng.random(1 << 20).astype(np.float32)
    for dt, rtol in (("float32", 2e-6), ("float64", 1e-14)):
        r = results[cap][dt]
        ad, bd = a.astype(np.float64), b.astype(np.float64)
        np.testing.assert_allclose(r["softmax"], torch.softmax(torch.tensor(ad), -1).numpy(), rtol=rtol * 4)
        np.testing.assert_allclose(r["matmul"], ad @ bd, rtol=rtol * 50, atol=rtol * 50)
        np.testing.assert_allclose(r["matmul_t"], ad @ bd, rtol=rtol * 50, atol=rtol * 50)
        ref = float(np.sum(big.astype(np.float64)))
        assert abs(r["sum"] - ref) <= 1e-6 * ref


def test_paths_agree(results):
    """The three builds compute the same functions: results agree to a couple of ulp."""
    base = results["default"]
    for cap in ("avx2", "avx512"):
        for dt, rtol in (("float32", 5e-7), ("float64", 1e-15)):
            for name in ("exp", "log", "tanh", "sigmoid"):
                np.testing.assert_allclose(results[cap][dt][name], base[dt][name], rtol=rtol,
                                           atol=1e-44 if dt == "float32" else 0, equal_nan=True)

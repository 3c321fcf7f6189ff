"""Shared helpers for gradcore's Python tests.

* ``to_numpy`` / ``to_torch`` / ``from_torch`` / ``from_numpy``: converters that go through numpy,
  so they never depend on either library's interop with the other;
* ``dtype_name``: "float32" for both ``gradcore.float32`` and ``torch.float32``;
* ``assert_close``: a gradcore tensor against a torch tensor (shape, dtype name and values);
* ``gradcheck``: a float64 central-difference gradient check that uses gradcore only (no torch).

torch is imported lazily, only by the helpers that need it.
"""

import numpy as np

import gradcore

GRADCHECK_EPS = 1e-6
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-3

_NP_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "bool": np.bool_}


def dtype_name(dtype):
    """The bare dtype name ("float32", "int64", ...) of a gradcore, torch or numpy dtype."""
    if isinstance(dtype, np.dtype) or (isinstance(dtype, type) and issubclass(dtype, np.generic)):
        name = np.dtype(dtype).name
        return "bool" if name == "bool_" else name
    return str(dtype).rsplit(".", 1)[-1]


def np_dtype(name):
    return _NP_DTYPES[name]


def is_gradcore(obj):
    return isinstance(obj, gradcore.Tensor)


def to_numpy(t):
    """A fresh numpy copy of a gradcore or torch tensor (detached), keeping its shape (0-dim included)."""
    if is_gradcore(t):
        return np.array(t.detach(), copy=True)
    return t.detach().cpu().numpy().copy()


def from_numpy(lib, array, requires_grad=False):
    """A tensor of ``lib`` (the gradcore or torch module) holding a copy of ``array``, shape and dtype kept."""
    out = lib.from_numpy(np.array(array, copy=True, order="C"))
    if requires_grad:
        out.requires_grad_(True)
    return out


def to_torch(t):
    """The gradcore tensor ``t`` as a torch tensor (a detached copy, via numpy)."""
    import torch

    return torch.from_numpy(to_numpy(t))


def from_torch(t):
    """The torch tensor ``t`` as a gradcore tensor (a detached copy, via numpy)."""
    return gradcore.from_numpy(to_numpy(t))


def assert_close(actual, expected, rtol=None, atol=None, check_dtype=True, what="tensor"):
    """``actual`` (gradcore) must match ``expected`` (torch): same shape, same dtype name, close values.

    Default tolerances depend on the dtype: 1.3e-6/1e-5 for float32, 1e-7/1e-7 for float64, exact for
    integers and bools. NaNs compare equal to NaNs.
    """
    assert is_gradcore(actual), f"{what}: expected a gradcore.Tensor, got {type(actual).__name__}"
    assert tuple(actual.shape) == tuple(expected.shape), (
        f"{what}: shape {tuple(actual.shape)} != torch's {tuple(expected.shape)}")
    a_dt, e_dt = dtype_name(actual.dtype), dtype_name(expected.dtype)
    if check_dtype:
        assert a_dt == e_dt, f"{what}: dtype {a_dt} != torch's {e_dt}"
    a, e = to_numpy(actual), to_numpy(expected)
    if e_dt in ("float32", "float64") or a_dt in ("float32", "float64"):
        single = "float32" in (a_dt, e_dt)
        rtol = (1.3e-6 if single else 1e-7) if rtol is None else rtol
        atol = (1e-5 if single else 1e-7) if atol is None else atol
        np.testing.assert_allclose(a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=what)
    else:
        np.testing.assert_array_equal(a, e, err_msg=what)


def _zero_grads(tensors):
    for t in tensors:
        t.grad = None


def gradcheck(fn, inputs, eps=GRADCHECK_EPS, atol=GRADCHECK_ATOL, rtol=GRADCHECK_RTOL):
    """Checks gradcore's analytical Jacobian of ``fn(*inputs)`` against central differences.

    ``inputs`` are gradcore tensors (or other arguments passed through unchanged); those with
    ``requires_grad`` (float64 leaves) are differentiated. ``fn`` must not modify its inputs.
    The analytical Jacobian is built one output element at a time with ``out.backward(onehot)``;
    the numerical one by re-running ``fn`` on perturbed copies of the inputs under ``no_grad``.
    Raises AssertionError with the worst mismatch; returns True otherwise.
    """
    diff = [i for i, x in enumerate(inputs) if is_gradcore(x) and x.requires_grad]
    assert diff, "gradcheck: no input requires grad"
    for i in diff:
        assert dtype_name(inputs[i].dtype) == "float64", "gradcheck needs float64 inputs"
        assert inputs[i].is_leaf, "gradcheck needs leaf inputs"

    out = fn(*inputs)
    assert is_gradcore(out) and dtype_name(out.dtype) == "float64", "gradcheck needs a float64 tensor output"
    out_shape = tuple(out.shape)
    n_out = int(np.prod(out_shape, dtype=np.int64))
    leaves = [inputs[i] for i in diff]
    values = [to_numpy(x) for x in leaves]

    # Analytical: row j of the Jacobian is the gradient of out.flatten()[j].
    analytical = [np.zeros((n_out, v.size)) for v in values]
    for j in range(n_out):
        seed = np.zeros(n_out)
        seed[j] = 1.0
        _zero_grads(leaves)
        out.backward(gradcore.from_numpy(seed.reshape(out_shape)), retain_graph=True)
        for k, leaf in enumerate(leaves):
            g = leaf.grad
            if g is not None:
                assert tuple(g.shape) == values[k].shape, (
                    f"gradcheck: grad of input {diff[k]} has shape {tuple(g.shape)}, input has {values[k].shape}")
                analytical[k][j] = to_numpy(g).reshape(-1)
    _zero_grads(leaves)

    # Numerical: central differences on copies of the inputs.
    def run(k, flat_index, delta):
        args = list(inputs)
        for kk, i in enumerate(diff):
            v = values[kk].copy()
            if kk == k:
                v.reshape(-1)[flat_index] += delta
            args[i] = gradcore.from_numpy(v)
        with gradcore.no_grad():
            return to_numpy(fn(*args)).reshape(-1)

    numerical = [np.zeros_like(a) for a in analytical]
    for k, v in enumerate(values):
        for idx in range(v.size):
            numerical[k][:, idx] = (run(k, idx, eps) - run(k, idx, -eps)) / (2 * eps)

    for k in range(len(diff)):
        a, n = analytical[k], numerical[k]
        bad = ~np.isclose(a, n, rtol=rtol, atol=atol)
        if bad.any():
            j, idx = np.argwhere(bad)[0]
            raise AssertionError(
                f"gradcheck: Jacobian mismatch for input {diff[k]} (output {j}, input element {idx}): "
                f"analytical {a[j, idx]!r} vs numerical {n[j, idx]!r}\nanalytical=\n{a}\nnumerical=\n{n}")
    return True

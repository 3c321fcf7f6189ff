"""gradcore.autograd.gradcheck / gradgradcheck: PyTorch's semantics and report, and second derivatives of
every op-table row (float64, all-float samples) checked with gradgradcheck."""
import re
import sys
import warnings

import numpy as np
import pytest

import gradcore
import helpers as H
import test_ops as T
from gradcore.autograd import GradcheckError, gradcheck, gradgradcheck

requires_torch = pytest.mark.requires_torch


def _t(lib, values, requires_grad=True):
    return H.from_numpy(lib, np.asarray(values, dtype=np.float64), requires_grad)


X = [[0.3, -0.7, 1.1], [0.2, 0.5, -1.3]]
Y = [0.4, 0.9, -0.6]


def _wrong(t):
    """Value t * 2, but the detached half contributes no gradient: d/dt is 1 instead of 2."""
    return t + t.detach()


def _wrong_second(t):
    """Value t**3 and a correct first derivative 3 t**2, but that derivative is a constant of the graph:
    the second derivative comes out 0 instead of 6 t."""
    d = t.detach()
    return d ** 3 + 3 * d ** 2 * (t - d)


# ---------------------------------------------------------------------------------------------------
# gradcheck
# ---------------------------------------------------------------------------------------------------

CORRECT = [
    ("exp_mul", lambda x, y: (x * y).exp(), 2),
    ("tuple_outputs", lambda x, y: (x * y, x.sum(1), (y ** 2).sum()), 2),
    ("matmul", lambda x, y: x @ y, 2),
    ("softmax", lambda x, y: gradcore.nn.functional.softmax(x, 1), 1),
    ("noncontig_input", lambda x, y: x.t().tanh(), 1),
    ("reduction", lambda x, y: x.norm() + x.var(0).sum(), 1),
]


@pytest.mark.parametrize("name,fn,n", CORRECT, ids=[c[0] for c in CORRECT])
def test_gradcheck_passes_on_correct_gradients(name, fn, n):
    inputs = (_t(gradcore, X), _t(gradcore, Y))
    assert gradcheck(fn, inputs[:n] if n == 2 else inputs[:1] + (inputs[1].detach(),)) is True


def test_gradcheck_noncontiguous_inputs():
    base = _t(gradcore, np.arange(24.0).reshape(2, 3, 4) / 10)
    for view in (base.transpose(0, 2), base[:, 1], base[..., ::2]):
        assert gradcheck(lambda v: (v * v).sin(), (view,))


def test_gradcheck_single_tensor_input_and_non_tensor_args():
    x = _t(gradcore, Y)
    assert gradcheck(lambda t: t.exp(), x)
    assert gradcheck(lambda t, k, s: t.pow(k) * s, (x, 3, 2.0))


def test_gradcheck_catches_a_wrong_gradient():
    x = _t(gradcore, Y)
    with pytest.raises(GradcheckError) as info:
        gradcheck(_wrong, (x,))
    assert isinstance(info.value, RuntimeError)
    assert gradcore.autograd.GradcheckError is GradcheckError
    msg = str(info.value)
    assert msg.startswith("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:tensor([[2.0000,")
    assert "\nanalytical:tensor([[1., 0., 0.]," in msg
    worst = msg.splitlines()[-1]
    assert re.match(r"The worst mismatch: d output\[\d\] / d input\[\d\] \(Jacobian element \[\d, \d\]; "
                    r"the input is argument 0 of func\): numerical 2\.0000\d*, analytical 1\.0, difference 1\.0\d* "
                    r"> atol \+ rtol \* \|numerical\| = 0\.00201", worst), worst


def test_gradcheck_names_the_failing_input_and_worst_element():
    x, y = _t(gradcore, X), _t(gradcore, Y)

    def fn(a, b):
        # d/db is wrong for element 2 of b only (its contribution is scaled by 3 outside the graph)
        scale = gradcore.from_numpy(np.array([1.0, 1.0, 3.0]))
        return a * (b + (b.detach() * (scale - 1)))

    with pytest.raises(GradcheckError) as info:
        gradcheck(fn, (x, y))
    msg = str(info.value)
    assert msg.startswith("Jacobian mismatch for output 0 with respect to input 1,")
    # the worst element: output (1, 2) (the largest |a| in column 2 is a[1, 2] = -1.3) w.r.t. input (2,)
    assert "d output[1, 2] / d input[2] (Jacobian element [2, 5]; the input is argument 1 of func)" in msg


def test_gradcheck_raise_exception_false():
    x = _t(gradcore, Y)
    assert gradcheck(_wrong, (x,), raise_exception=False) is False
    assert gradcheck(lambda t: t * 2, (x,), raise_exception=False) is True


def test_gradcheck_tolerances():
    # numerical 2, analytical 1: passes only with a huge tolerance
    x = _t(gradcore, Y)
    assert gradcheck(_wrong, (x,), atol=1.5)
    assert gradcheck(_wrong, (x,), atol=0, rtol=0.6)
    assert not gradcheck(_wrong, (x,), atol=0, rtol=0.4, raise_exception=False)


def test_gradcheck_fast_mode():
    x, y = _t(gradcore, X), _t(gradcore, Y)
    assert gradcheck(lambda a, b: (a * b).exp(), (x, y), fast_mode=True)
    with pytest.raises(GradcheckError, match=r"(?s)Jacobian mismatch for output 0 with respect to input 0,\n"
                                             r"numerical:.*computed in fast mode.*The worst mismatch"):
        gradcheck(_wrong, (y,), fast_mode=True)


def test_gradcheck_float32_input_warns_like_torch():
    x = gradcore.from_numpy(np.array(Y, dtype=np.float32)).requires_grad_(True)
    with pytest.warns(UserWarning, match="Input #0 requires gradient and is not a double precision floating point"):
        gradcheck(lambda t: t * 2, (x,), atol=1e-2, rtol=1e-2)


def test_gradcheck_input_errors_like_torch():
    with pytest.raises(ValueError, match="gradcheck expects at least one input tensor to require gradient"):
        gradcheck(lambda t: t * 2, (_t(gradcore, Y, requires_grad=False),))
    expanded = _t(gradcore, [[1.0], [2.0]]).expand(2, 3)
    with pytest.raises(RuntimeError, match="The 0th input has a dimension with stride 0"):
        gradcheck(lambda t: t * 2, (expanded,))


def test_gradcheck_no_differentiable_outputs():
    x = _t(gradcore, Y)
    assert gradcheck(lambda t: (t > 0).long(), (x,))
    assert gradcheck(lambda t: t.detach() * 0, (x,))
    with pytest.raises(GradcheckError, match="Numerical gradient for function expected to be zero"):
        gradcheck(lambda t: t.detach() * 2, (x,))


def test_gradcheck_detects_nondeterministic_backward(monkeypatch):
    """Backward giving different values for the same grad_output: "not reentrant" (nondet_tol allows it)."""
    module = sys.modules["gradcore.autograd.gradcheck"]  # the module (the attribute is the function)

    real = module._grad
    calls = [0]

    def noisy(outputs, inputs, grad_outputs, **kw):
        calls[0] += 1
        grads = real(outputs, inputs, grad_outputs, **kw)
        return tuple(None if g is None else g * (1 + 1e-9 * calls[0]) for g in grads)

    monkeypatch.setattr(module, "_grad", noisy)
    x = _t(gradcore, Y)
    with pytest.raises(GradcheckError, match="Backward is not reentrant"):
        gradcheck(lambda t: t.exp(), (x,))
    assert gradcheck(lambda t: t.exp(), (x,), nondet_tol=1e-6)


def test_gradcheck_detects_wrong_gradient_shape(monkeypatch):
    module = sys.modules["gradcore.autograd.gradcheck"]  # the module (the attribute is the function)

    real = module._grad

    def flat(outputs, inputs, grad_outputs, **kw):
        return tuple(None if g is None else g.reshape(-1) for g in real(outputs, inputs, grad_outputs, **kw))

    monkeypatch.setattr(module, "_grad", flat)
    with pytest.raises(GradcheckError, match="Analytical gradient has incorrect size"):
        gradcheck(lambda t: t.exp(), (_t(gradcore, X),))


def test_gradcheck_multi_output_node_with_undefined_output_grads():
    # unbind / split: one node, several outputs; leaving one out of the backward call leaves its gradient
    # undefined inside the engine (check_undefined_grad)
    x = _t(gradcore, X)
    assert gradcheck(lambda t: t.unbind(0), (x,))
    assert gradcheck(lambda t: t.split(1, 1), (x,))
    assert gradcheck(lambda t: t.max(1), (x,))


@requires_torch
def test_gradcheck_report_matches_torch():
    """The report up to the extra worst-element line is PyTorch's, word for word (dtype names aside)."""
    torch = pytest.importorskip("torch")
    messages = {}
    for lib in (gradcore, torch):
        x, y = _t(lib, X), _t(lib, Y)
        with pytest.raises(RuntimeError) as info:
            lib.autograd.gradcheck(lambda a, b: _wrong(a) * b, (x, y))
        messages[lib.__name__] = str(info.value)
    got = messages["gradcore"].replace("gradcore.", "torch.")
    head, worst = got.rsplit("The worst mismatch", 1)
    assert head == messages["torch"]


TORCH_CASES = [
    ("correct", lambda lib, a, b: (a * b).sin(), True),
    ("wrong", lambda lib, a, b: _wrong(a) * b, False),
    ("tuple", lambda lib, a, b: (a.exp(), (a @ b).tanh()), True),
    ("wrong_second", lambda lib, a, b: _wrong_second(a) * b, True),
]


@requires_torch
@pytest.mark.parametrize("name,fn,expected", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_gradcheck_result_matches_torch(name, fn, expected):
    torch = pytest.importorskip("torch")
    for lib in (gradcore, torch):
        x, y = _t(lib, X), _t(lib, Y)
        assert lib.autograd.gradcheck(lambda a, b: fn(lib, a, b), (x, y), raise_exception=False) is expected, lib


# ---------------------------------------------------------------------------------------------------
# gradgradcheck
# ---------------------------------------------------------------------------------------------------

def test_gradgradcheck_passes_and_catches_a_wrong_second_derivative():
    x, y = _t(gradcore, X), _t(gradcore, Y)
    assert gradgradcheck(lambda a, b: (a * b).exp(), (x, y))
    assert gradgradcheck(lambda a: (a ** 3).sum(), (x,))
    # first derivative right, second wrong: gradcheck passes, gradgradcheck does not
    assert gradcheck(_wrong_second, (x,))
    with pytest.raises(GradcheckError, match="Jacobian mismatch for output 0 with respect to input 0"):
        gradgradcheck(_wrong_second, (x,))
    assert gradgradcheck(_wrong_second, (x,), raise_exception=False) is False


def test_gradgradcheck_grad_outputs():
    x = _t(gradcore, X)
    v = _t(gradcore, [[1.0, -2.0, 0.5], [0.3, 0.1, -1.0]])
    assert gradgradcheck(lambda a: a.sin() * a, (x,), (v,))
    assert gradgradcheck(lambda a: a.sin() * a, (x,), v.detach())  # grad_outputs not requiring grad
    assert gradgradcheck(lambda a: (a.sin(), a.sum()), (x,), gen_non_contig_grad_outputs=True)


@requires_torch
@pytest.mark.parametrize("name,fn,first_ok", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_gradgradcheck_result_matches_torch(name, fn, first_ok):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    results = {}
    for lib in (gradcore, torch):
        x, y = _t(lib, X), _t(lib, Y)
        outs = fn(lib, x, y)
        outs = outs if isinstance(outs, tuple) else (outs,)
        rng = np.random.default_rng(0)
        gos = tuple(_t(lib, rng.uniform(-1, 1, tuple(o.shape))) for o in outs)
        results[lib.__name__] = lib.autograd.gradgradcheck(lambda a, b: fn(lib, a, b), (x, y), gos,
                                                           raise_exception=False)
    assert results["gradcore"] == results["torch"]


# ---------------------------------------------------------------------------------------------------
# gradgradcheck over the op table
# ---------------------------------------------------------------------------------------------------

# Rows sampled at a point where the second derivative does not exist (torch's gradgradcheck fails too).
# (std over the expanded dim of an "expand" sample is std of equal values: 0, where d std is singular.)
NO_SECOND_DERIVATIVE = {("norm_p3_at_zero", "3"), ("std_dim_keepdim", "3x4:exp"), ("std_dim_neg", "3x4:exp")}


def _op_table_cases():
    cases = []
    for o in T.OPS:
        if not (o.grad and o.gradcheck):
            continue
        for s in o.samples:
            if not (s.has_float_param() and s.all_floats_param()):
                continue
            if any(0 in a.base_shape() for a in s.args):
                continue  # size-0 inputs: nothing to perturb (torch's gradcheck rejects their strides)
            cases.append(pytest.param(o, s, id=f"{o.name}[{s.id()}]"))
    return cases


def _op_table_inputs(lib, o, s, seed):
    rng = np.random.default_rng(seed)
    arrays = T.make_arrays(s, "float64", rng)
    leaves, _ = T.make_inputs(lib, s, "float64", arrays, requires_grad=True)

    def fn(*bases):
        return o.fn(lib, *(a.view(b) for a, b in zip(s.args, bases)))

    outs = fn(*leaves)
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    grad_outputs = tuple(_grad_output(lib, rng.uniform(-1, 1, tuple(t.shape))) for t in outs if t.requires_grad)
    return fn, tuple(leaves), grad_outputs


def _grad_output(lib, values):
    # via zeros(): from_numpy of an empty array has zero strides, which gradcheck rejects (as torch's does)
    out = lib.zeros(values.shape, dtype=lib.float64)
    out.copy_(H.from_numpy(lib, values))
    return out.requires_grad_(True)


@pytest.mark.parametrize("o,sample", _op_table_cases())
def test_gradgradcheck_op_table(o, sample, request):
    import zlib

    seed = zlib.crc32(request.node.nodeid.encode())
    fn, leaves, grad_outputs = _op_table_inputs(gradcore, o, sample, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ok = gradgradcheck(fn, leaves, grad_outputs, raise_exception=(o.name, sample.id()) not in NO_SECOND_DERIVATIVE)
    if (o.name, sample.id()) in NO_SECOND_DERIVATIVE:
        assert ok is False, "expected a failure at a point without a second derivative"


@requires_torch
def test_gradgradcheck_op_table_agrees_with_torch():
    """The first sample of every 10th op row (torch's gradgradcheck is slow) and the samples without a second
    derivative, same inputs and grad_outputs in both libraries: gradcore's verdict is torch's."""
    torch = pytest.importorskip("torch")
    seen, disagreements = set(), []
    for case in _op_table_cases():
        o, s = case.values
        if (o.name, s.id()) not in NO_SECOND_DERIVATIVE and (o.name in seen or len(seen) % 10):
            seen.add(o.name)
            continue
        seen.add(o.name)
        verdicts = []
        for lib in (gradcore, torch):
            fn, leaves, grad_outputs = _op_table_inputs(lib, o, s, seed=len(seen))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                verdicts.append(lib.autograd.gradgradcheck(fn, leaves, grad_outputs, raise_exception=False))
        if verdicts[0] != verdicts[1]:
            disagreements.append(f"{o.name}[{s.id()}]: gradcore {verdicts[0]}, torch {verdicts[1]}")
    assert not disagreements, "\n".join(disagreements)

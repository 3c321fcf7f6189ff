"""gradcore's tensor repr must be indistinguishable from PyTorch's.

Every case builds a numpy array, prints it with gradcore's formatter and with
real torch, and requires identical text (modulo the "torch." -> "gradcore."
dtype prefix). Skips cleanly when torch is not installed.
"""

import importlib.util
import math
import pathlib
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

# Load the formatter straight from its file: it must work without the
# compiled gradcore package being built or importable.
_MODULE_PATH = pathlib.Path(__file__).resolve().parents[2] / "python" / "gradcore" / "_tensor_str.py"
_spec = importlib.util.spec_from_file_location("gradcore_tensor_str_under_test", _MODULE_PATH)
ts = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ts  # dataclasses look the module up while it executes
_spec.loader.exec_module(ts)


@pytest.fixture(autouse=True)
def _default_printoptions():
    """Every test starts and ends with default options in both libraries."""
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")
    yield
    torch.set_printoptions(profile="default")
    ts.set_printoptions(profile="default")


def _expected(t):
    return repr(t).replace("torch.", "gradcore.")


def _check(a, **printopts):
    a = np.array(a, copy=True)  # writable + owned, so from_numpy is happy
    if printopts:
        torch.set_printoptions(**printopts)
        ts.set_printoptions(**printopts)
    assert ts.format_tensor(a) == _expected(torch.from_numpy(a))


# ---------------------------------------------------------------------------
# Hand-picked edge cases
# ---------------------------------------------------------------------------

f32, f64 = np.float32, np.float64
nan, inf = math.nan, math.inf

EDGE_CASES = {
    # scalars
    "scalar_int_valued": np.array(27.0, f32),
    "scalar_frac": np.array(3.14159265, f32),
    "scalar_zero": np.array(0.0, f32),
    "scalar_neg_zero": np.array(-0.0, f32),
    "scalar_nan": np.array(nan, f32),
    "scalar_inf": np.array(inf, f32),
    "scalar_neg_inf": np.array(-inf, f64),
    "scalar_huge": np.array(1.5e20, f32),
    "scalar_tiny": np.array(3.2e-7, f32),
    "scalar_f64": np.array(2.5, f64),
    "scalar_int64": np.array(-42, np.int64),
    "scalar_bool_true": np.array(True),
    "scalar_bool_false": np.array(False),
    "scalar_f64_big_int": np.array(123456789.0, f64),
    # precision and integer-valued floats
    "ones_2x2": np.ones((2, 2), f32),
    "int_valued": np.array([1.0, 2.0, 3.0], f32),
    "int_valued_neg": np.array([-1.0, 20.0, -300.0], f32),
    "fractional": np.array([0.1, 0.25, 1.0 / 3.0], f32),
    "rounding_half": np.array([0.00005, 1.23455, 2.5], f64),
    "mixed_signs": np.array([-1110.5509, -1432.1617, 413.0272], f32),
    # scientific-mode choice
    "sci_ratio": np.array([102.4, 1024.0, 0.1024], f32),
    "sci_ratio_exactly_1000": np.array([1.0, 1000.0], f32),
    "sci_ratio_just_over": np.array([1.0, 1000.5], f32),
    "sci_big": np.array([1e8, 2e8], f64),
    "sci_big_boundary": np.array([1e8, 1e8], f64),
    "sci_small": np.array([1e-4, 2e-4], f64),
    "sci_small_below": np.array([9.9e-5, 2e-4], f64),
    "sci_int_valued": np.array([1.0, 1e10], f64),
    "sci_extremes_f64": np.array([1e-300, 1e300, -5e-324], f64),
    "sci_extremes_f32": np.array([1e-38, 3e38, -1e-45], f32),
    # non-finite values and zeros
    "nan_inf_mix": np.array([nan, inf, -inf, 1.5], f32),
    "nan_inf_intmode": np.array([nan, inf, -inf, 2.0], f32),
    "nan_inf_sci": np.array([nan, inf, 1e-9, 1.0], f32),
    "all_nan": np.array([nan, nan], f32),
    "all_inf": np.array([inf, -inf], f64),
    "all_zero": np.zeros(4, f32),
    "neg_zero_vec": np.array([-0.0, 0.0, 1.0], f32),
    "neg_zero_only": np.array([-0.0, 0.0], f32),
    "neg_zero_frac": np.array([-0.0, 0.5], f32),
    "zeros_and_big": np.array([0.0, 0.0, 1e9], f32),
    # alignment and nesting
    "matrix_align": np.array([[1.5, -22.25], [333.125, 4.0]], f32),
    "tensor3d": np.arange(24, dtype=f32).reshape(2, 3, 4) - 10.5,
    "tensor4d": np.arange(36, dtype=f32).reshape(3, 2, 2, 3) / 7.0,
    "tensor5d": np.arange(32, dtype=np.int64).reshape(2, 2, 2, 2, 2),
    "single_element_nested": np.full((1, 1, 1), 7.0, f32),
    # wrapping of long rows
    "long_row_f32": np.linspace(-3, 3, 50, dtype=f32),
    "long_row_int": np.arange(200, dtype=np.int64) * 37,
    "long_row_bool": (np.arange(90) % 3 == 0),
    "long_row_in_matrix": np.linspace(0, 1, 60, dtype=f64).reshape(2, 30),
    "wide_sci_row": np.geomspace(1e-8, 1e8, 40, dtype=f64),
    # summarisation (numel > 1000)
    "summ_1d": np.arange(1001, dtype=f32),
    "summ_1d_int": np.arange(5000, dtype=np.int64) - 2500,
    "summ_2d": np.arange(40 * 40, dtype=f32).reshape(40, 40) / 3.0,
    "summ_3d": np.arange(11 * 12 * 13, dtype=f64).reshape(11, 12, 13),
    "summ_narrow_dim": np.arange(2 * 600, dtype=f32).reshape(2, 600),
    "summ_hidden_outlier": np.concatenate([np.ones(500), [1e10], np.ones(500)]).astype(f32),
    "summ_bool": np.arange(2000).reshape(40, 50) % 7 == 0,
    "not_summ_exactly_1000": np.arange(1000, dtype=f32).reshape(10, 100),
    # integers and bools
    "int64_vec": np.array([1, -20, 300, 0], np.int64),
    "int64_extremes": np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max], np.int64),
    "bool_vec": np.array([True, False, True]),
    "bool_matrix": np.array([[True, False], [False, False]]),
    "bool_all_false": np.zeros((3,), bool),
    # empty tensors
    "empty_1d_f32": np.zeros((0,), f32),
    "empty_1d_f64": np.zeros((0,), f64),
    "empty_1d_int": np.zeros((0,), np.int64),
    "empty_1d_bool": np.zeros((0,), bool),
    "empty_0x3": np.zeros((0, 3), f32),
    "empty_3x0": np.zeros((3, 0), f32),
    "empty_2x0x4_int": np.zeros((2, 0, 4), np.int64),
    "empty_0x0_f64": np.zeros((0, 0), f64),
    "empty_0x2_bool": np.zeros((0, 2), bool),
    # float64 (always carries a dtype suffix)
    "f64_vec": np.array([1.0, 2.0], f64),
    "f64_matrix_long": np.linspace(-100, 100, 64, dtype=f64).reshape(8, 8),
    # other numpy dtypes the formatter accepts
    "f16_vec": np.array([0.5, 1.0, 65504.0, -3.25], np.float16),
    "int32_vec": np.array([1, 2, -3], np.int32),
    "int16_matrix": np.arange(6, dtype=np.int16).reshape(2, 3),
    "int8_vec": np.array([-128, 127], np.int8),
    "uint8_vec": np.array([0, 255], np.uint8),
    "empty_f16": np.zeros((0,), np.float16),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_case(name):
    _check(EDGE_CASES[name])


# ---------------------------------------------------------------------------
# Seeded random arrays
# ---------------------------------------------------------------------------

SHAPES = [(), (1,), (5,), (17,), (3, 4), (7, 1), (2, 3, 4), (4, 1, 5), (2, 2, 2, 3), (33, 35), (6, 7, 25)]
SCALES = [1e-6, 1e-3, 1.0, 37.0, 1e4, 1e9]
FLOAT_DTYPES = [f32, f64]


def _random_case(seed):
    rng = np.random.default_rng(seed)
    shape = SHAPES[seed % len(SHAPES)]
    kind = rng.integers(0, 6)
    if kind == 0:  # integer data
        a = rng.integers(-10 ** int(rng.integers(1, 12)), 10 ** int(rng.integers(1, 12)), size=shape)
        return a.astype(np.int64)
    if kind == 1:  # bools
        return rng.random(shape) < 0.5
    dtype = FLOAT_DTYPES[int(rng.integers(0, 2))]
    scale = SCALES[int(rng.integers(0, len(SCALES)))]
    if kind == 2:  # integer-valued floats
        a = np.round(rng.normal(size=shape) * scale)
    elif kind == 3:  # wide dynamic range, both signs
        a = rng.normal(size=shape) * 10.0 ** rng.uniform(-6, 6, size=shape)
    else:
        a = rng.normal(size=shape) * scale
    a = np.asarray(a, dtype=dtype)
    if a.size > 2 and rng.random() < 0.3:
        # sprinkle specials to check they never affect width/notation
        flat = a.reshape(-1)
        idx = rng.choice(flat.size, size=min(3, flat.size), replace=False)
        flat[idx] = rng.choice([nan, inf, -inf, 0.0, -0.0], size=idx.size)
    return a


@pytest.mark.parametrize("seed", range(150))
def test_random(seed):
    _check(_random_case(seed))


# ---------------------------------------------------------------------------
# Print options
# ---------------------------------------------------------------------------

OPTION_SETS = {
    "precision2": dict(precision=2),
    "precision0": dict(precision=0),
    "precision8": dict(precision=8),
    "threshold5": dict(threshold=5),
    "threshold0": dict(threshold=0),
    "edgeitems1": dict(threshold=10, edgeitems=1),
    "edgeitems0": dict(threshold=10, edgeitems=0),
    "edgeitems0_no_summarize": dict(edgeitems=0),
    "linewidth40": dict(linewidth=40),
    "linewidth1": dict(linewidth=1),
    "linewidth200": dict(linewidth=200),
    "sci_on": dict(sci_mode=True),
    "sci_off": dict(sci_mode=False),
    "profile_short": dict(profile="short"),
    "profile_full": dict(profile="full"),
    "profile_full_precision6": dict(profile="full", precision=6),
}

OPTION_ARRAYS = {
    "frac_vec": np.array([0.123456789, -98.7654321, 5.0], f64),
    "sci_vec": np.array([1e-7, 3.3, 2e5], f32),
    "intval_vec": np.arange(12, dtype=f32).reshape(3, 4),
    "int_matrix": np.arange(-30, 30, dtype=np.int64).reshape(6, 10),
    "bool_vec": np.arange(15) % 2 == 0,
    "scalar": np.array(1.23456789, f32),
    "big_3d": np.linspace(-1, 1, 9 * 10 * 13, dtype=f32).reshape(9, 10, 13),
    "specials": np.array([nan, -inf, 0.5, -0.0], f32),
    "empty_2d": np.zeros((0, 4), np.int64),
}


@pytest.mark.parametrize("arr_name", sorted(OPTION_ARRAYS))
@pytest.mark.parametrize("opt_name", sorted(OPTION_SETS))
def test_printoptions(opt_name, arr_name):
    _check(OPTION_ARRAYS[arr_name], **OPTION_SETS[opt_name])


def test_get_printoptions_matches_torch():
    assert ts.get_printoptions() == torch._tensor_str.get_printoptions()
    for opts in OPTION_SETS.values():
        torch.set_printoptions(**opts)
        ts.set_printoptions(**opts)
        assert ts.get_printoptions() == torch._tensor_str.get_printoptions()


def test_sci_mode_resets_when_omitted():
    # torch quirk: any set_printoptions call without sci_mode clears it.
    ts.set_printoptions(sci_mode=True)
    ts.set_printoptions(precision=3)
    assert ts.get_printoptions()["sci_mode"] is None


def test_printoptions_context_manager_restores():
    before = ts.get_printoptions()
    with ts.printoptions(precision=1, sci_mode=True):
        assert ts.format_tensor(np.array([1.25], f32)) == "tensor([1.2e+00])"
    assert ts.get_printoptions() == before


# ---------------------------------------------------------------------------
# Autograd suffixes
# ---------------------------------------------------------------------------

GRAD_ARRAYS = {
    "scalar": np.array(3.0, f32),
    "vec": np.array([1.0, -2.5, 3.0], f32),
    "ones_2x2": np.ones((2, 2), f32),
    "f64_vec": np.array([0.5, 1.5], f64),
    "empty_0x3": np.zeros((0, 3), f32),
    "empty_f64": np.zeros((0,), f64),
    # long last line: suffixes have to wrap onto their own line
    "wraps": np.linspace(-1000, 1000, 9, dtype=f64),
    "summarized": np.linspace(0, 1, 2000, dtype=f32).reshape(40, 50),
}


@pytest.mark.parametrize("name", sorted(GRAD_ARRAYS))
def test_requires_grad(name):
    a = GRAD_ARRAYS[name].copy()
    t = torch.from_numpy(a).requires_grad_()
    assert ts.format_tensor(a, requires_grad=True) == _expected(t)


_OPS = {
    "mul": lambda t: t * 1,
    "add": lambda t: t + 0.5,
    "mean": lambda t: t.mean(),
    "sum": lambda t: t.sum(),
    "neg": lambda t: -t,
}


@pytest.mark.parametrize("op", sorted(_OPS))
@pytest.mark.parametrize("name", sorted(GRAD_ARRAYS))
def test_grad_fn(name, op):
    leaf = torch.from_numpy(GRAD_ARRAYS[name].copy()).requires_grad_()
    out = _OPS[op](leaf)
    grad_fn = type(out.grad_fn).__name__
    values = out.detach().numpy()
    # requires_grad=True as well: grad_fn must take precedence, as in torch.
    assert ts.format_tensor(values, requires_grad=True, grad_fn_name=grad_fn) == _expected(out)


def test_grad_fn_with_narrow_linewidth():
    torch.set_printoptions(linewidth=30)
    ts.set_printoptions(linewidth=30)
    out = torch.from_numpy(np.array([1.5, 2.5], f64)).requires_grad_() * 3
    values = out.detach().numpy()
    assert ts.format_tensor(values, grad_fn_name="MulBackward0") == _expected(out)


def test_examples_from_spec():
    fmt = ts.format_tensor
    assert fmt(np.ones((2, 2), f32), requires_grad=True) == (
        "tensor([[1., 1.],\n        [1., 1.]], requires_grad=True)"
    )
    assert fmt(np.array(27.0, f32), grad_fn_name="MeanBackward0") == "tensor(27., grad_fn=<MeanBackward0>)"
    assert fmt(np.array([102.4, 1024.0, 0.1024], f32)) == "tensor([1.0240e+02, 1.0240e+03, 1.0240e-01])"
    assert fmt(np.array(True)) == "tensor(True)"
    assert fmt(np.zeros((0, 3), f32)) == "tensor([], size=(0, 3))"
    assert fmt(np.array([1.0, 2.0], f64)) == "tensor([1., 2.], dtype=gradcore.float64)"


def test_unsupported_dtype():
    with pytest.raises(TypeError):
        ts.format_tensor(np.array(["a"]))

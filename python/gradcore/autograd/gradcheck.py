"""gradcheck / gradgradcheck: analytical gradients against float64 central finite differences.

Follows ``torch.autograd.gradcheck`` (PyTorch 2.13): same arguments, defaults, checks and messages. The
analytical Jacobian is built row by row with ``autograd.grad`` (one one-hot ``grad_output`` per output
element, ``retain_graph=True``), the numerical one column by column by perturbing one input element at a
time by ``+-eps``. Beyond PyTorch, a Jacobian mismatch report names the worst element (its position in
the output and in the input, both values, the difference and the tolerance it broke).

Jacobians are laid out like PyTorch's: ``J[k, j]`` is d output.flatten()[j] / d input.flatten()[k], one
matrix of shape ``(input.numel(), output.numel())`` per (output, input) pair.
"""
import warnings

import numpy as np

from .. import _C

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Error raised by :func:`gradcheck` and :func:`gradgradcheck`."""


_FLOAT_NP = {"float32": np.float32, "float64": np.float64}

FAILED_NONDET_MSG = """\n
NOTE: If your op relies on non-deterministic operations, this failure might be expected:
call gradcheck/gradgradcheck with `nondet_tol=<tol>` as a keyword argument.
"""

_FAST_MODE_NOTE = """
The above quantities relating the numerical and analytical jacobians are computed \
in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background \
about fast mode. Below, we recompute numerical and analytical jacobians in slow mode:

"""


def _is_tensor(x):
    return isinstance(x, _C.Tensor)


def _dtype_name(t):
    return str(t.dtype).rsplit(".", 1)[-1]


def _is_float_tensor(x):
    return _is_tensor(x) and _dtype_name(x) in _FLOAT_NP


def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _differentiable_outputs(x):
    return tuple(o for o in _as_tuple(x) if _is_tensor(o) and o.requires_grad)


def _numpy(t):
    """A float64 flat numpy copy of tensor ``t``'s values."""
    return np.array(t.detach(), dtype=np.float64, copy=True).reshape(-1)


def _grad(outputs, inputs, grad_outputs, **kw):
    from . import grad

    return grad(outputs, inputs, grad_outputs, allow_unused=True, **kw)


def _check_inputs(tupled_inputs):
    any_input_requiring_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if _is_tensor(inp) and inp.requires_grad:
            if _dtype_name(inp) != "float64":
                warnings.warn(
                    f"Input #{idx} requires gradient and "
                    "is not a double precision floating point or complex. "
                    "This check will likely fail if all the inputs are "
                    "not of double precision floating point or complex. ",
                    stacklevel=3,
                )
            if not all(st > 0 or sz <= 1 for st, sz in zip(inp.stride(), inp.shape)):
                raise RuntimeError(
                    f"The {idx}th input has a dimension with stride 0. gradcheck only "
                    "supports inputs that are non-overlapping to be able to "
                    "compute the numerical gradients correctly. You should call "
                    ".contiguous on the input before passing it to gradcheck.")
            any_input_requiring_grad = True
    if not any_input_requiring_grad:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, "
            "but none of them have requires_grad=True.")
    return True


# ---------------------------------------------------------------------------------------------------
# Numerical side
# ---------------------------------------------------------------------------------------------------

class _Perturbable:
    """A contiguous copy of input ``inputs[index]`` whose elements can be nudged in place.

    The copy is a gradcore tensor sharing memory with a numpy array: writing an element of the array
    changes the tensor without recording anything (like PyTorch's ``input.data``), so it works whatever
    the grad mode, and for inputs that are non-contiguous views. The copy requires grad like the input
    (gradgradcheck's inner function differentiates with respect to it).
    """

    def __init__(self, inputs, index):
        x = inputs[index]
        self.array = np.array(x.detach(), copy=True, order="C")
        self.flat = self.array.reshape(-1)
        tensor = _C.from_numpy(self.array)
        if x.requires_grad:
            tensor.requires_grad_(True)
        self.args = list(inputs)
        self.args[index] = tensor


def _outputs_np(func, args):
    return [(tuple(o.shape), _dtype_name(o), _numpy(o)) if _is_float_tensor(o) else None
            for o in _as_tuple(func(*args))]


def _check_same_dtype_and_shape(a, b, eps, idx):
    on_index = f"on index {idx} " if idx is not None else ""
    if a[0] != b[0]:
        raise AssertionError(
            f"Expected `func` to return outputs with the same shape when inputs are perturbed {on_index}by {eps}, "
            f"but got: shapes {a[0]} and {b[0]}.")
    if a[1] != b[1]:
        raise AssertionError(
            f"Expected `func` to return outputs with the same dtype when inputs are perturbed {on_index}by {eps}, "
            f"but got: dtypes {a[1]} and {b[1]}.")


def _numerical_jacobian(func, inputs, func_out, eps):
    """``{input position: {output position: J}}`` over inputs requiring grad and float outputs."""
    out_numels = {i: o.numel() for i, o in enumerate(func_out) if _is_float_tensor(o)}
    result = {}
    for pos, x in enumerate(inputs):
        if not (_is_tensor(x) and x.requires_grad):
            continue
        p = _Perturbable(inputs, pos)
        jac = {i: np.zeros((p.flat.size, n)) for i, n in out_numels.items()}
        for k in range(p.flat.size):
            orig = p.flat[k]
            p.flat[k] = orig - eps
            outa = _outputs_np(func, p.args)
            p.flat[k] = orig + eps
            outb = _outputs_np(func, p.args)
            p.flat[k] = orig
            for i in out_numels:
                _check_same_dtype_and_shape(outa[i], outb[i], eps, k)
                jac[i][k] = (outb[i][2] - outa[i][2]) / (2 * eps)
        result[pos] = jac
    return result


def _numerical_jvp(func, inputs, pos, u, eps):
    """The directional derivative of every float output along ``u`` (flat, for input ``pos``)."""
    p = _Perturbable(inputs, pos)
    orig = p.flat.copy()
    p.flat[:] = orig - eps * u
    outa = _outputs_np(func, p.args)
    p.flat[:] = orig + eps * u
    outb = _outputs_np(func, p.args)
    p.flat[:] = orig
    return [None if a is None else (b[2] - a[2]) / (2 * eps) for a, b in zip(outa, outb)]


# ---------------------------------------------------------------------------------------------------
# Analytical side
# ---------------------------------------------------------------------------------------------------

def _seed(output, flat_values):
    return _C.from_numpy(np.ascontiguousarray(flat_values, dtype=_FLOAT_NP[_dtype_name(output)])
                         .reshape(tuple(output.shape)))


def _analytical_rows(diff_inputs, output, seeds):
    """Runs ``grad(output, diff_inputs, seed)`` for each seed: per input, per seed, the gradient (or None)."""
    rows = [[] for _ in diff_inputs]
    for seed in seeds:
        grads = _grad(output, diff_inputs, _seed(output, seed), retain_graph=True)
        for k, g in enumerate(grads):
            rows[k].append(g)
    return rows


def _stack_and_check(rows, diff_inputs, n_cols):
    jacobians, sizes_ok, types_ok = [], True, True
    for inp, grads in zip(diff_inputs, rows):
        jac = np.zeros((inp.numel(), n_cols))
        for j, g in enumerate(grads):
            if g is None:
                continue
            if tuple(g.shape) != tuple(inp.shape):
                sizes_ok = False
                continue
            if g.dtype != inp.dtype:
                types_ok = False
            jac[:, j] = _numpy(g)
        jacobians.append(jac)
    return jacobians, sizes_ok, types_ok


def _jacobians_equal(j1, j2, atol):
    # Like PyTorch: the largest absolute difference must not exceed atol (NaN differences do not count).
    for a, b in zip(j1, j2):
        d = np.abs(a - b)
        d = d[~np.isnan(d)]
        if d.size and d.max() > atol:
            return False
    return True


def _analytical_jacobian(diff_inputs, output, nondet_tol, check_grad_dtypes, seeds=None):
    """Per differentiable input, ``J`` of shape (input.numel(), len(seeds)), with PyTorch's checks."""
    if seeds is None:
        n = output.numel()
        seeds = [np.eye(1, n, j).reshape(-1) for j in range(n)]
    # Everything is computed twice to detect backward functions that are not reentrant.
    jac1, sizes_ok, types_ok = _stack_and_check(_analytical_rows(diff_inputs, output, seeds), diff_inputs, len(seeds))
    jac2, _, _ = _stack_and_check(_analytical_rows(diff_inputs, output, seeds), diff_inputs, len(seeds))
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if not _jacobians_equal(jac1, jac2, nondet_tol):
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with "
            "same input and grad_output multiple times gives different values, "
            "although analytical gradient matches numerical gradient."
            f"The tolerance for nondeterminism was {nondet_tol}." + FAILED_NONDET_MSG)
    return jac1


# ---------------------------------------------------------------------------------------------------
# Comparison and report
# ---------------------------------------------------------------------------------------------------

def _allclose(a, n, rtol, atol):
    """``torch.allclose(a, n, rtol, atol)``: |a - n| <= atol + rtol * |n| elementwise, NaN never close."""
    return bool(np.all(np.abs(a - n) <= atol + rtol * np.abs(n)))


def _fmt_matrix(m):
    from .. import _tensor_str  # noqa: F401  (printing is set up by the package)

    return str(_C.from_numpy(np.ascontiguousarray(m)))


def _index_str(flat, shape):
    if not shape:
        return "()"
    return ", ".join(str(int(i)) for i in np.unravel_index(flat, shape))


def _worst_element_msg(a, n, rtol, atol, out_shape, in_shape, in_pos):
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.abs(a - n)
        excess = diff / (atol + rtol * np.abs(n))
    excess = np.where(np.isnan(excess), np.inf, excess)
    k, j = np.unravel_index(int(np.argmax(excess)), a.shape)
    return (f"The worst mismatch: d output[{_index_str(j, out_shape)}] / d input[{_index_str(k, in_shape)}] "
            f"(Jacobian element [{k}, {j}]; the input is argument {in_pos} of func): "
            f"numerical {float(n[k, j])!r}, analytical {float(a[k, j])!r}, difference {float(diff[k, j])!r} "
            f"> atol + rtol * |numerical| = {float(atol + rtol * abs(n[k, j]))!r}\n")


def _notallclose_msg(a, n, out_idx, in_idx, rtol, atol, out_shape, in_shape, in_pos):
    return (f"Jacobian mismatch for output {out_idx:d} with respect to input {in_idx:d},\n"
            f"numerical:{_fmt_matrix(n)}\nanalytical:{_fmt_matrix(a)}\n"
            + _worst_element_msg(a, n, rtol, atol, out_shape, in_shape, in_pos))


# ---------------------------------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------------------------------

def _diff_positions(inputs):
    return [i for i, x in enumerate(inputs) if _is_tensor(x) and x.requires_grad]


def _check_no_differentiable_outputs(func, inputs, func_out, eps):
    for per_output in _numerical_jacobian(func, inputs, func_out, eps).values():
        for jac in per_output.values():
            if np.any(jac != 0):
                raise GradcheckError("Numerical gradient for function expected to be zero")
    return True


def _slow_gradcheck(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol):
    func_out = _as_tuple(func_out)
    if not outputs:
        return _check_no_differentiable_outputs(func, inputs, func_out, eps)
    numerical = _numerical_jacobian(func, inputs, func_out, eps)
    positions = _diff_positions(inputs)
    diff_inputs = [inputs[p] for p in positions]
    out_positions = [i for i, o in enumerate(func_out) if _is_tensor(o) and o.requires_grad]
    for i, (opos, o) in enumerate(zip(out_positions, outputs)):
        analytical = _analytical_jacobian(diff_inputs, o, nondet_tol, check_grad_dtypes)
        for j, (pos, a) in enumerate(zip(positions, analytical)):
            n = numerical[pos][opos]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_notallclose_msg(a, n, i, j, rtol, atol, tuple(o.shape),
                                                      tuple(inputs[pos].shape), pos))
    return True


def _fast_gradcheck(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol):
    """PyTorch's fast mode: compares v^T J u (random u per input, v per output) instead of whole Jacobians."""
    func_out = _as_tuple(func_out)
    if not outputs:
        return _check_no_differentiable_outputs(func, inputs, func_out, eps)
    rng = np.random.default_rng(42)
    positions = _diff_positions(inputs)
    diff_inputs = [inputs[p] for p in positions]
    all_u = []
    for x in diff_inputs:
        u = rng.uniform(-1.0, 1.0, x.numel())
        norm = np.linalg.norm(u)
        all_u.append(u / norm if norm > 0 else u)
    out_positions = [i for i, o in enumerate(func_out) if _is_tensor(o) and o.requires_grad]
    all_v = [rng.uniform(-1.0, 1.0, o.numel()) for o in outputs]
    numerical_jvps = [_numerical_jvp(func, inputs, pos, u, eps) for pos, u in zip(positions, all_u)]
    for i, (opos, o, v) in enumerate(zip(out_positions, outputs, all_v)):
        vJ = _analytical_jacobian(diff_inputs, o, nondet_tol, check_grad_dtypes, seeds=[v])
        for j, (pos, u) in enumerate(zip(positions, all_u)):
            a = float(vJ[j][:, 0] @ u)
            n = float(v @ numerical_jvps[j][opos])
            adjusted_atol = atol * float(np.sum(u)) * float(np.sum(v))
            if not abs(a - n) <= abs(adjusted_atol) + rtol * abs(n):
                msg = (f"Jacobian mismatch for output {i:d} with respect to input {j:d},\n"
                       f"numerical:{n!r}\nanalytical:{a!r}\n" + _FAST_MODE_NOTE)
                try:
                    _slow_gradcheck(func, func_out, inputs, outputs, eps, rtol, atol, check_grad_dtypes,
                                    float("inf"))
                    msg += "(slow mode found no mismatch beyond the tolerances)\n"
                except GradcheckError as e:
                    msg += str(e)
                raise GradcheckError(msg)
    return True


def _test_backward_mul_by_grad_output(outputs, inputs):
    diff_inputs = [inputs[p] for p in _diff_positions(inputs)]
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")
    zeros = [_seed(o, np.zeros(o.numel())) for o in outputs]
    grads_input = _grad(list(outputs), diff_inputs, zeros)
    for gi, di in zip(grads_input, diff_inputs):
        if gi is None:
            continue
        if not bool(np.all(_numpy(gi) == 0)):
            raise GradcheckError("backward not multiplied by grad_output")
        if gi.dtype != di.dtype:
            raise GradcheckError("grad is incorrect type")
        if tuple(gi.shape) != tuple(di.shape):
            raise GradcheckError("grad is incorrect size")
    return True


def _test_undefined_backward_mode(func, inputs):
    """Backward must treat undefined output gradients as zeros.

    gradcore has no ``UndefinedGrad`` function to make every output gradient undefined from Python, so this
    checks what can be reached: with several differentiable outputs, each one in turn is left out of the
    backward call (its gradient is undefined inside the engine) while the others get zero gradients; every
    input gradient must then be undefined or zero.
    """
    diff_inputs = [inputs[p] for p in _diff_positions(inputs)]
    if not diff_inputs:
        raise GradcheckError("no Tensors requiring grad found in input")
    n_outputs = len(_differentiable_outputs(func(*inputs)))
    if n_outputs < 2:
        return True
    for undef in range(n_outputs):
        outs = [o for k, o in enumerate(_differentiable_outputs(func(*inputs))) if k != undef]
        try:
            grads_input = _grad(outs, diff_inputs, [_seed(o, np.zeros(o.numel())) for o in outs])
        except RuntimeError as e:
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. "
                'Please look at "Notes about undefined output gradients" in '
                '"tools/autograd/derivatives.yaml"') from e
        for gi in grads_input:
            if gi is not None and not bool(np.all(_numpy(gi) == 0)):
                raise GradcheckError(
                    "Expected all input grads to be undefined or zero when all output grads are undefined "
                    'or zero. Please look at "Notes about undefined output gradients" in '
                    '"tools/autograd/derivatives.yaml"')
    return True


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    """Checks the gradients of ``func(*inputs)`` against float64 central finite differences.

    ``func`` takes the tensors of ``inputs`` (a tensor or a tuple; other values are passed through) and returns
    a tensor or a tuple of tensors. Every input with ``requires_grad`` is checked against every output with
    ``requires_grad``: the analytical Jacobian (``autograd.grad`` with one-hot ``grad_outputs``) must equal
    the numerical one within ``|a - n| <= atol + rtol * |n|``. Also checks that backward gives the same
    result twice (within ``nondet_tol``), returns gradients of the inputs' shapes (and dtypes with
    ``check_grad_dtypes``) and zeros for zero ``grad_outputs``. Returns True; on failure raises
    :class:`GradcheckError` (or returns False when ``raise_exception=False``).

    ``fast_mode=True`` compares ``v^T J u`` for random ``u``, ``v`` instead of whole Jacobians. Forward-mode
    AD and vmap checks (``check_forward_ad``, ``check_batched_grad``, ...) are not available in gradcore:
    asking for them raises NotImplementedError.
    """
    if check_forward_ad or check_batched_grad or check_batched_forward_grad:
        raise NotImplementedError("gradcheck: forward-mode AD and batched (vmap) gradient checks are not "
                                  "supported by gradcore")
    if not check_backward_ad:
        raise NotImplementedError("gradcheck: check_backward_ad=False needs forward-mode AD, which gradcore "
                                  "does not have")
    try:
        return _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                                 check_grad_dtypes, fast_mode)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                      fast_mode):
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = func(*tupled_inputs)
    outputs = _differentiable_outputs(func_out)
    check = _fast_gradcheck if fast_mode else _slow_gradcheck
    check(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    _test_backward_mul_by_grad_output(outputs, tupled_inputs)
    if check_undefined_grad:
        _test_undefined_backward_mode(func, tupled_inputs)
    return True


def _random_grad_output(x, noncontiguous):
    """A random tensor like ``x`` (float64 for non-float outputs) with values in [-1, 1), requiring grad."""
    dtype = x.dtype if _is_float_tensor(x) else _C.float64
    shape = tuple(x.shape)
    if noncontiguous and x.numel() > 1:
        # Like torch.testing.make_tensor(noncontiguous=True): every other element of a wider tensor.
        base = _C.rand(*shape[:-1], 2 * shape[-1], dtype=dtype) * 2 - 1
        out = base[..., ::2]
    else:
        out = _C.rand(*shape, dtype=dtype) * 2 - 1 if shape else _C.rand((), dtype=dtype) * 2 - 1
    return out.detach().requires_grad_(True)


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    """Checks second derivatives: :func:`gradcheck` of ``(inputs, grad_outputs) -> grad(func(inputs), ...)``.

    The gradients of ``func``'s differentiable outputs (seeded with ``grad_outputs``, random in [-1, 1) when
    None, non-contiguous with ``gen_non_contig_grad_outputs``) with respect to the inputs requiring grad are
    computed with ``create_graph=True``, and gradcheck verifies their derivatives with respect to both the
    inputs and the grad_outputs.
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_fwd_over_rev:
        raise NotImplementedError("gradgradcheck: check_fwd_over_rev needs forward-mode AD, which gradcore "
                                  "does not have")
    tupled_inputs = _as_tuple(inputs)
    if grad_outputs is None:
        outputs = _differentiable_outputs(func(*tupled_inputs))
        tupled_grad_outputs = tuple(_random_grad_output(x, gen_non_contig_grad_outputs) for x in outputs)
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)

    diff_input_args_indices = {i for i, x in enumerate(tupled_inputs) if _is_tensor(x) and x.requires_grad}
    diff_grad_output_indices = {i for i, x in enumerate(tupled_grad_outputs) if x.requires_grad}

    def new_func(*args):
        from . import grad

        input_args = tuple(x.requires_grad_() if i in diff_input_args_indices else x
                           for i, x in enumerate(args[:len(args) - num_outputs]))
        outputs = _differentiable_outputs(func(*input_args))
        grad_outs = tuple(x.requires_grad_() if i in diff_grad_output_indices else x
                          for i, x in enumerate(args[len(args) - num_outputs:]))
        diff_input_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_args_indices)
        grad_inputs = grad(outputs, diff_input_args, grad_outs, create_graph=True, allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(new_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                     fast_mode=fast_mode)

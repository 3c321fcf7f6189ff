"""Autograd semantics that must match PyTorch's.

Covers: .grad accumulation and assignment, requires_grad / is_leaf / grad_fn, the graph structure
seen through grad_fn.next_functions, retain_graph, grad modes (context managers, decorators,
thread-locality), detach / .data and the version counter, in-place checks, broadcasting in
backward, backward(gradient=...), freeing of saved tensors, very deep graphs, and autograd.grad.

Every test runs with gradcore alone; tests that compare with PyTorch import it with
pytest.importorskip, so they skip cleanly where torch is not installed.
"""

import gc
import threading
import weakref

import numpy as np
import pytest

import gradcore


@pytest.fixture(autouse=True)
def _grad_mode_restored():
    """Every test starts with grad mode on and leaves it on, even if it fails halfway."""
    gradcore.set_grad_enabled(True)
    yield
    gradcore.set_grad_enabled(True)


def _values(t):
    return np.array(t.detach().tolist())


def _node_name(fn):
    """The class name of a grad_fn node, for gradcore (fn.name()) and torch (the Python type)."""
    if fn is None:
        return None
    return fn.name() if isinstance(fn, gradcore._C.Node) else type(fn).__name__


# ---- .grad ---------------------------------------------------------------------------------------


def test_grad_accumulates_in_place_over_two_backwards():
    x = gradcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    g = x.grad
    assert g is not None
    np.testing.assert_allclose(_values(g), [2.0, 4.0, 6.0])
    (x * x).sum().backward()
    # PyTorch accumulates into the existing .grad in place: the old reference sees the sum.
    assert g is x.grad
    np.testing.assert_allclose(_values(g), [4.0, 8.0, 12.0])
    np.testing.assert_allclose(_values(x.grad), [4.0, 8.0, 12.0])


def test_grad_accumulation_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gradcore, torch):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        (x * 3).sum().backward()
        g = x.grad
        (x * x).sum().backward()
        assert g is x.grad
        results.append(x.grad.tolist())
    assert results[0] == results[1]


def test_grad_is_none_before_backward_and_for_leaves_not_requiring_grad():
    x = gradcore.ones(3, requires_grad=True)
    c = gradcore.ones(3)
    assert x.grad is None
    (x * c).sum().backward()
    assert x.grad is not None
    assert c.grad is None


def test_grad_can_be_assigned_a_tensor_and_none():
    x = gradcore.ones(3, requires_grad=True)
    g = gradcore.full((3,), 5.0)
    x.grad = g
    assert x.grad is g
    # backward accumulates into the assigned tensor, in place (as in PyTorch)
    (x * 2).sum().backward()
    assert x.grad is g
    np.testing.assert_allclose(_values(g), [7.0, 7.0, 7.0])
    x.grad = None
    assert x.grad is None
    (x * 2).sum().backward()
    np.testing.assert_allclose(_values(x.grad), [2.0, 2.0, 2.0])


def test_grad_assignment_checks_shape_dtype_and_type():
    x = gradcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="size"):
        x.grad = gradcore.ones(4)
    with pytest.raises(RuntimeError, match="type"):
        x.grad = gradcore.ones(3, dtype=gradcore.float64)
    with pytest.raises(TypeError, match="Tensor or None"):
        x.grad = 3
    with pytest.raises(RuntimeError, match="its own grad"):
        x.grad = x
    assert x.grad is None


def test_grad_assignment_errors_match_torch_types():
    torch = pytest.importorskip("torch")
    for lib in (gradcore, torch):
        x = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError):
            x.grad = lib.ones(4)
        with pytest.raises(RuntimeError):
            x.grad = lib.ones(3, dtype=lib.float64)
        with pytest.raises(TypeError):
            x.grad = 3


def test_retain_grad_populates_grad_of_non_leaf():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.retain_grad()
    assert y.retains_grad
    (y * y).sum().backward()
    assert y.grad is not None, "retain_grad() on a non-leaf must make backward fill y.grad"
    np.testing.assert_allclose(_values(y.grad), [4.0, 8.0])
    np.testing.assert_allclose(_values(x.grad), [8.0, 16.0])


# ---- requires_grad, is_leaf, grad_fn ------------------------------------------------------------


def test_requires_grad_settable_on_leaves():
    x = gradcore.ones(2)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad and x.is_leaf
    x.requires_grad = False
    assert not x.requires_grad
    assert x.requires_grad_() is x
    assert x.requires_grad
    assert x.requires_grad_(False) is x
    assert not x.requires_grad


def test_requires_grad_false_on_non_leaf_raises():
    x = gradcore.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)
    assert y.requires_grad


def test_requires_grad_true_on_non_leaf_raises_like_torch():
    # PyTorch refuses to change the flag of a non-leaf in either direction:
    # "you can only change requires_grad flags of leaf variables."
    x = gradcore.ones(2, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad = True


def test_requires_grad_factories_and_tensor():
    assert gradcore.ones(2, requires_grad=True).requires_grad
    assert gradcore.zeros(2, requires_grad=True).is_leaf
    assert gradcore.tensor([1.0], requires_grad=True).requires_grad
    assert not gradcore.tensor([1.0]).requires_grad


def test_is_leaf_and_grad_fn():
    x = gradcore.ones(3, requires_grad=True)
    c = gradcore.ones(3)
    y = x + 2
    assert x.is_leaf and x.grad_fn is None
    assert c.is_leaf and c.grad_fn is None
    assert not y.is_leaf and y.grad_fn is not None
    assert y.requires_grad
    d = y.detach()
    assert d.is_leaf and d.grad_fn is None and not d.requires_grad
    # results of ops on tensors that don't require grad are leaves
    r = c * 2
    assert r.is_leaf and r.grad_fn is None and not r.requires_grad


def test_next_functions_of_add_with_constant():
    x = gradcore.ones(3, requires_grad=True)
    y = x + 2
    assert _node_name(y.grad_fn) == "AddBackward0"
    nf = y.grad_fn.next_functions
    assert isinstance(nf, tuple) and len(nf) == 2
    acc, nr = nf[0]
    assert _node_name(acc) == "AccumulateGrad" and nr == 0
    assert acc.variable is x
    assert nf[1] == (None, 0)
    # the leaf's AccumulateGrad is shared by every use while the graph lives
    z = x * 3
    assert z.grad_fn.next_functions[0][0] is acc


def test_next_functions_of_square_lists_the_same_node_twice():
    x = gradcore.ones(3, requires_grad=True)
    y = x + 2
    z = y * y
    assert _node_name(z.grad_fn) == "MulBackward0"
    (n0, i0), (n1, i1) = z.grad_fn.next_functions
    assert n0 is n1 is y.grad_fn
    assert i0 == i1 == 0


def test_next_functions_match_torch():
    torch = pytest.importorskip("torch")

    def describe(lib):
        x = lib.ones(3, requires_grad=True)
        w = lib.ones(3, requires_grad=True)
        y = x + 2
        z = y * y * w
        out = []
        stack = [z.grad_fn]
        while stack:
            fn = stack.pop()
            nf = fn.next_functions
            out.append((_node_name(fn), tuple((_node_name(n), i) for n, i in nf)))
            stack.extend(n for n, _ in nf if n is not None and _node_name(n) != "AccumulateGrad")
        return out

    assert describe(gradcore) == describe(torch)


# ---- retain_graph --------------------------------------------------------------------------------


def test_second_backward_through_saved_tensors_fails():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(_values(x.grad), [6.0, 12.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_graph_without_saved_tensors_can_backward_twice():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = (x + 2).sum()
    y.backward()
    y.backward()  # nothing was saved, nothing freed: PyTorch allows this too
    np.testing.assert_allclose(_values(x.grad), [2.0, 2.0])


def test_retain_graph_behaviour_matches_torch():
    torch = pytest.importorskip("torch")
    for lib in (gradcore, torch):
        x = lib.ones(2, requires_grad=True)
        y = (x + 2).sum()
        y.backward()
        y.backward()
        z = (x * x).sum()
        z.backward()
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            z.backward()


# ---- grad modes ----------------------------------------------------------------------------------


def test_no_grad_results_do_not_require_grad():
    x = gradcore.ones(3, requires_grad=True)
    with gradcore.no_grad():
        assert not gradcore.is_grad_enabled()
        y = x * 2
    assert gradcore.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert (x * 2).requires_grad


def test_nested_no_grad_enable_grad():
    x = gradcore.ones(3, requires_grad=True)
    with gradcore.no_grad():
        with gradcore.enable_grad():
            assert gradcore.is_grad_enabled()
            y = x * 2
            with gradcore.no_grad():
                assert not gradcore.is_grad_enabled()
                z = x * 2
            assert gradcore.is_grad_enabled()
        assert not gradcore.is_grad_enabled()
        with gradcore.no_grad():
            assert not gradcore.is_grad_enabled()
        assert not gradcore.is_grad_enabled()
    assert gradcore.is_grad_enabled()
    assert y.requires_grad and _node_name(y.grad_fn) == "MulBackward0"
    assert not z.requires_grad


def test_no_grad_restores_mode_after_exception():
    with pytest.raises(ValueError):
        with gradcore.no_grad():
            raise ValueError("boom")
    assert gradcore.is_grad_enabled()


def test_set_grad_enabled_as_function():
    gradcore.set_grad_enabled(False)
    assert not gradcore.is_grad_enabled()
    x = gradcore.ones(2, requires_grad=True)
    assert not (x * 2).requires_grad
    gradcore.set_grad_enabled(True)
    assert gradcore.is_grad_enabled()
    assert (x * 2).requires_grad


def test_set_grad_enabled_as_context_manager():
    with gradcore.set_grad_enabled(False):
        assert not gradcore.is_grad_enabled()
        with gradcore.set_grad_enabled(True):
            assert gradcore.is_grad_enabled()
        assert not gradcore.is_grad_enabled()
    assert gradcore.is_grad_enabled()
    with gradcore.no_grad():
        with gradcore.set_grad_enabled(True):
            assert gradcore.is_grad_enabled()
        assert not gradcore.is_grad_enabled()


def test_no_grad_and_enable_grad_as_called_decorators():
    @gradcore.no_grad()
    def off():
        return gradcore.is_grad_enabled()

    @gradcore.enable_grad()
    def on():
        return gradcore.is_grad_enabled()

    assert off() is False
    assert gradcore.is_grad_enabled()
    with gradcore.no_grad():
        assert on() is True
        assert not gradcore.is_grad_enabled()
    assert off.__name__ == "off"  # functools.wraps


def test_no_grad_and_enable_grad_as_bare_decorators():
    # torch 2.x accepts @torch.no_grad and @torch.enable_grad without parentheses.
    @gradcore.no_grad
    def off():
        return gradcore.is_grad_enabled()

    @gradcore.enable_grad
    def on():
        return gradcore.is_grad_enabled()

    assert off() is False
    assert gradcore.is_grad_enabled()
    with gradcore.no_grad():
        assert on() is True


def test_torch_accepts_both_decorator_forms():
    """Documents the reference behaviour the test above holds gradcore to."""
    torch = pytest.importorskip("torch")

    @torch.no_grad
    def bare():
        return torch.is_grad_enabled()

    @torch.no_grad()
    def called():
        return torch.is_grad_enabled()

    assert bare() is False and called() is False and torch.is_grad_enabled()


def test_set_grad_enabled_as_decorator():
    @gradcore.set_grad_enabled(False)
    def off():
        return gradcore.is_grad_enabled()

    # Decorating must not change the current mode (PyTorch restores it in __call__).
    assert gradcore.is_grad_enabled(), "decorating with set_grad_enabled(False) left grad mode disabled"
    assert off() is False
    assert gradcore.is_grad_enabled()


def test_grad_mode_is_thread_local_main_disabled():
    seen = {}

    def worker():
        seen["enabled"] = gradcore.is_grad_enabled()
        x = gradcore.ones(2, requires_grad=True)
        seen["requires_grad"] = (x * 2).requires_grad

    with gradcore.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert not gradcore.is_grad_enabled()
    assert seen == {"enabled": True, "requires_grad": True}


def test_grad_mode_is_thread_local_worker_disabled():
    seen = {}
    disabled = threading.Event()
    checked = threading.Event()

    def worker():
        gradcore.set_grad_enabled(False)
        disabled.set()
        checked.wait(5)
        seen["worker"] = gradcore.is_grad_enabled()

    t = threading.Thread(target=worker)
    t.start()
    assert disabled.wait(5)
    # the worker disabled grad mode while still running: the main thread is unaffected
    assert gradcore.is_grad_enabled()
    x = gradcore.ones(2, requires_grad=True)
    assert (x * 2).requires_grad
    checked.set()
    t.join()
    assert seen == {"worker": False}
    assert gradcore.is_grad_enabled()


# ---- detach, .data and the version counter ---------------------------------------------------------


def test_detach_shares_storage_and_version_counter():
    x = gradcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    assert d.data_ptr() == x.data_ptr()
    v = x._version
    d.add_(1)  # allowed: d does not require grad
    assert x.tolist() == [2.0, 3.0, 4.0]
    assert x._version == v + 1
    assert d._version == x._version
    # and the other way round
    with gradcore.no_grad():
        x.mul_(2)
    assert d.tolist() == [4.0, 6.0, 8.0]
    assert d._version == v + 2


def test_detach_of_non_leaf_and_modification_detected_by_autograd():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y.detach().add_(1)  # shares y's version counter: autograd must notice
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_detach_in_place():
    x = gradcore.ones(2, requires_grad=True)
    y = x * 2
    r = y.detach_()
    assert r is y
    assert y.is_leaf and y.grad_fn is None and not y.requires_grad
    assert y.tolist() == [2.0, 2.0]


def test_data_shares_storage_but_not_version_counter():
    x = gradcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    d = x.data
    assert not d.requires_grad and d.is_leaf
    assert d.data_ptr() == x.data_ptr()
    v = x._version
    d.mul_(3)  # allowed on .data even though x is a leaf that requires grad
    assert x.tolist() == [3.0, 6.0, 9.0]
    assert x._version == v


def test_data_change_is_invisible_to_autograd():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    w = gradcore.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()  # saves x and w
    w.data.mul_(10)  # no version bump: backward runs, with the new values (PyTorch semantics)
    y.backward()
    np.testing.assert_allclose(_values(x.grad), [30.0, 40.0])


def test_data_assignment_replaces_values_and_shape():
    x = gradcore.ones(3, requires_grad=True)
    x.data = gradcore.zeros(2, 2)
    assert x.shape == (2, 2)
    assert x.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert x.requires_grad and x.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        x.data = gradcore.tensor([1, 2])


def test_data_assignment_keeps_own_version_counter():
    # PyTorch: "the version counter is not shared when we replace a Variable's tensor data by calling
    # set_data(...); the original version of the Variable is always preserved."
    x = gradcore.ones(3, requires_grad=True)
    src = gradcore.zeros(3)
    src.add_(1)
    src.add_(1)
    v = x._version
    x.data = src
    assert x._version == v
    src.add_(1)
    assert x._version == v
    assert x.tolist() == [3.0, 3.0, 3.0]


def test_data_assignment_after_forward_does_not_break_backward():
    # The optimizer-style pattern `w.data = new` between forward and backward: PyTorch runs backward
    # with the new data and raises nothing.
    w = gradcore.ones(3, requires_grad=True)
    with gradcore.no_grad():
        w.mul_(2)  # w is now at version 1
    y = (w * w).sum()  # saves w at version 1
    w.data = gradcore.full((3,), 5.0)  # a fresh tensor at version 0
    y.backward()
    np.testing.assert_allclose(_values(w.grad), [10.0, 10.0, 10.0])


# ---- in-place checks -----------------------------------------------------------------------------------


def test_inplace_on_saved_tensor_detected_at_backward():
    x = gradcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 1
    b = a * a  # saves a at version 0
    a.add_(1)
    assert a._version == 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation") as info:
        b.sum().backward()
    assert "is at version 1; expected version 0" in str(info.value)


def test_inplace_on_saved_tensor_after_backward_is_fine():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    b = (a * a).sum()
    b.backward()
    a.add_(1)  # the saved value was already used and freed
    np.testing.assert_allclose(_values(x.grad), [2.0, 4.0])


def test_inplace_on_leaf_requiring_grad_raises():
    x = gradcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x += 1
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.mul_(2)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.zero_()
    assert x.tolist() == [1.0, 1.0, 1.0]
    assert x._version == 0


def test_inplace_on_leaf_allowed_under_no_grad_like_an_optimizer_step():
    w = gradcore.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    w_obj = w
    with gradcore.no_grad():
        w -= 0.1 * w.grad
    assert w is w_obj  # in place
    assert w.is_leaf and w.requires_grad and w.grad_fn is None
    np.testing.assert_allclose(_values(w), [0.8, 1.6], rtol=1e-6)
    assert w._version == 1
    # the next step of training works normally
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_allclose(_values(w.grad), [1.6, 3.2], rtol=1e-6)


def test_inplace_on_non_leaf_records_history():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.add_(1)
    assert not y.is_leaf and y.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(_values(x.grad), [2.0, 2.0])


# ---- gradients through broadcasting, backward(gradient=...) ---------------------------------------------------


def test_broadcasting_gradients_have_leaf_shapes():
    x = gradcore.tensor([[1.0], [2.0], [3.0]], requires_grad=True)  # (3, 1)
    y = gradcore.tensor([[1.0, 2.0, 3.0, 4.0]], requires_grad=True)  # (1, 4)
    z = x + y
    assert z.shape == (3, 4)
    (z * y).sum().backward()
    assert x.grad.shape == (3, 1) and y.grad.shape == (1, 4)
    np.testing.assert_allclose(_values(x.grad), [[10.0], [10.0], [10.0]])
    # d/dy sum((x + y) * y) = x + 2y summed over rows
    np.testing.assert_allclose(_values(y.grad), [[6.0 + 6, 6.0 + 12, 6.0 + 18, 6.0 + 24]])


def test_broadcasting_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 1)).astype(np.float32)
    ys = rng.standard_normal((1, 4)).astype(np.float32)
    ss = rng.standard_normal(()).astype(np.float32)
    results = []
    for lib in (gradcore, torch):
        x = lib.tensor(xs.tolist(), requires_grad=True)
        y = lib.tensor(ys.tolist(), requires_grad=True)
        s = lib.tensor(float(ss), requires_grad=True)
        ((x + y) * (x - y) / (y * y + 1) * s + x * s).sum().backward()
        results.append([x.grad.tolist(), y.grad.tolist(), s.grad.tolist()])
    ours, ref = results
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_with_explicit_gradient():
    x = gradcore.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = x * x
    y.backward(gradient=gradcore.tensor([[1.0, 0.5], [0.0, 2.0]]))
    np.testing.assert_allclose(_values(x.grad), [[2.0, 2.0], [0.0, 16.0]])


def test_backward_with_explicit_gradient_matches_torch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (gradcore, torch):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
        (x * x * 3).backward(lib.tensor([1.0, 2.0, 3.0]))
        out.append(x.grad.tolist())
    assert out[0] == out[1]


def test_backward_gradient_shape_mismatch():
    x = gradcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(gradcore.ones(4))
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(gradcore.ones(1, 3))
    assert x.grad is None


def test_backward_of_non_scalar_without_gradient():
    x = gradcore.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()


def test_backward_of_one_element_non_0dim_tensor():
    x = gradcore.ones(1, 1, requires_grad=True)
    (x * 3).backward()  # numel == 1: allowed, like PyTorch
    assert x.grad.tolist() == [[3.0]]


def test_scalar_backward_float64():
    x = gradcore.tensor(3.0, dtype=gradcore.float64, requires_grad=True)
    y = x * x * x
    assert y.dtype == gradcore.float64
    y.backward()
    assert x.grad.dtype == gradcore.float64
    assert x.grad.shape == ()
    assert x.grad.item() == 27.0


def test_gradient_dtype_follows_leaf():
    x = gradcore.ones(2, requires_grad=True)  # float32
    d = gradcore.ones(2, dtype=gradcore.float64, requires_grad=True)
    (x * d).sum().backward()
    assert x.grad.dtype == gradcore.float32
    assert d.grad.dtype == gradcore.float64


# ---- freeing of saved tensors and deep graphs ------------------------------------------------------------


def _tensor_kept_alive_through(arr_factory):
    """A tensor whose storage is a numpy array we hold only a weakref to."""
    arr = arr_factory()
    ref = weakref.ref(arr)
    t = gradcore.from_numpy(arr)
    del arr
    return t, ref


def test_backward_frees_saved_tensors():
    x = gradcore.ones(1000, requires_grad=True)
    a, ref = _tensor_kept_alive_through(lambda: np.full(1000, 2.0, dtype=np.float32))
    y = (x * a).sum()  # MulBackward0 saves a
    del a
    gc.collect()
    assert ref() is not None, "the graph must keep the saved tensor alive until backward"
    y.backward()
    gc.collect()
    assert ref() is None, "backward without retain_graph must free the saved tensors"
    assert x.grad[0].item() == 2.0
    # the graph itself is still there (y.grad_fn), only the saved values are gone
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_keeps_saved_tensors_until_graph_is_dropped():
    x = gradcore.ones(10, requires_grad=True)
    a, ref = _tensor_kept_alive_through(lambda: np.full(10, 2.0, dtype=np.float32))
    y = (x * a).sum()
    del a
    y.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    del y
    gc.collect()
    assert ref() is None


def test_dropping_graph_without_backward_frees_saved_tensors():
    x = gradcore.ones(10, requires_grad=True)
    a, ref = _tensor_kept_alive_through(lambda: np.full(10, 2.0, dtype=np.float32))
    y = (x * a).exp().sum()
    del a
    gc.collect()
    assert ref() is not None
    del y
    gc.collect()
    assert ref() is None


def test_graph_keeps_leaf_alive_but_leaf_does_not_keep_graph():
    x, xref = _tensor_kept_alive_through(lambda: np.ones(4, dtype=np.float32))
    x.requires_grad_()
    y = (x * 2).sum()
    del x
    gc.collect()
    assert xref() is not None  # AccumulateGrad holds the leaf
    y.backward()
    del y
    gc.collect()
    assert xref() is None


def test_tensor_supports_weakref():
    x = gradcore.ones(2)
    r = weakref.ref(x)
    assert r() is x
    del x
    gc.collect()
    assert r() is None


def test_very_deep_graph_backward_and_free():
    n = 100_000
    x = gradcore.ones(1, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    y.sum().backward()  # iterative engine: no recursion, no stack overflow
    assert x.grad.tolist() == [1.0]

    y = x
    for _ in range(n):
        y = y + 1
    assert y.tolist() == [float(n + 1)]
    del y  # freeing a 100k-node chain must not recurse either
    gc.collect()

    y = x
    for _ in range(n):
        y = y * 1.0
    (g,) = gradcore.autograd.grad(y.sum(), x)
    assert g.tolist() == [1.0]
    del y, g


# ---- autograd.grad ------------------------------------------------------------------------------------


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = gradcore.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = gradcore.tensor([4.0, 5.0, 6.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = gradcore.autograd.grad(y, [x, w])
    np.testing.assert_allclose(_values(gx), [4.0, 5.0, 6.0])
    np.testing.assert_allclose(_values(gw), [1.0, 2.0, 3.0])
    assert x.grad is None and w.grad is None


def test_autograd_grad_does_not_touch_existing_grad():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    x.grad = gradcore.ones(2)
    (g,) = gradcore.autograd.grad((x * x).sum(), x)
    np.testing.assert_allclose(_values(g), [2.0, 4.0])
    assert x.grad.tolist() == [1.0, 1.0]


def test_autograd_grad_single_tensor_input_returns_tuple():
    x = gradcore.tensor(2.0, requires_grad=True)
    res = gradcore.autograd.grad(x * x, x)
    assert isinstance(res, tuple) and len(res) == 1
    assert res[0].item() == 4.0


def test_autograd_grad_wrt_non_leaf():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = (y * y).sum()
    gy, gx = gradcore.autograd.grad(z, [y, x])
    np.testing.assert_allclose(_values(gy), [4.0, 8.0])
    np.testing.assert_allclose(_values(gx), [8.0, 16.0])
    assert x.grad is None


def test_autograd_grad_with_grad_outputs_and_retain_graph():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    (g1,) = gradcore.autograd.grad(y, x, grad_outputs=gradcore.tensor([1.0, 10.0]), retain_graph=True)
    (g2,) = gradcore.autograd.grad(y, x, grad_outputs=gradcore.tensor([1.0, 1.0]))
    assert g1.tolist() == [2.0, 40.0]
    assert g2.tolist() == [2.0, 4.0]
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        gradcore.autograd.grad(y, x, grad_outputs=gradcore.tensor([1.0, 1.0]))


def test_autograd_grad_allow_unused():
    x = gradcore.ones(2, requires_grad=True)
    unused = gradcore.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        gradcore.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = gradcore.autograd.grad(y, [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0, 2.0]
    assert gu is None


def test_autograd_grad_input_must_require_grad():
    x = gradcore.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        gradcore.autograd.grad((x * 2).sum(), gradcore.ones(2))


def test_autograd_grad_matches_torch():
    torch = pytest.importorskip("torch")
    out = []
    for lib in (gradcore, torch):
        x = lib.tensor([0.5, 1.5, -2.0], requires_grad=True)
        w = lib.tensor([2.0, -1.0, 0.25], requires_grad=True)
        u = lib.ones(3, requires_grad=True)
        y = ((x * w).exp() * x - w / (x * x + 1)).sum()
        gx, gw, gu = lib.autograd.grad(y, [x, w, u], allow_unused=True)
        assert gu is None and x.grad is None
        out.append((gx.tolist(), gw.tolist()))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-5)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-5)


def test_autograd_backward_function():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    gradcore.autograd.backward([(x * x).sum(), (x * 3).sum()])
    np.testing.assert_allclose(_values(x.grad), [5.0, 7.0])

"""Issue 4's engine features: hooks, custom Functions, backward(inputs=), higher-order gradients,
anomaly mode, inference mode, thread safety, and that graphs with hooks and Functions are freed.

Where PyTorch has the feature, the same program runs on both and the observable results are compared.
"""
import gc
import threading
import warnings
import weakref

import numpy as np
import pytest

import gradcore
import helpers as H

requires_torch = pytest.mark.requires_torch


def _libs():
    torch = pytest.importorskip("torch")
    return [gradcore, torch]


def _node_name(lib, fn):
    return fn.name() if lib is gradcore else type(fn).__name__


# ---- hooks --------------------------------------------------------------------------------------------

def _hook_program(lib):
    log = []
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: log.append(("tensor", g.tolist())) or g * 10)
    y.register_hook(lambda g: log.append(("tensor2", g.tolist())))
    x.register_hook(lambda g: log.append(("leaf", g.tolist())))
    y.grad_fn.register_prehook(lambda go: log.append(("pre", [t.tolist() for t in go])))
    y.grad_fn.register_hook(lambda gi, go: log.append(("post", [None if t is None else t.tolist() for t in gi],
                                                       [t.tolist() for t in go])))
    x.register_post_accumulate_grad_hook(lambda t: log.append(("accumulated", t.grad.tolist())))
    y.retain_grad()
    (y * y).sum().backward()
    return log, y.grad.tolist(), x.grad.tolist()


@requires_torch
def test_hook_order_and_replacement_match_torch():
    g, t = (_hook_program(lib) for lib in _libs())
    assert g == t


@requires_torch
def test_node_hooks_can_replace_gradients_like_torch():
    results = []
    for lib in _libs():
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        y = x.exp()
        y.grad_fn.register_prehook(lambda go: (go[0] * 3,))
        y.grad_fn.register_hook(lambda gi, go: (gi[0] + 1,))
        y.sum().backward()
        results.append(x.grad.tolist())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)


def test_hook_handle_removes_and_works_as_context_manager():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = x.register_hook(lambda g: calls.append(1))
    (x * 2).sum().backward()
    h.remove()
    (x * 2).sum().backward()
    assert calls == [1]
    y = x * 3
    with y.register_hook(lambda g: g * 0):
        pass
    y.sum().backward()
    assert x.grad.tolist() == [7.0, 7.0]  # 2 + 2 + 3: the removed hook did not zero the last gradient


def test_hook_that_removes_itself_while_running():
    x = gradcore.tensor([1.0], requires_grad=True)
    calls = []
    handles = []

    def once(g):
        calls.append(1)
        handles[0].remove()

    handles.append(x.register_hook(once))
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert calls == [1]


def test_hook_errors():
    x = gradcore.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        gradcore.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf tensors"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)
    y = x * 2
    y.register_hook(lambda g: gradcore.ones(3))
    with pytest.raises(RuntimeError, match="hook 'hook' has changed the size of value"):
        y.sum().backward()


def test_exception_in_hook_reaches_python_unchanged():
    x = gradcore.tensor([1.0], requires_grad=True)
    y = x * 2

    class Boom(Exception):
        pass

    def hook(g):
        raise Boom("from the hook")

    y.register_hook(hook)
    with pytest.raises(Boom, match="from the hook"):
        y.sum().backward()
    # The engine is still usable afterwards.
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0]


def test_autograd_grad_runs_only_the_needed_part_of_the_graph():
    a = gradcore.tensor([1.0], requires_grad=True)
    b = gradcore.tensor([2.0], requires_grad=True)
    fired = []
    b.register_hook(lambda g: fired.append("b"))
    (g,) = gradcore.autograd.grad((a * 3 + b * 5).sum(), a)
    assert g.tolist() == [3.0] and fired == []
    assert a.grad is None and b.grad is None


# ---- backward(inputs=) and higher order ----------------------------------------------------------------

@requires_torch
def test_backward_inputs_matches_torch():
    out = []
    for lib in _libs():
        p = lib.tensor([1.0, 2.0], requires_grad=True)
        q = lib.tensor([3.0], requires_grad=True)
        h = p * q
        h.retain_grad()
        (h * h).sum().backward(inputs=[p, h])
        out.append((p.grad.tolist(), q.grad, h.grad.tolist()))
    assert out[0] == out[1]


def test_backward_create_graph_warns_about_the_parameter_cycle():
    x = gradcore.tensor([1.0], requires_grad=True)
    with pytest.warns(UserWarning, match="reference cycle between the parameter and its gradient"):
        (x * x).sum().backward(create_graph=True)
    x.grad = None  # break the cycle, as the warning says


def test_higher_order_derivatives():
    x = gradcore.tensor([0.5, -1.0, 2.0], dtype=gradcore.float64, requires_grad=True)
    (d1,) = gradcore.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (d2,) = gradcore.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = gradcore.autograd.grad(d2.sum(), x)
    H.assert_close(d2, 6 * x.detach())
    assert d3.tolist() == [6.0, 6.0, 6.0]


@requires_torch
def test_hessian_vector_product_and_gradient_penalty_match_torch():
    results = []
    for lib in _libs():
        w = lib.tensor([[0.3, -0.2], [0.1, 0.4]], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3]], dtype=lib.float64)
        v = lib.tensor([[1.0, 0.0], [0.5, -1.0]], dtype=lib.float64)
        loss = (x @ w).tanh().pow(2).sum()
        (g,) = lib.autograd.grad(loss, w, create_graph=True)
        (hvp,) = lib.autograd.grad((g * v).sum(), w, retain_graph=True)
        penalty = (g ** 2).sum()
        penalty.backward()
        results.append((hvp.detach().numpy().copy(), w.grad.detach().numpy().copy()))
    for a, b in zip(results[0], results[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10)


# ---- custom Functions ---------------------------------------------------------------------------------

def _exp_function(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, i, scale):
            r = i.exp() * scale
            ctx.save_for_backward(r)
            ctx.scale = scale
            return r

        @staticmethod
        def backward(ctx, g):
            (r,) = ctx.saved_tensors
            return g * r, None

    return MyExp


@requires_torch
def test_custom_function_values_gradients_and_name_match_torch():
    out = []
    for lib in _libs():
        MyExp = _exp_function(lib)
        a = lib.tensor([0.5, 1.0, -2.0], dtype=lib.float64, requires_grad=True)
        y = MyExp.apply(a, 2.0)
        (g,) = lib.autograd.grad(y.sum(), a, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), a)
        out.append((y.tolist(), g.tolist(), gg.tolist(), _node_name(lib, y.grad_fn)))
        if lib is gradcore:
            assert repr(y.grad_fn).startswith("<MyExpBackward object at 0x")
    for a, b in zip(out[0][:3], out[1][:3]):
        np.testing.assert_allclose(a, b, rtol=1e-14)  # exp is vectorised: within an ulp of torch's
    assert out[0][3] == out[1][3]


def test_custom_function_double_backward_matches_finite_differences():
    MyExp = _exp_function(gradcore)
    x = gradcore.tensor([0.3, -0.4], dtype=gradcore.float64, requires_grad=True)
    H.gradcheck(lambda t: MyExp.apply(t, 1.5), [x])


@requires_torch
def test_setup_context_style_non_differentiable_and_materialize_match_torch():
    out = []
    for lib in _libs():
        seen = []

        class SqAndMask(lib.autograd.Function):
            @staticmethod
            def forward(i):
                return i * i, i > 1

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])
                ctx.mark_non_differentiable(output[1])
                ctx.set_materialize_grads(False)

            @staticmethod
            def backward(ctx, g, g_mask):
                seen.append(g_mask)
                (i,) = ctx.saved_tensors
                return 2 * i * g

        b = lib.tensor([0.5, 3.0], requires_grad=True)
        s, m = SqAndMask.apply(b)
        s.sum().backward()
        out.append((m.requires_grad, s.requires_grad, b.grad.tolist(), seen))
    assert out[0] == out[1]


@requires_torch
def test_mark_dirty_and_needs_input_grad_match_torch():
    out = []
    for lib in _libs():
        flags = []

        class Triple(lib.autograd.Function):
            @staticmethod
            def forward(ctx, i, other):
                flags.append(ctx.needs_input_grad)
                i.mul_(3)
                ctx.mark_dirty(i)
                return i

            @staticmethod
            def backward(ctx, g):
                return g * 3, None

        c = lib.tensor([1.0, 2.0], requires_grad=True)
        d = c * 1
        e = Triple.apply(d, lib.ones(2))
        e.sum().backward()
        out.append((e is d, _node_name(lib, d.grad_fn), c.grad.tolist(), flags, d._version))
    assert out[0] == out[1]


def test_custom_function_saved_tensors_follow_version_and_release_rules():
    MyExp = _exp_function(gradcore)
    a = gradcore.tensor([1.0], requires_grad=True)
    y = MyExp.apply(a, 1.0)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()

    class SaveInput(gradcore.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            ctx.save_for_backward(i)
            return i * 2

        @staticmethod
        def backward(ctx, g):
            (i,) = ctx.saved_tensors
            return g * 2

    b = gradcore.tensor([1.0], requires_grad=True)
    h = b * 1
    out = SaveInput.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def test_custom_function_errors():
    class WrongCount(gradcore.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, g):
            return (g,)

    x = gradcore.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"function WrongCountBackward returned an incorrect number of gradients "
                                           r"\(expected 2, got 1\)"):
        WrongCount.apply(x, x).sum().backward()

    class GradForNumber(gradcore.autograd.Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned a gradient different than None at position 2"):
        GradForNumber.apply(x, 2.0).sum().backward()


def test_once_differentiable_refuses_double_backward():
    class Cube(gradcore.autograd.Function):
        @staticmethod
        def forward(ctx, i):
            ctx.save_for_backward(i)
            return i ** 3

        @staticmethod
        @gradcore.autograd.once_differentiable
        def backward(ctx, g):
            (i,) = ctx.saved_tensors
            return 3 * i * i * g

    x = gradcore.tensor([2.0], requires_grad=True)
    seed = gradcore.ones(1, requires_grad=True)  # the backward's input requires grad: its result would too
    (g,) = gradcore.autograd.grad(Cube.apply(x), x, grad_outputs=seed, create_graph=True)
    assert g.tolist() == [12.0] and g.grad_fn.name() == "Error"
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked with "
                                           "@once_differentiable"):
        g.sum().backward()


def test_graph_with_hooks_and_custom_function_is_freed():
    MyExp = _exp_function(gradcore)
    gc.disable()  # freeing must not depend on the cycle collector: there must be no cycle
    try:
        x = gradcore.tensor([1.0, 2.0], requires_grad=True)
        y = MyExp.apply(x * 2, 1.0)
        captured = []

        class Hook:
            def __call__(self, g):
                captured.append(g.sum().item())

        hook = Hook()
        y.register_hook(hook)
        y.grad_fn.register_hook(lambda gi, go: None)
        out = y.sum()
        refs = [weakref.ref(hook), weakref.ref(y), weakref.ref(out)]
        del hook
        out.backward()
        del y, out
        assert all(r() is None for r in refs), "the graph (hook, Function output) outlived backward"
        assert captured and x.grad is not None
    finally:
        gc.enable()


def test_ctx_does_not_keep_the_graph_alive():
    MyExp = _exp_function(gradcore)
    gc.disable()
    try:
        ctxs = []

        class Keep(gradcore.autograd.Function):
            @staticmethod
            def forward(ctx, i):
                ctxs.append(weakref.ref(ctx))
                ctx.save_for_backward(i)
                return i * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        x = gradcore.tensor([1.0], requires_grad=True)
        y = Keep.apply(MyExp.apply(x, 1.0))
        del y
        assert ctxs[0]() is None
    finally:
        gc.enable()


# ---- anomaly mode ----------------------------------------------------------------------------------------

def test_anomaly_mode_names_the_node_and_where_it_was_created():
    x = gradcore.tensor([0.0, 1.0], requires_grad=True)
    with gradcore.autograd.detect_anomaly():
        with pytest.warns(RuntimeWarning, match="DivBackward0 is the first recorded op whose forward output holds nan"):
            z = x.sqrt() / x  # 0 / 0: the first NaN of the forward pass
        with pytest.raises(RuntimeError) as info:
            z.sum().backward()
    msg = str(info.value)
    assert "Function 'DivBackward0' returned nan values in its 1th output." in msg
    assert "Traceback of forward call that caused the error" in msg and "test_autograd_features.py" in msg
    assert not gradcore.autograd.is_anomaly_enabled()


def test_without_anomaly_mode_nan_gradients_pass_silently():
    x = gradcore.tensor([0.0, 1.0], requires_grad=True)
    (x.sqrt() / x).sum().backward()
    assert np.isnan(x.grad.numpy()[0])


def test_set_detect_anomaly_function_and_context():
    gradcore.autograd.set_detect_anomaly(True)
    assert gradcore.autograd.is_anomaly_enabled()
    gradcore.autograd.set_detect_anomaly(False)
    assert not gradcore.autograd.is_anomaly_enabled()
    with gradcore.autograd.set_detect_anomaly(True):
        assert gradcore.autograd.is_anomaly_enabled()
    assert not gradcore.autograd.is_anomaly_enabled()


# ---- inference mode ----------------------------------------------------------------------------------------

@requires_torch
def test_inference_mode_rules_match_torch():
    out = []
    for lib in _libs():
        row = []
        with lib.inference_mode():
            t = lib.ones(2) * 2
            row.append((lib.is_grad_enabled(), lib.is_inference_mode_enabled(), t.is_inference(), t.requires_grad))
        w = lib.ones(2, requires_grad=True)
        for action in (lambda: w * t, lambda: t.add_(1), lambda: t.requires_grad_()):
            try:
                action()
                row.append("ok")
            except RuntimeError as e:
                row.append(str(e).split("] ")[-1].split(".")[0])  # gradcore prefixes "[op] "
        row.append((w + t.clone()).requires_grad)

        @lib.inference_mode()
        def f():
            return lib.is_grad_enabled()

        row.append(f())
        out.append(row)
    assert out[0] == out[1]


# ---- threads ---------------------------------------------------------------------------------------------

def _run_in_threads(fn, n=2):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_backward_on_independent_graphs_give_serial_results():
    rng = np.random.default_rng(0)
    data = [rng.standard_normal((64, 64)) for _ in range(2)]

    def work(i):
        x = gradcore.tensor(data[i], requires_grad=True)
        for _ in range(20):
            x.grad = None
            ((x @ x).tanh().sum() * (i + 1)).backward()
        results[i] = x.grad.numpy().copy()

    results = [None, None]
    _run_in_threads(work)
    for i in range(2):
        x = gradcore.tensor(data[i], requires_grad=True)
        ((x @ x).tanh().sum() * (i + 1)).backward()
        np.testing.assert_array_equal(results[i], x.grad.numpy())


def test_threads_backward_on_graphs_sharing_a_leaf_accumulate_every_gradient():
    w = gradcore.zeros(1000, dtype=gradcore.float64, requires_grad=True)
    hook_calls = []
    w.register_hook(lambda g: hook_calls.append(1))

    def work(i):
        for _ in range(50):
            (w * (i + 1)).sum().backward()

    _run_in_threads(work)
    assert w.grad.tolist() == [50.0 * (1 + 2)] * 1000
    assert len(hook_calls) == 100


def test_threads_with_warnings_as_errors_in_a_hook():
    # A hook raising in one thread does not disturb the other.
    def work(i):
        x = gradcore.tensor([1.0], requires_grad=True)
        y = x * 2
        if i == 0:
            y.register_hook(lambda g: (_ for _ in ()).throw(ValueError("thread 0")))
            with pytest.raises(ValueError):
                y.sum().backward()
        else:
            with warnings.catch_warnings():
                y.sum().backward()
            assert x.grad.tolist() == [2.0]

    _run_in_threads(work)


def test_autograd_grad_with_create_graph_leaves_no_cycle():
    gc.disable()
    try:
        w = gradcore.tensor([0.5, -1.0], requires_grad=True)
        (g,) = gradcore.autograd.grad((w ** 3).sum(), w, create_graph=True)
        penalty = (g ** 2).sum()
        ref = weakref.ref(g)
        node = weakref.ref(penalty)
        penalty.backward()
        del g, penalty
        assert ref() is None and node() is None, "the graph of the gradient outlived its use"
        assert w.grad is not None and w.grad.grad_fn is None
    finally:
        gc.enable()

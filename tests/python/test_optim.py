"""gradcore.optim against torch.optim: same initial weights -> same losses and weights after N steps for every
optimizer and option combination; param groups, state_dicts, zero_grad, schedulers' lr sequences."""
import itertools
import math
import warnings

import numpy as np
import pytest

import gradcore
import gradcore.nn as gnn
import gradcore.optim as goptim

pytestmark = pytest.mark.requires_torch

STEPS = 12


def _data(rng, dtype):
    x = rng.standard_normal((16, 5)).astype(dtype)
    y = rng.integers(0, 3, 16)
    w1 = (rng.standard_normal((8, 5)) * 0.4).astype(dtype)
    b1 = (rng.standard_normal(8) * 0.1).astype(dtype)
    w2 = (rng.standard_normal((3, 8)) * 0.4).astype(dtype)
    b2 = (rng.standard_normal(3) * 0.1).astype(dtype)
    return x, y, [w1, b1, w2, b2]


def _run(lib, opt_cls, kwargs, x, y, weights, steps=STEPS, groups=None, closure=False):
    """Trains a 2-layer MLP for `steps` steps; returns the losses and final weights as numpy."""
    F = lib.nn.functional
    params = [lib.nn.Parameter(lib.tensor(w.copy())) for w in weights]
    xt, yt = lib.tensor(x), lib.tensor(y)
    if groups is None:
        opt = opt_cls(params, **kwargs)
    else:
        opt = opt_cls([{"params": params[:2], **groups[0]}, {"params": params[2:], **groups[1]}], **kwargs)

    def loss_fn():
        h = F.relu(F.linear(xt, params[0], params[1]))
        return F.cross_entropy(F.linear(h, params[2], params[3]), yt)

    losses = []
    for _ in range(steps):
        opt.zero_grad()
        if closure:
            def c():
                opt.zero_grad()
                loss = loss_fn()
                loss.backward()
                return loss
            loss = opt.step(c)
        else:
            loss = loss_fn()
            loss.backward()
            opt.step()
        losses.append(loss.item())
    return np.array(losses), [p.detach().numpy().copy() for p in params], opt


def _compare(opt_name, kwargs, rng, dtype=np.float32, **run_kw):
    import torch

    x, y, weights = _data(rng, dtype)
    lg, wg, og = _run(gradcore, getattr(goptim, opt_name), kwargs, x, y, weights, **run_kw)
    lt, wt, ot = _run(torch, getattr(torch.optim, opt_name), kwargs, x, y, weights, **run_kw)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(lg, lt, **tol)
    for a, b in zip(wg, wt):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)
    return og, ot


def _combos(**options):
    keys = list(options)
    for values in itertools.product(*options.values()):
        yield dict(zip(keys, values))


SGD_CASES = [c for c in _combos(lr=[0.1], momentum=[0, 0.9], dampening=[0, 0.3], nesterov=[False, True],
                                 weight_decay=[0, 0.05], maximize=[False, True])
             if not (c["nesterov"] and (c["momentum"] == 0 or c["dampening"] != 0))]
ADAM_CASES = list(_combos(lr=[0.01], betas=[(0.9, 0.999), (0.8, 0.99)], weight_decay=[0, 0.1], amsgrad=[False, True],
                          maximize=[False, True]))
RMSPROP_CASES = list(_combos(lr=[0.01], alpha=[0.99, 0.9], weight_decay=[0, 0.1], momentum=[0, 0.5],
                             centered=[False, True], maximize=[False, True]))


@pytest.mark.parametrize("kwargs", SGD_CASES, ids=str)
def test_sgd_matches_torch(kwargs, rng):
    if kwargs["maximize"]:
        kwargs = dict(kwargs, lr=0.01)  # ascent diverges quickly otherwise
    _compare("SGD", kwargs, rng)


@pytest.mark.parametrize("kwargs", ADAM_CASES, ids=str)
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_adam_matches_torch(name, kwargs, rng):
    _compare(name, kwargs, rng)


@pytest.mark.parametrize("kwargs", RMSPROP_CASES, ids=str)
def test_rmsprop_matches_torch(kwargs, rng):
    _compare("RMSprop", kwargs, rng)


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
                                         ("Adam", {"lr": 0.01, "amsgrad": True}),
                                         ("AdamW", {"lr": 0.01, "weight_decay": 0.1}),
                                         ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True})])
def test_float64_and_defaults(name, kwargs, rng):
    _compare(name, kwargs, rng, dtype=np.float64)
    _compare(name, {"lr": kwargs["lr"]}, rng)  # every other option at its default


def test_param_groups_and_closure(rng):
    og, ot = _compare("SGD", {"lr": 0.1, "momentum": 0.9}, rng,
                      groups=[{"lr": 0.05, "weight_decay": 0.1}, {"nesterov": True}], closure=True)
    assert repr(og) == repr(ot)
    og, ot = _compare("Adam", {"lr": 0.01}, rng, groups=[{"betas": (0.5, 0.9)}, {"lr": 0.001, "amsgrad": True}])
    assert repr(og) == repr(ot)


def _sd_equal(sg, st):
    """gradcore and torch optimizer state_dicts: same layout, same values."""
    assert sg["param_groups"] == st["param_groups"]
    assert list(sg["state"]) == list(st["state"])
    for k in sg["state"]:
        a, b = sg["state"][k], st["state"][k]
        assert list(a) == list(b)
        for name in a:
            assert str(a[name].dtype).split(".")[-1] == str(b[name].dtype).split(".")[-1]
            np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}), ("SGD", {"lr": 0.1}),
                                         ("Adam", {"lr": 0.01, "amsgrad": True}), ("AdamW", {}),
                                         ("RMSprop", {"momentum": 0.5, "centered": True})])
def test_state_dict_layout_and_resume(name, kwargs, rng):
    import torch

    x, y, weights = _data(rng, np.float32)
    _, wg, og = _run(gradcore, getattr(goptim, name), kwargs, x, y, weights, steps=3)
    _, wt, ot = _run(torch, getattr(torch.optim, name), kwargs, x, y, weights, steps=3)
    _sd_equal(og.state_dict(), ot.state_dict())

    # Resuming from the state dict (through save/load) continues exactly like the uninterrupted run.
    import io

    buf = io.BytesIO()
    gradcore.save(og.state_dict(), buf)
    buf.seek(0)
    sd = gradcore.load(buf)
    params = [gnn.Parameter(gradcore.tensor(w)) for w in wg]
    fresh = getattr(goptim, name)(params, **kwargs)
    fresh.load_state_dict(sd)
    _sd_equal(fresh.state_dict(), ot.state_dict())
    F = gradcore.nn.functional
    tparams = ot.param_groups[0]["params"]
    xt, yt = torch.tensor(x), torch.tensor(y)
    xg, yg = gradcore.tensor(x), gradcore.tensor(y)
    for _ in range(3):
        for opt, ps, lib, xx, yy in ((fresh, params, gradcore, xg, yg), (ot, tparams, torch, xt, yt)):
            opt.zero_grad()
            h = lib.nn.functional.relu(lib.nn.functional.linear(xx, ps[0], ps[1]))
            lib.nn.functional.cross_entropy(lib.nn.functional.linear(h, ps[2], ps[3]), yy).backward()
            opt.step()
    for p, q in zip(params, tparams):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=2e-5, atol=2e-6)
    assert F is not None


def test_load_state_dict_errors():
    p = gnn.Parameter(gradcore.ones(2))
    opt = goptim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})


def test_zero_grad_and_group_errors():
    p = gnn.Parameter(gradcore.ones(2))
    q = gnn.Parameter(gradcore.ones(3))
    opt = goptim.SGD([p], lr=0.1)
    (p * 2).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    opt.add_param_group({"params": q, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})
    with pytest.raises(ValueError, match="empty parameter list"):
        goptim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        goptim.Adam(p)
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        goptim.SGD([p * 2])
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        goptim.SGD([p], nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        goptim.Adam([p], betas=(1.0, 0.9))
    # A step skips parameters without a gradient and bumps the version of those it updates.
    v = p._version
    (p * 3).sum().backward()
    opt.step()
    assert p._version > v and q.grad is None


def test_step_is_not_recorded():
    p = gnn.Parameter(gradcore.ones(2))
    opt = goptim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.grad_fn is None and p.is_leaf and p.requires_grad


def test_momentum_step_on_noncontiguous_param():
    import torch

    base = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    pg = gradcore.tensor(base.T.copy()).t().requires_grad_()  # a transposed (non-contiguous) leaf
    pt = torch.tensor(base.T.copy()).t().requires_grad_()
    for p, opt_cls in ((pg, goptim.SGD), (pt, torch.optim.SGD)):
        opt = opt_cls([p], lr=0.1, momentum=0.9, weight_decay=0.01)
        for _ in range(3):
            opt.zero_grad()
            (p * p).sum().backward()
            opt.step()
    np.testing.assert_allclose(pg.detach().numpy(), pt.detach().numpy(), rtol=1e-5)
    assert not pg.is_contiguous()


# ---- schedulers -----------------------------------------------------------------------------------------


def _lr_sequence(lib, sched_name, kwargs, n=25, step_epoch=False):
    p = lib.nn.Parameter(lib.ones(1))
    opt = lib.optim.SGD([{"params": [p]}, {"params": [], "lr": 0.3}] if False else [p], lr=0.5)
    sched = getattr(lib.optim.lr_scheduler, sched_name)(opt, **kwargs)
    out = [sched.get_last_lr()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            opt.step()
            if step_epoch:
                sched.step(i + 1)
            else:
                sched.step()
            out.append(sched.get_last_lr() + [opt.param_groups[0]["lr"]])
    return out, sched


@pytest.mark.parametrize("name,kwargs", [("StepLR", {"step_size": 3}), ("StepLR", {"step_size": 1, "gamma": 0.5}),
                                         ("CosineAnnealingLR", {"T_max": 10}),
                                         ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01})])
@pytest.mark.parametrize("step_epoch", [False, True])
def test_schedulers_match_torch(name, kwargs, step_epoch):
    import torch

    sg, schg = _lr_sequence(gradcore, name, kwargs, step_epoch=step_epoch)
    st, scht = _lr_sequence(torch, name, kwargs, step_epoch=step_epoch)
    assert sg == st  # exact: the same float formulas
    assert schg.state_dict() == scht.state_dict()


def test_scheduler_resume_and_warning():
    import torch

    for lib in (gradcore, torch):
        p = lib.nn.Parameter(lib.ones(1))
        opt = lib.optim.SGD([p], lr=1.0)
        with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
            lib.optim.lr_scheduler.StepLR(opt, 2).step()
    p = gnn.Parameter(gradcore.ones(1))
    opt = goptim.SGD([p], lr=1.0)
    s = goptim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    for _ in range(3):
        opt.step()
        s.step()
    s2 = goptim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, last_epoch=2)
    s2.load_state_dict(s.state_dict())
    opt.step()
    s.step()
    lr = s.get_last_lr()[0]
    assert math.isclose(lr, 0.5 * (1 + math.cos(math.pi * 4 / 5)), rel_tol=1e-12)

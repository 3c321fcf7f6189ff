"""gradcore.nn against torch.nn: Parameter, Module registration and traversal, repr strings, state_dict round
trips and strict-loading errors, layers' outputs and gradients from the same weights, init distributions."""
import math
import re
import warnings

import numpy as np
import pytest

import gradcore
import gradcore.nn as gnn
import helpers as H

pytestmark = pytest.mark.requires_torch


def _both(fn):
    import torch

    return fn(gradcore), fn(torch)


def _repr(lib_obj):
    return re.sub(r"\btorch\.", "gradcore.", repr(lib_obj))


# ---- Parameter ------------------------------------------------------------------------------------------


def test_parameter_is_a_tensor():
    import torch

    data = gradcore.arange(6.0).reshape(2, 3)
    p = gnn.Parameter(data)
    assert isinstance(p, gradcore.Tensor) and isinstance(p, gnn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not data.requires_grad
    assert p.data_ptr() == data.data_ptr()  # shares the storage, like torch
    assert repr(p) == _repr(torch.nn.Parameter(torch.arange(6.0).reshape(2, 3)))
    assert repr(gnn.Parameter(gradcore.ones(2), requires_grad=False)) == _repr(
        torch.nn.Parameter(torch.ones(2), requires_grad=False))
    assert repr(gnn.Parameter(gradcore.ones(2, dtype=gradcore.float64))) == _repr(
        torch.nn.Parameter(torch.ones(2, dtype=torch.float64)))
    out = (p * 2).sum()
    assert type(out) is gradcore.Tensor and out.grad_fn is not None
    out.backward()
    assert p.grad.tolist() == [[2.0] * 3] * 2
    assert p.requires_grad_(False) is p and isinstance(p.detach(), gradcore.Tensor)
    assert type(p.detach()) is gradcore.Tensor
    assert np.asarray(p.detach()).shape == (2, 3)
    assert repr(gnn.Parameter()) == _repr(torch.nn.Parameter())
    with pytest.raises(TypeError):
        gnn.Parameter([1.0, 2.0])
    assert p.requires_grad is False
    p.requires_grad_()
    with gradcore.no_grad():
        p.add_(1)
    assert p[0, 0].item() == 1.0


# ---- Module registration and traversal --------------------------------------------------------------------


def _net(lib):
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)
            self.act = nn.GELU()
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("scratch", lib.ones(2), persistent=False)
            self.scale = nn.Parameter(lib.ones(()))
            self.plain = 7

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale + self.running

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.block = Block()
            self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(2)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Identity()})
            self.seq = nn.Sequential(nn.ReLU(), nn.Dropout(0.2), nn.LayerNorm(2), nn.Softmax(dim=-1))
            self.shared = self.layers[0]  # the same module twice

        def forward(self, x):
            x = self.block(x)
            for layer in self.layers:
                x = layer(x)
            return self.seq(self.heads["a"](x))

    return Net()


def test_registration_and_traversal_match_torch():
    g, t = _both(_net)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in g.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in t.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in g.block.named_parameters(prefix="x", recurse=False)] == \
        [n for n, _ in t.block.named_parameters(prefix="x", recurse=False)]
    assert len(list(g.parameters())) == len(list(t.parameters()))
    assert len(list(g.modules())) == len(list(t.modules()))
    assert len(list(g.children())) == len(list(t.children()))
    assert list(g.state_dict()) == list(t.state_dict())
    assert all(isinstance(p, gnn.Parameter) for p in g.parameters())
    assert g.block.plain == 7 and "plain" not in g.block._parameters
    assert g.get_submodule("block.fc") is g.block.fc
    # Reassignment moves a name between tables; None keeps a registered slot.
    for m, lib in ((g, gradcore), (t, __import__("torch"))):
        m.block.extra = lib.nn.Parameter(lib.ones(1))
        m.block.fc.bias = None
        del m.block.act
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert repr(g) == _repr(t)


def test_repr_matches_torch():
    g, t = _both(_net)
    assert repr(g) == _repr(t)

    def layers(lib):
        nn = lib.nn
        return nn.Sequential(
            nn.Linear(3, 4, bias=False), nn.ReLU(inplace=True), nn.SiLU(), nn.GELU(approximate="tanh"), nn.Tanh(),
            nn.Sigmoid(), nn.LogSoftmax(dim=1), nn.Softmax(), nn.Dropout(), nn.Identity(), nn.Flatten(),
            nn.LayerNorm((2, 3), eps=1e-6, elementwise_affine=False), nn.Embedding(10, 3, padding_idx=0),
            nn.Embedding(5, 2), nn.MSELoss(), nn.L1Loss(reduction="sum"), nn.CrossEntropyLoss(), nn.NLLLoss(),
            nn.BCELoss(), nn.BCEWithLogitsLoss(), nn.ModuleList(), nn.ModuleDict(),
            nn.ModuleList([nn.ReLU(), nn.ReLU(), nn.Tanh(), nn.ReLU()]))

    g, t = _both(layers)
    assert repr(g) == _repr(t)
    assert repr(g[1:3]) == _repr(t[1:3])

    class WithExtra(gnn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    class WithExtraT(__import__("torch").nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(WithExtra()) == repr(WithExtraT()).replace("WithExtraT", "WithExtra")


def test_train_eval_zero_grad_requires_grad_apply_to():
    g = _net(gradcore)
    assert g.training and g.seq[1].training
    assert g.eval() is g and not g.training and not g.seq[1].training
    g.train()
    assert g.block.fc.training
    x = gradcore.randn(5, 4)
    g(x).sum().backward()
    assert all(p.grad is not None for p in g.heads["a"].parameters())
    g.zero_grad(set_to_none=False)
    assert all(p.grad.abs().sum().item() == 0 for p in g.heads["a"].parameters())
    g.zero_grad()
    assert all(p.grad is None for p in g.parameters())
    g.requires_grad_(False)
    assert not any(p.requires_grad for p in g.parameters())
    g.requires_grad_()
    seen = []
    assert g.apply(lambda m: seen.append(type(m).__name__)) is g
    assert seen[-1] == "Net" and seen[0] == "Linear"
    before = list(g.parameters())
    assert g.double() is g
    after = list(g.parameters())
    assert all(a is b for a, b in zip(before, after))  # the same Parameter objects, converted in place
    assert all(p.dtype == gradcore.float64 for p in g.parameters())
    assert g.block.running.dtype == gradcore.float64
    assert g(x.double()).dtype == gradcore.float64
    g.to(gradcore.float32)
    assert all(p.dtype == gradcore.float32 for p in g.parameters())
    g.float()
    with pytest.raises(TypeError, match="floating point"):
        g.to(gradcore.int64)


def test_registration_errors_match_torch():
    import torch

    for lib in (gradcore, torch):
        m = lib.nn.Linear(2, 2)
        with pytest.raises(TypeError, match="cannot assign '.*' as parameter 'weight'"):
            m.weight = lib.ones(2, 2)
        with pytest.raises(KeyError, match="attribute 'weight' already exists"):
            m.register_buffer("weight", lib.ones(1))
        with pytest.raises(KeyError, match="contain"):
            m.register_parameter("a.b", None)
        with pytest.raises(TypeError, match="is not a Module subclass"):
            m.add_module("x", 3)
        with pytest.raises(AttributeError, match="'Linear' object has no attribute 'nope'"):
            m.nope


# ---- state dicts --------------------------------------------------------------------------------------------


def test_state_dict_round_trip_and_strict_errors():
    import torch

    g = _net(gradcore)
    sd = g.state_dict()
    assert all(type(v) is gradcore.Tensor for v in sd.values())  # detached plain tensors
    assert not any(v.requires_grad for v in sd.values())
    assert all(v.data_ptr() == p.data_ptr() for v, p in zip(sd.values(), g.state_dict(keep_vars=True).values()))
    assert "block.scratch" not in sd
    g2 = _net(gradcore)
    res = g2.load_state_dict(sd)
    assert repr(res) == "<All keys matched successfully>"
    assert res.missing_keys == [] and res.unexpected_keys == []
    for (n, a), b in zip(g2.state_dict().items(), sd.values()):
        assert a.tolist() == b.tolist(), n
        assert a.data_ptr() != b.data_ptr()  # copied in place, not aliased

    t = _net(torch)
    tsd = t.state_dict()
    # torch weights load into gradcore (via numpy) and give the same outputs.
    g.load_state_dict({k: gradcore.tensor(v.numpy()) for k, v in tsd.items()})
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    g.eval(), t.eval()
    H.assert_close(g(gradcore.tensor(x)), t(torch.tensor(x)), rtol=1e-5, atol=1e-6)

    bad = dict(sd)
    del bad["block.fc.weight"]
    bad["block.fc.extra"] = gradcore.ones(1)
    bad["nothere.x"] = gradcore.ones(1)
    tbad = dict(tsd)
    del tbad["block.fc.weight"]
    tbad["block.fc.extra"] = torch.ones(1)
    tbad["nothere.x"] = torch.ones(1)
    with pytest.raises(RuntimeError) as eg:
        g.load_state_dict(bad)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(tbad)
    assert str(eg.value) == str(et.value)
    assert "Error(s) in loading state_dict for Net:" in str(eg.value)
    assert 'Missing key(s) in state_dict: "block.fc.weight". ' in str(eg.value)
    assert 'Unexpected key(s) in state_dict: "nothere.x", "block.fc.extra". ' in str(eg.value)
    rg, rt = g.load_state_dict(bad, strict=False), t.load_state_dict(tbad, strict=False)
    assert rg == rt and repr(rg) == repr(rt)
    # Shape mismatch is reported even when not strict.
    shape = dict(sd)
    shape["heads.a.bias"] = gradcore.ones(5)
    tshape = dict(tsd)
    tshape["heads.a.bias"] = torch.ones(5)
    with pytest.raises(RuntimeError) as eg:
        g.load_state_dict(shape, strict=False)
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(tshape, strict=False)
    assert str(eg.value) == str(et.value).replace("torch.Size", "gradcore.Size")
    lin = gnn.Linear(2, 3)
    with pytest.raises(RuntimeError, match=r"Error\(s\) in loading state_dict for Linear:\n\tMissing key\(s\) in "
                                           r"state_dict: \"bias\". "):
        lin.load_state_dict({"weight": gradcore.ones(3, 2)})
    assign = gnn.Linear(2, 3)
    w = gradcore.ones(3, 2)
    assign.load_state_dict({"weight": w, "bias": gradcore.zeros(3)}, assign=True)
    assert isinstance(assign.weight, gnn.Parameter) and assign.weight.data_ptr() == w.data_ptr()


# ---- layers: outputs and gradients from the same weights ----------------------------------------------------


def _copy_weights(gm, tm):
    import torch

    with torch.no_grad():
        for (n, tp), (_, gp) in zip(tm.named_parameters(), gm.named_parameters()):
            gp.data = gradcore.tensor(tp.detach().numpy())
    return gm


@pytest.mark.parametrize("make,shape", [
    (lambda nn: nn.Linear(5, 3), (4, 5)),
    (lambda nn: nn.Linear(5, 3, bias=False), (2, 4, 5)),
    (lambda nn: nn.LayerNorm(5), (4, 5)),
    (lambda nn: nn.LayerNorm((3, 5), eps=1e-3), (2, 3, 5)),
    (lambda nn: nn.LayerNorm(5, bias=False), (4, 5)),
    (lambda nn: nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 8), nn.SiLU(), nn.LayerNorm(8), nn.Tanh(),
                              nn.Linear(8, 3), nn.Sigmoid()), (6, 5)),
    (lambda nn: nn.Sequential(nn.Flatten(), nn.Linear(10, 4), nn.ReLU(), nn.LogSoftmax(dim=1)), (3, 2, 5)),
    (lambda nn: nn.Sequential(nn.Linear(5, 4), nn.Softmax(dim=-1), nn.Dropout(0.0), nn.Identity()), (3, 5)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_layers_forward_backward_match_torch(make, shape, dtype):
    import torch

    tm = make(torch.nn)
    gm = _copy_weights(make(gnn), tm)
    if dtype == "float64":
        tm.double(), gm.double()
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    xg = gradcore.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    og, ot = gm(xg), tm(xt)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-10, atol=1e-12)
    H.assert_close(og, ot, **tol)
    w = np.random.default_rng(2).standard_normal(tuple(ot.shape)).astype(dtype)
    (og * gradcore.tensor(w)).sum().backward()
    (ot * torch.tensor(w)).sum().backward()
    H.assert_close(xg.grad, xt.grad, **tol)
    for (n, pg), (_, pt) in zip(gm.named_parameters(), tm.named_parameters()):
        H.assert_close(pg.grad, pt.grad, **tol)


def test_layer_norm_gradcheck():
    x = gradcore.randn(3, 4, dtype=gradcore.float64, requires_grad=True)
    w = gradcore.randn(4, dtype=gradcore.float64, requires_grad=True)
    b = gradcore.randn(4, dtype=gradcore.float64, requires_grad=True)
    H.gradcheck(lambda x, w, b: gnn.functional.layer_norm(x, (4,), w, b), (x, w, b))


def test_embedding_matches_torch():
    import torch

    tm = torch.nn.Embedding(7, 3, padding_idx=2)
    gm = _copy_weights(gnn.Embedding(7, 3, padding_idx=2), tm)
    assert gm.weight[2].tolist() == [0.0, 0.0, 0.0]
    idx = np.array([[1, 2, 6], [2, 0, 1]])
    og, ot = gm(gradcore.tensor(idx)), tm(torch.tensor(idx))
    H.assert_close(og, ot)
    (og * og).sum().backward()
    (ot * ot).sum().backward()
    H.assert_close(gm.weight.grad, tm.weight.grad)
    e = gnn.Embedding.from_pretrained(gradcore.ones(4, 2))
    assert not e.weight.requires_grad and e(gradcore.tensor([3])).tolist() == [[1.0, 1.0]]
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        gnn.Embedding(3, 2, padding_idx=3)


def test_dropout_train_eval():
    gradcore.manual_seed(0)
    d = gnn.Dropout(0.5)
    x = gradcore.ones(1000)
    y = d(x)
    kept = (y != 0).sum().item()
    assert 350 < kept < 650 and set(y.tolist()) <= {0.0, 2.0}
    assert d.eval()(x) is x


@pytest.mark.parametrize("name,args,kwargs", [
    ("MSELoss", ("float", "float"), {}), ("L1Loss", ("float", "float"), {"reduction": "sum"}),
    ("CrossEntropyLoss", ("logits", "classes"), {"label_smoothing": 0.1}),
    ("CrossEntropyLoss", ("logits", "classes"), {"weight": "classweight", "reduction": "none"}),
    ("NLLLoss", ("logp", "classes"), {"ignore_index": 1}),
    ("BCELoss", ("prob", "float01"), {}), ("BCEWithLogitsLoss", ("float", "float01"), {"pos_weight": "pos"}),
])
def test_losses_match_torch(name, args, kwargs):
    import torch

    rng = np.random.default_rng(3)
    arrays = {"float": rng.standard_normal((4, 3)).astype(np.float32), "logits": rng.standard_normal((4, 3)),
              "classes": rng.integers(0, 3, 4), "float01": rng.random((4, 3)).astype(np.float32),
              "prob": rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32), "classweight": np.array([0.2, 1.0, 3.0]),
              "pos": np.array([1.0, 2.0, 0.5], dtype=np.float32)}
    arrays["logits"] = arrays["logits"].astype(np.float32)
    arrays["logp"] = arrays["logits"] - np.log(np.exp(arrays["logits"]).sum(1, keepdims=True))
    arrays["classweight"] = arrays["classweight"].astype(np.float32)
    outs = []
    for lib in (gradcore, torch):
        inputs = [lib.tensor(arrays[a], requires_grad=(i == 0)) for i, a in enumerate(args)]
        kw = {k: (lib.tensor(arrays[v]) if isinstance(v, str) and v in arrays else v) for k, v in kwargs.items()}
        loss_mod = getattr(lib.nn, name)(**kw)
        out = loss_mod(*inputs)
        out.sum().backward()
        outs.append((out, inputs[0].grad, loss_mod))
    H.assert_close(outs[0][0], outs[1][0], rtol=1e-5, atol=1e-6)
    H.assert_close(outs[0][1], outs[1][1], rtol=1e-5, atol=1e-6)
    assert repr(outs[0][2]) == repr(outs[1][2])
    assert list(outs[0][2].state_dict()) == list(outs[1][2].state_dict())


# ---- init ---------------------------------------------------------------------------------------------------


def test_calculate_gain_and_fans_match_torch():
    import torch

    for nl, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
                      ("leaky_relu", 0.2), ("selu", None), ("conv2d", None)]:
        assert gnn.init.calculate_gain(nl, param) == torch.nn.init.calculate_gain(nl, param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        gnn.init.calculate_gain("nope")
    for shape in [(3, 4), (5, 2, 3, 3), (4, 1, 7)]:
        assert gnn.init._calculate_fan_in_and_fan_out(gradcore.empty(shape)) == \
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        gnn.init.xavier_uniform_(gradcore.empty(3))


def test_init_distributions():
    gradcore.manual_seed(0)
    n_out, n_in = 400, 250
    w = gradcore.empty(n_out, n_in)

    def stats(t):
        a = t.detach().numpy()
        return a.min(), a.max(), a.std(), a.mean()

    # kaiming_uniform_(a=sqrt(5)) -> U(-1/sqrt(fan_in), 1/sqrt(fan_in)): Linear's default.
    bound = 1 / math.sqrt(n_in)
    lo, hi, std, mean = stats(gnn.init.kaiming_uniform_(w, a=math.sqrt(5)))
    assert -bound <= lo < -0.98 * bound and 0.98 * bound < hi <= bound and abs(std - bound / math.sqrt(3)) < 0.01 * bound
    bound = math.sqrt(2.0) * math.sqrt(3.0 / n_out)
    lo, hi, _, _ = stats(gnn.init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu"))
    assert -bound <= lo < -0.98 * bound and 0.98 * bound < hi <= bound
    _, _, std, mean = stats(gnn.init.kaiming_normal_(w, nonlinearity="relu"))
    assert abs(std - math.sqrt(2.0 / n_in)) < 0.02 * math.sqrt(2.0 / n_in) and abs(mean) < 0.01
    a = math.sqrt(6.0 / (n_in + n_out)) * 2
    lo, hi, _, _ = stats(gnn.init.xavier_uniform_(w, gain=2))
    assert -a <= lo < -0.98 * a and 0.98 * a < hi <= a
    _, _, std, _ = stats(gnn.init.xavier_normal_(w))
    assert abs(std - math.sqrt(2.0 / (n_in + n_out))) < 0.02 * math.sqrt(2.0 / (n_in + n_out))
    lo, hi, _, _ = stats(gnn.init.uniform_(w, -2, 3))
    assert -2 <= lo < -1.9 and 2.9 < hi < 3
    _, _, std, mean = stats(gnn.init.normal_(w, 1.0, 0.5))
    assert abs(std - 0.5) < 0.01 and abs(mean - 1.0) < 0.01
    assert gnn.init.constant_(w, 0.25).detach().numpy().tolist()[0][:2] == [0.25, 0.25]
    assert gnn.init.zeros_(w).abs().sum().item() == 0 and gnn.init.ones_(w).sum().item() == n_in * n_out
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        gnn.init.kaiming_uniform_(gradcore.empty(0, 3))
    assert any("zero-element" in str(r.message) for r in rec)
    # Linear's defaults: weight and bias within 1/sqrt(in_features); init under no_grad keeps leaves.
    lin = gnn.Linear(n_in, 300)
    assert lin.weight.is_leaf and lin.weight.grad_fn is None
    for p in (lin.weight, lin.bias):
        lo, hi, _, _ = stats(p)
        assert -1 / math.sqrt(n_in) <= lo and hi <= 1 / math.sqrt(n_in) and hi > 0.9 / math.sqrt(n_in)
    assert gradcore.ones(3, dtype=gradcore.float64).uniform_(0, 1).dtype == gradcore.float64


# ---- a real training run --------------------------------------------------------------------------------


def test_train_digits_example_reaches_accuracy():
    pytest.importorskip("sklearn")
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[2] / "examples" / "train_digits.py"
    spec = importlib.util.spec_from_file_location("train_digits", path)
    td = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(td)
    data = td.load_data()
    gradcore.manual_seed(td.SEED)
    model = td.make_model(gradcore)
    _, losses = td.train(gradcore, model, data, 30, progress=False)
    assert losses[-1] < losses[0] / 100
    assert td.accuracy(gradcore, model, data[2], data[3]) >= 0.97

"""gradcore.save / gradcore.load: exact round trips, file objects and paths, and clear errors for bad files."""
import io
import json
import math
import pathlib
import struct
from collections import OrderedDict

import numpy as np
import pytest

import gradcore
import gradcore.nn as gnn
from gradcore import serialization


def _round_trip(obj, tmp_path=None):
    if tmp_path is None:
        buf = io.BytesIO()
        gradcore.save(obj, buf)
        buf.seek(0)
        return gradcore.load(buf)
    path = tmp_path / "obj.gc"
    gradcore.save(obj, path)
    return gradcore.load(str(path))


def _same_tensor(a, b):
    assert type(a) is type(b)
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape) and a.requires_grad == b.requires_grad
    x, y = a.detach().numpy(), b.detach().numpy()
    assert x.tobytes() == y.tobytes()  # bit-exact, NaN payloads included


def test_tensors_round_trip_exactly(tmp_path):
    rng = np.random.default_rng(0)
    tensors = [
        gradcore.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        gradcore.tensor(rng.standard_normal(5)),  # float64
        gradcore.tensor(rng.integers(-2**62, 2**62, (2, 2, 2))),
        gradcore.tensor([True, False, True]),
        gradcore.tensor(3.5), gradcore.zeros(0, 3), gradcore.tensor([float("nan"), float("inf"), -0.0]),
        gradcore.ones(2, requires_grad=True),
    ]
    for t in tensors:
        _same_tensor(_round_trip(t), t)
        _same_tensor(_round_trip(t, tmp_path), t)
    base = gradcore.arange(24.0).reshape(4, 6)
    for view in (base.t(), base[1:3, ::2], base[2], base.expand(2, 4, 6)):
        out = _round_trip(view)
        assert out.is_contiguous() and out.tolist() == view.tolist()


def test_nested_containers_round_trip(tmp_path):
    x = gradcore.randn(2, 3)
    obj = {
        "x": x, "again": x, "list": [1, -2**70, 2.5, float("inf"), None, "é", True],
        "tuple": (1, (2.0, "a")), 7: "int key", (1, "k"): [], 1.5: False, None: {},
        "odict": OrderedDict([("b", gradcore.tensor([1])), ("a", 2)]), "dtype": gradcore.float64,
        "param": gnn.Parameter(gradcore.ones(2)), "frozen": gnn.Parameter(gradcore.ones(1), requires_grad=False),
    }
    out = _round_trip(obj, tmp_path)
    assert list(out) == list(obj)
    assert out["again"] is out["x"]  # one object saved once
    _same_tensor(out["x"], x)
    assert out["list"] == obj["list"] and out["tuple"] == obj["tuple"] and isinstance(out["tuple"][1], tuple)
    assert out[7] == "int key" and out[(1, "k")] == [] and out[1.5] is False and out[None] == {}
    assert type(out["odict"]) is OrderedDict and list(out["odict"]) == ["b", "a"]
    assert out["dtype"] is gradcore.float64
    assert isinstance(out["param"], gnn.Parameter) and out["param"].requires_grad
    assert isinstance(out["frozen"], gnn.Parameter) and not out["frozen"].requires_grad
    nan = _round_trip([float("nan")])[0]
    assert math.isnan(nan)


def test_model_and_optimizer_state_dicts(tmp_path):
    model = gnn.Sequential(gnn.Linear(3, 4), gnn.ReLU(), gnn.LayerNorm(4), gnn.Linear(4, 2))
    opt = gradcore.optim.AdamW(model.parameters(), lr=0.01)
    model(gradcore.randn(5, 3)).sum().backward()
    opt.step()
    gradcore.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": 3}, tmp_path / "ckpt.gc")
    ckpt = gradcore.load(tmp_path / "ckpt.gc")
    fresh = gnn.Sequential(gnn.Linear(3, 4), gnn.ReLU(), gnn.LayerNorm(4), gnn.Linear(4, 2))
    fresh.load_state_dict(ckpt["model"])
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values()):
        _same_tensor(a, b)
    sd = ckpt["opt"]
    assert sd["param_groups"] == opt.state_dict()["param_groups"]
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert list(sd["state"]) == [0, 1, 2, 3, 4, 5]
    _same_tensor(sd["state"][0]["step"], opt.state_dict()["state"][0]["step"])
    assert ckpt["epoch"] == 3


def test_file_object_and_unsupported_types(tmp_path):
    with open(tmp_path / "f.gc", "wb") as fh:
        gradcore.save([gradcore.ones(2)], fh)
    with open(tmp_path / "f.gc", "rb") as fh:
        assert gradcore.load(fh)[0].tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match=r"cannot save obj\['a'\]\[0\] of type builtins.set"):
        gradcore.save({"a": [set()]}, io.BytesIO())
    with pytest.raises(TypeError, match="keys must be"):
        gradcore.save({frozenset(): 1}, io.BytesIO())
    with pytest.raises(TypeError, match="path"):
        gradcore.save(1, 3.5)


def _saved_bytes(obj):
    buf = io.BytesIO()
    gradcore.save(obj, buf)
    return buf.getvalue()


def _load_bytes(data, tmp_path):
    path = tmp_path / "bad.gc"
    path.write_bytes(data)
    return gradcore.load(path)


def _with_meta(data, change):
    _, version, _, n = struct.unpack("<8sIIQ", data[:24])
    meta = json.loads(data[24:24 + n])
    change(meta)
    new = json.dumps(meta).encode()
    return data[:16] + struct.pack("<Q", len(new)) + new + data[24 + n:]


def test_corrupt_and_truncated_files(tmp_path):
    good = _saved_bytes({"w": gradcore.arange(10.0), "n": 1})
    assert _load_bytes(good, tmp_path)["n"] == 1
    with pytest.raises(RuntimeError, match=r"bad\.gc' is not a gradcore file \(bad magic"):
        _load_bytes(b"PK\x03\x04" + good[4:], tmp_path)
    with pytest.raises(RuntimeError, match="not a gradcore file"):
        _load_bytes(b"", tmp_path)
    with pytest.raises(RuntimeError, match="has format version 99, but this gradcore reads version 1"):
        _load_bytes(good[:8] + struct.pack("<I", 99) + good[12:], tmp_path)
    with pytest.raises(RuntimeError, match="truncated: the header"):
        _load_bytes(good[:12], tmp_path)
    with pytest.raises(RuntimeError, match="truncated: expected .* bytes of metadata"):
        _load_bytes(good[:40], tmp_path)
    with pytest.raises(RuntimeError, match="truncated: expected 40 bytes of tensor data, got 39"):
        _load_bytes(good[:-1], tmp_path)
    n = struct.unpack("<Q", good[16:24])[0]
    with pytest.raises(RuntimeError, match="metadata is not valid JSON"):
        _load_bytes(good[:24] + b"{" * n + good[24 + n:], tmp_path)

    def bad_dtype(m):
        m["tensors"][0]["dtype"] = "complex64"

    def bad_shape(m):
        m["tensors"][0]["shape"] = [11]

    def bad_offset(m):
        m["tensors"][0]["offset"] = 8

    def bad_ref(m):
        m["object"]["dict"][0][1] = {"tensor": 5}

    def bad_value(m):
        m["object"]["dict"][1][1] = {"pickle": "os.system"}

    for change, message in ((bad_dtype, "unknown dtype 'complex64'"), (bad_shape, "inconsistent offset/size"),
                            (bad_offset, "outside the data section"), (bad_ref, "out of range"),
                            (bad_value, "unrecognised value")):
        with pytest.raises(RuntimeError, match=r"gradcore\.load: '.*bad\.gc': corrupt file: .*" + message):
            _load_bytes(_with_meta(good, change), tmp_path)


def test_format_is_documented():
    doc = serialization.__doc__
    for word in ("magic", "version", "metadata", "little-endian", "pickle"):
        assert word in doc
    assert serialization.MAGIC in _saved_bytes(1)[:8]
    assert pathlib.Path(serialization.__file__).exists()

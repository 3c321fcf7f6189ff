"""gradcore.save / gradcore.load: tensors and nested containers in a small, safe file format.

Loading never executes code (unlike pickle): the file is a fixed header, JSON metadata and raw tensor bytes,
and only the types listed below can be described by it.

File layout (all integers little-endian)::

    offset  size  field
    0       8     magic  b"\\x93GCSAVE\\n"
    8       4     format version, uint32 (currently 1)
    12      4     reserved, uint32, 0
    16      8     metadata length M in bytes, uint64
    24      M     metadata: UTF-8 JSON object {"object": <value>, "tensors": [<tensor>, ...], "data_bytes": D}
    24+M    D     tensor data: each tensor's elements, C order, little-endian, at its "offset" (64-byte aligned)
                  from the start of this section

<tensor> is {"dtype": "float32" | "float64" | "int64" | "bool", "shape": [int, ...], "offset": int,
"nbytes": int, "requires_grad": bool, "parameter": bool}; bool elements are one byte, 0 or 1.

<value> encodes the saved object:

    None, True/False, int, str        the JSON null, true/false, number, string
    float                             a JSON number; {"float": "nan" | "inf" | "-inf"} for non-finite ones
    list                              a JSON array of <value>
    tuple                             {"tuple": [<value>, ...]}
    dict / OrderedDict                {"dict": [[<key>, <value>], ...]} / {"odict": [...]} (keys are <value>s
                                      of hashable types: str, int, float, bool, None, tuple)
    Tensor / nn.Parameter             {"tensor": i}, i indexing "tensors"
    gradcore dtype                    {"dtype": "float32"}

A tensor is saved as its data (a view saves only the elements it shows, as a contiguous tensor); the same
tensor object saved twice is stored once and loads as one object. Parameters load as nn.Parameter with
their requires_grad flag; other tensors keep requires_grad too (as leaves).
"""
import io
import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np

from . import _C

__all__ = ["save", "load"]

MAGIC = b"\x93GCSAVE\n"
VERSION = 1
_HEADER = struct.Struct("<8sIIQ")
_ALIGN = 64
_DTYPES = {"float32": np.dtype("<f4"), "float64": np.dtype("<f8"), "int64": np.dtype("<i8"), "bool": np.dtype("u1")}
_MAX_DEPTH = 1000


def _dtype_name(dtype):
    return repr(dtype).split(".")[-1]


class _Writer:
    def __init__(self):
        self.tensors = []  # metadata dicts
        self.chunks = []  # bytes objects
        self.by_id = {}  # id(tensor) -> index
        self.keep = []  # keep saved tensors alive so ids stay unique
        self.size = 0

    def tensor(self, t):
        idx = self.by_id.get(id(t))
        if idx is not None:
            return idx
        from .nn.parameter import Parameter

        name = _dtype_name(t.dtype)
        data = np.asarray(t.detach()).astype(_DTYPES[name], copy=False).tobytes(order="C")
        pad = (-self.size) % _ALIGN
        if pad:
            self.chunks.append(b"\0" * pad)
            self.size += pad
        self.tensors.append({"dtype": name, "shape": [int(s) for s in t.shape], "offset": self.size,
                             "nbytes": len(data), "requires_grad": bool(t.requires_grad),
                             "parameter": isinstance(t, Parameter)})
        self.chunks.append(data)
        self.size += len(data)
        idx = len(self.tensors) - 1
        self.by_id[id(t)] = idx
        self.keep.append(t)
        return idx

    def encode(self, obj, path="obj", depth=0):
        if depth > _MAX_DEPTH:
            raise ValueError(f"gradcore.save: {path} is nested too deeply (more than {_MAX_DEPTH} levels)")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            if math.isnan(obj):
                return {"float": "nan"}
            if math.isinf(obj):
                return {"float": "inf" if obj > 0 else "-inf"}
            return float(obj)
        if isinstance(obj, _C.Tensor):
            return {"tensor": self.tensor(obj)}
        if isinstance(obj, _C.dtype):
            return {"dtype": _dtype_name(obj)}
        if isinstance(obj, list):
            return [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]
        if isinstance(obj, tuple):
            return {"tuple": [self.encode(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj)]}
        if isinstance(obj, dict):
            tag = "odict" if isinstance(obj, OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                if not (k is None or isinstance(k, (bool, int, float, str, tuple))):
                    raise TypeError(f"gradcore.save: {path} has a key of type {type(k).__name__}; keys must be "
                                    "str, int, float, bool, None or tuples of those")
                items.append([self.encode(k, f"{path} key {k!r}", depth + 1),
                              self.encode(v, f"{path}[{k!r}]", depth + 1)])
            return {tag: items}
        raise TypeError(f"gradcore.save: cannot save {path} of type {type(obj).__module__}.{type(obj).__qualname__}; "
                        "supported: Tensor, dict, list, tuple, str, int, float, bool, None")


def save(obj, f):
    """Saves ``obj`` (tensors, Parameters, and dicts/lists/tuples of them and of Python scalars, strings and None,
    e.g. a model's or an optimizer's state_dict()) to ``f``: a path (str or os.PathLike) or a writable binary
    file object. The format is described in this module's docstring."""
    w = _Writer()
    meta = {"object": w.encode(obj), "tensors": w.tensors, "data_bytes": w.size}
    meta_bytes = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode("utf-8")
    header = _HEADER.pack(MAGIC, VERSION, 0, len(meta_bytes))

    def write(fh):
        fh.write(header)
        fh.write(meta_bytes)
        for chunk in w.chunks:
            fh.write(chunk)

    if isinstance(f, (str, os.PathLike)):
        with open(f, "wb") as fh:
            write(fh)
    elif hasattr(f, "write"):
        write(f)
    else:
        raise TypeError(f"gradcore.save: f must be a path (str or os.PathLike) or a binary file object, not "
                        f"{type(f).__name__}")


class _Reader:
    def __init__(self, name, meta, data):
        self.name = name
        self.meta = meta
        self.data = data
        self.loaded = {}

    def fail(self, what):
        raise RuntimeError(f"gradcore.load: {self.name}: corrupt file: {what}")

    def tensor(self, idx):
        if idx in self.loaded:
            return self.loaded[idx]
        tensors = self.meta.get("tensors")
        if not isinstance(tensors, list) or not isinstance(idx, int) or isinstance(idx, bool) or \
                not 0 <= idx < len(tensors):
            self.fail(f"tensor reference {idx!r} is out of range")
        t = tensors[idx]
        if not isinstance(t, dict):
            self.fail(f"tensor {idx} has no description")
        dtype, shape, offset, nbytes = t.get("dtype"), t.get("shape"), t.get("offset"), t.get("nbytes")
        if dtype not in _DTYPES:
            self.fail(f"tensor {idx} has unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0
                                                  for s in shape):
            self.fail(f"tensor {idx} has invalid shape {shape!r}")
        numel = 1
        for s in shape:
            numel *= s
        np_dtype = _DTYPES[dtype]
        if not isinstance(offset, int) or not isinstance(nbytes, int) or offset < 0 or \
                nbytes != numel * np_dtype.itemsize:
            self.fail(f"tensor {idx} ({dtype}, shape {tuple(shape)}) has inconsistent offset/size "
                      f"{offset!r}/{nbytes!r}")
        if offset + nbytes > len(self.data):
            self.fail(f"tensor {idx} lies outside the data section ({offset + nbytes} > {len(self.data)} bytes)")
        arr = np.frombuffer(self.data, dtype=np_dtype, count=numel, offset=offset).reshape(shape)
        if dtype == "bool":
            if arr.size and arr.max() > 1:
                self.fail(f"tensor {idx} has bool elements other than 0 and 1")
            arr = arr.astype(np.bool_)
        else:
            arr = arr.astype(np_dtype.newbyteorder("="), copy=True)
        out = _C.from_numpy(arr)
        if t.get("parameter"):
            from .nn.parameter import Parameter

            out = Parameter(out, requires_grad=bool(t.get("requires_grad", True)))
        elif t.get("requires_grad"):
            out.requires_grad_(True)
        self.loaded[idx] = out
        return out

    def decode(self, v, depth=0):
        if depth > _MAX_DEPTH:
            self.fail("objects nested too deeply")
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [self.decode(x, depth + 1) for x in v]
        if isinstance(v, dict) and len(v) == 1:
            (tag, body), = v.items()
            if tag == "tensor":
                return self.tensor(body)
            if tag == "tuple" and isinstance(body, list):
                return tuple(self.decode(x, depth + 1) for x in body)
            if tag in ("dict", "odict") and isinstance(body, list):
                out = OrderedDict() if tag == "odict" else {}
                for item in body:
                    if not isinstance(item, list) or len(item) != 2:
                        self.fail("a dict entry is not a [key, value] pair")
                    key = self.decode(item[0], depth + 1)
                    try:
                        hash(key)
                    except TypeError:
                        self.fail(f"a dict key of type {type(key).__name__} is not hashable")
                    out[key] = self.decode(item[1], depth + 1)
                return out
            if tag == "float" and body in ("nan", "inf", "-inf"):
                return float(body)
            if tag == "dtype" and body in _DTYPES:
                return getattr(_C, body)
        self.fail(f"unrecognised value {json.dumps(v)[:80]}")


def _read_exact(fh, n, name, what):
    data = fh.read(n)
    if data is None or len(data) < n:
        got = 0 if data is None else len(data)
        raise RuntimeError(f"gradcore.load: {name}: file is truncated: expected {n} bytes of {what}, got {got}")
    return data


def load(f, map_location=None, weights_only=True):
    """Loads an object saved by :func:`save` from ``f`` (a path or a readable binary file object).

    Raises RuntimeError naming the file for a file that is not a gradcore file (wrong magic), has an
    unsupported format version, is truncated or is otherwise corrupt. ``map_location`` and ``weights_only``
    are accepted for PyTorch compatibility (loading is always safe; all tensors are CPU tensors).
    """
    if isinstance(f, (str, os.PathLike)):
        name = os.fspath(f)
        with open(f, "rb") as fh:
            return _load(fh, repr(name))
    if hasattr(f, "read"):
        return _load(f, repr(getattr(f, "name", f"<{type(f).__name__}>")))
    raise TypeError(f"gradcore.load: f must be a path (str or os.PathLike) or a binary file object, not "
                    f"{type(f).__name__}")


def _load(fh, name):
    head = fh.read(_HEADER.size)
    if head is None:
        head = b""
    if len(head) < len(MAGIC) or head[: len(MAGIC)] != MAGIC:
        raise RuntimeError(f"gradcore.load: {name} is not a gradcore file (bad magic number {head[:8]!r}, expected "
                           f"{MAGIC!r})")
    if len(head) < _HEADER.size:
        raise RuntimeError(f"gradcore.load: {name}: file is truncated: the header needs {_HEADER.size} bytes, got "
                           f"{len(head)}")
    _, version, _, meta_len = _HEADER.unpack(head)
    if version != VERSION:
        raise RuntimeError(f"gradcore.load: {name} has format version {version}, but this gradcore reads version "
                           f"{VERSION} only")
    meta_bytes = _read_exact(fh, meta_len, name, "metadata")
    try:
        meta = json.loads(meta_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise RuntimeError(f"gradcore.load: {name}: corrupt file: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or "object" not in meta or not isinstance(meta.get("data_bytes"), int) or \
            meta["data_bytes"] < 0:
        raise RuntimeError(f"gradcore.load: {name}: corrupt file: metadata lacks 'object' or 'data_bytes'")
    data = _read_exact(fh, meta["data_bytes"], name, "tensor data")
    return _Reader(name, meta, data).decode(meta["object"])

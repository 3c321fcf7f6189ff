"""gradcore.autograd.graph_to_dot / render: DOT structure (nodes, labels, edges), leaf names and shapes,
outputs, saved-tensor shapes when a node exposes them, deep graphs without recursion."""
import re
import shutil
import sys

import pytest

import gradcore
from gradcore.autograd import graph_to_dot, render

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+);", re.M)


def parse(dot):
    """({id: [label lines]}, [(src, dst)])."""
    nodes = {m.group(1): m.group(2).split("\\n") for m in NODE.finditer(dot)}
    edges = [(m.group(1), m.group(2)) for m in EDGE.finditer(dot)]
    return nodes, edges


def by_name(nodes, name):
    return [k for k, label in nodes.items() if label[0] == name]


def test_small_graph_structure():
    w = gradcore.ones(4, 3, requires_grad=True)
    b = gradcore.zeros(4, requires_grad=True)
    x = gradcore.ones(2, 3)
    h = (x @ w.t() + b).relu()
    loss = (h * h).sum()
    dot = graph_to_dot(loss, params={"weight": w, "bias": b})
    assert dot.startswith("digraph ") and dot.rstrip().endswith("}")
    nodes, edges = parse(dot)
    names = sorted(label[0] for label in nodes.values())
    assert names == sorted(["output", "SumBackward0", "MulBackward0", "ReluBackward0", "AddBackward0", "MmBackward0",
                            "TBackward0", "AccumulateGrad", "AccumulateGrad"])
    assert nodes[by_name(nodes, "output")[0]] == ["output", "()"]
    leaves = {tuple(nodes[k][1:]) for k in by_name(nodes, "AccumulateGrad")}
    assert leaves == {("weight", "(4, 3)"), ("bias", "(4,)")}
    (out,), (s,), (m,), (r,) = (by_name(nodes, n) for n in ("output", "SumBackward0", "MulBackward0", "ReluBackward0"))
    assert (s, out) in edges and (m, s) in edges
    assert edges.count((r, m)) == 2  # h * h: two next_functions to the same node
    assert len(edges) == 9
    # every node but the output has a path to it: edges follow next_functions
    assert {src for src, _ in edges} == set(nodes) - {out}


def test_shared_nodes_appear_once():
    x = gradcore.ones(3, requires_grad=True)
    e = x.exp()
    y = e * e.sin() + e.cos()
    nodes, edges = parse(graph_to_dot(y))
    assert len(by_name(nodes, "ExpBackward0")) == 1
    assert len(by_name(nodes, "AccumulateGrad")) == 1
    assert len(nodes) == len(set(nodes))


def test_several_outputs_and_leaf_output():
    x = gradcore.ones(2, 5, requires_grad=True)
    a, b = x.split([2, 3], 1)
    dot = graph_to_dot([a, b, x], params={"x": x})
    nodes, edges = parse(dot)
    outs = {k: v for k, v in nodes.items() if k.startswith("out")}
    assert outs == {"out0": ["output 0", "(2, 2)"], "out1": ["output 1", "(2, 3)"], "out2": ["output 2", "x", "(2, 5)"]}
    split = by_name(nodes, a.grad_fn.name())
    assert len(split) == 1 and (split[0], "out0") in edges and (split[0], "out1") in edges


def test_options_and_unnamed_leaves():
    x = gradcore.ones(2, 3, requires_grad=True)
    y = (x * 2).sum()
    nodes, _ = parse(graph_to_dot(y))
    assert nodes[by_name(nodes, "AccumulateGrad")[0]] == ["AccumulateGrad", "(2, 3)"]
    nodes, _ = parse(graph_to_dot(y, show_shapes=False))
    assert nodes[by_name(nodes, "AccumulateGrad")[0]] == ["AccumulateGrad"]
    assert nodes["out0"] == ["output"]


def test_deterministic_ids():
    x = gradcore.ones(3, requires_grad=True)
    y = (x.exp() + x.sin()).sum()
    assert graph_to_dot(y) == graph_to_dot(y)


def test_saved_tensor_shapes_when_exposed():
    """Saved-tensor lines come from node._saved_tensor_shapes() when the binding provides it: entries are
    shapes, (name, shape) pairs, or None for a tensor already freed by backward."""
    from gradcore.autograd import graph as graph_module

    class FakeNode:
        def __init__(self, saved):
            self._saved_tensor_shapes = lambda: saved

    assert graph_module._saved_lines(FakeNode([(2, 3), None])) == ["saved 0: (2, 3)", "saved 1: [freed]"]
    assert graph_module._saved_lines(FakeNode([("self", (2, 3)), ("other", ())])) == ["self: (2, 3)", "other: ()"]
    node = (gradcore.ones(2, requires_grad=True) * 2).grad_fn
    lines = graph_module._saved_lines(node)  # whatever the binding exposes today, it must not fail
    assert isinstance(lines, list)


def test_deep_chain_without_recursion():
    n = 100_000
    x = gradcore.ones(1, requires_grad=True)
    y = x
    for _ in range(n):
        y = y * 1.0
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # a recursive walk would fail at once
    try:
        dot = graph_to_dot(y)
    finally:
        sys.setrecursionlimit(limit)
    nodes, edges = parse(dot)
    assert len(nodes) == n + 2  # MulBackward0 x n, AccumulateGrad, output
    assert len(edges) == n + 1
    assert len(by_name(nodes, "MulBackward0")) == n


def test_type_errors():
    with pytest.raises(TypeError):
        graph_to_dot([1.0])
    with pytest.raises(TypeError):
        graph_to_dot(gradcore.ones(1), params={"w": 3})


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_render(tmp_path, fmt):
    x = gradcore.ones(2, requires_grad=True)
    dot = graph_to_dot((x.exp() * x).sum(), params={"x": x})
    path = tmp_path / f"g.{fmt}"
    assert render(dot, path) == path
    data = path.read_bytes()
    if fmt == "svg":
        assert b"<svg" in data and b"ExpBackward0" in data
    else:
        assert data.startswith(b"\x89PNG")


def test_render_errors(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="format must be one of"):
        render("digraph {}", tmp_path / "g.svg", format="bmp")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz 'dot' program was not found"):
        render("digraph {}", tmp_path / "g.svg")


def test_example_script(tmp_path):
    import os
    import pathlib
    import subprocess

    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(pathlib.Path(gradcore.__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, str(root / "examples" / "graph_to_dot.py"), str(tmp_path / "g.svg")],
                         capture_output=True, text=True, env=env, check=True)
    nodes, edges = parse(out.stdout)
    assert sorted(label[0] for label in nodes.values()).count("AccumulateGrad") == 4
    assert {tuple(v[1:]) for v in nodes.values() if v[0] == "AccumulateGrad"} == {
        ("fc1.weight", "(8, 4)"), ("fc1.bias", "(8,)"), ("fc2.weight", "(3, 8)"), ("fc2.bias", "(3,)")}
    if shutil.which("dot"):
        assert (tmp_path / "g.svg").exists()

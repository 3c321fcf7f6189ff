"""Looking at the autograd graph: Graphviz DOT text of the grad_fn graph behind tensors, and rendering it.

``graph_to_dot(loss)`` walks ``loss.grad_fn`` and its ``next_functions`` (iteratively: graphs of millions
of nodes do not hit Python's recursion limit) and returns DOT text with

* one box per backward node, labelled with its name as PyTorch prints it (``MulBackward0``) and, when the
  node exposes them, the shapes of the tensors it saved for backward;
* one box per ``AccumulateGrad`` node (the sink of a leaf), labelled with the leaf's name (when given in
  ``params``, as torchviz does) and shape;
* one box per output tensor, with its shape;
* an edge ``a -> b`` when ``a`` is in ``b.next_functions``: edges follow the forward data flow, from the
  leaves at the top to the outputs at the bottom.

``render(dot, path)`` turns the text into an SVG/PNG/PDF picture with the Graphviz ``dot`` program.
"""
import os
import shutil
import subprocess

from .. import _C

__all__ = ["graph_to_dot", "render"]

_OUTPUT_STYLE = 'shape=box, style=filled, fillcolor="darkolivegreen1"'
_LEAF_STYLE = 'shape=box, style=filled, fillcolor="lightblue"'
_NODE_STYLE = 'shape=box, style=filled, fillcolor="lightgrey"'


def _shape_str(shape):
    shape = tuple(shape)
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _quote(text):
    """A DOT double-quoted string; newlines become \\n (Graphviz's centred line break)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


_SAVED_ATTRS = {}  # type -> its "_saved_*" attribute names (dir() once per node type)


def _saved_lines(node):
    """``name: (shape)`` lines for the tensors ``node`` saved for backward, when the binding exposes them.

    Uses ``node._saved_tensor_shapes()`` when present: a sequence whose entries are shapes, ``(name, shape)``
    pairs, or None for a saved tensor already released by backward. Otherwise looks for PyTorch-style
    ``_saved_<name>`` attributes (as torchviz does).
    """
    lines = []
    getter = getattr(node, "_saved_tensor_shapes", None)
    if callable(getter):
        try:
            entries = getter()
        except Exception:  # a binding that cannot answer (e.g. released) must not break the picture
            return lines
        for k, entry in enumerate(entries or ()):
            if isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], str):
                name, shape = entry
            else:
                name, shape = f"saved {k}", entry
            lines.append(f"{name}: {'[freed]' if shape is None else _shape_str(shape)}")
        return lines
    names = _SAVED_ATTRS.get(type(node))
    if names is None:
        names = _SAVED_ATTRS[type(node)] = [a for a in dir(node) if a.startswith("_saved_")]
    for attr in names:
        try:
            value = getattr(node, attr)
        except Exception:
            continue
        name = attr[len("_saved_"):]
        if isinstance(value, _C.Tensor):
            lines.append(f"{name}: {_shape_str(value.shape)}")
        elif isinstance(value, (int, float, bool, tuple, list)) or value is None:
            lines.append(f"{name}: {value!r}")
    return lines


def graph_to_dot(tensors, *, params=None, show_saved=True, show_shapes=True, graph_name="autograd_graph"):
    """Graphviz DOT text of the autograd graph reachable from ``tensors`` (a tensor or a sequence of them).

    ``params``: optional ``{name: tensor}`` (e.g. ``dict(model.named_parameters())``) to name the leaves.
    ``show_saved``: list the shapes of saved tensors in each node's label (when the node exposes them).
    ``show_shapes``: show the shapes of leaves and outputs.
    Node ids are ``n0, n1, ...`` in discovery order and outputs ``out0, out1, ...``, so the text is
    deterministic for a given graph.
    """
    roots = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    for t in roots:
        if not isinstance(t, _C.Tensor):
            raise TypeError(f"graph_to_dot(): expected a Tensor or a sequence of Tensors, got {type(t).__name__}")
    leaf_names = {}
    for name, p in (params or {}).items():
        if not isinstance(p, _C.Tensor):
            raise TypeError(f"graph_to_dot(): params[{name!r}] is a {type(p).__name__}, not a Tensor")
        leaf_names[id(p)] = name

    lines = [f"digraph {graph_name} {{",
             '  graph [rankdir=TB, fontname="Helvetica"];',
             '  node [fontname="Helvetica", fontsize=11, height=0.2];',
             '  edge [arrowsize=0.7];']
    ids = {}  # id(node object) -> DOT id
    node_lines = []  # by DOT id number
    keep = []  # the node objects seen: keeping them alive keeps their Python ids (and wrappers) unique
    edges = []

    def node_id(fn):
        key = id(fn)
        if key not in ids:
            ids[key] = f"n{len(keep)}"
            keep.append(fn)
            node_lines.append(None)
            stack.append(fn)
        return ids[key]

    def leaf_label(tensor):
        parts = []
        name = leaf_names.get(id(tensor))
        if name is not None:
            parts.append(name)
        if show_shapes:
            parts.append(_shape_str(tensor.shape))
        return parts

    stack = []
    for k, t in enumerate(roots):
        out_label = ["output" if len(roots) == 1 else f"output {k}"]
        out_label += leaf_label(t)  # the name only when params names it (a leaf passed as an output)
        lines.append(f"  out{k} [label={_quote(chr(10).join(out_label))}, {_OUTPUT_STYLE}];")
        if t.grad_fn is not None:
            edges.append(f"  {node_id(t.grad_fn)} -> out{k};")

    # Iterative depth-first walk over next_functions (each node expanded once).
    while stack:
        fn = stack.pop()
        me = ids[id(fn)]
        name = fn.name()
        if name == "AccumulateGrad":
            label = [name] + leaf_label(fn.variable)
            style = _LEAF_STYLE
        else:
            label = [name] + (_saved_lines(fn) if show_saved else [])
            style = _NODE_STYLE
        node_lines[int(me[1:])] = f"  {me} [label={_quote(chr(10).join(label))}, {style}];"
        for nxt, _input_nr in fn.next_functions:
            if nxt is not None:
                edges.append(f"  {node_id(nxt)} -> {me};")

    lines.extend(node_lines)
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


_FORMATS = ("svg", "png", "pdf")


def render(dot, path, format=None):  # noqa: A002  (Graphviz's and torchviz's name)
    """Renders DOT text to ``path`` with Graphviz's ``dot`` program and returns ``path``.

    ``format`` is "svg", "png" or "pdf"; by default it is taken from ``path``'s extension (svg otherwise).
    Raises RuntimeError when ``dot`` is not installed or fails.
    """
    if format is None:
        ext = os.path.splitext(str(path))[1].lstrip(".").lower()
        format = ext if ext in _FORMATS else "svg"  # noqa: A001
    if format not in _FORMATS:
        raise ValueError(f"render(): format must be one of {', '.join(_FORMATS)}, got {format!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("render(): the Graphviz 'dot' program was not found on PATH. Install Graphviz "
                           "(e.g. 'apt-get install graphviz' or 'brew install graphviz'), or paste the text "
                           "returned by graph_to_dot() into any Graphviz viewer.")
    proc = subprocess.run([exe, f"-T{format}", "-o", str(path)], input=dot.encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"render(): dot failed (exit status {proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return path

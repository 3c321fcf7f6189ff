"""Draw the autograd graph of a small MLP's loss with gradcore.autograd.graph_to_dot.

Run: python examples/graph_to_dot.py [output.svg|output.png]
Prints the Graphviz DOT text, and renders it (default docs/autograd_graph.svg) when Graphviz's `dot`
program is installed.
"""
import pathlib
import shutil
import sys

import gradcore as torch
import gradcore.nn.functional as F
from gradcore.autograd import graph_to_dot, render


def mlp_loss():
    torch.manual_seed(0)
    params = {
        "fc1.weight": (torch.randn(8, 4) * 0.5).requires_grad_(),
        "fc1.bias": torch.zeros(8, requires_grad=True),
        "fc2.weight": (torch.randn(3, 8) * 0.5).requires_grad_(),
        "fc2.bias": torch.zeros(3, requires_grad=True),
    }
    x = torch.randn(16, 4)            # a batch of 16 samples, 4 features
    target = torch.tensor([0, 1, 2, 1] * 4)
    h = F.relu(F.linear(x, params["fc1.weight"], params["fc1.bias"]))
    logits = F.linear(h, params["fc2.weight"], params["fc2.bias"])
    loss = F.cross_entropy(logits, target)
    return loss, params


def main(out=None):
    loss, params = mlp_loss()
    dot = graph_to_dot(loss, params=params)
    print(dot)
    path = pathlib.Path(out) if out else pathlib.Path(__file__).resolve().parents[1] / "docs" / "autograd_graph.svg"
    if shutil.which("dot") is None:
        print("Graphviz 'dot' is not installed: not rendering", file=sys.stderr)
        return
    render(dot, path)
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)

"""Fit a cubic polynomial to noisy samples of sin(x) by gradient descent, using gradcore's autograd.

Run: python examples/fit_polynomial.py
"""
import math

import numpy as np

import gradcore as torch


def main(steps=2000, lr=0.05):
    rng = np.random.default_rng(0)
    xs = np.linspace(-math.pi, math.pi, 200, dtype=np.float32)
    ys = np.sin(xs) + rng.normal(0, 0.05, xs.shape).astype(np.float32)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)
    # Scaled features keep the problem well conditioned for plain gradient descent.
    u = x / math.pi

    coeffs = [torch.zeros((), requires_grad=True) for _ in range(4)]
    for step in range(steps + 1):
        pred = coeffs[0] + coeffs[1] * u + coeffs[2] * u ** 2 + coeffs[3] * u ** 3
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            for c in coeffs:
                c -= lr * c.grad
                c.grad = None
        if step % 500 == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}")

    a, b, c, d = (float(t) for t in coeffs)
    print(f"fit: y = {a:.3f} + {b / math.pi:.3f} x + {c / math.pi ** 2:.3f} x^2 + {d / math.pi ** 3:.4f} x^3")
    assert loss.item() < 0.02, "the fit did not converge"
    return loss.item()


if __name__ == "__main__":
    main()

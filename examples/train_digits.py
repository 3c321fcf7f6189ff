"""Train an MLP on scikit-learn's handwritten digits (8x8 images, 10 classes) with gradcore, save it, reload it.

The training code is written against the PyTorch API (``lib`` is gradcore, or torch with --compare-torch):
nn.Sequential of Linear/ReLU, CrossEntropyLoss, Adam with a cosine learning-rate schedule, mini-batches.

Run:  pip install ".[examples]" && python examples/train_digits.py [--compare-torch] [--epochs N]
"""
import argparse
import os
import tempfile
import time

import numpy as np

import gradcore

SEED = 0
HIDDEN = 128
BATCH = 64


def load_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=SEED, stratify=y)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6  # standardise with the training set's statistics
    prep = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    return prep(x_train), y_train.astype(np.int64), prep(x_test), y_test.astype(np.int64)


def make_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Linear(64, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 10))


def accuracy(lib, model, x, y):
    model.eval()
    with lib.no_grad():
        pred = model(lib.from_numpy(x)).argmax(dim=1).numpy()
    model.train()
    return float((pred == y).mean())


def train(lib, model, data, epochs, progress=True):
    """Trains `model` in place; returns (seconds, per-epoch losses)."""
    x_train, y_train, x_test, y_test = data
    opt = lib.optim.Adam(model.parameters(), lr=2e-3)
    sched = lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = lib.nn.CrossEntropyLoss()
    order_rng = np.random.default_rng(SEED)  # the same batch order for every library
    batches = []
    for _ in range(epochs):
        perm = order_rng.permutation(len(x_train))
        batches.append([(lib.from_numpy(np.ascontiguousarray(x_train[perm[i:i + BATCH]])),
                         lib.from_numpy(np.ascontiguousarray(y_train[perm[i:i + BATCH]])))
                        for i in range(0, len(perm), BATCH)])
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, desc=lib.__name__, unit="epoch")
    losses = []
    start = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in batches[epoch]:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item()
        sched.step()
        losses.append(total / len(batches[epoch]))
        if bar is not None:
            bar.set_postfix(loss=f"{losses[-1]:.4f}", acc=f"{accuracy(lib, model, x_test, y_test):.4f}")
            bar.update()
    seconds = time.perf_counter() - start
    if bar is not None:
        bar.close()
    return seconds, losses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--compare-torch", action="store_true", help="train the same network in PyTorch too")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    args = parser.parse_args()

    data = load_data()
    x_train, _, x_test, y_test = data
    print(f"digits: {len(x_train)} training and {len(x_test)} test images, 64 features, 10 classes")
    gradcore.manual_seed(SEED)
    model = make_model(gradcore)
    initial = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    print(model)

    seconds, losses = train(gradcore, model, data, args.epochs, progress=not args.no_progress)
    acc = accuracy(gradcore, model, x_test, y_test)
    print(f"gradcore: {seconds:.2f} s ({1000 * seconds / args.epochs:.1f} ms/epoch), final loss {losses[-1]:.4f}, "
          f"test accuracy {acc:.2%}")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "digits_mlp.gc")
        gradcore.save(model.state_dict(), path)
        reloaded = make_model(gradcore)
        print(f"saved to {path} ({os.path.getsize(path)} bytes); reloading into a fresh model:",
              reloaded.load_state_dict(gradcore.load(path)))
    reloaded_acc = accuracy(gradcore, reloaded, x_test, y_test)
    print(f"reloaded model: test accuracy {reloaded_acc:.2%}")
    assert reloaded_acc == acc, "the reloaded model must predict exactly like the trained one"
    assert acc >= 0.97, f"test accuracy {acc:.2%} is below 97%"

    if args.compare_torch:
        import torch

        # gradcore's kernels run on one thread; give torch the same (on a busy machine its default thread
        # pool can be an order of magnitude slower for a network this small).
        torch.set_num_threads(1)
        torch.manual_seed(SEED)
        tmodel = make_model(torch)
        tmodel.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})  # the same initial weights
        tseconds, tlosses = train(torch, tmodel, data, args.epochs, progress=not args.no_progress)
        tacc = accuracy(torch, tmodel, x_test, y_test)
        print(f"torch:    {tseconds:.2f} s ({1000 * tseconds / args.epochs:.1f} ms/epoch), final loss "
              f"{tlosses[-1]:.4f}, test accuracy {tacc:.2%}")
        print(f"speed: gradcore takes {seconds / tseconds:.2f}x torch's time; largest per-epoch loss difference "
              f"{max(abs(a - b) for a, b in zip(losses, tlosses)):.2e}")


if __name__ == "__main__":
    main()

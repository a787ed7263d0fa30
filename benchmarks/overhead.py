"""Training overhead of MultiTaskNetRegressor vs a hand-written PyTorch loop.

Same network (d-128-64 shared trunk, one linear head per task), same data, epochs, batch
size, optimizer (Adam) and learning rate, timed side by side in one process and
interleaved (``--repeats`` rounds, median reported), against:

* ``hand-written (slices)``: the tightest loop one would write by hand: tensors
  preloaded, one ``randperm`` per epoch, batches are slices, ``loss.item()`` per batch;
* ``hand-written (slices, fused Adam)``: the same with ``Adam(fused=True)``, the
  optimizer kernel ``MultiTaskNetRegressor`` uses when the optimizer is given by name;
* ``hand-written (DataLoader)``: the textbook loop over ``DataLoader(TensorDataset)``;
* ``skorch NeuralNetRegressor``: stock skorch on the same module (one MSE over all
  outputs, no masking), for context.

``MultiTaskNetRegressor`` is timed on its whole ``fit`` (validation of X/y, per-task target
standardisation, masked per-task losses, loss weighting, history), not only its loop.

Run::

    python benchmarks/overhead.py                 # defaults below
    python benchmarks/overhead.py --threads 1     # pin torch to one thread
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from torch import nn

from sklearn_mtml.neural import MultiTaskNetRegressor


class TrunkHeads(nn.Module):
    """d-128-64 trunk, linear heads: the network every contender trains."""

    def __init__(self, d: int, n_tasks: int) -> None:
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(d, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU())
        self.heads = nn.Linear(64, n_tasks)  # n_tasks linear heads, stacked

    def forward(self, x):
        return self.heads(self.trunk(x))


def hand_written_slices(X, Y, args, fused=False):
    torch.manual_seed(0)
    model = TrunkHeads(X.shape[1], Y.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, **({"fused": True} if fused else {}))
    Xt, Yt = torch.as_tensor(X), torch.as_tensor(Y)
    n = len(Xt)
    for _ in range(args.epochs):
        perm = torch.randperm(n)
        Xp, Yp = Xt[perm], Yt[perm]
        running = 0.0
        for start in range(0, n, args.batch_size):
            xb, yb = Xp[start:start + args.batch_size], Yp[start:start + args.batch_size]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
    return model


def hand_written_dataloader(X, Y, args):
    torch.manual_seed(0)
    model = TrunkHeads(X.shape[1], Y.shape[1])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(X), torch.as_tensor(Y)),
        batch_size=args.batch_size, shuffle=True,
    )
    for _ in range(args.epochs):
        running = 0.0
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xb), yb)
            loss.backward()
            opt.step()
            running += loss.item()
    return model


def stock_skorch(X, Y, args):
    from skorch import NeuralNetRegressor

    net = NeuralNetRegressor(
        TrunkHeads, module__d=X.shape[1], module__n_tasks=Y.shape[1],
        optimizer=torch.optim.Adam, lr=args.lr, max_epochs=args.epochs,
        batch_size=args.batch_size, train_split=None, verbose=0,
    )
    return net.fit(X, Y)


def ours(X, Y, args):
    return MultiTaskNetRegressor(
        architecture="shared_bottom", hidden_layer_sizes=(128, 64), optimizer="adam",
        lr=args.lr, max_epochs=args.epochs, batch_size=args.batch_size, random_state=0,
        device="cpu",
    ).fit(X, Y)


def hand_written_slices_fused(X, Y, args):
    return hand_written_slices(X, Y, args, fused=True)


CONTENDERS = {
    "hand-written (slices)": hand_written_slices,
    "hand-written (slices, fused Adam)": hand_written_slices_fused,
    "hand-written (DataLoader)": hand_written_dataloader,
    "skorch NeuralNetRegressor": stock_skorch,
    "MultiTaskNetRegressor": ours,
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-features", type=int, default=32)
    parser.add_argument("--n-tasks", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.n_samples, args.n_features)).astype(np.float32)
    W = rng.normal(size=(args.n_features, args.n_tasks))
    Y = (np.tanh(X @ W) + 0.1 * rng.normal(size=(args.n_samples, args.n_tasks)))
    Y = Y.astype(np.float32)

    for fit in CONTENDERS.values():  # warm-up: imports, allocator, first-call costs
        fit(X[:512], Y[:512], argparse.Namespace(**{**vars(args), "epochs": 1}))
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    for _ in range(args.repeats):
        for name, fit in CONTENDERS.items():
            start = time.perf_counter()
            fit(X, Y, args)
            times[name].append(time.perf_counter() - start)

    steps = args.epochs * -(-args.n_samples // args.batch_size)
    print(f"n={args.n_samples} d={args.n_features} tasks={args.n_tasks} "
          f"epochs={args.epochs} batch_size={args.batch_size} ({steps} steps), "
          f"torch threads={torch.get_num_threads()}, median of {args.repeats}")
    base = statistics.median(times["hand-written (slices)"])
    loader = statistics.median(times["hand-written (DataLoader)"])
    print(f"{'contender':34s} {'fit s':>7s} {'vs slices':>10s} {'vs DataLoader':>14s}")
    for name, values in times.items():
        t = statistics.median(values)
        print(f"{name:34s} {t:7.2f} {t / base:9.2f}x {t / loader:13.2f}x")


if __name__ == "__main__":
    main()

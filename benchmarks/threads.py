"""Fit time of MultiTaskNetRegressor by torch thread count: ``n_threads=None`` (torch's own
setting), ``1`` and ``"auto"`` (the default rule: one thread below a step's work of
``2e8`` batch rows x parameters), side by side and interleaved, for a few network sizes.

Run::

    python benchmarks/threads.py --rows 5000 --epochs 3 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch

from sklearn_mtml.neural import MultiTaskNetRegressor

SIZES = [(64,), (256, 256), (1024, 1024)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(args.rows, 20))
    Y = np.column_stack([X[:, 0], X[:, 1] - X[:, 2], np.tanh(X[:, 3])])
    print(f"torch threads available: {torch.get_num_threads()}; {args.rows} rows, "
          f"{args.epochs} epochs, median of {args.repeats}")
    print(f"{'hidden':>14s} {'None (s)':>9s} {'1 (s)':>7s} {'auto (s)':>9s} {'auto uses':>9s}")
    for sizes in SIZES:
        times = {None: [], 1: [], "auto": []}
        for _ in range(args.repeats):
            for n_threads in times:
                model = MultiTaskNetRegressor(hidden_layer_sizes=sizes, max_epochs=args.epochs,
                                              random_state=0, n_threads=n_threads)
                start = time.perf_counter()
                model.fit(X, Y)
                times[n_threads].append(time.perf_counter() - start)
        used = model._threads_for(model.net_.module_, "cpu", model.batch_size)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{str(sizes):>14s} {med[None]:9.2f} {med[1]:7.2f} {med['auto']:9.2f} "
              f"{str(used or 'torch'):>9s}")


if __name__ == "__main__":
    main()

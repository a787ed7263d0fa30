"""Training one neural multi-task model through Accelerate (``accelerator=``).

On the synthetic long-format data of ``scaling.py`` (``--rows`` rows, 20 features, 50
tasks), one ``MultiTaskNetRegressor`` (shared_bottom, ``--hidden`` units) trained for
``--epochs`` epochs, side by side in one run:

1. **overhead**: ``accelerator={}`` in one process vs plain training (the same model:
   predictions are compared);
2. **data parallel on CPU**: 2 processes (gloo, Accelerate's CPU launcher, one torch thread
   each) with ``batch_size=B`` each vs one process with ``batch_size=2B`` and one thread:
   the same optimizer steps on the same rows, and the ratio of the times is the
   data-parallel speed-up. The models are not identical: in long format each task's loss is
   a mean over its rows in a batch, and the mean of two half-batch means is not the
   full-batch mean when a task's rows split unevenly (plain DDP behaves the same); the
   held-out R² of both is reported. With 2 processes on 2 cores this is the best case for CPU; on
   GPUs the launcher is ``accelerate launch --multi_gpu``.

Prints a Markdown table (pasted into benchmarks/README.md, section "Accelerate")::

    python benchmarks/data_parallel.py --rows 200000 --repeats 3
    python benchmarks/data_parallel.py --rows 200000 --repeats 3 --hidden 512 512 --batch-size 1024
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import tempfile
import time

import numpy as np
import torch
from scaling import make_data

from sklearn_mtml.neural import MultiTaskNetRegressor

HIDDEN = (64,)


def model(batch_size, epochs, accelerator=None):
    return MultiTaskNetRegressor(hidden_layer_sizes=HIDDEN, batch_size=batch_size,
                                 max_epochs=epochs, optimizer="sgd", lr=0.02, random_state=0,
                                 task_column="task", n_threads=1, accelerator=accelerator)


def split(rows):
    """Training rows and 2,000 held-out rows of the synthetic data."""
    X, y = make_data(rows + 2000, 20, 50)
    return X.iloc[2000:], y.iloc[2000:], X.iloc[:2000], y.iloc[:2000]


def r2(fitted, X, y):
    return 1 - np.mean((y.to_numpy() - fitted.predict(X)) ** 2) / np.var(y.to_numpy())


def timed_fit(make, X, y, repeats):
    make().set_params(max_epochs=1).fit(X.iloc[:2000], y.iloc[:2000])  # warm-up
    best, fitted = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        fitted = make().fit(X, y)
        best = min(best, time.perf_counter() - start)
    return best, fitted


def _in_process(out, rows, batch_size, epochs, repeats, hidden):
    """One of the data-parallel processes: fit, time, write rank 0's held-out R²."""
    global HIDDEN
    HIDDEN = hidden
    torch.set_num_threads(1)
    from accelerate import Accelerator

    accelerator = Accelerator()
    X, y, X_test, y_test = split(rows)
    seconds, fitted = timed_fit(lambda: model(batch_size, epochs, accelerator), X, y, repeats)
    if accelerator.is_main_process:
        with open(out, "w") as f:
            json.dump({"seconds": seconds, "r2": r2(fitted, X_test, y_test),
                       "world": accelerator.num_processes}, f)


def data_parallel(rows, batch_size, epochs, repeats, processes=2):
    hidden = HIDDEN
    from accelerate.state import AcceleratorState
    from accelerate.utils import PrepareForLaunch, patch_environment
    from torch.multiprocessing import start_processes

    # the forked processes must not inherit this process's (single-process) state
    AcceleratorState._reset_state(reset_partial_state=True)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp, tempfile.NamedTemporaryFile() as rdv:
        out = os.path.join(tmp, "rank0.json")
        with patch_environment(world_size=processes, master_addr="127.0.0.1",
                               master_port=str(port), accelerate_mixed_precision="no",
                               accelerate_debug_rdv_file=rdv.name, accelerate_use_cpu="yes",
                               gloo_socket_ifname="lo"):
            start_processes(PrepareForLaunch(_in_process, debug=True),
                            args=(out, rows, batch_size, epochs, repeats, hidden),
                            nprocs=processes, start_method="fork")
        with open(out) as f:
            return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256, help="per process")
    parser.add_argument("--repeats", type=int, default=2, help="best of this many fits")
    parser.add_argument("--hidden", type=int, nargs="+", default=[64],
                        help="hidden layer widths of the shared trunk")
    args = parser.parse_args(argv)
    global HIDDEN
    HIDDEN = tuple(args.hidden)
    torch.set_num_threads(1)
    X, y, X_test, y_test = split(args.rows)
    B, E, R = args.batch_size, args.epochs, args.repeats

    plain_s, plain = timed_fit(lambda: model(B, E), X, y, R)
    acc_s, accelerated = timed_fit(lambda: model(B, E, {}), X, y, R)
    same = np.abs(plain.predict(X) - accelerated.predict(X)).max()

    single_s, single = timed_fit(lambda: model(2 * B, E), X, y, R)
    parallel = data_parallel(args.rows, B, E, R)

    print(f"{args.rows:,} rows, {E} epochs, shared_bottom {HIDDEN}, SGD; best of {R}; "
          f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs\n")
    print("| comparison | time (s) | reference (s) | ratio | held-out R² (reference) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| accelerator={{}} vs plain, 1 process, batch {B} | {acc_s:.2f} | {plain_s:.2f} "
          f"| {acc_s / plain_s:.2f}x time | {r2(accelerated, X_test, y_test):.4f} "
          f"({r2(plain, X_test, y_test):.4f}); predictions differ by {same:.1e} |")
    print(f"| {parallel['world']} CPU processes x batch {B} vs 1 process x batch {2 * B} | "
          f"{parallel['seconds']:.2f} | {single_s:.2f} | "
          f"{single_s / parallel['seconds']:.2f}x speed-up | {parallel['r2']:.4f} "
          f"({r2(single, X_test, y_test):.4f}) |")


if __name__ == "__main__":
    main()

"""How sklearn-mtml scales with the number of rows.

Measures, on synthetic long-format multi-task regression data (``task_column``, like School):

1. fit time vs n (10k rows up to ``--max-rows``) for ``MultiTaskRidge`` and, when the package
   has it, ``MultiTaskNetRegressor`` (up to ``--neural-max-rows``, ``--neural-epochs``
   epochs), and the growth exponent: the slope of log(time) against log(n);
2. the speed-up of ``GridSearchCV`` with ``n_jobs=2`` over ``n_jobs=1``;
3. the peak memory of ``predict`` vs n (tracemalloc), next to the size of the input and of
   the output.

Prints Markdown tables (pasted into benchmarks/README.md, section "Scaling")::

    python benchmarks/scaling.py                      # full run
    python benchmarks/scaling.py --max-rows 100000    # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import time
import tracemalloc

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

import sklearn_mtml
from sklearn_mtml import MultiTaskRidge

SIZES = [10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000]


def make_data(n, n_features, n_tasks, seed=0):
    """Long-format data: ``n`` rows spread over ``n_tasks`` tasks of related weights."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    task = rng.integers(n_tasks, size=n)
    W = rng.normal(size=n_features) + 0.3 * rng.normal(size=(n_tasks, n_features))
    y = np.einsum("nd,nd->n", X, W[task]) + rng.normal(size=n)
    frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)])
    frame["task"] = task
    return frame, pd.Series(y, name="y")


def sizes_up_to(max_rows):
    """The sizes of ``SIZES`` below ``max_rows``, then ``max_rows`` itself."""
    return [n for n in SIZES if n < max_rows] + [max_rows]


def timed(fn, repeats):
    """Best wall time and best CPU time (this process) of ``repeats`` calls.

    The best of several calls is the one least disturbed by other load. CPU time counts only
    the work of this process, so on a shared machine it measures growth more faithfully than
    wall time (with ``--threads 1`` nothing runs in parallel, and CPU time ~ work).
    """
    best_wall = best_cpu = np.inf
    for _ in range(repeats):
        gc.collect()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu


def slope(ns, times):
    """Growth exponent: slope of log(time) on log(n)."""
    return float(np.polyfit(np.log(ns), np.log(times), 1)[0])


def neural_estimator(epochs):
    """``MultiTaskNetRegressor`` with a short, CPU, quiet configuration, or None if absent."""
    if "MultiTaskNetRegressor" not in sklearn_mtml.__all__:
        return None
    est = sklearn_mtml.MultiTaskNetRegressor(task_column="task")
    wanted = {
        "max_epochs": epochs,
        "random_state": 0,
        "device": "cpu",
        "verbose": 0,
        "batch_size": 1024,
    }
    params = est.get_params()
    return est.set_params(**{k: v for k, v in wanted.items() if k in params})


def fit_times(make_model, sizes, args, repeats):
    rows = []
    X, y = make_data(sizes[0], args.n_features, args.n_tasks)
    make_model().fit(X, y)  # warm-up: first-call costs (imports, BLAS threads) are not growth
    for n in sizes:
        X, y = make_data(n, args.n_features, args.n_tasks)
        wall, cpu = timed(lambda X=X, y=y: make_model().fit(X, y), repeats)
        rows.append((n, wall, cpu))
        print(f"  n={n:>9,}  fit {wall:8.3f} s wall, {cpu:8.3f} s CPU", flush=True)
    return rows


def predict_memory(model, sizes, args):
    rows = []
    for n in sizes:
        X, _ = make_data(n, args.n_features, args.n_tasks, seed=1)
        gc.collect()
        tracemalloc.start()
        out = model.predict(X)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        input_mb = X.memory_usage(index=False).sum() / 1e6
        rows.append((n, peak / 1e6, np.asarray(out).nbytes / 1e6, input_mb))
        print(f"  n={n:>9,}  predict peak {peak / 1e6:8.1f} MB", flush=True)
        del X, out
    return rows


def grid_search_speedup(args):
    X, y = make_data(args.search_rows, args.n_features, args.n_tasks)
    grid = {"alpha": np.logspace(-2, 3, 6), "shared_alpha": [0.1, 10.0]}

    def search(n_jobs):
        cv = KFold(3, shuffle=True, random_state=0)
        return GridSearchCV(MultiTaskRidge(task_column="task"), grid, cv=cv, n_jobs=n_jobs)

    search(2).fit(X, y)  # start the worker processes once, outside the timing
    one = timed(lambda: search(1).fit(X, y), args.repeats)[0]
    two = timed(lambda: search(2).fit(X, y), args.repeats)[0]
    return one, two, len(grid["alpha"]) * len(grid["shared_alpha"]) * 3


def fit_table(name, rows):
    lines = [
        f"| {name}: n rows | fit, wall (s) | fit, CPU (s) | CPU s / 1M rows |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {n:,} | {w:.3f} | {c:.3f} | {c / n * 1e6:.2f} |" for n, w, c in rows]
    ns, walls, cpus = (np.array(col) for col in zip(*rows, strict=True))
    large = ns >= 100_000

    def exponent(times, keep):
        return slope(ns[keep], times[keep]) if keep.sum() > 1 else float("nan")

    every = np.ones(len(ns), dtype=bool)
    lines.append("")
    lines.append(
        f"Growth exponent (log-log slope of time on n): CPU time **{exponent(cpus, every):.2f}**"
        f" over all n ({exponent(cpus, large):.2f} for n >= 100k); wall time "
        f"{exponent(walls, every):.2f} ({exponent(walls, large):.2f})."
    )
    return "\n".join(lines)


def memory_table(name, rows):
    lines = [
        f"| {name}: n rows | predict peak (MB) | output (MB) | input X (MB) "
        "| peak - output, per row (bytes) |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {n:,} | {peak:.1f} | {out:.1f} | {inp:.1f} | {(peak - out) * 1e6 / n:.0f} |"
        for n, peak, out, inp in rows
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--max-rows",
        type=int,
        default=1_000_000,
        help="largest n for MultiTaskRidge (default 1,000,000)",
    )
    parser.add_argument(
        "--neural-max-rows",
        type=int,
        default=200_000,
        help="largest n for MultiTaskNetRegressor (default 200,000)",
    )
    parser.add_argument("--neural-epochs", type=int, default=2)
    parser.add_argument("--n-features", type=int, default=20)
    parser.add_argument("--n-tasks", type=int, default=50)
    parser.add_argument(
        "--search-rows",
        type=int,
        default=100_000,
        help="rows of the GridSearchCV speed-up measurement",
    )
    parser.add_argument("--repeats", type=int, default=2, help="best of this many fits")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="BLAS and torch threads during the fit timings (default: the libraries' choice)",
    )
    parser.add_argument(
        "--only-memory",
        action="store_true",
        help="only the predict peak memory measurement",
    )
    args = parser.parse_args(argv)

    sizes = sizes_up_to(args.max_rows)
    neural_sizes = sizes_up_to(args.neural_max_rows)
    print(
        f"# sklearn-mtml {sklearn_mtml.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at start), "
        f"{args.n_features} features, {args.n_tasks} tasks (long format)"
    )

    report = []
    net = neural_estimator(args.neural_epochs)
    if args.only_memory:
        report.append(predict_memory_tables(net, sizes, neural_sizes, args))
        print("\n\n".join(report))
        return
    limits = contextlib.nullcontext()
    if args.threads:
        from threadpoolctl import threadpool_limits

        limits = threadpool_limits(args.threads)
    print(f"MultiTaskRidge fit times (threads: {args.threads or 'default'})")
    with limits:
        ridge_rows = fit_times(
            lambda: MultiTaskRidge(task_column="task"), sizes, args, args.repeats
        )
    report.append(fit_table("MultiTaskRidge", ridge_rows))

    if net is None:
        report.append("MultiTaskNetRegressor: not in the package yet, not measured.")
    else:
        import torch
        from sklearn.base import clone

        if args.threads:
            torch.set_num_threads(args.threads)
        print(
            f"  torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"batch_size {net.get_params().get('batch_size')}"
        )
        print("MultiTaskNetRegressor fit times")
        with limits:
            net_rows = fit_times(lambda: clone(net), neural_sizes, args, min(args.repeats, 2))
        report.append(fit_table(f"MultiTaskNetRegressor ({args.neural_epochs} epochs)", net_rows))

    print("GridSearchCV speed-up")
    one, two, n_fits = grid_search_speedup(args)
    report.append(
        f"GridSearchCV(MultiTaskRidge), {n_fits} fits on {args.search_rows:,} rows: "
        f"n_jobs=1 {one:.2f} s, n_jobs=2 {two:.2f} s, speed-up **{one / two:.2f}x**."
    )

    report.append(predict_memory_tables(net, sizes, neural_sizes, args))
    print()
    print("\n\n".join(report))


def predict_memory_tables(net, sizes, neural_sizes, args):
    """Peak memory of ``predict`` vs n, for MultiTaskRidge and (when given) the net."""
    from sklearn.base import clone

    print("predict peak memory")
    X, y = make_data(sizes[0], args.n_features, args.n_tasks)
    ridge = MultiTaskRidge(task_column="task").fit(X, y)
    tables = [memory_table("MultiTaskRidge", predict_memory(ridge, sizes, args))]
    if net is not None:
        fitted = clone(net).fit(X, y)
        tables.append(
            memory_table("MultiTaskNetRegressor", predict_memory(fitted, neural_sizes, args))
        )
    return "\n\n".join(tables)


if __name__ == "__main__":
    main()

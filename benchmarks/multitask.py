"""Neural multi-task nets: sharing architectures x task balancing vs ``"independent"``.

Two data sets, mean ± std over ``--splits`` random splits, fit time per model:

* **School** (long format, 139 schools): the protocol of ``benchmarks/school.py`` -- per
  school a random 30% of the students for training, the rest for test
  (:class:`~sklearn_mtml.model_selection.TaskShuffleSplit`), features z-scored on the
  training part, pooled explained variance ``EV = 1 - SSE/SST`` over all test students, in %.
  Classic references on the same splits: one ridge per school and ``MultiTaskRidgeCV``.
* **Related tasks** (wide, synthetic): 6 regression tasks that share a nonlinear latent
  representation (each task a different mix of the same 4 hidden units, plus noise), 40% of
  the labels of tasks 1-5 missing, 600 training rows, 2,000 test rows; mean over tasks of
  the test R² (the estimators' ``score``).

Every neural model uses the same settings (no tuning on test data): Adam, lr 1e-3, batch
128, at most 200 epochs with early stopping on 10% of the training rows (patience 10),
``random_state`` = split index. Settings were chosen once on an exploratory School split
(seed 0); the reported splits use other seeds.

``head_shrinkage`` (task heads pulled towards their mean head): the School rows with it use
the value of :data:`HEAD_SHRINKAGE`, chosen on the exploratory split (``--split-seed 0
--splits 1 --head-shrinkage ...``); ``--head-shrinkage`` adds rows for other values.

Run (prints Markdown, pasted into benchmarks/README.md, section "Multi-task nets")::

    python benchmarks/multitask.py --splits 3
    # the head_shrinkage sweep only (exploration: --split-seed 0 --splits 1)
    python benchmarks/multitask.py --splits 3 --only school --weightings fixed \
        --architectures independent shared_bottom --head-shrinkage 1 10 100 1000
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.linear_model import RidgeCV
from sklearn.preprocessing import StandardScaler

from sklearn_mtml.datasets import load_school
from sklearn_mtml.linear import MultiTaskRidgeCV
from sklearn_mtml.metrics import pooled_explained_variance
from sklearn_mtml.model_selection import TaskShuffleSplit
from sklearn_mtml.neural import MultiTaskNetRegressor

TASK = "school"
COMMON = dict(optimizer="adam", lr=1e-3, batch_size=128, max_epochs=200, early_stopping=True,
              validation_fraction=0.1, n_iter_no_change=10, device="cpu")
SIZES = {
    "independent": dict(hidden_layer_sizes=(16,)),
    "shared_bottom": dict(hidden_layer_sizes=(32,)),
    "cross_stitch": dict(hidden_layer_sizes=(16,)),
    "mmoe": dict(hidden_layer_sizes=(32,), architecture_params={"n_experts": 4}),
    "ple": dict(hidden_layer_sizes=(32,), architecture_params={"n_experts": 2, "n_levels": 1}),
    "shared_private": dict(hidden_layer_sizes=(16,)),
}


#: head_shrinkage per architecture on School, chosen on the exploratory split (seed 0), by
#: target_scaling
HEAD_SHRINKAGE = {"independent": 100.0, "shared_bottom": 1000.0}
HEAD_SHRINKAGE_POOLED = {"independent": 100.0, "shared_bottom": 1000.0}


def school_models(full: bool):
    """(architecture, weighting) pairs run on School (gradient methods cost one backward
    pass per task present in a batch: with 139 tasks only PCGrad on shared_bottom)."""
    pairs = [("independent", "fixed"), ("shared_bottom", "fixed"),
             ("shared_bottom", "uncertainty"), ("shared_bottom", "dwa"),
             ("shared_bottom", "pcgrad"), ("mmoe", "fixed"), ("mmoe", "uncertainty"),
             ("ple", "fixed"), ("ple", "uncertainty"), ("cross_stitch", "fixed"),
             ("shared_private", "fixed")]
    if full:
        pairs += [("shared_bottom", "mgda"), ("shared_bottom", "gradnorm")]
    return pairs


WIDE_WEIGHTINGS = ["fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda", "cagrad"]


def _net(architecture, weighting, seed, **extra):
    return MultiTaskNetRegressor(architecture=architecture, loss_weighting=weighting,
                                 random_state=seed, **SIZES[architecture], **COMMON, **extra)


# ----------------------------------------------------------------------------- School
class _IndependentRidge:
    def fit(self, X, y):
        self.models_ = {s: RidgeCV(alphas=np.logspace(-2, 4, 25)).fit(
            rows.drop(columns=TASK), y[rows.index]) for s, rows in X.groupby(TASK)}
        return self

    def predict(self, X):
        out = pd.Series(np.nan, index=X.index)
        for s, rows in X.groupby(TASK):
            out[rows.index] = self.models_[s].predict(rows.drop(columns=TASK))
        return out.to_numpy()


def _with_shrinkage(pairs, values, chosen_values=HEAD_SHRINKAGE):
    """(architecture, weighting, head_shrinkage) rows: every pair as it is (0), then the
    chosen value and the ``values`` for the architectures of ``chosen_values``."""
    rows = [(a, w, 0.0) for a, w in pairs]
    for a, w in pairs:
        if a not in chosen_values or w != "fixed":
            continue
        chosen = [] if chosen_values[a] is None else [chosen_values[a]]
        for value in sorted(set(chosen) | set(values or ())):
            if value > 0:
                rows.append((a, w, float(value)))
    return rows


def _school_name(architecture, weighting, head_shrinkage, target_scaling="task"):
    name = f"{architecture} / {weighting}"
    if target_scaling != "task":
        name += f", target_scaling={target_scaling}"
    chosen = HEAD_SHRINKAGE_POOLED if target_scaling == "pooled" else HEAD_SHRINKAGE
    if head_shrinkage:
        name += f", head_shrinkage={head_shrinkage:g}"
        if head_shrinkage == chosen.get(architecture):
            name += " (chosen)"
    return name


def run_school(n_splits: int, full: bool, only=None, weightings=None, shrinkage=None,
               split_seed: int = 1, target_scaling: str = "task"):
    school = load_school(as_frame=True)
    X, y = school.data, school.target.to_numpy()
    features = [c for c in X.columns if c != TASK]
    splitter = TaskShuffleSplit(n_splits=n_splits, train_size=0.3, random_state=split_seed,
                                task_column=TASK)
    pairs = [(a, w) for a, w in school_models(full)
             if (only is None or a in only) and (weightings is None or w in weightings)]
    chosen = HEAD_SHRINKAGE_POOLED if target_scaling == "pooled" else HEAD_SHRINKAGE
    makers = {_school_name(a, w, h, target_scaling): (lambda a=a, w=w, h=h, s=0: _net(
        a, w, s, task_column=TASK, target_scaling=target_scaling,
        **({"head_shrinkage": h} if h else {})))
        for a, w, h in _with_shrinkage(pairs, shrinkage, chosen)}
    makers["ridge per school (RidgeCV)"] = lambda s=0: _IndependentRidge()
    makers["MultiTaskRidgeCV"] = lambda s=0: MultiTaskRidgeCV(
        alphas=np.logspace(0, 5, 11), shared_alphas=np.logspace(-1, 3, 5), task_column=TASK)
    results = {name: {"score": [], "time": [], "epochs": []} for name in makers}
    for split, (train, test) in enumerate(splitter.split(X)):
        X_train, X_test = X.iloc[train].copy(), X.iloc[test].copy()
        scaler = StandardScaler().fit(X_train[features])
        X_train[features] = scaler.transform(X_train[features])
        X_test[features] = scaler.transform(X_test[features])
        X_train.index = pd.RangeIndex(len(X_train))
        for name, make in makers.items():
            start = time.perf_counter()
            model = make(s=split).fit(X_train, y[train])
            results[name]["time"].append(time.perf_counter() - start)
            results[name]["score"].append(
                100 * pooled_explained_variance(y[test], model.predict(X_test)))
            results[name]["epochs"].append(getattr(model, "n_iter_", np.nan))
        print(f"School split {split + 1}/{n_splits} done", flush=True)
    return results


# ----------------------------------------------------------------------------- wide
def related_tasks(seed: int, n_train: int = 600, n_test: int = 2000, n_tasks: int = 6):
    rng = np.random.default_rng(seed)
    d, hidden = 20, 4
    W1 = rng.normal(size=(d, hidden)) / np.sqrt(d)
    mix = rng.normal(size=(hidden, n_tasks))
    X = rng.normal(size=(n_train + n_test, d))
    H = np.tanh(3 * X @ W1)
    Y = H @ mix * np.array([1, 5, 20, 1, 100, 3]) + 0.3 * rng.normal(size=(len(X), n_tasks))
    Y_train = Y[:n_train].copy()
    Y_train[:, 1:][rng.random((n_train, n_tasks - 1)) < 0.4] = np.nan
    return X[:n_train], Y_train, X[n_train:], Y[n_train:]


def run_wide(n_splits: int, only=None):
    results = {}
    for split in range(n_splits):
        X, Y, X_test, Y_test = related_tasks(100 + split)
        scaler = StandardScaler().fit(X)
        X, X_test = scaler.transform(X), scaler.transform(X_test)
        for architecture in [a for a in SIZES if only is None or a in only]:
            for weighting in (["fixed"] if architecture == "independent" else WIDE_WEIGHTINGS):
                name = f"{architecture} / {weighting}"
                start = time.perf_counter()
                model = _net(architecture, weighting, split).fit(X, Y)
                record = results.setdefault(name, {"score": [], "time": [], "epochs": []})
                record["time"].append(time.perf_counter() - start)
                record["score"].append(model.score(X_test, Y_test))
                record["epochs"].append(model.n_iter_)
        print(f"wide split {split + 1}/{n_splits} done", flush=True)
    return results


def table(results, metric: str, reference: str) -> str:
    ref = np.asarray(results[reference]["score"])
    lines = [f"| model (architecture / loss_weighting) | {metric} | vs independent "
             "(paired) | fit time (s) | epochs |",
             "|---|---:|---:|---:|---:|"]
    for name, r in results.items():
        s = np.asarray(r["score"])
        diff = s - ref
        epochs = "" if np.isnan(r["epochs"]).all() else f"{np.nanmean(r['epochs']):.0f}"
        lines.append(
            f"| {name} | {s.mean():.2f} ± {s.std():.2f} | {diff.mean():+.2f} "
            f"| {np.mean(r['time']):.1f} | {epochs} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--full", action="store_true",
                        help="also MGDA and GradNorm on School (slow: 139 tasks)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads (1: small nets, shared machine)")
    parser.add_argument("--only", choices=["school", "wide"], default=None)
    parser.add_argument("--architectures", nargs="*", default=None,
                        help="restrict to these architectures (plus the references)")
    parser.add_argument("--weightings", nargs="*", default=None,
                        help="School: restrict to these loss weightings")
    parser.add_argument("--head-shrinkage", nargs="*", type=float, default=None,
                        help="School: also these head_shrinkage values (independent and "
                             "shared_bottom, fixed weighting)")
    parser.add_argument("--target-scaling", choices=["task", "pooled"], default="task",
                        help="School: target_scaling of the nets")
    parser.add_argument("--split-seed", type=int, default=1,
                        help="School: random_state of the splits (0: the exploratory one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"Python {platform.python_version()}, torch {torch.__version__}, scikit-learn "
          f"{sklearn.__version__}, torch threads {torch.get_num_threads()}, "
          f"{args.splits} splits\n")
    if args.only != "wide":
        school = run_school(args.splits, args.full, args.architectures, args.weightings,
                            args.head_shrinkage, args.split_seed, args.target_scaling)
        print("\n### School (long format, EV %)\n")
        reference = _school_name("independent", "fixed", 0.0, args.target_scaling)
        print(table(school, "EV % (mean ± std)", reference))
    if args.only != "school":
        wide = run_wide(args.splits, args.architectures)
        print("\n### Related tasks (wide, 40% labels missing, mean test R²)\n")
        print(table(wide, "R² (mean ± std)", "independent / fixed"))


if __name__ == "__main__":
    main()

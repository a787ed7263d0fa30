"""School exam scores: every classic estimator of sklearn-mtml against the usual baselines.

Protocol (MALSAR manual, section 5.2): per school a random 30% of the students for training,
the rest for test (:class:`~sklearn_mtml.model_selection.TaskShuffleSplit`); features
z-scored on the training part; ``--splits`` random splits. Every hyper-parameter is tuned on
the training part only: exact leave-one-out for the ridge family (``RidgeCV``,
``MultiTaskRidgeCV``), a 3-fold task-stratified inner CV (``TaskKFold``) with
``GridSearchCV`` for the others. Reported: pooled explained variance ``EV = 1 - SSE/SST``
over all test students (in %) and the mean over schools of the per-school RMSE, mean ± std
over splits. Then the fit time of ``MultiTaskRidge`` over sklearn's ``Ridge`` on the same
pooled data (all 15,362 students), median of interleaved repeats.

Prints Markdown (pasted into benchmarks/README.md, section "School")::

    python benchmarks/school.py                  # 10 splits, full grids
    python benchmarks/school.py --quick          # 2 splits, small grids
    python benchmarks/school.py --defaults --splits 5   # untuned defaults only
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from collections import Counter
from collections.abc import Callable

import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_mtml.datasets import load_school
from sklearn_mtml.linear import (
    ClusteredMultiTaskRegressor,
    LowRankMultiTaskRegressor,
    MultiTaskL21Regressor,
    MultiTaskRidge,
    MultiTaskRidgeCV,
    SharedPCARegressor,
)
from sklearn_mtml.metrics import per_task_rmse, pooled_explained_variance
from sklearn_mtml.model_selection import TaskKFold, TaskShuffleSplit

TASK = "school"
RIDGE_ALPHAS = np.logspace(-2, 4, 25)


# ----------------------------------------------------------------------------- baselines
class IndependentRidge:
    """One ``RidgeCV`` (leave-one-out over ``RIDGE_ALPHAS``) per school."""

    def fit(self, X, y):
        self.models_ = {
            school: RidgeCV(alphas=RIDGE_ALPHAS).fit(rows.drop(columns=TASK), y[rows.index])
            for school, rows in X.groupby(TASK)
        }
        return self

    def predict(self, X):
        out = pd.Series(np.nan, index=X.index)
        for school, rows in X.groupby(TASK):
            out[rows.index] = self.models_[school].predict(rows.drop(columns=TASK))
        return out.to_numpy()

    def params(self):
        return {"alpha (median)": float(np.median([m.alpha_ for m in self.models_.values()]))}


class PooledRidge:
    """``RidgeCV`` on the features of every school together, optionally + school one-hot."""

    def __init__(self, school_intercept: bool):
        self.school_intercept = school_intercept

    def _design(self, X):
        features = X.drop(columns=TASK).to_numpy()
        if not self.school_intercept:
            return features
        onehot = (X[TASK].to_numpy()[:, None] == self.schools_[None, :]).astype(float)
        return np.hstack([features, onehot])

    def fit(self, X, y):
        self.schools_ = np.unique(X[TASK])
        self.model_ = RidgeCV(alphas=RIDGE_ALPHAS).fit(self._design(X), y)
        return self

    def predict(self, X):
        return self.model_.predict(self._design(X))

    def params(self):
        return {"alpha": float(self.model_.alpha_)}


# ----------------------------------------------------------------------------- package models
def _searched(estimator, grid: dict, seed: int) -> GridSearchCV:
    inner = TaskKFold(n_splits=3, shuffle=True, random_state=seed, task_column=TASK)
    return GridSearchCV(estimator, grid, cv=inner, scoring="neg_mean_squared_error")


def models(quick: bool, seed: int) -> dict[str, Callable[[], object]]:
    """Model name -> factory of an unfitted, self-tuning model."""
    intercepts = [3.0, 10.0, 30.0, 100.0]
    l21 = {"alpha": [0.01, 0.03, 0.1] if quick else [0.003, 0.01, 0.03, 0.1, 0.3],
           "penalize_intercepts": [False, True]}
    low_rank = {"alpha": [0.05, 0.1, 0.2] if quick else [0.03, 0.05, 0.1, 0.15, 0.2, 0.3],
                "penalize_intercepts": [True] if quick else [False, True]}
    clustered = {"n_clusters": [1, 3], "alpha": [1.0],
                 "ridge_alpha": [3e-4, 1e-3] if quick else [3e-4, 1e-3, 3e-3],
                 "penalize_intercepts": [True]}
    pca = {"n_components": [10, None] if quick else [5, 10, 15, 20, None],
           "alpha": [3.0, 10.0, 30.0]}
    return {
        "independent ridge per school": IndependentRidge,
        "pooled ridge": lambda: PooledRidge(school_intercept=False),
        "pooled ridge + school intercept (one-hot)": lambda: PooledRidge(school_intercept=True),
        "MultiTaskRidgeCV (intercept_alpha = alpha)": lambda: MultiTaskRidgeCV(
            alphas=np.logspace(0, 5, 11), shared_alphas=np.logspace(-1, 3, 5),
            task_column=TASK),
        "MultiTaskRidgeCV (intercept_alphas grid)": lambda: MultiTaskRidgeCV(
            alphas=np.logspace(0, 5, 11), shared_alphas=np.logspace(-1, 3, 5),
            intercept_alphas=intercepts, task_column=TASK),
        "MultiTaskL21Regressor": lambda: _searched(
            MultiTaskL21Regressor(task_column=TASK), l21, seed),
        "LowRankMultiTaskRegressor": lambda: _searched(
            LowRankMultiTaskRegressor(task_column=TASK), low_rank, seed),
        "ClusteredMultiTaskRegressor": lambda: _searched(
            ClusteredMultiTaskRegressor(task_column=TASK, tol=1e-4, max_iter=2000),
            clustered, seed),
        "SharedPCARegressor": lambda: _searched(
            SharedPCARegressor(task_column=TASK), pca, seed),
    }


def default_models() -> dict[str, Callable[[], object]]:
    """Model name -> factory of the estimator with its defaults (nothing tuned by hand)."""
    return {
        "pooled ridge + school intercept (one-hot)": lambda: PooledRidge(school_intercept=True),
        "MultiTaskRidgeCV()": lambda: MultiTaskRidgeCV(task_column=TASK),
        "MultiTaskL21Regressor()": lambda: MultiTaskL21Regressor(task_column=TASK),
        "LowRankMultiTaskRegressor()": lambda: LowRankMultiTaskRegressor(task_column=TASK),
        "ClusteredMultiTaskRegressor()": lambda: ClusteredMultiTaskRegressor(task_column=TASK),
    }


def default_params(model) -> dict:
    out = {}
    for name in ["alpha_", "intercept_alpha_", "shared_alpha_", "ridge_alpha_", "n_iter_",
                 "rank_"]:
        if hasattr(model, name):
            out[name] = getattr(model, name)
    if hasattr(model, "support_"):
        out["support"] = int(model.support_.sum())
    if hasattr(model, "coef_"):
        out["all zero"] = bool(not np.any(model.coef_))
    return out or model.params()


def chosen_params(model) -> dict:
    if isinstance(model, GridSearchCV):
        return model.best_params_
    if isinstance(model, MultiTaskRidgeCV):
        return {"alpha": model.alpha_, "shared_alpha": model.shared_alpha_,
                "intercept_alpha": model.intercept_alpha_}
    return model.params()


# ----------------------------------------------------------------------------- protocol
def evaluate(n_splits: int, quick: bool, seed: int, defaults: bool = False):
    school = load_school(as_frame=True)
    X, y = school.data, school.target.to_numpy()
    features = [c for c in X.columns if c != TASK]
    splitter = TaskShuffleSplit(n_splits=n_splits, train_size=0.3, random_state=seed,
                                task_column=TASK)
    factories = default_models() if defaults else models(quick, seed)
    describe = default_params if defaults else chosen_params
    scores = {name: {"ev": [], "rmse": [], "time": [], "params": []} for name in factories}
    for split, (train, test) in enumerate(splitter.split(X)):
        X_train, X_test = X.iloc[train].copy(), X.iloc[test].copy()
        scaler = StandardScaler().fit(X_train[features])
        X_train[features] = scaler.transform(X_train[features])
        X_test[features] = scaler.transform(X_test[features])
        y_train, y_test = y[train], y[test]
        X_train.index = pd.RangeIndex(len(X_train))  # y is indexed by position
        for name, make in factories.items():
            start = time.perf_counter()
            model = make().fit(X_train, y_train)
            elapsed = time.perf_counter() - start
            pred = model.predict(X_test)
            record = scores[name]
            record["ev"].append(100 * pooled_explained_variance(y_test, pred))
            record["rmse"].append(per_task_rmse(y_test, pred, task_ids=X_test[TASK],
                                                multioutput="uniform_average"))
            record["time"].append(elapsed)
            record["params"].append(describe(model))
        print(f"split {split + 1}/{n_splits} done", flush=True)
    return scores


def fit_time_ratio(repeats: int) -> dict:
    """MultiTaskRidge / Ridge fit time on all of School (the pooled data), interleaved."""
    X, y = load_school(return_X_y=True)  # column 0 is the school id
    features = X[:, 1:]
    multi = MultiTaskRidge(alpha=100.0, shared_alpha=10.0, task_column=0)
    pooled = Ridge(alpha=10.0)
    out = {}
    for label, threads in [("default BLAS threads", None), ("1 BLAS thread", 1)]:
        with threadpool_limits(threads):
            wall = {"multi": [], "pooled": []}
            cpu = {"multi": [], "pooled": []}
            multi.fit(X, y)
            pooled.fit(features, y)
            for _ in range(repeats):
                for key, fit in [("multi", lambda: multi.fit(X, y)),
                                 ("pooled", lambda: pooled.fit(features, y))]:
                    w, c = time.perf_counter(), time.process_time()
                    fit()
                    wall[key].append(time.perf_counter() - w)
                    cpu[key].append(time.process_time() - c)
        out[label] = {
            "MultiTaskRidge wall (ms)": 1e3 * np.median(wall["multi"]),
            "Ridge wall (ms)": 1e3 * np.median(wall["pooled"]),
            "ratio (wall)": np.median(wall["multi"]) / np.median(wall["pooled"]),
            "ratio (CPU time)": np.median(cpu["multi"]) / np.median(cpu["pooled"]),
        }
    return out


def _common(values: list[dict]) -> str:
    counts = Counter(tuple(sorted((k, _short(v)) for k, v in d.items())) for d in values)
    best, n = counts.most_common(1)[0]
    return ", ".join(f"{k}={v}" for k, v in best) + f" ({n}/{len(values)})"


def _short(value):
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=10, help="random 30/70 splits")
    parser.add_argument("--quick", action="store_true", help="2 splits, small grids")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=31, help="fit-time repeats")
    parser.add_argument("--defaults", action="store_true",
                        help="only the estimators with their defaults (and the baseline)")
    args = parser.parse_args()
    n_splits = 2 if args.quick else args.splits
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    scores = evaluate(n_splits, args.quick, args.seed, defaults=args.defaults)
    print(f"\nSchool, {n_splits} splits (seed {args.seed}); Python {platform.python_version()},"
          f" scikit-learn {sklearn.__version__}, numpy {np.__version__}\n")
    print("| model | EV % (mean ± std) | per-school RMSE (mean ± std) | fit (s) | "
          "chosen (most frequent) |")
    print("|---|---:|---:|---:|---|")
    for name, rec in scores.items():
        ev, rmse = np.array(rec["ev"]), np.array(rec["rmse"])
        print(f"| {name} | {ev.mean():.2f} ± {ev.std():.2f} | {rmse.mean():.3f} ± "
              f"{rmse.std():.3f} | {np.mean(rec['time']):.2f} | {_common(rec['params'])} |")

    reference = "pooled ridge + school intercept (one-hot)"
    print(f"\nPaired over the same splits, EV % minus that of {reference!r}:\n")
    print("| model | mean difference ± std | splits where higher |")
    print("|---|---:|---:|")
    base = np.array(scores[reference]["ev"])
    for name, rec in scores.items():
        if name.startswith("MultiTaskRidgeCV") or args.defaults:
            diff = np.array(rec["ev"]) - base
            print(f"| {name} | {diff.mean():+.2f} ± {diff.std():.2f} | "
                  f"{int(np.sum(diff > 0))}/{len(diff)} |")

    if args.defaults:
        return
    print("\nFit time on all 15,362 students (MultiTaskRidge, long format with the school "
          f"column, vs Ridge on the 27 features), median of {args.repeats} interleaved "
          "repeats:\n")
    print("| BLAS threads | MultiTaskRidge (ms) | Ridge (ms) | ratio (wall) | ratio (CPU) |")
    print("|---|---:|---:|---:|---:|")
    for label, row in fit_time_ratio(args.repeats).items():
        print(f"| {label} | {row['MultiTaskRidge wall (ms)']:.2f} | "
              f"{row['Ridge wall (ms)']:.2f} | {row['ratio (wall)']:.2f} | "
              f"{row['ratio (CPU time)']:.2f} |")


if __name__ == "__main__":
    main()

"""The package's main job: a demo on bundled real data that prints results tables.

Run ``python -m sklearn_mtml --help`` (or the ``sklearn-mtml`` console script).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: (splits, epochs) per mode. The quick mode must finish in <= 3 minutes on 2 CPU cores.
_MODES = {
    "quick": {"splits": 1, "epochs": 60, "cv": 2},
    "full": {"splits": 3, "epochs": 200, "cv": 3},
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sklearn_mtml",
        description=(
            "sklearn-mtml demo on bundled real data. School (139 schools = 139 regression "
            "tasks, long format): classic baselines, MultiTaskRidge and a neural multi-task "
            "net, tuned by GridSearchCV on the training split only. Multiple Features (six "
            "views of handwritten digits): late fusion and a multi-modal net against "
            "concatenated logistic regression. Prints results tables and saves plots."
        ),
    )
    parser.add_argument(
        "--dataset", choices=["school", "mfeat", "all"], default="all",
        help="which demo to run (default: all)",
    )
    parser.add_argument(
        "--mode", choices=sorted(_MODES), default="quick",
        help="quick: one split, few epochs (<= 3 min on 2 cores); full: 3 splits, more epochs",
    )
    parser.add_argument(
        "--device", default="auto",
        help="torch device for the neural models: auto (CUDA when present), cpu, cuda",
    )
    parser.add_argument(
        "--output", default="mtml_demo_output",
        help="folder for plots and CSV results (default: ./mtml_demo_output)",
    )
    parser.add_argument("--no-neural", action="store_true", help="classic estimators only")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    return parser


def _print_table(title: str, table: pd.DataFrame) -> None:
    print(f"\n{title}")
    print("-" * len(title))
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        print(table.to_string(float_format=lambda v: f"{v:.3f}"))


def _threads(device: str) -> int | None:
    """The demo's nets are small: on a CPU one intra-op thread is the fastest (measured 3-4x
    faster than two threads on 2 cores); on a GPU leave torch's default."""
    return 1 if device == "cpu" or device == "auto" and not _cuda() else None


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _neural_available() -> bool:
    try:
        import sklearn_mtml

        sklearn_mtml.MultiTaskNetRegressor  # noqa: B018 - import check
        return True
    except (ImportError, AttributeError):
        return False


# ----------------------------------------------------------------------------- School
def _school_models(settings, device, seed, neural):
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import sklearn_mtml
    from sklearn_mtml import (
        LowRankMultiTaskRegressor,
        MultiTaskL21Regressor,
        MultiTaskRidgeCV,
        SharedPCARegressor,
    )
    from sklearn_mtml.model_selection import TaskKFold

    alphas = np.logspace(-2, 4, 13)
    pooled = ColumnTransformer([("drop_task", "drop", ["school"])], remainder="passthrough")
    with_intercept = ColumnTransformer(
        [("school", OneHotEncoder(handle_unknown="ignore"), ["school"])],
        remainder="passthrough",
    )
    models = {
        "pooled ridge (ignores tasks)": make_pipeline(pooled, RidgeCV(alphas=alphas)),
        "pooled ridge + school intercept": make_pipeline(with_intercept, RidgeCV(alphas=alphas)),
        # Exact leave-one-out over the whole penalty grid (weights, intercepts, shared part).
        "MultiTaskRidgeCV": MultiTaskRidgeCV(
            alphas=np.logspace(0, 5, 11),
            shared_alphas=np.logspace(-1, 3, 5),
            intercept_alphas=[3.0, 10.0, 30.0, 100.0],
            task_column="school",
        ),
        # Penalties as chosen most often by inner CV in benchmarks/school.py.
        "LowRankMultiTaskRegressor": LowRankMultiTaskRegressor(
            alpha=0.15, penalize_intercepts=True, task_column="school"
        ),
        "MultiTaskL21Regressor": MultiTaskL21Regressor(
            alpha=0.1, penalize_intercepts=True, task_column="school"
        ),
        "SharedPCARegressor": SharedPCARegressor(
            n_components=10, alpha=10.0, task_column="school"
        ),
    }
    if neural:
        net = sklearn_mtml.MultiTaskNetRegressor(
            task_column="school",
            hidden_layer_sizes=(64, 32),
            dropout=0.2,
            weight_decay=1e-2,
            max_epochs=settings["epochs"],
            early_stopping=True,
            batch_size=128,
            random_state=seed,
            device=device,
            n_threads=_threads(device),
        )
        # The same net without sharing: what multi-task learning gains over it.
        models["MultiTaskNetRegressor (independent)"] = clone(net).set_params(
            architecture="independent"
        )
        # Shared trunk, school heads shrunk towards their mean (levels too: pooled target
        # scaling), the strength chosen by cross-validation.
        models["MultiTaskNetRegressor (shared_bottom, GridSearchCV)"] = GridSearchCV(
            clone(net).set_params(target_scaling="pooled"),
            {"head_shrinkage": [100.0, 1000.0]},
            cv=TaskKFold(settings["cv"], shuffle=True, random_state=seed, task_column="school"),
        )
    scaler = ColumnTransformer(
        [("scale", StandardScaler(), [f"x{j:02d}" for j in range(27)])],
        remainder="passthrough",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    return scaler, models


def _chosen(model) -> dict:
    """Hyper-parameters a self-tuning model chose (GridSearchCV or a *CV estimator)."""
    if hasattr(model, "best_params_"):
        return model.best_params_
    return {k: getattr(model, k) for k in ("alpha_", "shared_alpha_", "intercept_alpha_")
            if hasattr(model, k)}


def run_school(settings, device, seed, neural, output: Path) -> pd.DataFrame:
    """School: per-model pooled EV % and per-task RMSE under the MALSAR protocol."""
    from sklearn.base import clone

    from sklearn_mtml.datasets import load_school
    from sklearn_mtml.metrics import per_task_rmse, pooled_explained_variance
    from sklearn_mtml.model_selection import TaskShuffleSplit

    data = load_school(as_frame=True)
    X, y = data.data, data.target
    scaler, models = _school_models(settings, device, seed, neural)
    splitter = TaskShuffleSplit(
        n_splits=settings["splits"], train_size=0.3, random_state=seed, task_column="school"
    )
    rows, per_task = [], {}
    for split, (train, test) in enumerate(splitter.split(X)):
        prep = clone(scaler).fit(X.iloc[train])
        X_train, X_test = prep.transform(X.iloc[train]), prep.transform(X.iloc[test])
        y_train, y_test = y.iloc[train], y.iloc[test]
        for name, model in models.items():
            model = clone(model)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_time = time.perf_counter() - start
            pred = model.predict(X_test)
            rmse = per_task_rmse(y_test, pred, task_ids=X_test["school"])
            schools = sorted(set(X_test["school"]))
            per_task.setdefault(name, []).append(pd.Series(rmse, index=schools))
            best = _chosen(model)
            rows.append(
                {
                    "model": name,
                    "split": split,
                    "EV %": 100 * pooled_explained_variance(y_test, pred),
                    "mean task RMSE": float(np.mean(rmse)),
                    "fit s": fit_time,
                    "chosen": ", ".join(
                        f"{k.rstrip('_')}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in best.items()
                    ),
                }
            )
    results = pd.DataFrame(rows)
    table = results.groupby("model", sort=False).agg(
        **{
            "EV % mean": ("EV %", "mean"),
            "EV % std": ("EV %", "std"),
            "task RMSE": ("mean task RMSE", "mean"),
            "fit s": ("fit s", "mean"),
            "chosen (last split)": ("chosen", "last"),
        }
    )
    _print_table(
        f"School: 139 tasks, 30 % of each school for training, {settings['splits']} split(s) "
        "(published: pooled + intercept 36.3, MTL 35.7 EV %)",
        table.fillna(0.0),
    )
    per_task_table = pd.DataFrame(
        {name: pd.concat(v, axis=1).mean(axis=1) for name, v in per_task.items()}
    )
    per_task_table.index.name = "school"
    output.mkdir(parents=True, exist_ok=True)
    per_task_table.to_csv(output / "school_per_task_rmse.csv")
    baseline = "pooled ridge + school intercept"
    # The package's best model (the first two rows are sklearn baselines).
    best_model = table["EV % mean"].iloc[2:].idxmax()

    gain = (per_task_table[baseline] - per_task_table[best_model]).sort_values()
    _print_table(
        f"School per task: RMSE of '{best_model}' vs '{baseline}' (largest changes)",
        per_task_table.loc[list(gain.index[:3]) + list(gain.index[-3:]), [baseline, best_model]],
    )
    _plot_school(per_task_table, baseline, best_model, output)
    return table


def _plot_school(per_task_table, baseline, best_model, output: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plots)")
        return
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(per_task_table[baseline], per_task_table[best_model], s=12)
    lo = float(per_task_table[[baseline, best_model]].min().min())
    hi = float(per_task_table[[baseline, best_model]].max().max())
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(f"{baseline}: task RMSE")
    ax.set_ylabel(f"{best_model}: task RMSE")
    ax.set_title("School: per-school test RMSE")
    fig.tight_layout()
    path = output / "school_per_task_rmse.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")


# ----------------------------------------------------------------------------- mfeat
def run_mfeat(settings, device, seed, neural, output: Path) -> pd.DataFrame:
    """Multiple Features: stratified CV accuracy of multi-view models vs concatenation."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, StratifiedShuffleSplit, cross_validate
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import sklearn_mtml
    from sklearn_mtml.datasets import load_multiple_features

    data = load_multiple_features(as_frame=True)
    X, y = data.data, data.target
    if settings["splits"] > 1:
        cv, protocol = StratifiedKFold(5, shuffle=True, random_state=seed), "5-fold CV"
    else:
        cv = StratifiedShuffleSplit(1, test_size=0.3, random_state=seed)
        protocol = "one stratified 70/30 split"
    models = {
        "all views concatenated, StandardScaler + LogisticRegression": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "LateFusionClassifier (one model per view, stacked)": sklearn_mtml.LateFusionClassifier(
            modalities=data.views, cv=3
        ),
    }
    if neural:
        models["MultiModalClassifier (default: attention fusion)"] = (
            sklearn_mtml.MultiModalClassifier(
                modalities=data.views, random_state=seed, device=device, n_threads=_threads(device)
            )
        )
    rows = []
    for name, model in models.items():
        scores = cross_validate(model, X, y, cv=cv, scoring="accuracy")
        rows.append(
            {
                "model": name,
                "accuracy mean": scores["test_score"].mean(),
                "accuracy std": scores["test_score"].std(),
                "fit s": scores["fit_time"].mean(),
            }
        )
    table = pd.DataFrame(rows).set_index("model")
    _print_table(
        f"Multiple Features: 6 views, 2,000 digits, accuracy over {protocol} "
        "(measured: concatenated LogisticRegression 0.983)",
        table,
    )
    output.mkdir(parents=True, exist_ok=True)
    table.to_csv(output / "mfeat_accuracy.csv")
    return table


def main(argv=None) -> int:
    """Entry point of ``python -m sklearn_mtml`` and the ``sklearn-mtml`` script."""
    args = _parser().parse_args(argv)
    settings = _MODES[args.mode]
    output = Path(args.output)
    neural = not args.no_neural and _neural_available()
    if not neural and not args.no_neural:
        print("(neural estimators unavailable: running the classic estimators only)")
    os.environ.setdefault("PYTHONHASHSEED", str(args.seed))
    start = time.perf_counter()
    if args.dataset in ("school", "all"):
        run_school(settings, args.device, args.seed, neural, output)
    if args.dataset in ("mfeat", "all"):
        run_mfeat(settings, args.device, args.seed, neural, output)
    try:
        import matplotlib  # noqa: F401

        saved = "results and plots"
    except ImportError:
        saved = "results (no plots: pip install 'sklearn-mtml[plot]')"
    print(f"\nDone in {time.perf_counter() - start:.0f} s; {saved} in {output}/")
    return 0

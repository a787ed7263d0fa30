"""Predictions of a fixed set of neural configurations, to check that a refactoring changes
no result: run it under two checkouts and compare the two files.

Every architecture, several balancing methods, long format with head shrinkage, early
stopping, keep-last-good, warm start, partial_fit, a classifier, the mixed estimator and
five multi-modal fusions (Multiple Features, a modality missing in some rows)::

    PYTHONPATH=/path/to/old python benchmarks/identical_predictions.py old.pkl
    PYTHONPATH=/path/to/new python benchmarks/identical_predictions.py new.pkl
    python benchmarks/identical_predictions.py --compare old.pkl new.pkl
"""

import pickle
import sys
import warnings

import numpy as np


def predictions() -> dict:
    from sklearn_mtml.datasets import load_multiple_features
    from sklearn_mtml.neural import (
        MultiModalClassifier,
        MultiTaskNet,
        MultiTaskNetClassifier,
        MultiTaskNetRegressor,
    )

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    Y = np.column_stack([X[:, 0] + X[:, 1], X[:, 2] * 3, np.sin(X[:, 3])])
    Y[::5, 1] = np.nan
    X_long = np.column_stack([rng.integers(0, 7, 300), X])
    y_long = X[:, 0] + X_long[:, 0] * 0.3
    labels = np.column_stack([np.where(X[:, 0] > 0, "a", "b"),
                              np.digitize(X[:, 1], [-0.5, 0.5])]).astype(object)
    fast = dict(max_epochs=8, random_state=0, n_threads=1)

    def regressor(**params):
        return MultiTaskNetRegressor(**{**fast, **params})

    out = {}
    for arch in ["shared_bottom", "mmoe", "ple", "cross_stitch", "shared_private",
                 "independent"]:
        out["reg_" + arch] = regressor(architecture=arch).fit(X, Y).predict(X)
    for w in ["uncertainty", "dwa", "pcgrad", "gradnorm", "random"]:
        out["w_" + w] = regressor(loss_weighting=w, dropout=0.1).fit(X, Y).predict(X)
    out["long_hs"] = regressor(task_column=0, head_shrinkage=10.0,
                               target_scaling="pooled").fit(X_long, y_long).predict(X_long)
    out["es"] = regressor(early_stopping=True, max_epochs=30).fit(X, Y).predict(X)
    out["klg"] = regressor(on_divergence="keep_last_good").fit(X, Y).predict(X)
    model = regressor(warm_start=True).fit(X, Y)
    out["warm"] = model.fit(X, Y).predict(X)
    model = regressor()
    for rows in np.array_split(np.arange(300), 3):
        model.partial_fit(X[rows], Y[rows])
    out["partial"] = model.predict(X)
    clf = MultiTaskNetClassifier(loss_weighting="uncertainty", **fast).fit(X, labels)
    out["clf"] = np.column_stack(clf.predict_proba(X))
    mixed_y = np.column_stack([X[:, 0], np.where(X[:, 1] > 0, 1, 0)])
    mixed = MultiTaskNet(task_types=["regression", "classification"], **fast)
    out["mixed"] = mixed.fit(X, mixed_y).predict(X)
    data = load_multiple_features(as_frame=True)
    X_mm, y_mm = data.data.iloc[:400].copy(), data.target[:400]
    X_mm.loc[X_mm.index[::7], data.views["fou"]] = np.nan  # an absent modality
    for fusion in ["attention", "concat", "late", "gated", "low_rank"]:
        model = MultiModalClassifier(modalities=data.views, fusion=fusion, max_epochs=3,
                                     random_state=0, n_threads=1)
        out["mm_" + fusion] = model.fit(X_mm, y_mm).predict_proba(X_mm)
    return out


def compare(old: str, new: str) -> int:
    with open(old, "rb") as f:
        a = pickle.load(f)
    with open(new, "rb") as f:
        b = pickle.load(f)
    differ = 0
    for key in a:
        x, y = np.asarray(a[key]), np.asarray(b[key])
        same = x.shape == y.shape and np.array_equal(x, y)
        differ += not same
        print(f"{key:20s} {'identical' if same else 'DIFFERENT'}")
    return differ


if __name__ == "__main__":
    if sys.argv[1] == "--compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    with open(sys.argv[1], "wb") as f:
        pickle.dump(predictions(), f)

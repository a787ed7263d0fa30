"""Tests of the NaN-aware per-task metrics and the multi-task scorers."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml._base import MultiTaskClassifierMixin
from sklearn_mtml.metrics import (
    make_task_scorer,
    multitask_scoring,
    per_task_accuracy,
    per_task_f1,
    per_task_mae,
    per_task_r2,
    per_task_rmse,
    per_task_roc_auc,
    per_task_scores,
    pooled_explained_variance,
)
from sklearn_mtml.model_selection import TaskShuffleSplit

REGRESSION = [
    (per_task_r2, r2_score),
    (per_task_rmse, root_mean_squared_error),
    (per_task_mae, mean_absolute_error),
]


@pytest.fixture
def wide_regression():
    rng = np.random.RandomState(0)
    Y = rng.randn(30, 3) * [1, 5, 10] + [0, 3, -2]
    P = Y + rng.randn(30, 3)
    Y[rng.rand(30, 3) < 0.3] = np.nan
    return Y, P


def _long_from_wide(Y, P):
    """Stack the observed entries of wide data into long format (task id = column)."""
    rows, cols = np.nonzero(~np.isnan(Y))
    return Y[rows, cols], P[rows, cols], np.array(["t0", "t1", "t2"])[cols]


@pytest.mark.parametrize("ours, theirs", REGRESSION)
def test_regression_matches_sklearn_on_observed(wide_regression, ours, theirs):
    Y, P = wide_regression
    expected = [theirs(Y[~np.isnan(Y[:, t]), t], P[~np.isnan(Y[:, t]), t]) for t in range(3)]
    np.testing.assert_allclose(ours(Y, P), expected)
    np.testing.assert_allclose(ours(Y, P, multioutput="uniform_average"), np.mean(expected))
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(ours(Y, P, multioutput=w), np.average(expected, weights=w))
    # long format gives the same per-task numbers
    y, p, ids = _long_from_wide(Y, P)
    np.testing.assert_allclose(ours(y, p, task_ids=ids), expected)
    # DataFrame y_true with named tasks: same numbers
    np.testing.assert_allclose(ours(pd.DataFrame(Y, columns=["a", "b", "c"]), P), expected)


@pytest.mark.parametrize("ours, theirs", REGRESSION)
def test_missing_labels_of_one_task_do_not_change_another(wide_regression, ours, theirs):
    Y, P = wide_regression
    before = ours(Y, P)
    Y2 = Y.copy()
    Y2[:20, 1] = np.nan  # hide more labels of task 1 only
    after = ours(Y2, P)
    np.testing.assert_allclose(after[[0, 2]], before[[0, 2]])
    assert after[1] != before[1]


def test_sample_weight_per_task(wide_regression):
    Y, P = wide_regression
    w = np.linspace(0.5, 2.0, len(Y))
    keep = ~np.isnan(Y[:, 2])
    expected = r2_score(Y[keep, 2], P[keep, 2], sample_weight=w[keep])
    assert per_task_r2(Y, P, sample_weight=w)[2] == pytest.approx(expected)
    y, p, ids = _long_from_wide(Y, P)
    rows = np.nonzero(~np.isnan(Y))[0]
    np.testing.assert_allclose(
        per_task_r2(y, p, task_ids=ids, sample_weight=w[rows]), per_task_r2(Y, P, sample_weight=w)
    )


def test_r2_undefined_with_one_label_is_nan_and_left_out_of_mean():
    Y = np.array([[1.0, 5.0], [2.0, np.nan], [3.0, np.nan]])
    P = np.array([[1.0, 4.0], [2.5, 0.0], [3.0, 0.0]])
    raw = per_task_r2(Y, P)
    assert np.isnan(raw[1])
    assert per_task_r2(Y, P, multioutput="uniform_average") == pytest.approx(raw[0])
    assert per_task_rmse(Y, P)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="multioutput"):
        per_task_r2(Y, P, multioutput="variance_weighted")


def test_pooled_explained_variance_uses_global_mean():
    rng = np.random.RandomState(1)
    ids = np.repeat([1, 2, 3], [10, 20, 30])
    y = ids * 10.0 + rng.randn(60)
    task_means = pd.Series(y).groupby(ids).transform("mean").to_numpy()
    ev = pooled_explained_variance(y, task_means, task_ids=ids)
    expected = 1 - np.sum((y - task_means) ** 2) / np.sum((y - y.mean()) ** 2)
    assert ev == pytest.approx(expected)
    assert ev > 0.9  # around the global mean, task means explain a lot
    assert np.mean(per_task_r2(y, task_means, task_ids=ids)) == pytest.approx(0, abs=1e-12)
    # wide: missing labels are left out; NaN predictions where a label is missing are fine
    Y = np.full((60, 3), np.nan)
    Y[np.arange(60), ids - 1] = y
    P = np.full((60, 3), np.nan)
    P[np.arange(60), ids - 1] = task_means
    assert pooled_explained_variance(Y, P) == pytest.approx(ev)


@pytest.fixture
def wide_labels():
    rng = np.random.RandomState(3)
    n = 40
    Y = np.empty((n, 2), dtype=object)
    Y[:, 0] = rng.choice(["cat", "dog", "eel"], n)
    Y[:, 1] = rng.choice([0, 1], n)
    P = Y.copy()
    flip = rng.rand(n) < 0.3
    P[flip, 0] = "cat"
    P[flip, 1] = 1 - P[flip, 1]
    Y[rng.rand(n) < 0.25, 0] = None
    Y[rng.rand(n) < 0.25, 1] = np.nan
    return Y, P


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (per_task_accuracy, accuracy_score),
        (per_task_f1, lambda a, b: f1_score(a, b, average="macro")),
    ],
)
def test_classification_matches_sklearn(wide_labels, ours, theirs):
    Y, P = wide_labels
    expected = []
    for t in range(2):
        keep = ~pd.isna(Y[:, t])
        yt = Y[keep, t] if t == 0 else Y[keep, t].astype(int)
        yp = P[keep, t] if t == 0 else P[keep, t].astype(int)
        expected.append(theirs(yt, yp))
    np.testing.assert_allclose(ours(Y, P), expected)
    rows, cols = np.nonzero(~pd.isna(Y))
    yl = np.array([str(v) for v in Y[rows, cols]], dtype=object)
    pl = np.array([str(v) for v in P[rows, cols]], dtype=object)
    np.testing.assert_allclose(ours(yl, pl, task_ids=cols), expected)


def test_f1_average_is_passed():
    y, p = [0, 1, 1, 1, 0], [0, 1, 0, 1, 1]
    assert per_task_f1(y, p, average="binary")[0] == pytest.approx(f1_score(y, p))
    assert per_task_f1(y, p, average="weighted")[0] == pytest.approx(
        f1_score(y, p, average="weighted")
    )


def test_roc_auc_from_predict_proba_list():
    rng = np.random.RandomState(0)
    n = 50
    y0 = rng.choice([0, 1], n)
    y1 = rng.choice(["a", "b", "c"], n)
    p0 = rng.dirichlet([1, 1], n)
    p1 = rng.dirichlet([1, 1, 1], n)
    Y = np.empty((n, 2), dtype=object)
    Y[:, 0], Y[:, 1] = y0, y1
    Y[:10, 0] = None
    Y[5:25, 1] = np.nan
    got = per_task_roc_auc(Y, [p0, p1])
    assert got[0] == pytest.approx(roc_auc_score(y0[10:], p0[10:, 1]))
    keep = np.r_[0:5, 25:n]
    assert got[1] == pytest.approx(
        roc_auc_score(y1[keep], p1[keep], multi_class="ovr", labels=["a", "b", "c"])
    )
    # positive-class scores as a (n, n_tasks) matrix for binary tasks
    Yb = np.column_stack([y0, 1 - y0]).astype(float)
    Yb[:10, 1] = np.nan
    S = np.column_stack([p0[:, 1], p0[:, 0]])
    np.testing.assert_allclose(
        per_task_roc_auc(Yb, S), [roc_auc_score(y0, p0[:, 1]), roc_auc_score(1 - y0[10:],
                                                                            p0[10:, 0])]
    )
    # single task: 1-D y_true and one proba array
    assert per_task_roc_auc(y1, p1)[0] == pytest.approx(
        roc_auc_score(y1, p1, multi_class="ovr")
    )


def test_roc_auc_needs_classes_when_labels_are_absent():
    y = np.array(["a", "b", "a", "b"])
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.5, 0.3, 0.2], [0.1, 0.8, 0.1]])
    with pytest.raises(ValueError, match="classes="):
        per_task_roc_auc(y, proba)
    got = per_task_roc_auc(y, proba, classes=np.array(["a", "b", "c"]))[0]
    assert got == pytest.approx(1.0)
    # one class only in a task: undefined
    assert np.isnan(per_task_roc_auc(np.array([1, 1]), np.array([0.2, 0.4]))[0])


def test_metrics_never_import_torch():
    # a fresh interpreter: other tests of the session may have imported torch already
    code = "import sys, sklearn_mtml.metrics; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- estimators
class _ProbaClassifier(MultiTaskClassifierMixin, BaseEstimator):
    """Tiny multi-task classifier for the tests: class frequencies shifted by feature 0."""

    def __init__(self, task_column=None):
        self.task_column = task_column

    def _fit(self, data):
        self.priors_ = [
            np.bincount(data.Y[data.mask[:, t], t].astype(int),
                        minlength=len(data.layout.classes[t])) + 1.0
            for t in range(data.layout.n_tasks)
        ]

    def _predict_proba_tasks(self, X):
        out = []
        for prior in self.priors_:
            logits = np.log(prior)[None, :] + np.outer(X[:, 0], np.arange(len(prior)))
            p = np.exp(logits - logits.max(1, keepdims=True))
            out.append(p / p.sum(1, keepdims=True))
        return out


def _school_like(seed=0, n_tasks=6):
    rng = np.random.RandomState(seed)
    sizes = rng.randint(15, 40, n_tasks)
    ids = np.repeat(np.arange(1, n_tasks + 1), sizes)
    Z = rng.randn(len(ids), 4)
    w = rng.randn(n_tasks, 4) + [2.0, -1.0, 0.0, 0.5]
    y = np.einsum("ij,ij->i", Z, w[ids - 1]) + ids + 0.3 * rng.randn(len(ids))
    X = pd.DataFrame(Z, columns=[f"x{i}" for i in range(4)])
    X.insert(0, "school", ids)
    return X, y


def test_per_task_scores_long_format_matches_functions():
    X, y = _school_like()
    model = MultiTaskRidge(task_column="school").fit(X, y)
    table = per_task_scores(model, X, y, metrics=("r2", "rmse", "mae"))
    assert table.index.name == "task" and list(table.index) == [1, 2, 3, 4, 5, 6]
    pred = model.predict(X)
    np.testing.assert_allclose(table["r2"], per_task_r2(y, pred, task_ids=X["school"]))
    np.testing.assert_allclose(table["rmse"], per_task_rmse(y, pred, task_ids=X["school"]))
    assert table["n_samples"].tolist() == X["school"].value_counts().sort_index().tolist()
    # a test subset without task 3: still listed, NaN, zero samples
    sub = X["school"] != 3
    table = per_task_scores(model, X[sub], y[sub.to_numpy()], metrics="r2")
    assert np.isnan(table.loc[3, "r2"]) and table.loc[3, "n_samples"] == 0
    assert np.isfinite(table.drop(index=3)["r2"]).all()


def test_per_task_scores_wide_with_nan_and_callable():
    rng = np.random.RandomState(0)
    X = rng.randn(50, 3)
    Y = pd.DataFrame({"a": X @ [1, 2, 0.0], "b": X @ [0, 1, 1.0] + rng.randn(50)})
    Y.loc[:34, "b"] = np.nan
    model = MultiTaskRidge(alpha=0.1).fit(X, Y)

    def max_error(yt, yp):
        return float(np.max(np.abs(yt - yp)))

    table = per_task_scores(model, X, Y, metrics=["r2", max_error])
    assert list(table.index) == ["a", "b"] and list(table.columns) == [
        "r2", "max_error", "n_samples"]
    assert table["n_samples"].tolist() == [50, 15]
    keep = Y["b"].notna().to_numpy()
    P = model.predict(X)
    assert table.loc["b", "r2"] == pytest.approx(r2_score(Y["b"][keep], P[keep, 1]))
    # y as an array: tasks matched by position to the estimator's names
    table2 = per_task_scores(model, X, Y.to_numpy(), metrics="r2")
    np.testing.assert_allclose(table2["r2"], table["r2"])
    # y with the task columns in another order: matched by name
    table3 = per_task_scores(model, X, Y[["b", "a"]], metrics="r2")
    pd.testing.assert_frame_equal(table3, table[["r2", "n_samples"]])
    assert make_task_scorer("r2", task="b")(model, X, Y[["b", "a"]]) == pytest.approx(
        table.loc["b", "r2"])


def test_scorers_pickle():
    import pickle

    rng = np.random.RandomState(0)
    X = rng.randn(60, 3)
    Y = np.column_stack([X @ [1, 2, 0.0], X @ [0, 1, 1.0]]) + 0.1 * rng.randn(60, 2)
    Y[::4, 1] = np.nan
    model = MultiTaskRidge().fit(X, Y)
    for scorer in [make_task_scorer("f1_weighted"), make_task_scorer(mean_absolute_error),
                   *multitask_scoring(model, "neg_mae").values()]:
        clone = pickle.loads(pickle.dumps(scorer))
        assert repr(clone) == repr(scorer)
    scorer = pickle.loads(pickle.dumps(make_task_scorer("neg_mae", task="task_1")))
    assert scorer(model, X, Y) == pytest.approx(-per_task_mae(Y, model.predict(X))[1])


def test_scorer_values():
    X, y = _school_like()
    model = MultiTaskRidge(task_column="school").fit(X, y)
    pred = model.predict(X)
    r2 = per_task_r2(y, pred, task_ids=X["school"])
    assert make_task_scorer("r2")(model, X, y) == pytest.approx(r2.mean())
    # long format: score is the R^2 over all rows (a 1-D y); the task scorer the task mean
    assert model.score(X, y) == pytest.approx(r2_score(y, pred))
    assert model.score(X, y) != pytest.approx(r2.mean())
    assert make_task_scorer("r2", task=4)(model, X, y) == pytest.approx(r2[3])
    rmse = per_task_rmse(y, pred, task_ids=X["school"])
    assert make_task_scorer("neg_rmse", task=2)(model, X, y) == pytest.approx(-rmse[1])
    assert make_task_scorer("neg_root_mean_squared_error")(model, X, y) == pytest.approx(
        -rmse.mean())
    assert make_task_scorer("pooled_explained_variance")(model, X, y) == pytest.approx(
        pooled_explained_variance(y, pred))
    custom = make_task_scorer(mean_absolute_error, greater_is_better=False)
    assert custom(model, X, y) == pytest.approx(
        -per_task_mae(y, pred, task_ids=X["school"]).mean())
    with pytest.raises(ValueError, match="neg_rmse"):
        make_task_scorer("rmse")
    with pytest.raises(ValueError, match="Unknown metric"):
        make_task_scorer("r3")
    with pytest.raises(ValueError, match="not one of the estimator's tasks"):
        make_task_scorer("r2", task=99)(model, X, y)


def test_scorer_reads_task_ids_through_a_pipeline():
    X, y = _school_like()
    pipe = make_pipeline(FunctionTransformer(lambda d: d), MultiTaskRidge(task_column="school"))
    pipe.fit(X, y)
    assert make_task_scorer("r2", task=1)(pipe, X, y) == pytest.approx(
        per_task_r2(y, pipe.predict(X), task_ids=X["school"])[0])
    assert sorted(multitask_scoring(pipe)) == ["1", "2", "3", "4", "5", "6", "mean"]


def test_grid_search_wide_with_nan_multitask_scoring():
    rng = np.random.RandomState(0)
    X = rng.randn(90, 5)
    Y = pd.DataFrame(
        {"a": X @ rng.randn(5) + rng.randn(90), "b": X @ rng.randn(5) + 3 * rng.randn(90)}
    )
    Y.loc[rng.rand(90) < 0.3, "a"] = np.nan
    Y.loc[rng.rand(90) < 0.3, "b"] = np.nan
    scoring = multitask_scoring(["a", "b"], metric="r2")
    search = GridSearchCV(
        MultiTaskRidge(), {"alpha": [0.01, 1.0, 1e4]}, cv=3, scoring=scoring, refit="mean",
        error_score="raise",
    ).fit(X, Y)
    res = search.cv_results_
    np.testing.assert_allclose(
        res["mean_test_mean"], (res["mean_test_a"] + res["mean_test_b"]) / 2
    )
    assert search.best_params_["alpha"] != 1e4
    assert np.all(np.isfinite(res["mean_test_a"]))
    # the mean scorer agrees with the estimator's own score (mean of per-task R²)
    best = search.best_estimator_
    assert scoring["mean"](best, X, Y) == pytest.approx(best.score(X, Y))


def test_grid_search_long_school_like():
    X, y = _school_like(seed=2)
    model = MultiTaskRidge(task_column="school").fit(X, y)
    scoring = multitask_scoring(model, metric="neg_rmse")
    assert sorted(scoring) == ["1", "2", "3", "4", "5", "6", "mean"]
    scoring["ev"] = make_task_scorer("pooled_explained_variance")
    cv = TaskShuffleSplit(n_splits=3, train_size=0.5, random_state=0, task_column="school")
    search = GridSearchCV(
        MultiTaskRidge(task_column="school"), {"alpha": [0.1, 10.0]}, cv=cv, scoring=scoring,
        refit="ev", error_score="raise",
    ).fit(X, y)
    res = search.cv_results_
    for key in ["1", "6", "mean", "ev"]:
        assert np.all(np.isfinite(res[f"mean_test_{key}"]))
    assert np.all(res["mean_test_1"] < 0)  # negated errors


class _CountingRidge(MultiTaskRidge):
    n_predict = 0

    def predict(self, X):
        type(self).n_predict += 1
        return super().predict(X)


def test_multitask_scoring_predicts_once_per_evaluation():
    """One scorer per task must not mean one prediction (and one pass) per task."""
    X, y = _school_like(n_tasks=12)
    model = _CountingRidge(task_column="school").fit(X, y)
    scoring = multitask_scoring(model, metric="r2")
    scoring["ev"] = make_task_scorer("pooled_explained_variance")
    _CountingRidge.n_predict = 0
    res = cross_validate(model, X, y, cv=TaskShuffleSplit(2, random_state=0,
                                                          task_column="school"),
                         scoring=scoring)
    assert _CountingRidge.n_predict == 2  # one per split, for 14 scorers
    # and the shared computation gives the same numbers as the scorers called alone
    train, test = next(TaskShuffleSplit(2, random_state=0, task_column="school").split(X))
    fitted = MultiTaskRidge(task_column="school").fit(X.iloc[train], y[train])
    for key in ("3", "mean", "ev"):
        assert res[f"test_{key}"][0] == pytest.approx(
            scoring[key](fitted, X.iloc[test], y[test]))


def test_classifier_scorers_wide_and_long():
    rng = np.random.RandomState(0)
    n = 120
    x = rng.randn(n, 2)
    Y = np.empty((n, 2), dtype=object)
    Y[:, 0] = np.where(x[:, 0] + 0.5 * rng.randn(n) > 0, "yes", "no")
    Y[:, 1] = np.digitize(x[:, 0] + 0.5 * rng.randn(n), [-0.5, 0.5])
    Y[rng.rand(n) < 0.2, 1] = None
    clf = _ProbaClassifier().fit(x, Y)
    proba = clf.predict_proba(x)
    expected = per_task_roc_auc(Y, proba, classes=clf.classes_)
    assert np.all(expected > 0.7)
    assert make_task_scorer("roc_auc")(clf, x, Y) == pytest.approx(expected.mean())
    table = per_task_scores(clf, x, Y, metrics=("accuracy", "f1", "roc_auc"))
    np.testing.assert_allclose(table["roc_auc"], expected)
    np.testing.assert_allclose(table["accuracy"], per_task_accuracy(Y, clf.predict(x)))
    # (cv=KFold: sklearn's check_cv cannot type a mixed-label object y for stratification)
    res = cross_validate(clf, x, Y, cv=KFold(3), scoring=multitask_scoring(clf, metric="roc_auc"))
    assert np.all(res["test_mean"] > 0.6)

    # long format: each row scored for its own task
    ids = np.where(np.arange(n) % 2 == 0, "p", "q")
    y_long = np.where(ids == "p", (x[:, 0] > 0).astype(int), (x[:, 0] > 0.3).astype(int))
    Xl = pd.DataFrame({"task": ids, "f0": x[:, 0], "f1": x[:, 1]})
    clf_long = _ProbaClassifier(task_column="task").fit(Xl, y_long)
    got = make_task_scorer("roc_auc", task="q")(clf_long, Xl, y_long)
    q = ids == "q"
    # long format predict_proba: (n, len(classes_)), each row from its own task
    assert got == pytest.approx(roc_auc_score(y_long[q], clf_long.predict_proba(Xl)[q, 1]))
    search = GridSearchCV(_ProbaClassifier(task_column="task"), {}, cv=KFold(2),
                          scoring=multitask_scoring(["p", "q"], metric="accuracy"),
                          refit="mean").fit(Xl, y_long)
    assert np.isfinite(search.cv_results_["mean_test_p"]).all()


def test_multitask_scoring_errors():
    with pytest.raises(ValueError, match="task names"):
        multitask_scoring(MultiTaskRidge())
    with pytest.raises(ValueError, match="distinct"):
        multitask_scoring([1, "1"])
    with pytest.raises(TypeError):
        multitask_scoring("abc")

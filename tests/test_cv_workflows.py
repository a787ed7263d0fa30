"""Issue 11, items 1-3: sklearn's CV workflows on multi-task targets with missing labels,
mixed label types, and the scorers to use with them."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.model_selection import cross_val_predict as sk_cross_val_predict

from sklearn_mtml import MultiTaskNet, MultiTaskNetClassifier, MultiTaskRidge
from sklearn_mtml.metrics import make_task_scorer, multitask_scoring, per_task_scores
from sklearn_mtml.model_selection import TaskKFold, cross_val_predict

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _net(**kw):
    return MultiTaskNetClassifier(max_epochs=3, random_state=0, **kw)


@pytest.fixture
def X():
    return np.random.RandomState(0).randn(60, 3)


@pytest.fixture
def y_nan(X):
    """The issue's reproducer: task b has a missing label (float labels, NaN)."""
    return pd.DataFrame({
        "a": (X[:, 0] > 0).astype(float),
        "b": np.r_[np.nan, (X[1:, 1] > 0).astype(float)],
    })


@pytest.fixture
def y_mixed(X):
    """Strings in one task, ints in another, a missing label in each."""
    y = pd.DataFrame({
        "a": np.where(X[:, 0] > 0, "yes", "no").astype(object),
        "b": pd.array((X[:, 1] > 0).astype(int), dtype="Int64"),
    })
    y.loc[3, "a"] = None
    y.loc[::7, "b"] = pd.NA
    return y


def _long(X, mixed=True):
    """Long format: task 's' has string labels, task 'i' int labels; some are missing."""
    Xl = pd.DataFrame(X, columns=["x0", "x1", "x2"])
    Xl.insert(0, "task", np.repeat(["s", "i"], len(X) // 2))
    half = len(X) // 2
    labels = [np.where(X[:half, 0] > 0, "p", "q"), (X[half:, 1] > 0).astype(int)]
    if not mixed:
        labels[0] = (X[:half, 0] > 0).astype(int)
    y = pd.Series(np.concatenate([np.asarray(v, dtype=object) for v in labels]), dtype=object)
    y[::9] = None
    return Xl, y


# ------------------------------------------------------------------------ item 1
def test_sklearn_integer_cv_rejects_missing_and_mixed_labels(X, y_nan, y_mixed):
    """The original problem (sklearn's check_cv runs type_of_target before our code)."""
    with pytest.raises(ValueError, match="NaN"):
        cross_val_score(_net(), X, y_nan, cv=3)
    with pytest.raises(TypeError, match="not supported"):
        cross_val_score(_net(), X, y_mixed.assign(a=y_mixed["a"].fillna("no"),
                                                  b=y_mixed["b"].fillna(0)), cv=3)


@pytest.mark.parametrize("y_name", ["y_nan", "y_mixed"])
def test_cross_val_score_and_grid_search_with_a_splitter(X, y_name, request):
    y = request.getfixturevalue(y_name)
    scores = cross_val_score(_net(), X, y, cv=KFold(3), error_score="raise")
    assert scores.shape == (3,) and np.isfinite(scores).all()
    search = GridSearchCV(_net(), {"lr": [1e-3, 1e-2]}, cv=KFold(3), error_score="raise")
    search.fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # the per-task scorers work on the same y
    search = GridSearchCV(_net(), {"lr": [1e-3, 1e-2]}, cv=KFold(3), error_score="raise",
                          scoring=multitask_scoring(list(y.columns), "roc_auc"),
                          refit="mean").fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_mean"]).all()


def test_task_kfold_long_format_mixed_label_types_and_missing(X):
    Xl, y = _long(X)
    cv = TaskKFold(3, task_column="task")
    scores = cross_val_score(_net(task_column="task"), Xl, y, cv=cv, error_score="raise")
    assert np.isfinite(scores).all()
    search = GridSearchCV(_net(task_column="task"), {"lr": [1e-3, 1e-2]}, cv=cv,
                          error_score="raise").fit(Xl, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_regressor_missing_labels_integer_cv_and_splitter(X):
    Y = np.column_stack([X @ [1.0, 2.0, 0.0], X @ [0.5, 0.0, 1.0]])
    Y[::4, 1] = np.nan
    # regressors: check_cv does not look at y, so an integer cv works as is
    assert np.isfinite(cross_val_score(MultiTaskRidge(), X, Y, cv=3)).all()
    search = GridSearchCV(MultiTaskRidge(), {"alpha": [0.1, 1000.0]}, cv=KFold(3),
                          error_score="raise").fit(X, Y)
    assert search.best_params_ == {"alpha": 0.1}


# ------------------------------------------------------------------------ item 2
def test_sklearn_cross_val_predict_learns_missing_as_a_class(X, y_nan):
    """The original problem: sklearn's cross_val_predict gives task b three columns."""
    proba = sk_cross_val_predict(_net(), X, y_nan, cv=KFold(3), method="predict_proba")
    assert proba[1].shape == (60, 3)


def test_cross_val_predict_no_class_for_missing(X, y_nan):
    proba = cross_val_predict(_net(), X, y_nan, cv=3, method="predict_proba")
    assert isinstance(proba, list) and [p.shape for p in proba] == [(60, 2), (60, 2)]
    for p in proba:
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    labels = cross_val_predict(_net(), X, y_nan, cv=3)
    assert labels.shape == (60, 2)
    assert set(np.unique(labels[:, 1])) <= {0, 1}  # never NaN


def test_cross_val_predict_mixed_types_and_string_labels(X, y_mixed):
    proba = cross_val_predict(_net(), X, y_mixed, cv=3, method="predict_proba")
    assert [p.shape for p in proba] == [(60, 2), (60, 2)]
    labels = cross_val_predict(_net(), X, y_mixed, cv=3)
    assert set(labels[:, 0]) <= {"no", "yes"} and set(labels[:, 1]) <= {0, 1}


def test_cross_val_predict_matches_each_fold_model(X, y_nan):
    """Each row's probabilities are those of the model fitted without its fold."""
    cv = KFold(3)
    proba = cross_val_predict(_net(), X, y_nan, cv=cv, method="predict_proba")
    train, test = next(cv.split(X))
    fold = _net().fit(X[train], y_nan.iloc[train]).predict_proba(X[test])
    for t in range(2):
        np.testing.assert_allclose(proba[t][test], fold[t], rtol=1e-5)


def test_cross_val_predict_aligns_classes_a_fold_never_saw(X):
    # class "c" only in the first 6 rows: KFold(3)'s first model never sees it
    y = pd.DataFrame({"t": np.where(X[:, 0] > 0, "a", "b").astype(object),
                      "u": (X[:, 1] > 0).astype(float)})
    y.loc[:5, "t"] = "c"
    y.loc[10:14, "t"] = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        proba = cross_val_predict(_net(), X, y, cv=KFold(3), method="predict_proba")
    assert proba[0].shape == (60, 3)  # a, b, c -- no column for the missing labels
    first = np.arange(20)
    np.testing.assert_array_equal(proba[0][first, 2], 0.0)  # "c" unseen in that fold
    assert (proba[0][20:, 2] > 0).all()
    np.testing.assert_allclose(proba[0].sum(axis=1), 1.0, rtol=1e-6)


def test_cross_val_predict_single_task_integer_cv_stratifies_missing(X):
    y = pd.Series((X[:, 0] > 0).astype(float))
    y[::5] = np.nan
    proba = cross_val_predict(_net(), X, y, cv=3, method="predict_proba")
    assert proba.shape == (60, 2)
    assert sk_cross_val_predict(_net(), X, y.fillna(2), cv=3,
                                method="predict_proba").shape == (60, 3)


def test_cross_val_predict_long_format(X):
    Xl, y = _long(X)
    cv = TaskKFold(3, task_column="task")
    labels = cross_val_predict(_net(task_column="task"), Xl, y, cv=cv)
    assert labels.shape == (60,)
    assert set(labels[:30]) <= {"p", "q"} and set(labels[30:]) <= {0, 1}
    proba = cross_val_predict(_net(task_column="task"), Xl, y, cv=cv, method="predict_proba")
    # long format: one array over every label seen (p, q, 0, 1), no "missing" column
    assert proba.shape == (60, 4) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


def test_cross_val_predict_regressor_and_mixed_net(X):
    Y = np.column_stack([X @ [1.0, 2.0, 0.0], X @ [0.5, 0.0, 1.0]])
    Y[::4, 1] = np.nan
    pred = cross_val_predict(MultiTaskRidge(), X, Y, cv=3)
    assert pred.shape == (60, 2) and np.isfinite(pred).all()
    with pytest.raises(ValueError, match="no predict_proba"):
        cross_val_predict(MultiTaskRidge(), X, Y, method="predict_proba")

    y = pd.DataFrame({"r": X[:, 0], "c": np.where(X[:, 1] > 0, "u", "v")}).astype(object)
    y.loc[::5, "c"] = None
    net = MultiTaskNet(task_types=["regression", "classification"], max_epochs=2,
                       random_state=0)
    proba = cross_val_predict(net, X, y, cv=3, method="predict_proba")
    assert proba[0] is None and proba[1].shape == (60, 2)


def test_cross_val_predict_errors(X, y_nan):
    with pytest.raises(ValueError, match="method must be one of"):
        cross_val_predict(_net(), X, y_nan, method="decision_function")
    with pytest.raises(ValueError, match="exactly one test fold"):
        cross_val_predict(_net(), X, y_nan, cv=[(np.arange(30), np.arange(30, 50))])


# ------------------------------------------------------------------------ item 3
def test_per_task_scores_of_a_classifier_default_to_classification(X, y_mixed):
    clf = _net().fit(X, y_mixed)
    table = per_task_scores(clf, X, y_mixed)  # was: could not convert string to float
    assert list(table.columns) == ["accuracy", "roc_auc", "n_samples"]
    assert table["n_samples"].tolist() == [59, 51]
    assert table[["accuracy", "roc_auc"]].notna().all().all()
    with pytest.raises(ValueError, match="'r2' is a regression metric.*use 'accuracy'"):
        per_task_scores(clf, X, y_mixed, metrics="r2")


def test_per_task_scores_mixed_net_scores_each_task_by_its_type(X):
    y = pd.DataFrame({"r": X[:, 0] * 2, "c": np.where(X[:, 1] > 0, "u", "v")}).astype(object)
    y.loc[::5, "c"] = None
    net = MultiTaskNet(task_types=["regression", "classification"], max_epochs=3,
                       random_state=0).fit(X, y)
    table = per_task_scores(net, X, y)
    assert list(table.columns) == ["r2", "rmse", "accuracy", "roc_auc", "n_samples"]
    assert table.loc["r", ["r2", "rmse"]].notna().all()
    assert table.loc["r", ["accuracy", "roc_auc"]].isna().all()
    assert table.loc["c", ["accuracy", "roc_auc"]].notna().all()
    assert table.loc["c", ["r2", "rmse"]].isna().all()
    # scorers: the mean over the tasks of the metric's type; a task of the other type errors
    assert make_task_scorer("r2")(net, X, y) == pytest.approx(table.loc["r", "r2"])
    with pytest.raises(ValueError, match="task 'c' is not a regression task"):
        make_task_scorer("r2", task="c")(net, X, y)


@pytest.mark.parametrize("scoring", ["roc_auc", "accuracy", "neg_log_loss"])
def test_sklearn_string_scorers_fail_ours_work(X, y_mixed, scoring):
    """sklearn's string scorers cannot score mixed label types; ours can (documented)."""
    with pytest.raises(TypeError, match="not supported between"):
        cross_val_score(_net(), X, y_mixed, cv=KFold(3), scoring=scoring,
                        error_score="raise")
    ours = cross_val_score(_net(), X, y_mixed, cv=KFold(3),
                           scoring=make_task_scorer(scoring), error_score="raise")
    assert np.isfinite(ours).all()
    if scoring == "neg_log_loss":
        assert (ours < 0).all()


def test_log_loss_matches_sklearn_per_task(X, y_mixed):
    from sklearn.metrics import log_loss

    clf = _net().fit(X, y_mixed)
    table = per_task_scores(clf, X, y_mixed, metrics="log_loss")
    proba = clf.predict_proba(X)
    for t, name in enumerate(["a", "b"]):
        keep = y_mixed[name].notna().to_numpy()
        expected = log_loss(y_mixed[name][keep].astype(str if t == 0 else int), proba[t][keep],
                            labels=clf.classes_[t])
        assert table.loc[name, "log_loss"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="use 'neg_log_loss'"):
        make_task_scorer("log_loss")

"""Long format in the sklearn workflows a user tries first: new tasks in a fold, the score of
a 1-D y, predict_proba of a 1-D y, sklearn's string scorers."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, r2_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, GroupKFold, KFold, cross_val_score

from sklearn_mtml import MultiTaskRidge, MultiTaskRidgeCV
from sklearn_mtml.linear import MultiTaskL21Regressor
from sklearn_mtml.neural import MultiTaskNetClassifier, MultiTaskNetRegressor

FAST = dict(hidden_layer_sizes=(8,), max_epochs=15, lr=0.02, random_state=0, n_threads=1)


def _regression(n_tasks=12, n=240, seed=0):
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), n // n_tasks)  # sorted by task, as tables are
    X = rng.normal(size=(len(task), 3))
    w = np.array([1.0, -1.0, 0.5]) + 0.2 * rng.normal(size=(n_tasks, 3))
    y = np.einsum("nd,nd->n", X, w[task]) + 0.3 * task / n_tasks + 0.1 * rng.normal(size=len(task))
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(task=[f"t{t}" for t in task])
    return frame, y


def _classification(n_tasks=6, n=300, seed=0):
    frame, y = _regression(n_tasks, n, seed)
    return frame, (y > np.median(y)).astype(int)


def test_grid_search_with_kfold_on_sorted_long_format_scores_every_candidate():
    X, y = _regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # whole tasks are new in a test fold
        search = GridSearchCV(MultiTaskRidge(task_column="task"),
                              {"alpha": [0.1, 10.0, 1000.0]}, cv=KFold(3)).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_group_kfold_by_task_generalises_to_new_tasks():
    X, y = _regression()
    with pytest.warns(UserWarning, match="not seen in fit"):
        scores = cross_val_score(MultiTaskRidgeCV(task_column="task"), X, y,
                                 groups=X["task"], cv=GroupKFold(3))
    assert np.isfinite(scores).all() and scores.mean() > 0.5
    # a model without a shared part refuses, naming the ids
    with pytest.raises(ValueError, match="no shared part"):
        model = MultiTaskL21Regressor(task_column="task").fit(X[X.task != "t0"], y[X.task != "t0"])
        model.predict(X[X.task == "t0"])


def test_unseen_task_error_mode_and_independent_nets_refuse():
    X, y = _regression(n_tasks=4, n=120)
    seen = (X.task != "t3").to_numpy()
    ridge = MultiTaskRidge(task_column="task", unseen_tasks="error").fit(X[seen], y[seen])
    with pytest.raises(ValueError, match=r"\['t3'\].*unseen_tasks='auto'"):
        ridge.predict(X)
    net = MultiTaskNetRegressor(architecture="independent", task_column="task", **FAST)
    net.fit(X[seen], y[seen])
    with pytest.raises(ValueError, match="no shared part"):
        net.predict(X)


def test_long_format_score_is_the_r2_over_all_rows():
    X, y = _regression()
    model = MultiTaskRidge(task_column="task").fit(X, y)
    assert model.score(X, y) == pytest.approx(r2_score(y, model.predict(X)))
    y_missing = y.copy()
    y_missing[::5] = np.nan
    keep = ~np.isnan(y_missing)
    assert model.score(X, y_missing) == pytest.approx(
        r2_score(y[keep], model.predict(X)[keep]))


def test_long_format_predict_proba_is_each_rows_own_task():
    X, y = _classification()
    labels = y.astype(object)
    t5 = (X.task == "t5").to_numpy()
    labels[t5] = np.where(y[t5] == 1, "yes", "no")  # one task with its own labels
    clf = MultiTaskNetClassifier(task_column="task", **FAST).fit(X, labels)
    assert list(clf.classes_) == [0, 1, "no", "yes"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert np.all(proba[t5][:, :2] == 0) and np.all(proba[~t5][:, 2:] == 0)
    pred = clf.predict(X)
    np.testing.assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    # each row's probabilities are its own task's
    task_probas = clf._predict_proba_tasks(X.drop(columns="task").to_numpy())
    np.testing.assert_allclose(proba[t5][:, 2:], task_probas[5][t5])


def test_sklearn_string_scorers_work_on_a_long_format_classifier():
    X, y = _classification()
    clf = MultiTaskNetClassifier(task_column="task", **FAST)
    for scoring in ["roc_auc", "neg_log_loss", "accuracy"]:
        scores = cross_val_score(clf, X, y, cv=3, scoring=scoring)
        assert np.isfinite(scores).all(), scoring
    fitted = clf.fit(X, y)
    proba = fitted.predict_proba(X)
    assert roc_auc_score(y, proba[:, 1]) > 0.8
    assert log_loss(y, proba) < 0.6


def test_cross_val_score_on_a_table_sorted_by_task_has_no_nan():
    X, y = _classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        scores = cross_val_score(MultiTaskNetClassifier(task_column="task", **FAST), X, y,
                                 cv=KFold(3))  # whole tasks in each test fold
    assert np.isfinite(scores).all()

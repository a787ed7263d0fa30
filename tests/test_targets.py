"""The task contract: formats, missing labels, label round trips and the errors it raises."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml._base import MultiTaskClassifierMixin
from sklearn_mtml._task_scores import iter_tasks, mean_task_score


class _NearestCentroidMT(MultiTaskClassifierMixin, BaseEstimator):
    """Tiny classifier on the contract: per task, class frequencies (enough to test labels)."""

    def __init__(self, task_column=None):
        self.task_column = task_column

    def _fit(self, data):
        self.priors_ = []
        for t in range(data.layout.n_tasks):
            codes = data.Y[data.mask[:, t], t].astype(int)
            counts = np.bincount(codes, minlength=len(data.layout.classes[t]))
            self.priors_.append(counts / counts.sum())

    def _predict_proba_tasks(self, X):
        return [np.tile(p, (X.shape[0], 1)) for p in self.priors_]


def _wide(rng, n=40, d=3, t=3):
    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, t)) + rng.normal(size=t)
    return X, Y


def test_wide_dataframe_names_tasks_and_features():
    rng = np.random.default_rng(0)
    X, Y = _wide(rng)
    Xdf = pd.DataFrame(X, columns=["a", "b", "c"])
    Ydf = pd.DataFrame(Y, columns=["math", "art", "sport"])
    model = MultiTaskRidge().fit(Xdf, Ydf)
    assert list(model.task_names_) == ["math", "art", "sport"]
    assert model.n_tasks_ == 3
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    assert model.predict(Xdf).shape == (40, 3)


def test_one_dimensional_y_gives_one_dimensional_predictions():
    rng = np.random.default_rng(0)
    X, Y = _wide(rng)
    model = MultiTaskRidge().fit(X, Y[:, 0])
    assert model.predict(X).shape == (40,)
    assert model.n_tasks_ == 1


def test_missing_label_only_affects_its_task():
    rng = np.random.default_rng(1)
    X, Y = _wide(rng, n=50)
    Y_missing = Y.copy()
    Y_missing[:10, 1] = np.nan
    Y_changed = Y_missing.copy()
    Y_changed[:10, 1] = 1e6  # would wreck task 1 if it were used
    a = MultiTaskRidge(alpha=np.inf).fit(X, Y_missing)
    # With the label removed, changing its (ignored) value cannot matter.
    b = MultiTaskRidge(alpha=np.inf).fit(X, np.where(np.isnan(Y_missing), np.nan, Y_changed))
    np.testing.assert_allclose(a.coef_, b.coef_)
    assert np.isfinite(a.predict(X)).all()


def test_all_missing_task_is_named():
    rng = np.random.default_rng(0)
    X, Y = _wide(rng)
    Y = pd.DataFrame(Y, columns=["math", "art", "sport"])
    Y["art"] = np.nan
    model = MultiTaskRidge()
    with pytest.raises(ValueError, match="art"):
        model.fit(X, Y)
    assert not hasattr(model, "coef_")
    assert not hasattr(model, "task_names_")
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_failed_fit_leaves_no_fitted_state_after_a_good_fit():
    rng = np.random.default_rng(0)
    X, Y = _wide(rng)
    model = MultiTaskRidge().fit(X, Y)
    with pytest.raises(ValueError):
        model.fit(X, np.full_like(Y, np.nan))
    assert not [k for k in vars(model) if k.endswith("_")]
    with pytest.raises(NotFittedError):
        model.predict(X)


def _long_frame(rng, n_per_task=(8, 12, 20)):
    rows = []
    for task, n in zip(["north", "south", "east"], n_per_task):
        x = rng.normal(size=(n, 2))
        y = x @ np.array([1.0, -1.0]) + {"north": 0.0, "south": 3.0, "east": -2.0}[task]
        rows.append(pd.DataFrame({"school": task, "x1": x[:, 0], "x2": x[:, 1], "y": y}))
    return pd.concat(rows, ignore_index=True)


def test_long_format_dataframe_and_array_give_same_predictions():
    rng = np.random.default_rng(0)
    df = _long_frame(rng)
    X, y = df[["school", "x1", "x2"]], df["y"]
    by_name = MultiTaskRidge(task_column="school").fit(X, y)
    assert sorted(by_name.task_names_) == ["east", "north", "south"]
    codes = X["school"].map({"east": 0, "north": 1, "south": 2})
    X_arr = np.column_stack([codes, X["x1"], X["x2"]])
    by_position = MultiTaskRidge(task_column=0).fit(X_arr, y.to_numpy())
    np.testing.assert_allclose(by_name.predict(X), by_position.predict(X_arr))
    assert by_name.predict(X).shape == (len(df),)


def test_long_format_equals_wide_with_missing_labels():
    rng = np.random.default_rng(3)
    df = _long_frame(rng)
    long = MultiTaskRidge(task_column="school", alpha=0.5).fit(df[["school", "x1", "x2"]], df["y"])
    wide_y = pd.DataFrame(np.nan, index=df.index, columns=["east", "north", "south"])
    for task in wide_y.columns:
        rows = df["school"] == task
        wide_y.loc[rows, task] = df.loc[rows, "y"]
    wide = MultiTaskRidge(alpha=0.5).fit(df[["x1", "x2"]], wide_y)
    np.testing.assert_allclose(long.coef_, wide.coef_, atol=1e-10)
    np.testing.assert_allclose(long.intercept_, wide.intercept_, atol=1e-10)


def test_unseen_task_id_is_named():
    rng = np.random.default_rng(0)
    df = _long_frame(rng)
    model = MultiTaskRidge(task_column="school").fit(df[["school", "x1", "x2"]], df["y"])
    new = df[["school", "x1", "x2"]].head(3).copy()
    new.loc[1, "school"] = "west"
    with pytest.raises(ValueError, match="west"):
        model.set_params(unseen_tasks="error").predict(new)
    with pytest.warns(UserWarning, match="west"):  # default: the shared part w_0, b_0
        pred = model.set_params(unseen_tasks="auto").predict(new)
    shared = new[["x1", "x2"]].to_numpy()[1] @ model.shared_coef_ + model.shared_intercept_
    assert pred[1] == pytest.approx(shared)


def test_task_column_absent_is_named():
    rng = np.random.default_rng(0)
    df = _long_frame(rng)
    with pytest.raises(ValueError, match="'district'"):
        MultiTaskRidge(task_column="district").fit(df[["school", "x1", "x2"]], df["y"])
    with pytest.raises(ValueError, match="task_column=7"):
        MultiTaskRidge(task_column=7).fit(np.zeros((4, 3)), np.arange(4.0))


def test_long_format_requires_one_dimensional_y():
    rng = np.random.default_rng(0)
    df = _long_frame(rng)
    with pytest.raises(ValueError, match="1-D"):
        MultiTaskRidge(task_column="school").fit(
            df[["school", "x1", "x2"]], np.column_stack([df["y"], df["y"]])
        )


@pytest.mark.parametrize(
    "y, match",
    [
        (np.zeros((5, 2)), "lengths must match"),
        (np.zeros((6, 2, 2)), "1-D .* or 2-D"),
        (np.array(["a", "b", "a", "b", "a", "b"]), "non-numeric"),
        (None, "requires y"),
    ],
)
def test_bad_targets_are_explained(y, match):
    X = np.arange(12.0).reshape(6, 2)
    model = MultiTaskRidge()
    with pytest.raises(ValueError, match=match):
        model.fit(X, y)
    assert not hasattr(model, "n_tasks_")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_X_is_refused(bad):
    X = np.arange(12.0).reshape(6, 2)
    X[2, 1] = bad
    with pytest.raises(ValueError, match="X contains"):
        MultiTaskRidge().fit(X, np.arange(6.0))


def test_wrong_number_of_features_at_predict():
    rng = np.random.default_rng(0)
    X, Y = _wide(rng)
    model = MultiTaskRidge().fit(X, Y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_classifier_labels_round_trip_in_user_types():
    rng = np.random.default_rng(0)
    n = 30
    X = rng.normal(size=(n, 2))
    y = pd.DataFrame(
        {
            "colour": rng.choice(["red", "blue"], size=n).astype(object),
            "size": rng.choice([3, 7, 9], size=n),
        }
    )
    y.loc[0, "colour"] = None  # a missing label
    y.loc[1, "size"] = pd.NA
    model = _NearestCentroidMT().fit(X, y)
    assert list(model.classes_[0]) == ["blue", "red"]
    assert list(model.classes_[1]) == [3, 7, 9]
    pred = model.predict(X)
    assert pred.shape == (n, 2)
    assert set(pred[:, 0]) <= {"red", "blue"}
    assert set(pred[:, 1]) <= {3, 7, 9}
    proba = model.predict_proba(X)
    assert [p.shape for p in proba] == [(n, 2), (n, 3)]
    # score = mean of per-task accuracies over observed labels
    acc = [np.mean(pred[1:, 0] == y["colour"][1:]), np.mean(pred[2:, 1] == 7)]
    assert model.score(X, y) == pytest.approx((acc[0] + np.mean(
        pred[np.r_[0, 2:n], 1].astype(int) == y["size"].iloc[np.r_[0, 2:n]].astype(int)
    )) / 2)


def test_task_with_mixed_label_types_is_refused():
    X = np.zeros((4, 1))
    y = np.array([["a"], [1], ["b"], [2]], dtype=object)
    with pytest.raises(ValueError, match="task_0"):
        _NearestCentroidMT().fit(X, y)


def test_iter_tasks_skips_missing_labels_per_task():
    y_true = np.array([[1.0, np.nan], [2.0, 5.0], [np.nan, 6.0]])
    y_pred = np.array([[1.0, 9.0], [2.0, 5.0], [9.0, 6.0]])
    got = {name: (yt.tolist(), yp.tolist()) for name, yt, yp in iter_tasks(y_true, y_pred)}
    assert got == {"task_0": ([1.0, 2.0], [1.0, 2.0]), "task_1": ([5.0, 6.0], [5.0, 6.0])}
    assert mean_task_score(lambda a, b: float(np.mean(a == b)), y_true, y_pred) == 1.0


def test_score_is_mean_of_per_task_r2():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(5)
    X, Y = _wide(rng, n=60)
    Y = Y + rng.normal(size=Y.shape)
    Y[::5, 2] = np.nan
    model = MultiTaskRidge(alpha=10.0).fit(X, Y)
    P = model.predict(X)
    expected = np.mean(
        [r2_score(Y[~np.isnan(Y[:, t]), t], P[~np.isnan(Y[:, t]), t]) for t in range(3)]
    )
    assert model.score(X, Y) == pytest.approx(expected)

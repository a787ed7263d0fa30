"""Property-based tests of the task contract (hypothesis): random shapes, missing-label
patterns and label types."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from sklearn_mtml import MultiTaskRidge
from sklearn_mtml._base import MultiTaskClassifierMixin
from sklearn_mtml._targets import validate_fit_data
from sklearn_mtml._task_scores import per_task_values

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def wide_problem(draw):
    n = draw(st.integers(6, 30))
    d = draw(st.integers(1, 4))
    t = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = X @ rng.normal(size=(d, t)) + rng.normal(size=(n, t))
    missing = rng.random(size=(n, t)) < draw(st.floats(0.0, 0.5))
    missing[rng.integers(n, size=t), np.arange(t)] = False  # every task keeps a label
    Y[missing] = np.nan
    return X, Y


@SETTINGS
@given(wide_problem(), st.randoms(use_true_random=False))
def test_permuting_tasks_permutes_predictions(problem, random):
    X, Y = problem
    perm = list(range(Y.shape[1]))
    random.shuffle(perm)
    a = MultiTaskRidge(alpha=0.7, shared_alpha=0.3).fit(X, Y).predict(X)
    b = MultiTaskRidge(alpha=0.7, shared_alpha=0.3).fit(X, Y[:, perm]).predict(X)
    np.testing.assert_allclose(a[:, perm], b, rtol=1e-6, atol=1e-8)


@SETTINGS
@given(wide_problem())
def test_long_and_wide_formats_give_the_same_fit(problem):
    X, Y = problem
    n, t = Y.shape
    rows, cols = np.nonzero(~np.isnan(Y))
    X_long = np.column_stack([cols, X[rows]])
    y_long = Y[rows, cols]
    wide = MultiTaskRidge(alpha=1.3).fit(X, Y)
    long = MultiTaskRidge(alpha=1.3, task_column=0).fit(X_long, y_long)
    observed = np.flatnonzero(np.isin(np.arange(t), cols))
    np.testing.assert_allclose(long.coef_, wide.coef_[observed], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(long.predict(X_long), wide.predict(X)[rows, cols], atol=1e-8)


@SETTINGS
@given(wide_problem(), st.integers(0, 3))
def test_a_task_score_ignores_other_tasks_missing_labels(problem, seed):
    X, Y = problem
    rng = np.random.default_rng(seed)
    pred = Y + rng.normal(size=Y.shape)
    pred[np.isnan(pred)] = 0.0
    before = per_task_values(lambda a, b: float(np.mean((a - b) ** 2)), Y, pred)
    if Y.shape[1] < 2:
        return
    Y2 = Y.copy()
    Y2[rng.random(Y.shape[0]) < 0.5, 1:] = np.nan  # hide labels of the other tasks only
    after = per_task_values(lambda a, b: float(np.mean((a - b) ** 2)), Y2, pred)
    assert after["task_0"] == pytest.approx(before["task_0"])


class _Recorder(MultiTaskClassifierMixin, BaseEstimator):
    def __init__(self, task_column=None):
        self.task_column = task_column


label_values = st.one_of(
    st.lists(st.sampled_from(["a", "b", "c", "zebra"]), min_size=8, max_size=8),
    st.lists(st.integers(-3, 3), min_size=8, max_size=8),
)


@SETTINGS
@given(st.lists(label_values, min_size=1, max_size=3), st.integers(0, 2**16))
def test_label_encoding_round_trips(columns, seed):
    rng = np.random.default_rng(seed)
    y = pd.DataFrame({f"t{j}": pd.Series(c, dtype=object) for j, c in enumerate(columns)})
    holes = rng.random(y.shape) < 0.25
    holes[0] = False  # keep one label per task
    y = y.mask(holes)
    est = _Recorder()
    data = validate_fit_data(est, np.zeros((8, 1)), y, task_types="classification")
    for t, name in enumerate(y.columns):
        observed = ~y[name].isna().to_numpy()
        np.testing.assert_array_equal(data.mask[:, t], observed)
        decoded = data.layout.classes[t][data.Y[observed, t].astype(int)]
        assert list(decoded) == list(y[name][observed])
        assert list(data.layout.classes[t]) == sorted(set(y[name][observed]))

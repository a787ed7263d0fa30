"""Bad-input matrix over every public estimator (issue 6).

Each case ends either in a ``ValueError`` / ``TypeError`` whose message names the problem,
raised by this package or by sklearn's validation (never from deep inside torch, numpy,
pandas or narwhals), or in a documented correct behaviour that the test asserts. A failed
``fit`` leaves no attribute ending in ``_`` behind, and no case yields NaN predictions.

New estimators join automatically through :func:`sklearn_mtml.utils.all_estimators` and
their ``_check_instance()`` configuration (small and fast).
"""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fitted_attributes as _fitted_attributes
from conftest import make_estimator as _make
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError

from sklearn_mtml.utils import all_estimators

torch.set_num_threads(1)

N, D = 24, 3
ESTIMATORS = all_estimators()
IDS = [name for name, _ in ESTIMATORS]

#: where an error must not come from: the message would describe internals, not the input
_DEEP = tuple(os.sep + name + os.sep for name in ("torch", "numpy", "pandas", "narwhals",
                                                  "skorch", "scipy"))


def _tags(est):
    return est.__sklearn_tags__().input_tags


def _data(est, n=N, seed=0):
    """Tiny wide problem with two tasks: float targets, or string labels for classifiers."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, D))
    Y = X @ rng.normal(size=(D, 2)) + 0.1 * rng.normal(size=(n, 2))
    if is_classifier(est):
        Y = np.where(Y > np.median(Y, axis=0), "yes", "no").astype(object)
    return X, Y


def _assert_fails_cleanly(est, fit, exc, match):
    """``fit()`` raises ``exc`` naming the problem, from our code or sklearn's, and leaves
    an estimator that does not claim to be fitted."""
    with pytest.raises(exc, match=match) as info:
        fit()
    origin = str(info.traceback[-1].path)
    assert not any(part in origin for part in _DEEP), f"raised deep inside {origin}"
    assert _fitted_attributes(est) == []
    assert not hasattr(est, "_task_layout")


def _assert_finite_predictions(est, X, shape=None):
    P = est.predict(X)
    if shape is not None:
        assert P.shape == shape
    if P.dtype.kind == "f":
        assert np.isfinite(P).all()
    else:
        assert not pd.isna(P).any()
    return P


def _select(predicate):
    chosen = [(n, c) for n, c in ESTIMATORS if predicate(_make(c))]
    return pytest.mark.parametrize("name, cls", chosen, ids=[n for n, _ in chosen])


all_ = pytest.mark.parametrize("name, cls", ESTIMATORS, ids=IDS)
nan_refused = _select(lambda e: not _tags(e).allow_nan)
nan_allowed = _select(lambda e: _tags(e).allow_nan)
regressors = _select(lambda e: not is_classifier(e))
classifiers = _select(is_classifier)
long_format = _select(lambda e: "task_column" in e.get_params())
numeric_only = _select(lambda e: not _tags(e).string)
with_strings = _select(lambda e: _tags(e).string)
multimodal = _select(lambda e: "modalities" in e.get_params())


# ----------------------------------------------------------------------------- X values
@nan_refused
def test_nan_in_X_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    X[3, 1] = np.nan
    _assert_fails_cleanly(est, lambda: est.fit(X, Y), ValueError, "NaN")


@nan_allowed
def test_nan_in_X_means_an_absent_modality(name, cls):
    # Documented (DESIGN.md, Modalities 3): a modality all-NaN in a row is absent for that
    # row; a partly-NaN row keeps the modality. Predictions still come out, finite.
    est = _make(cls)
    X, Y = _data(est)
    X[3, 1] = np.nan
    X[5, :] = np.nan
    est.fit(X, Y)
    _assert_finite_predictions(est, X, (N, 2))


@all_
@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_X_is_refused(name, cls, value):
    est = _make(cls)
    X, Y = _data(est)
    X[3, 1] = value
    _assert_fails_cleanly(est, lambda: est.fit(X, Y), ValueError, "infinity")


@all_
def test_infinite_X_at_predict_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X, Y)
    X_bad = X.copy()
    X_bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        est.predict(X_bad)
    assert _fitted_attributes(est)  # a refused predict does not unfit the model


@all_
def test_extreme_values_give_finite_predictions_or_a_clear_error(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    X[3, 1] = 1e30
    try:
        est.fit(X, Y)
    except ValueError as exc:  # float32 networks overflow: the divergence check says so
        assert "diverged" in str(exc) and "epoch" in str(exc)
        assert _fitted_attributes(est) == []
        return
    _assert_finite_predictions(est, X, (N, 2))


@regressors
def test_extreme_targets_give_finite_predictions_or_a_clear_error(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    Y[3, 0] = 1e30
    try:
        est.fit(X, Y)
    except ValueError as exc:
        assert "diverged" in str(exc)
        assert _fitted_attributes(est) == []
        return
    _assert_finite_predictions(est, X, (N, 2))


@all_
def test_constant_features_give_one_prediction_for_identical_rows(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    X = np.ones_like(X)
    est.fit(X, Y)
    P = _assert_finite_predictions(est, X, (N, 2))
    assert (P == P[0]).all()


# ----------------------------------------------------------------------------- dtypes
@all_
def test_object_array_of_numbers_equals_float_array(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    expected = clone(est).fit(X, Y).predict(X)
    got = est.fit(X.astype(object), Y).predict(X.astype(object))
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got.astype(float), expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, expected)


@all_
def test_mixed_numeric_dtypes_frame_is_accepted(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame({"f": X[:, 0], "i": (X[:, 1] * 10).astype(np.int64),
                       "b": X[:, 2] > 0, "n": pd.array((X[:, 1] * 3).astype(int), "Int64")})
    est.fit(df, Y)
    _assert_finite_predictions(est, df, (N, 2))


@numeric_only
def test_string_column_is_refused_by_numeric_estimators(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["colour"] = ["red", "blue"] * (N // 2)
    _assert_fails_cleanly(est, lambda: est.fit(df, Y), ValueError, "numeric")


@with_strings
def test_string_column_is_a_categorical_input(name, cls):
    # Documented (DESIGN.md, Modalities 2): string columns become a categorical encoder.
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["colour"] = ["red", "blue"] * (N // 2)
    est.fit(df, Y)
    new = df.head(4).copy()
    new["colour"] = "green"  # unseen level at predict: the unknown bucket, no error
    _assert_finite_predictions(est, new, (4, 2))


@numeric_only
def test_nullable_integer_with_missing_value_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    df["k"] = pd.array([1, None] + [2] * (N - 2), dtype="Int64")
    _assert_fails_cleanly(est, lambda: est.fit(df, Y), ValueError, "NaN")


@all_
def test_complex_X_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    _assert_fails_cleanly(est, lambda: est.fit(X + 1j, Y), ValueError, "[Cc]omplex")


@all_
def test_sparse_X_is_refused(name, cls):
    import scipy.sparse as sp

    est = _make(cls)
    X, Y = _data(est)
    _assert_fails_cleanly(est, lambda: est.fit(sp.csr_matrix(X), Y), TypeError, "[Ss]parse")


# ----------------------------------------------------------------------------- y values
@all_
def test_missing_labels_are_left_out(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    Y = Y.copy()
    Y[::3, 1] = None if Y.dtype == object else np.nan
    est.fit(X, Y)
    _assert_finite_predictions(est, X, (N, 2))
    assert np.isfinite(est.score(X, Y))


@all_
def test_task_without_any_label_is_named(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    Y = pd.DataFrame(Y, columns=["math", "art"])
    Y["art"] = np.nan
    _assert_fails_cleanly(est, lambda: est.fit(X, Y), ValueError, "'art'.*no observed labels")


@regressors
def test_string_targets_are_refused_by_regressors(name, cls):
    est = _make(cls)
    X, _ = _data(est)
    y = np.array(["low", "high"] * (N // 2), dtype=object)
    _assert_fails_cleanly(est, lambda: est.fit(X, y), ValueError, "numeric targets")


@regressors
def test_infinite_targets_are_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    Y[2, 1] = np.inf
    _assert_fails_cleanly(est, lambda: est.fit(X, Y), ValueError, "infinite target")


@classifiers
def test_task_with_a_single_class_predicts_it(name, cls):
    # Documented behaviour: a task with one observed label is a constant classifier.
    est = _make(cls)
    X, Y = _data(est)
    Y[:, 1] = "only"
    est.fit(X, Y)
    P = _assert_finite_predictions(est, X, (N, 2))
    assert set(P[:, 1]) == {"only"}
    proba = est.predict_proba(X)[1]
    assert proba.shape == (N, 1)
    np.testing.assert_allclose(proba, 1.0)


@classifiers
def test_continuous_targets_are_refused_by_classifiers(name, cls):
    est = _make(cls)
    X, _ = _data(est)
    y = np.linspace(0.1, 0.9, N)
    _assert_fails_cleanly(est, lambda: est.fit(X, y), ValueError, "continuous|[Uu]nknown label")


# ----------------------------------------------------------------------------- shapes
@all_
@pytest.mark.parametrize("n_y", [N - 2, N + 1])
def test_y_and_X_of_different_lengths(name, cls, n_y):
    est = _make(cls)
    X, _ = _data(est)
    _, Y = _data(est, n=n_y)
    _assert_fails_cleanly(est, lambda: est.fit(X, Y), ValueError, "lengths must match")


@all_
def test_empty_data_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    _assert_fails_cleanly(est, lambda: est.fit(X[:0], Y[:0]), ValueError, "0 sample")


@all_
def test_no_feature_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    _assert_fails_cleanly(est, lambda: est.fit(X[:, :0], Y), ValueError, "0 feature")


@all_
def test_a_single_sample_fits_a_constant_model(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X[:1], Y[:1])
    P = _assert_finite_predictions(est, X[:3], (3, 2))
    if is_classifier(est):
        assert (P == Y[:1]).all()


@all_
@pytest.mark.parametrize("n_features", [D - 1, D + 1])
def test_wrong_number_of_features_at_predict(name, cls, n_features):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X, Y)
    X_new = np.resize(X, (N, n_features))
    with pytest.raises(ValueError, match=f"X has {n_features} features"):
        est.predict(X_new)


@all_
def test_wrong_number_of_tasks_at_score(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X, Y)
    with pytest.raises(ValueError, match=r"shape \(24, 2\), expected \(24, 1\)"):
        est.score(X, Y[:, :1])


@multimodal
def test_missing_modality_column_at_predict(name, cls):
    est = _make(cls).set_params(modalities={"left": ["a", "b"], "right": ["c"]})
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est.fit(df, Y)
    with pytest.raises(ValueError, match="c"):
        est.predict(df.drop(columns="c"))


@all_
def test_three_dimensional_X_is_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    _assert_fails_cleanly(est, lambda: est.fit(X[:, :, None], Y), ValueError, "2D")


# ----------------------------------------------------------------------------- long format
def _long(est, n=N):
    X, Y = _data(est, n=n)
    ids = np.arange(n) % 3
    return np.column_stack([ids, X]), Y[:, 0]


@long_format
def test_unseen_task_id_is_named(name, cls):
    est = _make(cls).set_params(task_column=0)
    X, y = _long(est)
    est.fit(X, y)
    X_new = X[:4].copy()
    X_new[2, 0] = 7
    if "unseen_tasks" in est.get_params():
        est.set_params(unseen_tasks="error")
    with pytest.raises(ValueError, match=r"Task id\(s\) \[7\] .*not seen in fit"):
        est.predict(X_new)
    assert est.predict(X[:4]).shape == (4,)


@long_format
def test_unseen_task_id_gets_the_shared_part_or_a_named_error(name, cls):
    est = _make(cls).set_params(task_column=0)
    X, y = _long(est)
    est.fit(X, y)
    X_new = X[:4].copy()
    X_new[2, 0] = 7
    if not est._has_shared_part():
        with pytest.raises(ValueError, match=r"\[7\] .*not seen in fit.*no shared part"):
            est.predict(X_new)
        return
    assert est.get_params()["unseen_tasks"] == "auto"
    with pytest.warns(UserWarning, match=r"\[7\] .*not seen in fit.*shared part"):
        pred = est.predict(X_new)
    assert pred.shape == (4,)
    np.testing.assert_array_equal(pred[[0, 1, 3]], est.predict(X[[0, 1, 3]]))


@long_format
def test_missing_task_id_is_refused(name, cls):
    est = _make(cls).set_params(task_column=0)
    X, y = _long(est)
    X[1, 0] = np.nan
    _assert_fails_cleanly(est, lambda: est.fit(X, y), ValueError, "missing task ids")


@long_format
def test_task_column_out_of_range_is_named(name, cls):
    est = _make(cls).set_params(task_column=9)
    X, y = _long(est)
    _assert_fails_cleanly(est, lambda: est.fit(X, y), ValueError, "task_column=9")


# ----------------------------------------------------------------------------- frames
@all_
def test_duplicated_column_names_are_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "a", "b"])
    _assert_fails_cleanly(est, lambda: est.fit(df, Y), ValueError, r"duplicated column.*'a'")


@all_
def test_frame_at_fit_array_at_predict(name, cls):
    # sklearn's behaviour: a warning, and the columns are taken by position.
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est.fit(df, Y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        from_array = est.predict(X)
    np.testing.assert_array_equal(from_array, est.predict(df))


@all_
def test_array_at_fit_frame_at_predict(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X, Y)
    with pytest.warns(UserWarning, match="X has feature names"):
        from_frame = est.predict(pd.DataFrame(X, columns=["a", "b", "c"]))
    np.testing.assert_array_equal(from_frame, est.predict(X))


@all_
def test_reordered_columns_at_predict_are_refused(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    est.fit(df, Y)
    with pytest.raises(ValueError, match="feature names"):
        est.predict(df[["c", "b", "a"]])


# ----------------------------------------------------------------------------- fit state
@all_
def test_failed_refit_forgets_the_previous_fit(name, cls):
    est = _make(cls)
    X, Y = _data(est)
    est.fit(X, Y)
    Y_bad = pd.DataFrame(Y, columns=["math", "art"])
    Y_bad["art"] = np.nan
    _assert_fails_cleanly(est, lambda: est.fit(X, Y_bad), ValueError, "'art'")
    with pytest.raises(NotFittedError):
        est.predict(X)


@all_
def test_predict_before_fit_is_not_fitted_error(name, cls):
    est = _make(cls)
    X, _ = _data(est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(NotFittedError):
            est.predict(X)

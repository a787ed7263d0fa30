"""sample_weight and class_weight (issue 11, items 4-5).

Weights enter the normal equations (linear models) or the loss (nets): an integer weight
``k`` must fit exactly as the row repeated ``k`` times.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import fitted_attributes
from sklearn import config_context
from sklearn.metrics import r2_score, recall_score
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mtml import MultiTaskNetClassifier, MultiTaskNetRegressor, MultiTaskRidge
from sklearn_mtml._targets import CLASSIFICATION, validate_fit_data
from sklearn_mtml._weights import resolve_weights
from sklearn_mtml.balancing import get_weighting
from sklearn_mtml.linear import (
    ClusteredMultiTaskRegressor,
    LowRankMultiTaskRegressor,
    MultiTaskL21Regressor,
    MultiTaskRidgeCV,
    SharedPCARegressor,
)
from sklearn_mtml.neural._loss import MaskedTaskLoss

_TIGHT = {"tol": 1e-11, "max_iter": 50000}
LINEAR = [
    MultiTaskRidge(alpha=2.0, shared_alpha=0.5),
    MultiTaskRidge(alpha=2.0, fit_intercept=False),
    MultiTaskRidgeCV(alphas=[0.3], shared_alphas=[1.0], intercept_alphas=None),
    MultiTaskL21Regressor(alpha=0.05, **_TIGHT),
    MultiTaskL21Regressor(alpha=0.05, penalize_intercepts=True, **_TIGHT),
    LowRankMultiTaskRegressor(alpha=0.05, **_TIGHT),
    LowRankMultiTaskRegressor(alpha=0.05, fit_intercept=False, **_TIGHT),
    ClusteredMultiTaskRegressor(**_TIGHT),
]


def _wide(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(n, 3))
    Y[::5, 1] = np.nan
    return X, Y, rng.integers(0, 4, size=n)


def _long(n=60, seed=1):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, 4, size=n)
    X = rng.normal(size=(n, 3))
    y = X @ rng.normal(size=3) + task + rng.normal(size=n)
    w = rng.integers(0, 4, size=n)
    w[task == 0] = np.maximum(w[task == 0], 1)
    return np.column_stack([task, X]), y, w


def _repeat_2d(X, Y, W):
    """Rows repeated max_t W[i, t] times, task t's label kept in W[i, t] of the copies."""
    rows, labels = [], []
    for i in range(len(X)):
        for k in range(int(W[i].max())):
            rows.append(X[i])
            labels.append(np.where(k < W[i], Y[i], np.nan))
    return np.array(rows), np.array(labels)


def _assert_same_model(a, b, X, rtol=1e-6):
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=rtol, atol=1e-8)


# --------------------------------------------------------------------------- linear models
@pytest.mark.parametrize("est", LINEAR, ids=lambda e: repr(e)[:60])
def test_linear_integer_weights_equal_repeated_rows_wide(est):
    X, Y, w = _wide()
    rep = np.repeat(np.arange(len(X)), w)
    weighted = est.__class__(**est.get_params()).fit(X, Y, sample_weight=w)
    repeated = est.__class__(**est.get_params()).fit(X[rep], Y[rep])
    _assert_same_model(weighted, repeated, X)


@pytest.mark.parametrize("est", LINEAR, ids=lambda e: repr(e)[:60])
def test_linear_integer_weights_equal_repeated_rows_long(est):
    X, y, w = _long()
    rep = np.repeat(np.arange(len(X)), w)
    params = {**est.get_params(), "task_column": 0}
    weighted = est.__class__(**params).fit(X, y, sample_weight=w)
    repeated = est.__class__(**params).fit(X[rep], y[rep])
    _assert_same_model(weighted, repeated, X)


@pytest.mark.parametrize("est", LINEAR, ids=lambda e: repr(e)[:60])
def test_linear_2d_weights_equal_repeated_rows_per_task(est):
    X, Y, _ = _wide()
    rng = np.random.default_rng(3)
    W = rng.integers(0, 4, size=Y.shape).astype(float)
    W[:3, 0] = np.nan  # NaN = weight 0
    Xr, Yr = _repeat_2d(X, Y, np.nan_to_num(W))
    weighted = est.__class__(**est.get_params()).fit(X, Y, sample_weight=W)
    repeated = est.__class__(**est.get_params()).fit(Xr, Yr)
    _assert_same_model(weighted, repeated, X)


def test_2d_nan_weight_is_a_missing_label():
    X, Y, _ = _wide()
    W = np.ones_like(Y)
    W[::3, 2] = np.nan
    Y_missing = Y.copy()
    Y_missing[::3, 2] = np.nan
    a = MultiTaskRidge().fit(X, Y, sample_weight=W)
    b = MultiTaskRidge().fit(X, Y_missing)
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_weights_of_one_are_no_weights():
    X, Y, _ = _wide()
    for est in LINEAR[:4]:
        a = est.__class__(**est.get_params()).fit(X, Y)
        b = est.__class__(**est.get_params()).fit(X, Y, sample_weight=np.ones(len(X)))
        np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_shared_pca_heads_are_weighted():
    # the encoder is unweighted (documented); with all components kept on full-rank X it
    # spans the same space, and the heads then match the repeated rows
    X, Y, w = _wide(n=60)
    w = np.maximum(w, 1)
    rep = np.repeat(np.arange(len(X)), w)
    a = SharedPCARegressor(alpha=1e-8).fit(X, Y, sample_weight=w)
    b = SharedPCARegressor(alpha=1e-8).fit(X[rep], Y[rep])
    _assert_same_model(a, b, X, rtol=1e-5)


def _loo_group_mse(X, Y, w, alpha, shared_alpha, task_column=None):
    """Brute force: on the repeated rows, leave each original row's copies out."""
    errors, total = 0.0, 0.0
    for i in np.flatnonzero(w > 0):
        keep = np.arange(len(X)) != i
        rep = np.repeat(np.flatnonzero(keep), w[keep])
        model = MultiTaskRidge(alpha=alpha, shared_alpha=shared_alpha,
                               task_column=task_column).fit(X[rep], Y[rep])
        pred = model.predict(X[i:i + 1])[0]
        if task_column is None:
            observed = ~np.isnan(Y[i])
            errors += w[i] * np.sum((pred - Y[i])[observed] ** 2)
            total += w[i] * observed.sum()
        else:
            errors += w[i] * (pred - Y[i]) ** 2
            total += w[i]
    return errors / total


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_ridge_cv_weighted_loo_is_leave_group_out_on_repeated_rows(layout):
    if layout == "wide":
        X, Y, w = _wide(n=24)
        Y = Y[:, :2].copy()
        Y[1::7, 0] = np.nan  # wide rows: leave-one-out leaves each label out
        Y[::5, 1] = np.nan
        task_column = None
        # a row's labels are left out one at a time: test on one observed label per row
        Y[np.isnan(Y[:, 0]) == False, 1] = np.nan  # noqa: E712
    else:
        X, Y, w = _long(n=30)
        task_column = 0
    alphas, shared = [0.1, 3.0, 100.0], [0.5, 20.0]
    cv = MultiTaskRidgeCV(alphas=alphas, shared_alphas=shared, intercept_alphas=None,
                          task_column=task_column)
    cv.fit(X, Y, sample_weight=w)
    brute = np.array([[_loo_group_mse(X, Y, w, a, s, task_column) for s in shared]
                      for a in alphas])
    np.testing.assert_allclose(cv.cv_mse_, brute, rtol=1e-6)
    i, j = np.unravel_index(np.argmin(brute), brute.shape)
    assert (cv.alpha_, cv.shared_alpha_) == (alphas[i], shared[j])
    # and the refit at the chosen point is the repeated-rows fit
    rep = np.repeat(np.arange(len(X)), w)
    ref = MultiTaskRidge(alpha=alphas[i], shared_alpha=shared[j],
                         task_column=task_column).fit(X[rep], Y[rep])
    np.testing.assert_allclose(cv.coef_, ref.coef_, rtol=1e-7, atol=1e-10)


# --------------------------------------------------------------------------- bad weights
BAD = [
    (lambda n, T: -np.ones(n), "negative"),
    (lambda n, T: np.ones(n + 1), "entries but X has"),
    (lambda n, T: np.ones((n, T + 1)), "shape"),
    (lambda n, T: np.ones((n, T, 2)), "1-D"),
    (lambda n, T: np.zeros(n), "zero"),
    (lambda n, T: np.r_[np.nan, np.ones(n - 1)], "NaN"),
    (lambda n, T: np.r_[np.inf, np.ones(n - 1)], "infinite"),
    (lambda n, T: np.column_stack([np.zeros(n), np.ones((n, T - 1))]), "task_0"),
    (lambda n, T: 3.0, "scalar"),
]


@pytest.mark.parametrize("make, match", BAD, ids=[m for _, m in BAD])
@pytest.mark.parametrize("cls", [MultiTaskRidge, MultiTaskNetRegressor])
def test_bad_sample_weight_is_a_clear_error_and_leaves_no_state(make, match, cls):
    X, Y, _ = _wide(n=20)
    est = cls(max_epochs=1) if cls is MultiTaskNetRegressor else cls()
    with pytest.raises(ValueError, match=match):
        est.fit(X, Y, sample_weight=make(*Y.shape))
    assert fitted_attributes(est) == []


def test_2d_weights_in_long_format_are_refused():
    X, y, _ = _long()
    with pytest.raises(ValueError, match="long format"):
        MultiTaskRidge(task_column=0).fit(X, y, sample_weight=np.ones((len(y), 2)))


def _clf_data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = pd.DataFrame({"a": np.where(X[:, 0] > 0, "yes", "no"),
                      "b": (X[:, 1] > 0.3).astype(int)})
    return X, y


@pytest.mark.parametrize("class_weight, match", [
    ({"c": {"yes": 2.0}}, "unknown task"),
    ({"a": {"maybe": 2.0}}, "unknown class label"),
    ({"a": {"yes": -1.0}}, ">= 0"),
    ([{"yes": 2.0}], "entries but there are 2 tasks"),
    ({"a": {"yes": 0.0}, "b": "balanced"}, "single class"),
    ({"maybe": 3.0}, "unknown class label"),
])
def test_bad_class_weight_is_a_clear_error(class_weight, match):
    X, y = _clf_data()
    est = MultiTaskNetClassifier(class_weight=class_weight, max_epochs=1)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    assert fitted_attributes(est) == []


def test_class_weight_on_a_regressor_is_an_error():
    X, Y, _ = _wide(n=20)
    with pytest.raises(ValueError, match="no classification task"):
        MultiTaskNetRegressor(class_weight="balanced", max_epochs=1).fit(X, Y)


def test_one_class_task_warns_naming_it():
    X, y = _clf_data()
    y["b"] = 1
    with pytest.warns(UserWarning, match=r"\['b'\] have a single class"):
        MultiTaskNetClassifier(max_epochs=1).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MultiTaskNetClassifier(max_epochs=1).fit(*_clf_data())  # two classes: silent


# --------------------------------------------------------------------------- class_weight
def _resolve(class_weight, y, X=None, sample_weight=None):
    est = MultiTaskNetClassifier()
    X = np.zeros((len(y), 1)) if X is None else X
    data = validate_fit_data(est, X, y, task_types=CLASSIFICATION)
    return resolve_weights(est, data, sample_weight, class_weight)


def test_balanced_is_sklearns_rule_per_task():
    from sklearn.utils.class_weight import compute_class_weight

    y = pd.DataFrame({"a": ["x"] * 9 + ["y"] * 3, "b": [0, 1, 2] * 3 + [np.nan] * 3})
    W = _resolve("balanced", y)
    for t, col in enumerate(y):
        observed = y[col].notna().to_numpy()
        labels = y[col][observed].to_numpy()
        expected = compute_class_weight("balanced", classes=np.unique(labels), y=labels)
        codes = np.searchsorted(np.unique(labels), labels)
        np.testing.assert_allclose(W[observed, t], expected[codes])


def test_class_weight_forms_agree():
    y = pd.DataFrame({"a": ["x", "y", "x", "y"], "b": [0, 1, 1, 1]})
    per_task = _resolve({"a": {"y": 3.0}, "b": {0: 2.0}}, y)
    as_list = _resolve([{"y": 3.0}, {0: 2.0}], y)
    np.testing.assert_array_equal(per_task, as_list)
    np.testing.assert_array_equal(per_task, [[1, 2], [3, 1], [1, 1], [3, 1]])
    # a plain dict is for every classification task; with a sample weight they multiply
    single = _resolve({1: 4.0}, y["b"], sample_weight=[1, 2, 3, 4])
    np.testing.assert_array_equal(single, [[1], [8], [12], [16]])


# --------------------------------------------------------------------------- nets: the loss
def _loss(task_types, out_sizes):
    return MaskedTaskLoss(task_types, out_sizes, get_weighting("fixed", len(task_types)))


def test_net_weighted_loss_equals_repeated_rows_loss_wide():
    g = torch.Generator().manual_seed(0)
    n = 12
    outputs = torch.randn(n, 1 + 3, generator=g)
    Y = torch.stack([torch.randn(n, generator=g),
                     torch.randint(0, 3, (n,), generator=g).float()], dim=1)
    observed = (torch.rand(n, 2, generator=g) > 0.2).float()
    w = torch.randint(0, 4, (n, 2), generator=g).float()
    loss = _loss(["regression", "classification"], [1, 3])
    weighted, counts = loss(outputs, Y, observed * w)
    # repeat row i max_t w[i, t] times, task t observed in w[i, t] of the copies
    reps = w.max(1).values.long()
    rows = torch.repeat_interleave(torch.arange(n), reps)
    copy = torch.cat([torch.arange(int(k)) for k in reps])
    mask_rep = observed[rows] * (copy[:, None] < w[rows]).float()
    repeated, counts_rep = loss(outputs[rows], Y[rows], mask_rep)
    torch.testing.assert_close(weighted, repeated)
    torch.testing.assert_close(counts, counts_rep)


def test_net_weighted_loss_equals_repeated_rows_loss_long():
    g = torch.Generator().manual_seed(1)
    n, sizes = 15, [2, 3]
    outputs = torch.randn(n, sum(sizes), generator=g)
    task = torch.randint(0, 2, (n,), generator=g)
    y = torch.randint(0, 2, (n,), generator=g).float()
    w = torch.randint(0, 4, (n,), generator=g).float()
    loss = _loss(["classification"] * 2, sizes)
    weighted, counts = loss(outputs, y, task, w)
    rows = torch.repeat_interleave(torch.arange(n), w.long())
    repeated, counts_rep = loss(outputs[rows], y[rows], task[rows], torch.ones(len(rows)))
    torch.testing.assert_close(weighted, repeated)
    torch.testing.assert_close(counts, counts_rep)


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_net_one_training_step_equals_repeated_rows(layout):
    X, Y, w = _wide() if layout == "wide" else _long()
    rep = np.repeat(np.arange(len(X)), w)
    params = dict(max_epochs=1, batch_size=10_000, random_state=0, hidden_layer_sizes=(8,),
                  task_column=None if layout == "wide" else 0, n_threads=1,
                  early_stopping=False)  # a validation split would differ between the two
    a = MultiTaskNetRegressor(**params).fit(X, Y, sample_weight=w)
    b = MultiTaskNetRegressor(**params).fit(X[rep], Y[rep])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.history_[-1, "train_task_losses"],
                               b.history_[-1, "train_task_losses"], rtol=1e-5)


def test_partial_fit_takes_sample_weight():
    X, Y, w = _wide()
    rep = np.repeat(np.arange(len(X)), w)
    params = dict(batch_size=10_000, random_state=0, hidden_layer_sizes=(8,), n_threads=1)
    a = MultiTaskNetRegressor(**params).partial_fit(X, Y, sample_weight=w)
    b = MultiTaskNetRegressor(**params).partial_fit(X[rep], Y[rep])
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="balanced"):
        MultiTaskNetClassifier(class_weight="balanced").partial_fit(*_clf_data())


def test_balanced_class_weight_finds_a_rare_class():
    # a 1 %-positive task: unweighted, the net predicts "negative" everywhere
    rng = np.random.default_rng(0)
    n = 3000
    X = rng.normal(size=(n, 6))
    score = X[:, 0] + 0.5 * X[:, 1] + 0.5 * rng.normal(size=n)
    y = pd.DataFrame({"common": (X[:, 2] > 0).astype(int),
                      "rare": (score > np.quantile(score, 0.99)).astype(int)})
    recall = {}
    for cw in (None, "balanced"):
        model = MultiTaskNetClassifier(class_weight=cw, max_epochs=10, random_state=0,
                                       n_threads=1).fit(X, y)
        recall[cw] = recall_score(y["rare"], model.predict(X)[:, 1])
    assert recall["balanced"] > max(recall[None], 0.3)


# --------------------------------------------------------------------------- metadata routing
def test_metadata_routing_passes_sample_weight():
    X, Y, w = _wide(n=60)
    cv = KFold(3)
    with config_context(enable_metadata_routing=True):
        ridge = MultiTaskRidge().set_fit_request(sample_weight=True)
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False),
                             ridge.set_score_request(sample_weight=True))
        routed = cross_validate(pipe, X, Y, cv=cv, params={"sample_weight": w},
                                return_estimator=True)
        assert np.isfinite(routed["test_score"]).all()  # score got its weights too
        W2 = np.column_stack([w, w + 1, w])  # 2-D weights are routed by rows too
        cross_validate(pipe, X, Y, cv=cv, params={"sample_weight": W2})
    for est, (train, _) in zip(routed["estimator"], cv.split(X)):
        direct = MultiTaskRidge().fit(StandardScaler().fit_transform(X[train]), Y[train],
                                      sample_weight=w[train])
        np.testing.assert_allclose(est[-1].coef_, direct.coef_)


def test_ridge_partial_fit_takes_sample_weight():
    X, Y, w = _wide(n=60)
    stream = MultiTaskRidge()
    for rows in np.array_split(np.arange(len(X)), 3):
        stream.partial_fit(X[rows], Y[rows], sample_weight=w[rows])
    np.testing.assert_allclose(stream.coef_,
                               MultiTaskRidge().fit(X, Y, sample_weight=w).coef_, rtol=1e-10)
    with pytest.raises(ValueError, match="negative"):
        stream.partial_fit(X, Y, sample_weight=-np.ones(len(X)))


def test_score_takes_per_task_weights():
    X, Y, w = _wide(n=60)
    model = MultiTaskRidge().fit(X, Y)
    W = np.column_stack([w, np.where(np.arange(len(w)) % 3 == 0, np.nan, w + 1), w])
    P = model.predict(X)
    seen = ~np.isnan(Y)
    expected = np.mean([r2_score(Y[seen[:, t], t], P[seen[:, t], t],
                                 sample_weight=np.nan_to_num(W[seen[:, t], t]))
                        for t in range(3)])
    assert model.score(X, Y, sample_weight=W) == pytest.approx(expected)
    assert model.score(X, Y, sample_weight=W) != pytest.approx(model.score(X, Y))

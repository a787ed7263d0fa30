"""Data-relative default penalties of the classic estimators (issue 12, item 2).

``alpha="auto"`` is ``alpha_ratio * alpha_max_`` for the L2,1 and trace norms (``alpha_max_``
the smallest penalty that zeroes every weight) and a multiple of the loss curvature for the
clustered penalty; an explicit number keeps its meaning; a fit that collapses to all-zero
weights warns; ``MultiTaskRidgeCV`` searches the task-intercept penalty by default.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.linear_model import MultiTaskLasso

from sklearn_mtml.linear import (
    ClusteredMultiTaskRegressor,
    LowRankMultiTaskRegressor,
    MultiTaskL21Regressor,
    MultiTaskRidgeCV,
)

SPARSE = [MultiTaskL21Regressor, LowRankMultiTaskRegressor]


def _school_like(n_tasks=40, n_per_task=20, p=5, seed=0):
    """Long format like School: many small tasks, z-scored features, a target on a
    scale of ~10 with task levels. ``alpha=1.0`` is far above ``alpha_max`` here (the
    loss is averaged over all rows, so each task's gradient is ~1/n_tasks of its own)."""
    rng = np.random.default_rng(seed)
    task = np.repeat(np.arange(n_tasks), n_per_task)
    X = rng.normal(size=(len(task), p))
    w = rng.normal(size=p) + 0.3 * rng.normal(size=(n_tasks, p))
    y = 30 + 3 * rng.normal(size=n_tasks)[task] + 2 * np.einsum("nd,nd->n", X, w[task])
    y += 8 * rng.normal(size=len(task))
    return np.column_stack([task, X]), y


def _wide(n=60, p=6, n_tasks=3, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    Y = X[:, :3] @ rng.normal(size=(3, n_tasks)) + 0.5 * rng.normal(size=(n, n_tasks))
    Y[rng.random(Y.shape) < 0.2] = np.nan
    return X, Y


@pytest.mark.parametrize("Est", SPARSE)
def test_auto_is_not_all_zero_where_alpha_one_collapsed(Est):
    X, y = _school_like()
    with pytest.warns(UserWarning, match=rf"{Est.__name__}.*all-zero.*alpha='auto'"):
        old = Est(alpha=1.0, task_column=0).fit(X, y)
    assert not np.any(old.coef_) and old.n_iter_ == 0  # KKT at zero: no iteration
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        model = Est(task_column=0).fit(X, y)  # the default: alpha="auto"
    assert np.any(model.coef_, axis=0).sum() >= 4  # the 5 features have weights 1 +- 0.3
    assert model.alpha_ == pytest.approx(model.alpha_ratio * model.alpha_max_)
    assert 0 < model.alpha_ < model.alpha_max_ < 1.0
    assert model.score(X, y) > old.score(X, y) + 0.1


@pytest.mark.parametrize("Est", SPARSE)
@pytest.mark.parametrize("penalize_intercepts", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_alpha_max_zeroes_everything_and_below_it_does_not(Est, penalize_intercepts, weighted):
    X, Y = _wide()
    w = np.random.default_rng(2).integers(1, 4, size=len(X)) if weighted else None
    params = {"penalize_intercepts": penalize_intercepts, "tol": 1e-10, "max_iter": 20000}
    alpha_max = Est(**params).fit(X, Y, sample_weight=w).alpha_max_
    with pytest.warns(UserWarning, match="all-zero"):
        at_max = Est(alpha=alpha_max, **params).fit(X, Y, sample_weight=w)
    assert not np.any(at_max._weights)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        below = Est(alpha=0.9 * alpha_max, **params).fit(X, Y, sample_weight=w)
    assert np.any(below._weights)


@pytest.mark.parametrize("Est", SPARSE)
def test_auto_alpha_has_the_weighting_of_the_loss(Est):
    """Integer weights are repeated rows: same alpha_max_, same alpha_, same model."""
    X, Y = _wide(seed=3)
    w = np.random.default_rng(4).integers(1, 4, size=len(X))
    rep = np.repeat(np.arange(len(X)), w)
    weighted = Est(tol=1e-11, max_iter=50000).fit(X, Y, sample_weight=w)
    repeated = Est(tol=1e-11, max_iter=50000).fit(X[rep], Y[rep])
    assert weighted.alpha_max_ == pytest.approx(repeated.alpha_max_, rel=1e-10)
    assert weighted.alpha_ == pytest.approx(repeated.alpha_, rel=1e-10)
    assert_allclose(weighted.coef_, repeated.coef_, atol=1e-7)


def test_alpha_max_formulas():
    X, Y = _wide(seed=5)
    Y = Y[:, :3]
    full = ~np.isnan(Y)
    grad = []
    for t in range(Y.shape[1]):
        rows = full[:, t]
        xc = X[rows] - X[rows].mean(axis=0)
        grad.append(xc.T @ (Y[rows, t] - Y[rows, t].mean()) / len(X))
    grad = np.array(grad)
    l21 = MultiTaskL21Regressor().fit(X, Y)
    assert l21.alpha_max_ == pytest.approx(np.linalg.norm(grad, axis=0).max(), rel=1e-12)
    trace = LowRankMultiTaskRegressor().fit(X, Y)
    assert trace.alpha_max_ == pytest.approx(np.linalg.svd(grad, compute_uv=False)[0],
                                             rel=1e-12)


def test_explicit_alpha_keeps_its_meaning():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(50, 5))
    Y = X[:, :2] @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(50, 3))
    model = MultiTaskL21Regressor(alpha=0.1, tol=1e-12, max_iter=20000).fit(X, Y)
    assert model.alpha_ == 0.1
    reference = MultiTaskLasso(alpha=0.1, tol=1e-12, max_iter=100000).fit(X, Y)
    assert_allclose(model.coef_, reference.coef_, atol=1e-7)
    assert LowRankMultiTaskRegressor(alpha=0.1).fit(X, Y).alpha_ == 0.1
    clustered = ClusteredMultiTaskRegressor(alpha=0.1, ridge_alpha=0.01).fit(X, Y)
    assert (clustered.alpha_, clustered.ridge_alpha_) == (0.1, 0.01)


@pytest.mark.parametrize("Est", SPARSE)
def test_no_collapse_warning_on_a_normal_fit(Est):
    X, Y = _wide(seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        Est(alpha=0.01).fit(X, Y)
        Est().fit(X, Y)


@pytest.mark.parametrize("Est", SPARSE)
@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1])
def test_alpha_ratio_is_validated(Est, bad):
    X, Y = _wide()
    with pytest.raises(ValueError, match="alpha_ratio"):
        Est(alpha_ratio=bad).fit(X, Y)
    with pytest.raises(ValueError, match="alpha"):
        Est(alpha="max").fit(X, Y)


def test_clustered_auto_is_relative_to_the_curvature():
    X, y = _school_like(seed=8)
    model = ClusteredMultiTaskRegressor(task_column=0).fit(X, y)
    # long format, 40 equal tasks, unit-variance features: curvature about 1 / 40
    assert model.curvature_ == pytest.approx(1 / 40, rel=0.2)
    assert model.alpha_ == pytest.approx(10 * model.curvature_)
    assert model.ridge_alpha_ == pytest.approx(0.05 * model.curvature_)
    # scaling y does not change "auto"; scaling X by s scales the curvature by s^2
    X2 = X.copy()
    X2[:, 1:] *= 3.0
    scaled = ClusteredMultiTaskRegressor(task_column=0).fit(X2, 5 * y)
    assert scaled.curvature_ == pytest.approx(9 * model.curvature_)
    assert_allclose(scaled.predict(X2), 5 * model.predict(X), rtol=1e-6)
    with pytest.raises(ValueError, match="ridge_alpha"):
        ClusteredMultiTaskRegressor(ridge_alpha="max").fit(X, y)


@pytest.mark.parametrize("Est", SPARSE)
def test_auto_is_scale_equivariant(Est):
    """"auto" follows the data: rescaling X and y rescales the model, not its sparsity."""
    X, Y = _wide(seed=9)
    a = Est(tol=1e-12, max_iter=50000).fit(X, Y)
    b = Est(tol=1e-12, max_iter=50000).fit(2 * X, 10 * Y)
    assert_allclose(b.predict(2 * X), 10 * a.predict(X), rtol=1e-5, atol=1e-6)


def test_ridge_cv_searches_the_intercept_penalty_by_default():
    """Shared slopes, scattered task levels: tying the two penalties must compromise."""
    rng = np.random.default_rng(10)
    n_tasks, n_per_task = 30, 12
    task = np.repeat(np.arange(n_tasks), n_per_task)
    X = rng.normal(size=(len(task), 4))
    y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 2.0 * rng.normal(size=n_tasks)[task]
    y += rng.normal(size=len(task))
    X_long = np.column_stack([task, X])
    default = MultiTaskRidgeCV(task_column=0).fit(X_long, y)
    tied = MultiTaskRidgeCV(intercept_alphas=None, task_column=0).fit(X_long, y)
    assert default.cv_mse_.shape == (13, 7, 7)
    assert default.intercept_alpha_ < default.alpha_
    assert -default.best_score_ < -tied.best_score_

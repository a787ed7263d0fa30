"""Tests of the classic multi-task estimators (``sklearn_mtml.linear``).

Every estimator is checked against an independent computation on a tiny problem (a dense
brute-force solve, a closed form, scipy.optimize or sklearn itself), plus its limit cases,
long == wide format and missing labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, MultiTaskLasso, Ridge

from sklearn_mtml.linear import (
    ClusteredMultiTaskRegressor,
    LowRankMultiTaskRegressor,
    MultiTaskL21Regressor,
    MultiTaskRidge,
    MultiTaskRidgeCV,
    SharedPCARegressor,
)
from sklearn_mtml.linear._clustered import cluster_penalty


# ----------------------------------------------------------------------------- helpers
def _problem(n=40, p=3, n_tasks=3, seed=0, noise=0.3):
    """Related tasks: shared weights plus a small per-task deviation, full wide Y."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w0 = rng.normal(size=p)
    W = w0 + 0.5 * rng.normal(size=(n_tasks, p))
    b = rng.normal(size=n_tasks)
    Y = X @ W.T + b + noise * rng.normal(size=(n, n_tasks))
    return X, Y


def _to_long(X, Y):
    """Stack the observed (row, task) pairs of a wide problem: X with the task id first."""
    rows, tasks = np.nonzero(~np.isnan(Y))
    X_long = np.column_stack([tasks.astype(float), X[rows]])
    return X_long, Y[rows, tasks]


def _with_missing(Y, seed=1, frac=0.25):
    rng = np.random.default_rng(seed)
    Y = Y.copy()
    Y[rng.random(Y.shape) < frac] = np.nan
    return Y


# ----------------------------------------------------------------------------- MultiTaskRidge
def _brute_force_mtl_ridge(X, Y, alpha, shared_alpha, intercept_alpha=None):
    """Dense solve of the augmented system ``[shared | task blocks]`` with intercepts.

    Parameters are ``theta = (w0, b0, v_1, c_1, ..., v_T, c_T)``; each observed (i, t) is one
    row ``[x_i, 1, 0, ..., x_i, 1 (block t), ..., 0]``. ``b0`` is the only unpenalised entry.
    """
    n, p = X.shape
    n_tasks = Y.shape[1]
    q = p + 1
    rows, targets = [], []
    for i in range(n):
        for t in range(n_tasks):
            if np.isnan(Y[i, t]):
                continue
            phi = np.zeros(q * (n_tasks + 1))
            z = np.append(X[i], 1.0)
            phi[:q] = z
            phi[q * (t + 1) : q * (t + 2)] = z
            rows.append(phi)
            targets.append(Y[i, t])
    Phi, y = np.array(rows), np.array(targets)
    c_penalty = alpha if intercept_alpha is None else intercept_alpha
    task_penalty = np.append(np.full(p, alpha), c_penalty)
    penalty = np.concatenate([np.full(p, shared_alpha), [0.0], np.tile(task_penalty, n_tasks)])
    theta = np.linalg.solve(Phi.T @ Phi + np.diag(penalty), Phi.T @ y)
    shared = theta[:q]
    task = theta[q:].reshape(n_tasks, q) + shared
    return shared, task


@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.parametrize("intercept_alpha", [None, 0.05])
def test_ridge_matches_brute_force_augmented_system(missing, intercept_alpha):
    X, Y = _problem()
    if missing:
        Y = _with_missing(Y)
    model = MultiTaskRidge(alpha=2.0, shared_alpha=0.7, intercept_alpha=intercept_alpha)
    model.fit(X, Y)
    shared, task = _brute_force_mtl_ridge(X, Y, 2.0, 0.7, intercept_alpha)
    assert_allclose(model.shared_coef_, shared[:-1], rtol=1e-8, atol=1e-10)
    assert_allclose(model.shared_intercept_, shared[-1], rtol=1e-8, atol=1e-10)
    assert_allclose(model.coef_, task[:, :-1], rtol=1e-8, atol=1e-10)
    assert_allclose(model.intercept_, task[:, -1], rtol=1e-8, atol=1e-10)


def test_ridge_large_alpha_is_pooled_ridge():
    X, Y = _problem()
    X_long, y_long = _to_long(X, Y)
    model = MultiTaskRidge(alpha=1e10, shared_alpha=3.0, task_column=0).fit(X_long, y_long)
    pooled = Ridge(alpha=3.0).fit(X_long[:, 1:], y_long)
    for t in range(Y.shape[1]):
        assert_allclose(model.coef_[t], pooled.coef_, rtol=1e-6)
        assert_allclose(model.intercept_[t], pooled.intercept_, rtol=1e-6)


def test_ridge_small_alpha_is_independent_least_squares():
    X, Y = _problem(n=30)
    model = MultiTaskRidge(alpha=1e-9, shared_alpha=5.0).fit(X, Y)
    for t in range(Y.shape[1]):
        ols = LinearRegression().fit(X, Y[:, t])
        assert_allclose(model.coef_[t], ols.coef_, rtol=1e-6, atol=1e-7)
        assert_allclose(model.intercept_[t], ols.intercept_, rtol=1e-6, atol=1e-7)


def test_ridge_long_equals_wide_and_ignores_missing():
    X, Y = _problem(n=50, n_tasks=4)
    Y = _with_missing(Y, frac=0.3)
    wide = MultiTaskRidge(alpha=0.5, shared_alpha=0.2).fit(X, Y)
    X_long, y_long = _to_long(X, Y)
    long = MultiTaskRidge(alpha=0.5, shared_alpha=0.2, task_column=0).fit(X_long, y_long)
    assert_allclose(long.coef_, wide.coef_, rtol=1e-10)
    assert_allclose(long.intercept_, wide.intercept_, rtol=1e-10)
    assert_allclose(long.predict(X_long), wide.predict(X)[~np.isnan(Y)].ravel(), rtol=1e-10)


# ----------------------------------------------------------------------------- L2,1
@pytest.mark.parametrize("alpha", [0.02, 0.3])
def test_l21_matches_sklearn_multitask_lasso(alpha):
    X, Y = _problem(n=50, p=6, n_tasks=4, seed=3)
    ours = MultiTaskL21Regressor(alpha=alpha, tol=1e-12, max_iter=20000).fit(X, Y)
    ref = MultiTaskLasso(alpha=alpha, tol=1e-14, max_iter=100000).fit(X, Y)
    assert_allclose(ours.coef_, ref.coef_, atol=1e-8)
    assert_allclose(ours.intercept_, ref.intercept_, atol=1e-8)


def test_l21_zeroes_features_as_alpha_grows():
    X, Y = _problem(n=60, p=6, n_tasks=3, seed=4)
    Y = _with_missing(Y)
    model = MultiTaskL21Regressor(tol=1e-10, max_iter=20000)
    sizes = [model.set_params(alpha=a).fit(X, Y).support_.sum() for a in np.geomspace(1e-3, 5, 12)]
    assert sizes[0] == 6 and sizes[-1] == 0
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    # The smallest alpha giving W = 0 is max_j ||grad_j(0)||: the KKT condition at zero.
    stats_grad = []
    for t in range(Y.shape[1]):
        rows = ~np.isnan(Y[:, t])
        xc = X[rows] - X[rows].mean(axis=0)
        yc = Y[rows, t] - Y[rows, t].mean()
        stats_grad.append(xc.T @ yc / X.shape[0])
    alpha_max = np.linalg.norm(np.array(stats_grad), axis=0).max()
    assert not model.set_params(alpha=alpha_max * 1.01).fit(X, Y).support_.any()
    assert model.set_params(alpha=alpha_max * 0.99).fit(X, Y).support_.sum() == 1


def test_l21_long_equals_wide_with_missing_labels():
    X, Y = _problem(n=50, p=5, n_tasks=3, seed=5)
    Y = _with_missing(Y)
    wide = MultiTaskL21Regressor(alpha=0.05, tol=1e-12, max_iter=20000).fit(X, Y)
    X_long, y_long = _to_long(X, Y)
    # Long format has one row per label: the 1/(2n) scaling counts rows, so rescale alpha.
    long = MultiTaskL21Regressor(
        alpha=0.05 * X.shape[0] / len(y_long), tol=1e-12, max_iter=20000, task_column=0
    ).fit(X_long, y_long)
    assert_allclose(long.coef_, wide.coef_, atol=1e-8)
    assert_allclose(long.intercept_, wide.intercept_, atol=1e-8)


# ----------------------------------------------------------------------------- trace norm
def test_low_rank_orthonormal_design_is_singular_value_thresholding():
    rng = np.random.default_rng(6)
    n, p, n_tasks = 40, 5, 4
    Q, _ = np.linalg.qr(rng.normal(size=(n, p)))
    X = np.sqrt(n) * Q  # X'X = n I: the loss is ||W - W_ols||^2 / 2 + const
    Y = X @ rng.normal(size=(p, n_tasks)) + rng.normal(size=(n, n_tasks))
    W_ols = Y.T @ X / n
    U, s, Vt = np.linalg.svd(W_ols, full_matrices=False)
    for alpha in [0.1, s[1] + 0.01]:
        expected = (U * np.maximum(s - alpha, 0)) @ Vt
        model = LowRankMultiTaskRegressor(alpha=alpha, fit_intercept=False, tol=1e-12).fit(X, Y)
        assert_allclose(model.coef_, expected, atol=1e-9)
        assert model.rank_ == np.sum(s > alpha)


def test_low_rank_kkt_with_missing_labels_and_rank_falls():
    X, Y = _problem(n=60, p=5, n_tasks=4, seed=7)
    Y = _with_missing(Y)
    ranks = []
    for alpha in [0.01, 0.3, 1.0, 3.0, 100.0]:
        model = LowRankMultiTaskRegressor(alpha=alpha, tol=1e-12, max_iter=50000).fit(X, Y)
        # Subgradient optimality of the trace norm: with W = U S V' (rank r) and
        # G = -grad loss(W), G = alpha (U V' + R) with U'R = 0, R V = 0, ||R||_2 <= 1.
        G = np.zeros_like(model.coef_)
        for t in range(Y.shape[1]):
            rows = ~np.isnan(Y[:, t])
            resid = Y[rows, t] - X[rows] @ model.coef_[t] - model.intercept_[t]
            assert abs(resid.sum()) < 1e-8  # unpenalised intercepts: residuals sum to zero
            G[t] = X[rows].T @ resid / X.shape[0]
        U, s, Vt = np.linalg.svd(model.coef_)
        r = int(np.sum(s > 1e-8))
        R = G / alpha - U[:, :r] @ Vt[:r]
        assert_allclose(U[:, :r].T @ R, 0, atol=1e-6)
        assert_allclose(R @ Vt[:r].T, 0, atol=1e-6)
        assert np.linalg.norm(R, 2) <= 1 + 1e-6
        ranks.append(model.rank_)
    assert ranks[0] == 4 and ranks[-1] == 0
    assert all(a >= b for a, b in zip(ranks, ranks[1:]))
    assert len(set(ranks)) >= 3


# ----------------------------------------------------------------------------- clustered
def test_clustered_with_one_cluster_per_task_is_independent_ridge():
    X, Y = _problem(n=30, p=4, n_tasks=3, seed=8)
    model = ClusteredMultiTaskRegressor(n_clusters=3, alpha=0.3, ridge_alpha=0.05, tol=1e-12,
                                        max_iter=50000).fit(X, Y)
    for t in range(3):  # M = I: penalty ridge_alpha ||w_t||^2 next to a 1/(2n) loss
        ridge = Ridge(alpha=2 * X.shape[0] * 0.05).fit(X, Y[:, t])
        assert_allclose(model.coef_[t], ridge.coef_, atol=1e-8)
        assert_allclose(model.intercept_[t], ridge.intercept_, atol=1e-8)


def test_cluster_penalty_closed_form_beats_random_feasible_matrices():
    rng = np.random.default_rng(9)
    W = rng.normal(size=(5, 3))
    eta, k = 0.4, 2
    value, grad, V, m = cluster_penalty(W, eta, k)
    assert_allclose(m.sum(), k)
    M = (V * m) @ V.T
    assert_allclose(np.trace(W.T @ np.linalg.solve(eta * np.eye(5) + M, W)), value)
    for _ in range(200):
        Q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
        eig = rng.dirichlet(np.ones(5)) * k
        if eig.max() > 1:
            continue
        M_rand = (Q * eig) @ Q.T
        assert np.trace(W.T @ np.linalg.solve(eta * np.eye(5) + M_rand, W)) >= value - 1e-12
    # Danskin: the gradient is the finite-difference gradient of the minimum.
    E = rng.normal(size=W.shape)
    fd = (cluster_penalty(W + 1e-6 * E, eta, k)[0] - cluster_penalty(W - 1e-6 * E, eta, k)[0])
    assert_allclose(fd / 2e-6, np.sum(grad * E), rtol=1e-5)


def test_clustered_is_optimal_for_its_cluster_matrix_and_long_equals_wide():
    X, Y = _problem(n=40, p=3, n_tasks=5, seed=10)
    Y = _with_missing(Y, frac=0.2)
    alpha, ridge_alpha, k = 0.5, 0.05, 2
    model = ClusteredMultiTaskRegressor(n_clusters=k, alpha=alpha, ridge_alpha=ridge_alpha,
                                        tol=1e-12, max_iter=100000).fit(X, Y)
    assert np.all(np.diff(model._objective_path) <= 1e-12)
    # Joint convexity: (W, M) is optimal iff W minimises the quadratic for the optimal M.
    # Solve that quadratic as one dense (T p) x (T p) system, independently of the solver.
    n, p = X.shape
    T = Y.shape[1]
    eta = ridge_alpha / alpha
    M = model.cluster_matrix_
    assert_allclose(np.trace(M), k)
    H = 2 * alpha * eta * (1 + eta) * np.kron(np.linalg.inv(eta * np.eye(T) + M), np.eye(p))
    b = np.zeros(T * p)
    for t in range(T):
        rows = ~np.isnan(Y[:, t])
        xc = X[rows] - X[rows].mean(axis=0)
        H[t * p : (t + 1) * p, t * p : (t + 1) * p] += xc.T @ xc / n
        b[t * p : (t + 1) * p] = xc.T @ (Y[rows, t] - Y[rows, t].mean()) / n
    assert_allclose(model.coef_, np.linalg.solve(H, b).reshape(T, p), atol=1e-7)

    X_long, y_long = _to_long(X, Y)
    scale = n / len(y_long)  # same objective up to a factor: rescale both penalties
    long = ClusteredMultiTaskRegressor(n_clusters=k, alpha=alpha * scale,
                                       ridge_alpha=ridge_alpha * scale, tol=1e-12,
                                       max_iter=100000, task_column=0).fit(X_long, y_long)
    assert_allclose(long.coef_, model.coef_, atol=1e-7)
    assert_allclose(long.intercept_, model.intercept_, atol=1e-7)


def test_clustered_recovers_task_groups():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 4))
    centers = 3 * rng.normal(size=(3, 4))
    groups = np.array([2, 0, 1, 0, 2, 1, 1, 0])
    W = centers[groups] + 0.1 * rng.normal(size=(8, 4))
    Y = X @ W.T + 0.3 * rng.normal(size=(80, 8))
    model = ClusteredMultiTaskRegressor(n_clusters=3, alpha=0.1, ridge_alpha=0.01).fit(X, Y)
    # Same partition up to the cluster names.
    pairs = model.task_clusters_[:, None] == model.task_clusters_[None, :]
    assert np.array_equal(pairs, groups[:, None] == groups[None, :])


# ----------------------------------------------------------------------------- shared PCA
@pytest.mark.parametrize("whiten", [False, True])
def test_shared_pca_is_pca_then_ridge_per_task(whiten):
    X, Y = _problem(n=50, p=5, n_tasks=3, seed=12)
    Y = _with_missing(Y)
    X_long, y_long = _to_long(X, Y)
    X_long = pd.DataFrame(X_long, columns=["task"] + [f"f{j}" for j in range(5)])
    model = SharedPCARegressor(n_components=3, alpha=2.0, whiten=whiten, task_column="task")
    model.fit(X_long, y_long)
    # By hand: PCA on every row of X (the long rows repeat samples: that is the data given).
    features = X_long.drop(columns="task").to_numpy()
    pca = PCA(n_components=3, whiten=whiten).fit(features)
    Z = pca.transform(features)
    assert_allclose(np.abs(model.transform(X_long)), np.abs(Z), atol=1e-10)
    predictions = model.predict(X_long)
    for t in range(3):
        rows = X_long["task"].to_numpy() == t
        head = Ridge(alpha=2.0).fit(Z[rows], y_long[rows])
        assert_allclose(predictions[rows], head.predict(Z[rows]), atol=1e-9)
    assert list(model.get_feature_names_out()) == [f"sharedpcaregressor{i}" for i in range(3)]


# ----------------------------------------------------------------------------- RidgeCV
@pytest.mark.parametrize("intercept_alphas", [None, [0.2, 5.0]])
def test_ridge_cv_leave_one_out_matches_refitting(intercept_alphas):
    X, Y = _problem(n=12, p=2, n_tasks=3, seed=13)
    Y = _with_missing(Y, frac=0.2)
    X_long, y_long = _to_long(X, Y)
    alphas, shared_alphas = [0.3, 3.0], [0.1, 10.0]
    cv = MultiTaskRidgeCV(alphas=alphas, shared_alphas=shared_alphas,
                          intercept_alphas=intercept_alphas).fit(X, Y)
    mse = cv.cv_mse_ if intercept_alphas else cv.cv_mse_[:, :, None]
    for (i, j, k), value in np.ndenumerate(mse):
        params = {"alpha": alphas[i], "shared_alpha": shared_alphas[j],
                  "intercept_alpha": intercept_alphas[k] if intercept_alphas else None}
        errors = []
        for row in range(len(y_long)):  # refit without observation `row`, predict it
            keep = np.arange(len(y_long)) != row
            model = MultiTaskRidge(**params, task_column=0).fit(X_long[keep], y_long[keep])
            errors.append(y_long[row] - model.predict(X_long[row : row + 1])[0])
        assert_allclose(value, np.mean(np.square(errors)), rtol=1e-8)
    i, j, k = np.unravel_index(np.argmin(mse), mse.shape)
    assert (cv.alpha_, cv.shared_alpha_) == (alphas[i], shared_alphas[j])
    best_intercept = intercept_alphas[k] if intercept_alphas else alphas[i]
    assert cv.intercept_alpha_ == best_intercept
    refit = MultiTaskRidge(alpha=cv.alpha_, shared_alpha=cv.shared_alpha_,
                           intercept_alpha=cv.intercept_alpha_).fit(X, Y)
    assert_allclose(cv.coef_, refit.coef_, rtol=1e-8, atol=1e-10)
    assert_allclose(cv.intercept_, refit.intercept_, rtol=1e-8, atol=1e-10)


def test_ridge_cv_prefers_pooling_for_identical_tasks_and_not_for_unrelated_ones():
    rng = np.random.default_rng(14)
    X = rng.normal(size=(300, 4))
    task = rng.integers(0, 10, size=300)
    X_long = np.column_stack([task, X])
    grid = {"alphas": np.logspace(-2, 4, 7), "shared_alphas": [1.0]}
    same = X @ np.ones(4) + rng.normal(size=300)
    assert MultiTaskRidgeCV(**grid, task_column=0).fit(X_long, same).alpha_ >= 1e3
    unrelated = np.einsum("nd,nd->n", X, 3 * rng.normal(size=(10, 4))[task])
    unrelated += 0.1 * rng.normal(size=300)
    assert MultiTaskRidgeCV(**grid, task_column=0).fit(X_long, unrelated).alpha_ <= 1.0


# ----------------------------------------------------------------------------- intercepts
def test_penalized_intercepts_kkt_from_explicit_residuals():
    """Task intercepts b_0 + c_t: b_0 free, the c_t one more L2,1 group; checked by KKT."""
    X, Y = _problem(n=50, p=4, n_tasks=4, seed=15)
    Y = _with_missing(Y) + 20.0  # a large common offset must go to b_0
    alpha = 0.05
    model = MultiTaskL21Regressor(alpha=alpha, penalize_intercepts=True, tol=1e-12,
                                  max_iter=100000).fit(X, Y)
    # -gradient of the loss in (w_t, c_t), from explicit residuals with design [x, 1].
    grad = np.zeros((4, 5))
    for t in range(4):
        rows = ~np.isnan(Y[:, t])
        resid = Y[rows, t] - X[rows] @ model.coef_[t] - model.intercept_[t]
        grad[t] = np.append(X[rows].T @ resid, resid.sum()) / X.shape[0]
    assert abs(grad[:, -1].sum()) < 1e-10  # b_0 is unpenalised: residuals sum to zero
    # Hence c is parallel to a zero-sum vector: b_0 is the mean intercept.
    W = np.column_stack([model.coef_, model.intercept_ - model.intercept_.mean()])
    assert np.linalg.norm(W[:, -1]) > 1e-3  # the test problem has distinct intercepts
    for j in range(5):
        norm = np.linalg.norm(W[:, j])
        if norm > 1e-10:
            assert_allclose(grad[:, j], alpha * W[:, j] / norm, atol=1e-7)
        else:
            assert np.linalg.norm(grad[:, j]) <= alpha + 1e-9


def test_multitask_ridge_partial_fit_equals_fit_wide_with_missing_labels():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(120, 4))
    Y = X @ rng.normal(size=(4, 3)) + rng.normal(size=(120, 3))
    Y[rng.random(Y.shape) < 0.3] = np.nan
    Y[:40, 2] = np.nan  # the first chunk has no label of task 2
    full = MultiTaskRidge(alpha=2.0, shared_alpha=0.5, intercept_alpha=3.0).fit(X, Y)
    stream = MultiTaskRidge(alpha=2.0, shared_alpha=0.5, intercept_alpha=3.0)
    for rows in np.array_split(np.arange(120), 3):
        stream.partial_fit(X[rows], Y[rows])
    np.testing.assert_allclose(stream.coef_, full.coef_, atol=1e-10)
    np.testing.assert_allclose(stream.intercept_, full.intercept_, atol=1e-10)
    np.testing.assert_allclose(stream.predict(X), full.predict(X), atol=1e-10)


def test_multitask_ridge_partial_fit_long_format_new_task_in_later_chunk():
    rng = np.random.default_rng(8)
    task = np.repeat([3, 1, 2], 30)
    X = np.column_stack([task, rng.normal(size=(90, 2))])
    y = X[:, 1] - X[:, 2] + task + rng.normal(size=90)
    full = MultiTaskRidge(alpha=1.0, task_column=0).fit(X, y)
    stream = MultiTaskRidge(alpha=1.0, task_column=0)
    stream.partial_fit(X[:30], y[:30])  # only task 3
    assert list(stream.task_names_) == [3]
    stream.partial_fit(X[30:], y[30:])
    assert list(stream.task_names_) == [1, 2, 3]
    np.testing.assert_allclose(stream.coef_, full.coef_, atol=1e-10)
    np.testing.assert_allclose(stream.predict(X), full.predict(X), atol=1e-10)
    # a full fit starts afresh
    refit = stream.fit(X[:30], y[:30])
    assert list(refit.task_names_) == [3]


def test_multitask_ridge_partial_fit_rejects_a_bad_chunk_and_keeps_the_model():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(40, 3))
    Y = X @ rng.normal(size=(3, 2))
    stream = MultiTaskRidge().partial_fit(X[:20], Y[:20])
    coef = stream.coef_.copy()
    with pytest.raises(ValueError, match="features"):
        stream.partial_fit(X[20:, :2], Y[20:])
    with pytest.raises(ValueError, match="same tasks"):
        stream.partial_fit(X[20:], Y[20:, :1].reshape(-1, 1))
    np.testing.assert_array_equal(stream.coef_, coef)
    assert stream.n_tasks_ == 2
    stream.partial_fit(X[20:], Y[20:])
    np.testing.assert_allclose(stream.coef_, MultiTaskRidge().fit(X, Y).coef_, atol=1e-10)

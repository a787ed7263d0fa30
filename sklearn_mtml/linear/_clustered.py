"""Clustered multi-task regression: the convex relaxation of Jacob et al. (2008)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.cluster import KMeans
from sklearn.utils._param_validation import Interval, StrOptions

from ._gram import CenteredTaskStats
from ._proximal import ProximalMultiTaskRegressor

# alpha="auto" / ridge_alpha="auto": multiples of the loss curvature ``curvature_``, chosen
# on School and five multi-target tables (see the class docstring).
_AUTO_ALPHA = 10.0
_AUTO_RIDGE = 0.05


def cluster_eigenvalues(s: np.ndarray, eta: float, k: float) -> np.ndarray:
    """Eigenvalues of the optimal cluster matrix ``M`` for singular values ``s`` of ``W``.

    Solves ``min_m sum_i s_i^2 / (eta + m_i)`` subject to ``0 <= m_i <= 1``,
    ``sum_i m_i <= k``. The KKT conditions give ``m_i = clip(theta s_i - eta, 0, 1)`` with
    ``theta`` such that ``sum_i m_i = k``: a piecewise linear increasing function of
    ``theta``, solved exactly from its breakpoints. When ``W`` has at most ``k`` non-zero
    singular values every such direction gets ``m_i = 1`` (the rest of ``tr M = k`` lies in
    the null space of ``W`` and does not change the objective).
    """
    positive = s > 0
    if positive.sum() <= k:
        return positive.astype(float)
    sp = s[positive]
    breaks = np.sort(np.concatenate([eta / sp, (1.0 + eta) / sp]))

    def total(theta):
        return np.clip(theta * sp - eta, 0.0, 1.0).sum()

    values = np.array([total(b) for b in breaks])
    j = int(np.searchsorted(values, k))  # first breakpoint with total >= k (exists: r > k)
    lo, hi = breaks[j - 1], breaks[j]
    f_lo, f_hi = values[j - 1], values[j]
    theta = lo + (k - f_lo) * (hi - lo) / (f_hi - f_lo) if f_hi > f_lo else hi
    return np.where(positive, np.clip(theta * s - eta, 0.0, 1.0), 0.0)


def cluster_penalty(W: np.ndarray, eta: float, k: float):
    """``min_M tr(W' (eta I + M)^-1 W)`` over ``{0 <= M <= I, tr M = k}``, its gradient in
    ``W`` (Danskin) and the optimal ``M``'s eigen-pairs ``(V, m)``.

    ``W`` has one row per task; the optimal ``M`` shares the left singular vectors of ``W``.
    """
    V, s, Ut = np.linalg.svd(W, full_matrices=False)
    m = cluster_eigenvalues(s, eta, k)
    d = s / (eta + m)
    return float(np.sum(s * d)), 2.0 * (V * d) @ Ut, V, m


class ClusteredMultiTaskRegressor(ProximalMultiTaskRegressor):
    """Clustered multi-task regression (convex relaxation of Jacob, Bach & Vert, 2008).

    Tasks are assumed to form ``n_clusters`` groups whose weight vectors are close. The
    combinatorial clustering is relaxed to a task-by-task matrix ``M`` in a convex set, as
    MALSAR's ``Least_CMTL`` (Zhou, Chen & Ye 2011), and the model minimises, over the observed
    labels only::

        1 / (2 n) * sum_t sum_{i in task t} (y_i - x_i . w_t - b_t)^2
            + alpha * eta * (1 + eta) * tr(W' (eta I + M)^-1 W)

        over W and M with  0 <= M <= I (eigenvalues),  tr(M) = n_clusters,
        eta = ridge_alpha / alpha

    where ``W`` is ``coef_`` (one row per task) and ``n`` the number of rows of ``X``. For a
    hard clustering, ``M`` is the projection onto the cluster indicators and the penalty
    combines a between-task spread term (``alpha``) with a ridge term (``ridge_alpha``).
    The problem is jointly convex; ``M`` is eliminated in closed form (it shares the
    singular vectors of ``W``), which leaves a smooth convex function of ``W`` minimised by
    accelerated gradient descent. ``n_clusters`` equal to the number of tasks forces
    ``M = I``: independent ridge regressions with penalty ``ridge_alpha * ||w_t||^2``.
    Task intercepts are free unless ``penalize_intercepts``.

    Parameters
    ----------
    n_clusters : int, default=2
        Number of task clusters ``k`` (the trace of ``M``); capped at the number of tasks.
    alpha : float or "auto", default="auto"
        Strength of the clustering penalty (MALSAR's ``rho1``). Must be > 0. ``"auto"``:
        ``10 * curvature_``, relative to the data (the smooth penalty never zeroes every
        weight, so there is no ``alpha_max`` as for the L2,1 and trace norms; the scale of
        the loss's curvature plays its part). A number keeps its meaning.
    ridge_alpha : float or "auto", default="auto"
        Strength of the ridge part (MALSAR's ``rho2``). Must be > 0. ``"auto"``:
        ``0.05 * curvature_``. The two multiples were chosen on School (30 % of each school
        for training) and five multi-target tables (enb, jura, slump, wq, edm): School
        wants more shrinkage (``0.1``), well-sampled tasks less (``0.01``); the former
        defaults ``alpha=0.1, ridge_alpha=0.01`` were not relative to the data.
    fit_intercept : bool, default=True
        Fit an intercept per task.
    penalize_intercepts : bool, default=False
        With ``fit_intercept``: write each task intercept as ``b_0 + c_t`` with ``b_0``
        unpenalised and the deviations ``c_t`` joining ``coef_`` as one more column (the
        weights of a constant feature) under the same penalty, as a bias feature does in
        MALSAR and as :class:`MultiTaskRidge` does. Small tasks then borrow their intercept
        from the others instead of fitting it alone. ``False``: free task intercepts.
    max_iter : int, default=1000
        Maximum number of accelerated gradient iterations.
    tol : float, default=1e-5
        Stop when the proximal-gradient mapping (the optimality residual, in gradient
        units) falls below ``tol`` times its value at the start (``coef_ = 0``).
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task weights.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    alpha_ : float
        The clustering penalty used (``alpha``, or its ``"auto"`` value).
    ridge_alpha_ : float
        The ridge penalty used (``ridge_alpha``, or its ``"auto"`` value).
    curvature_ : float
        The scale of the loss's curvature: the mean over tasks of the mean eigenvalue of
        the task's Hessian, ``trace(X_t' X_t) / (p n)`` (task-centred and weighted as the
        loss). About 1 for z-scored features and a full wide ``y``, about
        ``1 / n_tasks`` for long format with tasks of similar size.
    cluster_matrix_ : ndarray of shape (n_tasks, n_tasks)
        The part of the optimal relaxed cluster matrix ``M`` in the span of ``coef_``
        (the rest of ``tr M`` lies where it does not affect the model).
    task_clusters_ : ndarray of int, shape (n_tasks,)
        A hard clustering read off the solution: k-means on the tasks' coordinates in the
        top ``n_clusters`` eigenvectors of ``M`` (as in spectral clustering). A post-hoc
        summary; the model itself uses the relaxed ``M``.
    n_iter_ : int
        Iterations run.
    task_names_ : ndarray of object
        Task names (columns of ``y``, or the task ids of ``task_column``).
    n_tasks_ : int
        Number of tasks.
    n_features_in_ : int
        Number of columns of ``X`` seen in fit (including the task column).
    feature_names_in_ : ndarray of str
        Column names of ``X`` when it is a DataFrame.

    See Also
    --------
    MultiTaskRidge : one cluster around a shared mean (mean-regularised MTL).

    References
    ----------
    L. Jacob, F. Bach and J.-P. Vert. Clustered multi-task learning: a convex formulation.
    NIPS 2008.
    J. Zhou, J. Chen and J. Ye. Clustered multi-task learning via alternating structure
    optimization. NIPS 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.linear import ClusteredMultiTaskRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4))
    >>> centers = rng.normal(size=(2, 4))
    >>> W = centers[[0, 0, 0, 1, 1, 1]] + 0.05 * rng.normal(size=(6, 4))
    >>> Y = X @ W.T + 0.1 * rng.normal(size=(60, 6))
    >>> model = ClusteredMultiTaskRegressor(n_clusters=2, alpha=0.1, ridge_alpha=0.01)
    >>> model = model.fit(X, Y)
    >>> model.task_clusters_
    array([0, 0, 0, 1, 1, 1], dtype=int32)
    """

    _parameter_constraints: dict = {
        **ProximalMultiTaskRegressor._parameter_constraints,
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "ridge_alpha": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
    }
    _parameter_constraints.pop("alpha_ratio")

    def __init__(
        self,
        n_clusters=2,
        alpha="auto",
        ridge_alpha="auto",
        fit_intercept=True,
        penalize_intercepts=False,
        max_iter=1000,
        tol=1e-5,
        task_column=None,
    ):
        self.n_clusters = n_clusters
        self.alpha = alpha
        self.ridge_alpha = ridge_alpha
        self.fit_intercept = fit_intercept
        self.penalize_intercepts = penalize_intercepts
        self.max_iter = max_iter
        self.tol = tol
        self.task_column = task_column

    def _set_penalty(self, stats) -> None:
        # A smooth penalty never zeroes every weight: there is no alpha_max. "auto" is
        # relative to the curvature of the loss instead (see ``curvature_``).
        p = stats.r.shape[1]
        traces = np.trace(stats.G, axis1=1, axis2=2)
        self.curvature_ = float(traces.mean() / (max(p, 1) * stats.n_samples))
        # zero curvature (features constant within every task): the loss ignores W, any
        # positive penalty gives W = 0; keep "auto" positive
        unit = self.curvature_ if self.curvature_ > 0 else 1.0
        self.alpha_ = _AUTO_ALPHA * unit if isinstance(self.alpha, str) else float(self.alpha)
        self.ridge_alpha_ = (_AUTO_RIDGE * unit if isinstance(self.ridge_alpha, str)
                             else float(self.ridge_alpha))

    def _fit(self, data, sample_weight=None):
        super()._fit(data, sample_weight)
        eta, _, k = self._penalty_terms(self._weights.shape[0])
        _, _, V, m = cluster_penalty(self._weights, eta, k)
        self.cluster_matrix_ = (V * m) @ V.T
        self.task_clusters_ = self._hard_clusters(V, m, k)
        return self

    def _penalty_terms(self, n_tasks):
        eta = self.ridge_alpha_ / self.alpha_
        scale = self.alpha_ * eta * (1.0 + eta)
        return eta, scale, min(int(self.n_clusters), n_tasks)

    def _solve(self, stats: CenteredTaskStats, alpha: float) -> tuple[np.ndarray, int]:
        eta, scale, k = self._penalty_terms(stats.r.shape[0])

        def smooth(W):
            value, grad = stats.loss_grad(W)
            pen, pen_grad, _, _ = cluster_penalty(W, eta, k)
            return value + scale * pen, grad + scale * pen_grad

        # The penalty's gradient is (2 scale / eta)-Lipschitz: (eta I + M)^-1 <= I / eta.
        return self._run_fista(stats, smooth=smooth,
                               lipschitz=stats.lipschitz() + 2.0 * scale / eta)

    @staticmethod
    def _hard_clusters(V, m, k):
        n_tasks = V.shape[0]
        if n_tasks <= k:
            return np.arange(n_tasks, dtype=np.int32)
        if k == 1:
            return np.zeros(n_tasks, dtype=np.int32)
        order = np.argsort(m)[::-1][:k]
        embedding = V[:, order] * np.sqrt(m[order])
        if not np.any(embedding):
            return np.zeros(n_tasks, dtype=np.int32)
        labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(embedding)
        # Number clusters by first appearance so the labels do not depend on k-means' order.
        _, first = np.unique(labels, return_index=True)
        relabel = np.empty(k, dtype=np.int32)
        relabel[labels[np.sort(first)]] = np.arange(len(first), dtype=np.int32)
        return relabel[labels]

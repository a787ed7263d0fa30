"""Mean-regularized multi-task ridge with both penalties chosen by exact leave-one-out."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import column_or_1d

from .._targets import TaskData
from ._gram import design, observations_by_task, task_bounds
from ._ridge import MultiTaskRidge

# Default grids (module constants: defaults must not be built per call).
_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 13))
_SHARED_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 7))


class _EigenPath:
    """Mean-regularized ridge for many ``(alpha, shared_alpha)`` from one eigendecomposition.

    With ``G_t = Q_t diag(lam_t) Q_t'`` every ``A_t = (G_t + alpha I)^-1`` is a diagonal
    rescaling, so each ``alpha`` costs ``O(n p^2)`` and each ``shared_alpha`` one ``p x p``
    solve (see :func:`~sklearn_mtml.linear._ridge.mean_regularized_solve` for the
    elimination of the task deviations).

    The leave-one-out residual of an observation is ``e_i / (1 - h_i)`` (the model is a
    penalised least-squares fit, linear in ``y``). For observation ``i`` of task ``t`` with
    design row ``z`` and ``S = alpha * M`` the Schur complement of the shared block,
    ``h_i = z' A_t z + alpha^2 (A_t z)' S^-1 (A_t z)``.
    """

    def __init__(self, Z: np.ndarray, data: TaskData):
        self.Z, self.y, self.task, counts = observations_by_task(Z, data)
        self.bounds = task_bounds(counts)
        n_tasks, q = len(counts), Z.shape[1]
        G = np.empty((n_tasks, q, q))
        r = np.empty((n_tasks, q))
        for t in range(n_tasks):
            block = self.Z[self.bounds[t] : self.bounds[t + 1]]
            G[t] = block.T @ block
            r[t] = block.T @ self.y[self.bounds[t] : self.bounds[t + 1]]
        self.lam, self.Q = np.linalg.eigh(G)
        self.lam = np.maximum(self.lam, 0.0)
        self.Qr = np.einsum("tji,tj->ti", self.Q, r)  # Q_t' r_t
        self.P = np.empty_like(self.Z)  # Q_t' z_i per observation
        for t in range(n_tasks):
            sl = slice(self.bounds[t], self.bounds[t + 1])
            self.P[sl] = self.Z[sl] @ self.Q[t]

    def for_alpha(self, alpha: float) -> dict:
        """The per-alpha quantities: ``A_t``, ``A_t r_t``, ``sum_t (I - alpha A_t)``, ``A_t z``."""
        inv = 1.0 / (self.lam + alpha)
        QD = self.Q * inv[:, None, :]
        A = QD @ np.swapaxes(self.Q, 1, 2)
        Ar = np.einsum("tij,tj->ti", QD, self.Qr)
        q = self.Z.shape[1]
        B = len(A) * np.eye(q) - alpha * A.sum(axis=0)
        Az = np.empty_like(self.Z)
        for t in range(len(A)):
            sl = slice(self.bounds[t], self.bounds[t + 1])
            Az[sl] = (self.P[sl] * inv[t]) @ self.Q[t].T
        base_h = np.einsum("ij,ij->i", self.P * inv[self.task], self.P)
        return {"alpha": alpha, "A": A, "Ar": Ar, "B": B, "Az": Az, "base_h": base_h}

    @staticmethod
    def solve(path: dict, shared_penalty: np.ndarray):
        """Shared weights ``u``, task weights ``W`` and ``M^-1`` for one shared penalty."""
        alpha = path["alpha"]
        M = path["B"] + np.diag(shared_penalty) / alpha
        M_inv = np.linalg.pinv((M + M.T) / 2, hermitian=True)
        u = M_inv @ path["Ar"].sum(axis=0)
        W = path["Ar"] + alpha * np.einsum("tij,j->ti", path["A"], u)
        return u, W, M_inv

    def loo_mse(self, path: dict, W: np.ndarray, M_inv: np.ndarray) -> float:
        """Mean squared leave-one-out error over every observed label."""
        fitted = np.einsum("ij,ij->i", self.Z, W[self.task])
        Az = path["Az"]
        h = path["base_h"] + path["alpha"] * np.einsum("ij,ij->i", Az @ M_inv, Az)
        resid = (self.y - fitted) / np.maximum(1.0 - h, np.finfo(float).eps)
        return float(np.mean(resid**2))


class MultiTaskRidgeCV(MultiTaskRidge):
    """:class:`MultiTaskRidge` with ``alpha`` and ``shared_alpha`` chosen by leave-one-out.

    Fits the mean-regularized objective of :class:`MultiTaskRidge`::

        sum_t sum_{i in task t} (y_i - x_i . w_t - b_t)^2
            + shared_alpha * ||w_0||^2 + alpha * sum_t (||v_t||^2 + c_t^2)

    for every pair of the grid ``alphas x shared_alphas`` and keeps the pair with the lowest
    exact leave-one-out mean squared error over all observed labels (each label left out in
    turn, as sklearn's ``RidgeCV``). The per-task Gram matrices are eigendecomposed once,
    after which every ``alpha`` costs one pass over the data and every ``shared_alpha`` one
    small ``p x p`` solve, so the whole grid costs a few fits. Only the training data are
    used: the choice is honest inside an outer cross-validation.

    Parameters
    ----------
    alphas : array-like of float, default=np.logspace(-2, 4, 13)
        Candidate penalties on the task deviations (each > 0).
    shared_alphas : array-like of float, default=np.logspace(-2, 4, 7)
        Candidate penalties on the shared weights (each >= 0).
    fit_intercept : bool, default=True
        Fit a shared intercept and task intercepts around it.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty on the task deviations.
    shared_alpha_ : float
        The chosen penalty on the shared weights.
    cv_mse_ : ndarray of shape (n_alphas, n_shared_alphas)
        Leave-one-out mean squared error of every pair.
    best_score_ : float
        Negative leave-one-out mean squared error of the chosen pair.
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task weights ``w_0 + v_t`` at the chosen pair.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts (zeros without ``fit_intercept``).
    shared_coef_ : ndarray of shape (n_features,)
        The shared weights ``w_0``.
    shared_intercept_ : float
        The shared intercept ``b_0``.
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
    MultiTaskRidge : the model at fixed penalties.
    sklearn.linear_model.RidgeCV : the same leave-one-out shortcut for one ridge.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.linear import MultiTaskRidgeCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(120, 4))
    >>> task = rng.integers(0, 6, size=120)
    >>> w = rng.normal(size=4)
    >>> y = X @ w + 0.3 * rng.normal(size=(6, 4))[task] @ np.ones(4) + rng.normal(size=120)
    >>> model = MultiTaskRidgeCV(task_column=0).fit(np.column_stack([task, X]), y)
    >>> model.alpha_ > 0, model.cv_mse_.shape
    (True, (13, 7))
    """

    _parameter_constraints: dict = {
        "alphas": ["array-like"],
        "shared_alphas": ["array-like"],
        "fit_intercept": ["boolean"],
        "task_column": [None, str, int, object],
    }

    def __init__(
        self,
        alphas=_ALPHAS,
        shared_alphas=_SHARED_ALPHAS,
        fit_intercept=True,
        task_column=None,
    ):
        self.alphas = alphas
        self.shared_alphas = shared_alphas
        self.fit_intercept = fit_intercept
        self.task_column = task_column

    def _grids(self):
        alphas = column_or_1d(np.asarray(self.alphas, dtype=np.float64))
        shared = column_or_1d(np.asarray(self.shared_alphas, dtype=np.float64))
        if not (len(alphas) and np.all(np.isfinite(alphas)) and np.all(alphas > 0)):
            raise ValueError(f"alphas must be finite and > 0, got {self.alphas!r}.")
        if not (len(shared) and np.all(np.isfinite(shared)) and np.all(shared >= 0)):
            raise ValueError(f"shared_alphas must be finite and >= 0, got {self.shared_alphas!r}.")
        return alphas, shared

    def _fit(self, data: TaskData):
        alphas, shared_alphas = self._grids()
        Z = design(data.X, self.fit_intercept)
        eigen = _EigenPath(Z, data)
        mse = np.empty((len(alphas), len(shared_alphas)))
        for i, alpha in enumerate(alphas):
            path = eigen.for_alpha(float(alpha))
            for j, shared_alpha in enumerate(shared_alphas):
                _, W, M_inv = eigen.solve(path, self._shared_penalty(Z.shape[1], shared_alpha))
                mse[i, j] = eigen.loo_mse(path, W, M_inv)
        if np.all(np.isnan(mse)):
            raise ValueError("Leave-one-out errors are all NaN; check the data.")
        i, j = np.unravel_index(np.nanargmin(mse), mse.shape)
        path = eigen.for_alpha(float(alphas[i]))
        u, W, _ = eigen.solve(path, self._shared_penalty(Z.shape[1], shared_alphas[j]))
        self.alpha_, self.shared_alpha_ = float(alphas[i]), float(shared_alphas[j])
        self.cv_mse_ = mse
        self.best_score_ = -float(mse[i, j])
        self._set_coefs(u, W)
        return self

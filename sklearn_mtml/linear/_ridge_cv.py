"""Mean-regularized multi-task ridge with both penalties chosen by exact leave-one-out."""

from __future__ import annotations

import numpy as np
import scipy.linalg
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import column_or_1d

from .._targets import TaskData
from ._gram import design, observations_by_task, task_bounds
from ._ridge import MultiTaskRidge, apply_inverse, task_factor

# Default grids (module constants: defaults must not be built per call).
_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 13))
_SHARED_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 7))
_INTERCEPT_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 7))


def _inverse_psd(M: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive (semi-)definite matrix: Cholesky, else pseudo-inverse.

    A small Cholesky solve rather than ``pinv``: an eigendecomposition per grid point is
    slow, and needless when ``M`` is definite (any shared penalty > 0 makes it so).
    """
    try:
        factor = scipy.linalg.cho_factor(M)
        return scipy.linalg.cho_solve(factor, np.eye(len(M)))
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return np.linalg.pinv(M, hermitian=True)


class _LeaveOneOutPath:
    """Mean-regularized ridge and its exact leave-one-out error over a penalty grid.

    Per task penalty ``L = diag(lam)`` (one ``(alpha, intercept_alpha)`` pair) one batched
    Cholesky factorisation :func:`~sklearn_mtml.linear._ridge.task_factor` and two passes
    over the data; per ``shared_alpha`` one ``p x p`` solve.

    The model is a penalised least-squares fit, linear in ``y``, so the leave-one-out
    residual of an observation is ``e_i / (1 - h_i)``. For observation ``i`` of task ``t``
    with design row ``z``, block elimination of the augmented system gives
    ``h_i = z' A_t z + (L A_t z)' M^-1 (L A_t z)`` with ``A_t = (G_t + L)^-1`` and ``M`` the
    Schur complement of the shared block (the matrix of the shared system).

    With weights ``w_i`` the fit is the ridge of ``sqrt(w_i) z_i, sqrt(w_i) y_i``, whose
    leverages are ``w_i h_i``; as sklearn's ``RidgeCV``, leaving an observation out leaves
    out its whole weight, and the error is the weighted mean of the squared leave-one-out
    residuals: on rows repeated as the integer weights say, leave-one-*group*-out over the
    copies of each row.
    """

    def __init__(self, Z: np.ndarray, data: TaskData, weight: np.ndarray | None = None):
        self.Z, self.y, self.task, counts, self.w = observations_by_task(Z, data, weight)
        self.bounds = task_bounds(counts)
        n_tasks, q = len(counts), Z.shape[1]
        self.G = np.empty((n_tasks, q, q))
        self.r = np.empty((n_tasks, q))
        Zw = self.Z if self.w is None else self.Z * self.w[:, None]
        for t, sl in enumerate(self._slices()):
            self.G[t] = Zw[sl].T @ self.Z[sl]
            self.r[t] = Zw[sl].T @ self.y[sl]
        if self.w is not None:
            self.G = (self.G + np.swapaxes(self.G, 1, 2)) / 2

    def _slices(self):
        return [slice(self.bounds[t], self.bounds[t + 1]) for t in range(len(self.bounds) - 1)]

    def for_penalty(self, lam: np.ndarray) -> dict:
        """Everything that depends on the task penalties only."""
        K, B = task_factor(self.G, lam)
        KZ = np.empty_like(self.Z)
        AZ = np.empty_like(self.Z)
        for t, sl in enumerate(self._slices()):
            KZ[sl] = self.Z[sl] @ K[t].T
            AZ[sl] = KZ[sl] @ K[t]
        return {
            "lam": lam,
            "K": K,
            "B": B,
            "Ar": apply_inverse(K, self.r),
            "LAz": AZ * lam,
            "base_h": np.einsum("ij,ij->i", KZ, KZ),
        }

    def solve(self, path: dict, shared_penalty: np.ndarray):
        """Shared weights ``u``, task weights ``W`` and ``M^-1`` for one shared penalty."""
        M = path["B"] + np.diag(shared_penalty)
        M_inv = _inverse_psd((M + M.T) / 2)
        u = M_inv @ (path["lam"] * path["Ar"].sum(axis=0))
        W = apply_inverse(path["K"], self.r + path["lam"] * u)
        return u, W, M_inv

    def loo_mse(self, path: dict, W: np.ndarray, M_inv: np.ndarray) -> float:
        """Mean squared leave-one-out error over every observed label (weighted mean)."""
        fitted = np.einsum("ij,ij->i", self.Z, W[self.task])
        LAz = path["LAz"]
        h = path["base_h"] + np.einsum("ij,ij->i", LAz @ M_inv, LAz)
        if self.w is not None:
            h = self.w * h
        resid = (self.y - fitted) / np.maximum(1.0 - h, np.finfo(float).eps)
        if self.w is None:
            return float(np.mean(resid**2))
        return float(np.sum(self.w * resid**2) / np.sum(self.w))


class MultiTaskRidgeCV(MultiTaskRidge):
    """:class:`MultiTaskRidge` with its penalties chosen by exact leave-one-out.

    Fits the mean-regularized objective of :class:`MultiTaskRidge`::

        sum_t sum_{i in task t} (y_i - x_i . w_t - b_t)^2
            + shared_alpha * ||w_0||^2 + alpha * sum_t ||v_t||^2
            + intercept_alpha * sum_t c_t^2

    for every point of the grid ``alphas x shared_alphas x intercept_alphas`` (with
    ``intercept_alphas=None``, ``intercept_alpha = alpha``) and keeps the one with the lowest exact
    leave-one-out mean squared error over all observed labels (each label left out in
    turn, as sklearn's ``RidgeCV``; with ``sample_weight`` the weighted mean, each label
    left out with its whole weight, as sklearn's ``RidgeCV`` does), then refits there.
    Each ``(alpha, intercept_alpha)`` costs one batched Cholesky factorisation of the
    per-task Gram matrices and two passes over the data, each ``shared_alpha`` one small
    ``p x p`` solve: the whole grid costs a few fits. Only the training data are used, so
    the choice is honest inside an outer cross-validation.

    Parameters
    ----------
    alphas : array-like of float, default=np.logspace(-2, 4, 13)
        Candidate penalties on the task deviations (each > 0).
    shared_alphas : array-like of float, default=np.logspace(-2, 4, 7)
        Candidate penalties on the shared weights (each >= 0).
    intercept_alphas : array-like of float or None, default=np.logspace(-2, 4, 7)
        Candidate penalties on the task intercept deviations (each > 0), searched jointly
        with the other two; ``None`` ties them to ``alpha`` (a 7 times smaller search).
        Task levels and task slopes usually want different shrinkage: on School (139
        schools, 30 % of the students for training) the leave-one-out choice pools the
        slopes (``alpha`` about 300-1000) but not the levels (``intercept_alpha`` about
        10), and only the joint search beats a pooled ridge with one-hot task intercepts
        (see :ref:`choosing`). ``fit_intercept=False`` ignores it.
    fit_intercept : bool, default=True
        Fit a shared intercept and task intercepts around it.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.
    unseen_tasks : {"auto", "error"}, default="auto"
        Long format, a task id ``predict`` never saw in fit. ``"auto"``: predicted with the
        shared part ``x . w_0 + b_0`` (a new group gets the population model, as in mixed
        models), with a ``UserWarning`` naming the ids. ``"error"``: a ``ValueError``.

    Attributes
    ----------
    alpha_ : float
        The chosen penalty on the task deviations.
    shared_alpha_ : float
        The chosen penalty on the shared weights.
    intercept_alpha_ : float
        The chosen penalty on the task intercept deviations (``alpha_`` when tied).
    cv_mse_ : ndarray of shape (n_alphas, n_shared_alphas, n_intercept_alphas) or \
            (n_alphas, n_shared_alphas)
        Leave-one-out mean squared error of every grid point (the second shape with
        ``intercept_alphas=None`` or ``fit_intercept=False``).
    best_score_ : float
        Negative leave-one-out mean squared error of the chosen point.
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task weights ``w_0 + v_t`` at the chosen point.
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
    >>> offsets = rng.normal(size=6)
    >>> y = X @ rng.normal(size=4) + offsets[task] + rng.normal(size=120)
    >>> model = MultiTaskRidgeCV(task_column=0).fit(np.column_stack([task, X]), y)
    >>> model.alpha_ > 0, model.cv_mse_.shape
    (True, (13, 7, 7))
    """

    _streamable = False

    _parameter_constraints: dict = {
        "alphas": ["array-like"],
        "shared_alphas": ["array-like"],
        "intercept_alphas": [None, "array-like"],
        "fit_intercept": ["boolean"],
        "task_column": [None, str, int, object],
        "unseen_tasks": [StrOptions({"auto", "error"})],
    }

    def __init__(
        self,
        alphas=_ALPHAS,
        shared_alphas=_SHARED_ALPHAS,
        intercept_alphas=_INTERCEPT_ALPHAS,
        fit_intercept=True,
        task_column=None,
        unseen_tasks="auto",
    ):
        self.alphas = alphas
        self.shared_alphas = shared_alphas
        self.intercept_alphas = intercept_alphas
        self.fit_intercept = fit_intercept
        self.task_column = task_column
        self.unseen_tasks = unseen_tasks

    @staticmethod
    def _grid(values, name, allow_zero=False):
        grid = column_or_1d(np.asarray(values, dtype=np.float64))
        low_ok = np.all(grid >= 0) if allow_zero else np.all(grid > 0)
        if not (len(grid) and np.all(np.isfinite(grid)) and low_ok):
            bound = ">= 0" if allow_zero else "> 0"
            raise ValueError(f"{name} must be finite and {bound}, got {values!r}.")
        return grid

    def _fit(self, data: TaskData, sample_weight=None):
        alphas = self._grid(self.alphas, "alphas")
        shared_alphas = self._grid(self.shared_alphas, "shared_alphas", allow_zero=True)
        tied = self.intercept_alphas is None or not self.fit_intercept
        intercepts = [None] if tied else self._grid(self.intercept_alphas, "intercept_alphas")
        loo = _LeaveOneOutPath(design(data.X, self.fit_intercept), data, sample_weight)
        q = loo.G.shape[1]
        mse = np.empty((len(alphas), len(shared_alphas), len(intercepts)))
        for i, alpha in enumerate(alphas):
            for k, intercept_alpha in enumerate(intercepts):
                path = loo.for_penalty(self._task_penalty(q, alpha, intercept_alpha))
                for j, shared_alpha in enumerate(shared_alphas):
                    _, W, M_inv = loo.solve(path, self._shared_penalty(q, shared_alpha))
                    mse[i, j, k] = loo.loo_mse(path, W, M_inv)
        if np.all(np.isnan(mse)):
            raise ValueError("Leave-one-out errors are all NaN; check the data.")
        i, j, k = np.unravel_index(np.nanargmin(mse), mse.shape)
        path = loo.for_penalty(self._task_penalty(q, alphas[i], intercepts[k]))
        u, W, _ = loo.solve(path, self._shared_penalty(q, shared_alphas[j]))
        self.alpha_, self.shared_alpha_ = float(alphas[i]), float(shared_alphas[j])
        self.intercept_alpha_ = self.alpha_ if tied else float(intercepts[k])
        self.cv_mse_ = mse[:, :, 0] if tied else mse
        self.best_score_ = -float(mse[i, j, k])
        self._set_coefs(u, W)
        return self

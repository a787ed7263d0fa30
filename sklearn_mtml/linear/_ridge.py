"""Mean-regularized multi-task ridge (Evgeniou & Pontil, 2004)."""

from __future__ import annotations

import contextlib
import dataclasses
from numbers import Real

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import Interval, StrOptions

from .._targets import REGRESSION, TaskData, fit_guard, validate_fit_data
from .._weights import resolve_weights
from ._base import LinearMultiTaskRegressorMixin
from ._gram import task_gram
from ._streaming import TaskGramAccumulator


def _solve_psd(A, b):
    try:
        return scipy.linalg.solve(A, b, assume_a="pos")
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        return np.linalg.lstsq(A, b, rcond=None)[0]


def batched_cholesky_inverse(S: np.ndarray) -> np.ndarray:
    """``L^-1`` for the Cholesky factors ``L`` of a stack of SPD matrices, so that
    ``S[t]^-1 = L_t^-T L_t^-1``.

    Forward substitution vectorised over the stack: ``p`` small batched products instead of
    one LAPACK call per matrix (several times faster for many small matrices).
    """
    L = np.linalg.cholesky(S)
    n, p, _ = S.shape
    L_inv = np.zeros_like(S)
    diag = L[:, np.arange(p), np.arange(p)]
    for i in range(p):
        row = -(L[:, i : i + 1, :i] @ L_inv[:, :i, :])[:, 0, :]
        row[:, i] += 1.0
        L_inv[:, i, :] = row / diag[:, i, None]
    return L_inv


def apply_inverse(K, b):
    """``A_t b_t = K_t' K_t b_t`` for every task."""
    return (np.swapaxes(K, 1, 2) @ (K @ b[:, :, None]))[:, :, 0]


def mean_regularized_solve(G, r, alpha, shared_penalty):
    """Exact minimiser of the mean-regularized least-squares objective.

    Minimises ``sum_t ||y_t - Z_t (u + v_t)||^2 + u' D u + sum_t v_t' L v_t`` with
    ``D = diag(shared_penalty)`` and ``L = diag(alpha)`` (``alpha`` a scalar or one penalty
    per column), given per-task ``G[t] = Z_t'Z_t`` and ``r[t] = Z_t'y_t``.

    Eliminating ``v_t = A_t (r_t - G_t u)`` with ``A_t = (G_t + L)^-1`` (and
    ``I - A_t G_t = A_t L``) leaves one ``p x p`` system for the shared part,
    ``(sum_t (L - L A_t L) + D) u = sum_t L A_t r_t``, and ``w_t = A_t (r_t + L u)``: the
    cost is a batched ``p x p`` Cholesky factorisation per task instead of the ``(T+1)p``
    augmented system. With ``A_t = K_t' K_t`` (``K_t`` the inverse Cholesky factor)
    ``sum_t L A_t L`` is one matrix product over the stacked ``K_t L`` and no ``A_t`` is
    ever formed.

    Returns
    -------
    u : ndarray of shape (p,)
        Shared weights.
    W : ndarray of shape (n_tasks, p)
        Per-task weights ``u + v_t``.
    """
    n_tasks, p, _ = G.shape
    D = np.diag(shared_penalty)
    lam = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (p,))
    if np.all(np.isinf(lam)):
        u = _solve_psd(G.sum(axis=0) + D, r.sum(axis=0))
        return u, np.broadcast_to(u, (n_tasks, p)).copy()
    K, B = task_factor(G, lam)
    M = B + D
    u = _solve_psd((M + M.T) / 2, lam * apply_inverse(K, r).sum(axis=0))
    return u, apply_inverse(K, r + lam * u)


def task_factor(G: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse Cholesky factors ``K_t`` of ``G_t + L`` and ``sum_t (L - L A_t L)``.

    The two pieces of :func:`mean_regularized_solve` that depend on the task penalties
    ``L = diag(lam)`` only (shared with the leave-one-out path of ``MultiTaskRidgeCV``).
    """
    n_tasks, p, _ = G.shape
    K = batched_cholesky_inverse(G + np.diag(lam))  # SPD since the penalties are > 0
    stacked = (K * lam).reshape(n_tasks * p, p)
    return K, n_tasks * np.diag(lam) - stacked.T @ stacked


class MultiTaskRidge(LinearMultiTaskRegressorMixin, BaseEstimator):
    """Mean-regularized multi-task ridge regression (Evgeniou & Pontil, 2004).

    Each task's weights are a shared part plus a task-specific deviation,
    ``w_t = w_0 + v_t`` and ``b_t = b_0 + c_t``, fitted jointly by minimising::

        sum_t sum_{i in task t} (y_i - x_i . w_t - b_t)^2
            + shared_alpha * ||w_0||^2 + alpha * sum_t ||v_t||^2
            + intercept_alpha * sum_t c_t^2

    The shared intercept ``b_0`` is not penalised; the task intercepts are pulled towards it
    like the weights (unpenalised per-task intercepts overfit small tasks), by
    ``intercept_alpha`` (``alpha`` unless set). ``alpha -> inf``
    gives one pooled ridge over all tasks; ``alpha -> 0`` gives independent least squares per
    task. The solution is exact: per-task Gram matrices and one batched ``p x p`` solve.

    Parameters
    ----------
    alpha : float, default=1.0
        Penalty on the task-specific deviations ``v_t`` (and ``c_t``); ``np.inf`` pools the
        tasks. Must be > 0.
    shared_alpha : float, default=1.0
        Penalty on the shared weights ``w_0``.
    fit_intercept : bool, default=True
        Fit a shared intercept and task intercepts around it.
    intercept_alpha : float or None, default=None
        Penalty on the task intercept deviations ``c_t`` when it should differ from
        ``alpha`` (``None``: ``alpha``). A small value with a large ``alpha`` pools the
        weights but lets each task keep its own level. Must be > 0 and needs a finite
        ``alpha``.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.
    unseen_tasks : {"auto", "error"}, default="auto"
        Long format, a task id ``predict`` never saw in fit. ``"auto"``: predicted with the
        shared part ``x . w_0 + b_0`` (a new group gets the population model, as in mixed
        models), with a ``UserWarning`` naming the ids. ``"error"``: a ``ValueError``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task weights ``w_0 + v_t``.
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
    sklearn.linear_model.Ridge : one ridge for all outputs (the pooled limit).

    References
    ----------
    T. Evgeniou and M. Pontil. Regularized multi-task learning. KDD 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml import MultiTaskRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> w = np.array([1.0, -2.0, 0.5])
    >>> Y = np.column_stack([X @ (w + 0.1 * t) for t in range(3)])
    >>> Y[::7, 1] = np.nan  # missing labels are left out of task 1 only
    >>> model = MultiTaskRidge(alpha=1.0).fit(X, Y)
    >>> model.predict(X[:2]).shape
    (2, 3)
    >>> round(model.score(X, Y), 3)
    1.0
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="right")],
        "shared_alpha": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "intercept_alpha": [None, Interval(Real, 0, None, closed="neither")],
        "task_column": [None, str, int, object],
        "unseen_tasks": [StrOptions({"auto", "error"})],
    }

    def __init__(
        self,
        alpha=1.0,
        shared_alpha=1.0,
        fit_intercept=True,
        intercept_alpha=None,
        task_column=None,
        unseen_tasks="auto",
    ):
        self.alpha = alpha
        self.shared_alpha = shared_alpha
        self.fit_intercept = fit_intercept
        self.intercept_alpha = intercept_alpha
        self.task_column = task_column
        self.unseen_tasks = unseen_tasks

    def _has_shared_part(self) -> bool:
        return True

    def _predict_shared(self, X) -> np.ndarray:
        return X @ self.shared_coef_ + self.shared_intercept_

    def _fit(self, data: TaskData, sample_weight=None):
        self.__dict__.pop("_stream", None)  # a full fit starts any streaming afresh
        G, r, _ = task_gram(data.X, data, intercept=self.fit_intercept, weight=sample_weight)
        self._solve(G, r)
        return self

    def _solve(self, G, r):
        shared_penalty = self._shared_penalty(G.shape[1], self.shared_alpha)
        task_penalty = self._task_penalty(G.shape[1], self.alpha, self.intercept_alpha)
        u, W = mean_regularized_solve(G, r, task_penalty, shared_penalty)
        self._set_coefs(u, W)

    #: ``partial_fit`` needs fixed penalties (``MultiTaskRidgeCV`` chooses them from all data).
    _streamable = True

    @available_if(lambda self: self._streamable)
    def partial_fit(self, X, y, sample_weight=None):
        """Update the model with one more chunk of rows (exact streaming fit).

        The data enter the solution only through per-task sums (``Z_t'Z_t``, ``Z_t'y_t``),
        so the model after the last chunk equals ``fit`` on all rows at once. In long
        format a task may first appear in a later chunk; in wide format every chunk has the
        first chunk's tasks, and a chunk may lack some task's labels. A chunk that fails
        validation leaves the model as it was.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like, Series or DataFrame of shape (n_samples,) or (n_samples, n_tasks)
        sample_weight : array-like of shape (n_samples,) or (n_samples, n_tasks), \
                default=None
            Weights of this chunk's rows (or, wide format, rows and tasks; ``NaN`` = 0), as
            in ``fit``: the weighted sums add up over the chunks.

        Returns
        -------
        self : object

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn_mtml import MultiTaskRidge
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(90, 3))
        >>> Y = X @ rng.normal(size=(3, 2))
        >>> stream = MultiTaskRidge()
        >>> for rows in np.array_split(np.arange(90), 3):
        ...     stream = stream.partial_fit(X[rows], Y[rows])
        >>> bool(np.allclose(stream.coef_, MultiTaskRidge().fit(X, Y).coef_))
        True
        """
        self._validate_params()
        first = not hasattr(self, "_stream")
        previous = None if first else self._task_layout
        with fit_guard(self) if first else contextlib.nullcontext():
            data = validate_fit_data(
                self, X, y, task_types=REGRESSION, task_column=self.task_column,
                reset=first, require_labels=False,
            )
            if previous is not None and not data.layout.long and (
                list(data.layout.names) != list(previous.names)
            ):
                raise ValueError(
                    f"partial_fit got tasks {list(data.layout.names)} but earlier chunks had "
                    f"{list(previous.names)}: every wide-format chunk needs the same tasks."
                )
            weight = resolve_weights(self, data, sample_weight, partial=True)
            if first:
                self._stream = TaskGramAccumulator(data.X.shape[1] + int(self.fit_intercept))
            self._stream.update(data.X, data, intercept=self.fit_intercept, weight=weight)
            names = self._stream.names
            self._task_layout = dataclasses.replace(
                data.layout, names=names, task_types=(REGRESSION,) * len(names),
                classes=(None,) * len(names),
            )
            self.task_names_, self.n_tasks_ = names, len(names)
            self._solve(self._stream.G, self._stream.r)
        return self

    def _set_coefs(self, u, W):
        if self.fit_intercept:
            self.shared_coef_, self.shared_intercept_ = u[:-1], float(u[-1])
            self.coef_, self.intercept_ = W[:, :-1], W[:, -1].copy()
        else:
            self.shared_coef_, self.shared_intercept_ = u, 0.0
            self.coef_, self.intercept_ = W, np.zeros(W.shape[0])

    def _task_penalty(self, n_columns, alpha, intercept_alpha):
        """Penalty on the task deviations: ``alpha``, ``intercept_alpha`` on ``c_t``."""
        penalty = np.full(n_columns, float(alpha))
        if self.fit_intercept and intercept_alpha is not None:
            if np.isinf(alpha):
                raise ValueError(
                    "intercept_alpha needs a finite alpha: alpha=inf pools the task "
                    "intercepts too."
                )
            penalty[-1] = float(intercept_alpha)
        return penalty

    def _shared_penalty(self, n_columns, shared_alpha):
        """Penalty on the shared part: ``shared_alpha``, none on the shared intercept."""
        penalty = np.full(n_columns, float(shared_alpha))
        if self.fit_intercept:
            penalty[-1] = 0.0
        return penalty

"""Accelerated proximal gradient (FISTA) and the proximal operators of the package.

One solver for every penalised multi-task least-squares estimator: the smooth part comes
from :class:`~sklearn_mtml.linear._gram.CenteredTaskStats` (plus, optionally, a smooth
penalty), the non-smooth part is handled by a proximal operator.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions

from .._targets import TaskData
from ._base import LinearMultiTaskRegressorMixin
from ._gram import (
    CenteredTaskStats,
    centered_task_stats,
    shared_intercept_task_stats,
)

__all__ = [
    "ProximalMultiTaskRegressor",
    "fista",
    "prox_group_l2",
    "prox_trace",
    "singular_value_threshold",
]


def fista(
    smooth: Callable[[np.ndarray], tuple[float, np.ndarray]],
    lipschitz: float,
    W0: np.ndarray,
    *,
    prox: Callable[[np.ndarray, float], np.ndarray] | None = None,
    nonsmooth: Callable[[np.ndarray], float] | None = None,
    max_iter: int = 1000,
    tol: float = 1e-6,
    estimator_name: str = "estimator",
) -> tuple[np.ndarray, int, list[float]]:
    """Minimise ``smooth(W) + nonsmooth(W)`` by FISTA with adaptive restart.

    Beck & Teboulle (2009) with the function-value restart of O'Donoghue & Candès (2015):
    when an accelerated step increases the objective the momentum is dropped and a plain
    proximal-gradient step is taken instead, so the objective never increases.

    Parameters
    ----------
    smooth : callable
        ``W -> (value, gradient)`` of the smooth part.
    lipschitz : float
        Lipschitz constant of the smooth gradient (the step is ``1 / lipschitz``).
    W0 : ndarray
        Starting point.
    prox : callable, optional
        ``(V, step) -> argmin_W nonsmooth(W) + ||W - V||^2 / (2 step)``; identity if None.
    nonsmooth : callable, optional
        Value of the non-smooth part (0 if None).
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the proximal-gradient mapping (the gradient, for a smooth problem) is below
        ``tol`` times its value at ``W0``, entry-wise.
    estimator_name : str
        Named in the :class:`~sklearn.exceptions.ConvergenceWarning`.

    Returns
    -------
    W : ndarray
        The solution.
    n_iter : int
        Iterations run.
    objective : list of float
        Objective value after each iteration (non-increasing).
    """
    prox = prox if prox is not None else (lambda V, step: V)
    nonsmooth = nonsmooth if nonsmooth is not None else (lambda W: 0.0)
    step = 1.0 / max(lipschitz, np.finfo(float).tiny)
    W = W0.copy()
    value, grad = smooth(W)
    objective_now = value + nonsmooth(W)
    Y, Y_grad = W, grad
    t = 1.0
    history = []
    n_iter = 0
    # Stationarity is measured by the proximal-gradient mapping (Y - prox(Y - step g)) / step,
    # in gradient units, relative to the gradient at the start: unlike the change of W it
    # does not look converged just because the step is small.
    scale = np.max(np.abs(prox(W - step * grad, step) - W), initial=0.0) / step
    for n_iter in range(1, max_iter + 1):  # noqa: B007
        if scale == 0.0:
            break  # the starting point is optimal
        start = Y
        W_new = prox(Y - step * Y_grad, step)
        value_new, grad_new = smooth(W_new)
        objective_new = value_new + nonsmooth(W_new)
        if objective_new > objective_now and Y is not W:
            # Restart: a plain proximal-gradient step from W cannot increase the objective.
            t, start = 1.0, W
            W_new = prox(W - step * grad, step)
            value_new, grad_new = smooth(W_new)
            objective_new = value_new + nonsmooth(W_new)
        history.append(objective_new)
        residual = np.max(np.abs(W_new - start), initial=0.0) / step
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        Y = W_new + ((t - 1.0) / t_new) * (W_new - W)
        W, value, grad, objective_now, t = W_new, value_new, grad_new, objective_new, t_new
        if residual <= tol * scale:
            break
        _, Y_grad = smooth(Y)
    else:
        warnings.warn(
            f"{estimator_name} did not converge in max_iter={max_iter} iterations "
            f"(tol={tol}); increase max_iter or tol, or scale the features.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return W, n_iter, history


def prox_group_l2(V: np.ndarray, threshold: float) -> np.ndarray:
    """Group soft-thresholding of the columns of ``V`` (the L2,1 proximal operator).

    ``argmin_W threshold * sum_j ||W[:, j]||_2 + ||W - V||^2 / 2``.
    """
    norms = np.linalg.norm(V, axis=0)
    scale = np.maximum(1.0 - threshold / np.maximum(norms, np.finfo(float).tiny), 0.0)
    return V * scale


def singular_value_threshold(V: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Singular-value soft-thresholding; returns ``(W, thresholded singular values)``."""
    U, s, Vt = np.linalg.svd(V, full_matrices=False)
    s = np.maximum(s - threshold, 0.0)
    keep = s > 0
    return (U[:, keep] * s[keep]) @ Vt[keep], s


def prox_trace(V: np.ndarray, threshold: float) -> np.ndarray:
    """The trace-norm proximal operator ``argmin_W threshold ||W||_* + ||W - V||^2 / 2``."""
    return singular_value_threshold(V, threshold)[0]


class ProximalMultiTaskRegressor(LinearMultiTaskRegressorMixin, BaseEstimator):
    """Base of the penalised multi-task least-squares regressors solved by :func:`fista`.

    Subclasses implement ``_solve(stats, alpha) -> (W, n_iter)`` and, for a non-smooth
    penalty, ``_dual_norm(G)`` (the dual norm of the penalty, so that
    ``alpha_max = _dual_norm(-gradient of the loss at W = 0)`` is the smallest penalty whose
    solution is ``W = 0``); fit reads: validate (the shared template) -> per-task statistics
    -> penalty (``alpha="auto"``: ``alpha_ratio * alpha_max``) -> solve -> intercepts ->
    a ``UserWarning`` if the penalised weights collapsed to zero. Task intercepts are either
    free (eliminated by per-task centring) or, with ``penalize_intercepts``, deviations from
    an unpenalised shared intercept that form the last column of ``W`` and so fall under
    the estimator's penalty.
    """

    _parameter_constraints: dict = {
        "alpha": [Interval(Real, 0, None, closed="left"), StrOptions({"auto"})],
        "alpha_ratio": [Interval(Real, 0, 1, closed="right")],
        "fit_intercept": ["boolean"],
        "penalize_intercepts": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "task_column": [None, str, Integral, object],
    }

    def _fit(self, data: TaskData, sample_weight=None):
        if self.fit_intercept and self.penalize_intercepts:
            stats = shared_intercept_task_stats(data, sample_weight)
        else:
            stats = centered_task_stats(data, self.fit_intercept, sample_weight)
        self._set_penalty(stats)
        alpha_max = getattr(self, "alpha_max_", None)
        if alpha_max is not None and self.alpha_ >= alpha_max:
            # KKT at zero (dual norm of -gradient <= alpha): W = 0 exactly, no iteration
            T, p = stats.r.shape
            W, self.n_iter_ = np.zeros((T, p)), 0
            self._objective_path = np.asarray([stats.loss(W)])
        else:
            W, self.n_iter_ = self._solve(stats, self.alpha_)
        self._weights = W
        self.coef_, self.intercept_ = stats.split(W)
        if getattr(self, "alpha_max_", 0.0) > 0 and not np.any(W):
            warnings.warn(
                f"{type(self).__name__} fitted an all-zero model (every weight is 0): "
                f"alpha={self.alpha_:.4g} is at least alpha_max_={self.alpha_max_:.4g}, the "
                "smallest penalty that zeroes everything on these data. Use alpha='auto' "
                "(alpha_ratio * alpha_max_) or a smaller alpha.",
                UserWarning,
                stacklevel=4,
            )
        return self

    def _set_penalty(self, stats) -> None:
        """``alpha_max_`` and the penalty used, ``alpha_`` (``"auto"``: a fraction of it)."""
        self.alpha_max_ = self._alpha_max(stats)
        if isinstance(self.alpha, str):  # "auto"
            self.alpha_ = float(self.alpha_ratio) * self.alpha_max_
        else:
            self.alpha_ = float(self.alpha)

    def _alpha_max(self, stats) -> float:
        """The smallest ``alpha`` whose solution is ``W = 0``: the dual norm of the loss
        gradient at zero (with the same statistics, hence the same weights, as the loss)."""
        T, p = stats.r.shape
        _, grad = stats.loss_grad(np.zeros((T, p)))
        return float(self._dual_norm(-grad))

    def _dual_norm(self, G: np.ndarray) -> float:  # pragma: no cover
        raise NotImplementedError

    def _solve(self, stats: CenteredTaskStats, alpha: float) -> tuple[np.ndarray, int]:
        raise NotImplementedError  # pragma: no cover

    def _run_fista(self, stats, W0=None, **kwargs):
        T, p = stats.r.shape
        W, n_iter, history = fista(
            kwargs.pop("smooth", stats.loss_grad),
            kwargs.pop("lipschitz", stats.lipschitz()),
            np.zeros((T, p)) if W0 is None else W0,
            max_iter=self.max_iter,
            tol=self.tol,
            estimator_name=type(self).__name__,
            **kwargs,
        )
        self._objective_path = np.asarray(history)
        return W, n_iter

"""Multi-task feature selection: least squares with an L2,1 penalty."""

from __future__ import annotations

import numpy as np

from ._gram import CenteredTaskStats
from ._proximal import ProximalMultiTaskRegressor, prox_group_l2


class MultiTaskL21Regressor(ProximalMultiTaskRegressor):
    """Multi-task least squares with an L2,1 penalty (joint feature selection).

    Minimises, over the observed labels only::

        1 / (2 n) * sum_t sum_{i in task t} (y_i - x_i . w_t - b_t)^2
            + alpha * sum_j ||W[:, j]||_2

    where ``W`` is ``coef_`` (one row per task), ``W[:, j]`` the weights of feature ``j`` in
    every task and ``n`` the number of rows of ``X``. The penalty selects the same features for
    all tasks: a feature is used by every task or by none. With a full wide ``y`` this is
    exactly :class:`sklearn.linear_model.MultiTaskLasso`; unlike it, tasks may have missing
    labels (``NaN``) or their own samples (long format, ``task_column``). Task intercepts
    are free unless ``penalize_intercepts`` (then the intercept deviations are one more
    group). Solved by accelerated proximal gradient (FISTA) with group
    soft-thresholding.

    A fit whose weights all collapse to zero (``alpha >= alpha_max_``) warns with a
    ``UserWarning`` naming the penalty, ``alpha_max_`` and the remedy.

    Parameters
    ----------
    alpha : float or "auto", default="auto"
        Strength of the L2,1 penalty; ``alpha = 0`` is independent least squares.
        ``"auto"``: ``alpha_ratio * alpha_max_``, a penalty relative to the data, so that
        the default never zeroes every weight (as ``alpha=1.0`` did on School); the penalty
        used is ``alpha_``. A number keeps its meaning (an absolute penalty).
    alpha_ratio : float in (0, 1], default=0.05
        With ``alpha="auto"``: the penalty as a fraction of ``alpha_max_``. The default is
        a compromise chosen on School and five multi-target tables (enb, jura, slump, wq,
        edm; see :ref:`choosing`): larger ratios suit many small tasks, smaller ones few
        well-sampled tasks. Being relative to each training set, it is the parameter to
        search with ``GridSearchCV``.
    fit_intercept : bool, default=True
        Fit an intercept per task.
    penalize_intercepts : bool, default=False
        With ``fit_intercept``: write each task intercept as ``b_0 + c_t`` with ``b_0``
        unpenalised and the deviations ``c_t`` joining ``coef_`` as one more column (the
        weights of a constant feature) under the same penalty, as a bias feature does in
        MALSAR and as :class:`MultiTaskRidge` does. Small tasks then borrow their intercept
        from the others instead of fitting it alone. ``False``: free task intercepts.
    max_iter : int, default=1000
        Maximum number of FISTA iterations.
    tol : float, default=1e-5
        Stop when the proximal-gradient mapping (the optimality residual, in gradient
        units) falls below ``tol`` times its value at the start (``coef_ = 0``).
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Per-task weights; a column of zeros is a feature no task uses.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts.
    support_ : ndarray of bool, shape (n_features,)
        Features with a non-zero weight in some task.
    alpha_ : float
        The penalty used (``alpha``, or ``alpha_ratio * alpha_max_`` with ``"auto"``).
    alpha_max_ : float
        The smallest ``alpha`` that zeroes every weight (as ``Lasso``'s ``alpha_max``):
        ``max_j ||g[:, j]||_2``, the largest norm across tasks of a feature's column of
        ``g = X_t' y_t / n`` (task-centred and weighted as the loss; with
        ``penalize_intercepts`` the intercept deviations are one more column), which is
        minus the gradient of the loss at ``coef_ = 0``.
    n_iter_ : int
        FISTA iterations run (0 when ``alpha_ >= alpha_max_``: the solution is zero).
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
    sklearn.linear_model.MultiTaskLasso : the same objective for a full wide ``y``.

    References
    ----------
    G. Obozinski, B. Taskar and M. Jordan. Joint covariate selection and joint subspace
    selection for multiple classification problems. Statistics and Computing, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.linear import MultiTaskL21Regressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 5))
    >>> Y = X[:, :2] @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(80, 3))
    >>> Y[::5, 0] = np.nan  # missing labels are left out of task 0 only
    >>> model = MultiTaskL21Regressor(alpha=0.1).fit(X, Y)
    >>> model.support_
    array([ True,  True, False, False, False])
    >>> model.predict(X[:2]).shape
    (2, 3)
    """

    def __init__(self, alpha="auto", alpha_ratio=0.05, fit_intercept=True,
                 penalize_intercepts=False, max_iter=1000, tol=1e-5, task_column=None):
        self.alpha = alpha
        self.alpha_ratio = alpha_ratio
        self.fit_intercept = fit_intercept
        self.penalize_intercepts = penalize_intercepts
        self.max_iter = max_iter
        self.tol = tol
        self.task_column = task_column

    def _dual_norm(self, G):
        return np.linalg.norm(G, axis=0).max(initial=0.0)

    def _solve(self, stats: CenteredTaskStats, alpha: float) -> tuple[np.ndarray, int]:
        return self._run_fista(
            stats,
            prox=lambda V, step: prox_group_l2(V, alpha * step),
            nonsmooth=lambda W: alpha * float(np.linalg.norm(W, axis=0).sum()),
        )

    def _fit(self, data, sample_weight=None):
        super()._fit(data, sample_weight)
        self.support_ = np.any(self.coef_ != 0, axis=0)
        return self

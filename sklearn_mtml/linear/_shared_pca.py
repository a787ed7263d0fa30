"""Shared representation: PCA on every task's inputs, then one ridge head per task."""

from __future__ import annotations

import dataclasses
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._targets import TaskData, check_predict_X
from ._base import LinearMultiTaskRegressorMixin
from ._gram import centered_task_stats


def per_task_ridge(data: TaskData, alpha: float,
                   weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Independent ridge per task with unpenalised intercepts (as sklearn's ``Ridge``).

    Minimises ``sum_i w_i (y_i - x_i . w_t - b_t)^2 + alpha ||w_t||^2`` for every task
    ``t`` over its observed labels (``w_i``: the per-label ``weight``, 1 without);
    returns ``(W, b)``.
    """
    stats = centered_task_stats(data, fit_intercept=True, weight=weight)
    A = stats.G + alpha * np.eye(stats.G.shape[1])
    try:
        W = np.linalg.solve(A, stats.r[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:  # alpha = 0 with a rank-deficient task: minimum norm
        W = np.stack([np.linalg.lstsq(a, r, rcond=None)[0] for a, r in zip(A, stats.r)])
    return W, stats.intercept(W)


class SharedPCARegressor(
    LinearMultiTaskRegressorMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """PCA fitted on every task's inputs, then an independent ridge head per task.

    The simplest shared representation: the tasks share a linear, unsupervised
    ``n_components``-dimensional encoding ``z = PCA(x)`` learned from all rows of ``X``
    (every task's samples), and each task fits its own ridge regression on ``z``,
    minimising over its observed labels only::

        sum_{i in task t} (y_i - z_i . h_t - b_t)^2 + alpha * ||h_t||^2

    with an unpenalised intercept ``b_t``. ``transform`` returns the shared
    representation, so the fitted model also serves as a feature extractor.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Passed to :class:`sklearn.decomposition.PCA`: the number of components, the fraction
        of variance to keep (a float in (0, 1)), or ``None`` for all of them.
    alpha : float, default=1.0
        Ridge penalty of every task head (as :class:`sklearn.linear_model.Ridge`).
    whiten : bool, default=False
        Scale the components to unit variance before the heads.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` that holds each row's task id (a name for
        DataFrames, a position for arrays). It is not used as a feature.

    Attributes
    ----------
    pca_ : sklearn.decomposition.PCA
        The shared encoder, fitted on all rows of ``X``.
    head_coef_ : ndarray of shape (n_tasks, n_components)
        Per-task weights on the components.
    coef_ : ndarray of shape (n_tasks, n_features)
        The same model in the input space: ``predict(X) = X @ coef_.T + intercept_``.
    intercept_ : ndarray of shape (n_tasks,)
        Per-task intercepts in the input space.
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
    LowRankMultiTaskRegressor : a shared subspace learned from the targets.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mtml.linear import SharedPCARegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 2)) @ rng.normal(size=(2, 6))  # rank-2 inputs
    >>> Y = X @ rng.normal(size=(6, 3))
    >>> model = SharedPCARegressor(n_components=2, alpha=1e-6).fit(X, Y)
    >>> model.transform(X).shape
    (50, 2)
    >>> round(model.score(X, Y), 4)
    1.0
    """

    _parameter_constraints: dict = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "whiten": ["boolean"],
        "task_column": [None, str, Integral, object],
    }

    def __init__(self, n_components=None, alpha=1.0, whiten=False, task_column=None):
        self.n_components = n_components
        self.alpha = alpha
        self.whiten = whiten
        self.task_column = task_column

    def _fit(self, data: TaskData, sample_weight=None):
        n_components = self.n_components
        # The encoder is unsupervised and sklearn's PCA takes no weights: it is fitted on
        # every row that carries weight (a row of weight 0 everywhere is left out); the
        # ridge heads are weighted.
        rows = data.X
        if sample_weight is not None:
            carried = (sample_weight > 0) if sample_weight.ndim == 1 else (
                sample_weight > 0).any(axis=1)
            rows = data.X[carried]
        if isinstance(n_components, Integral):
            n_components = min(int(n_components), *rows.shape)
        self.pca_ = PCA(n_components=n_components, whiten=self.whiten).fit(rows)
        Z = self.pca_.transform(data.X)
        H, b = per_task_ridge(dataclasses.replace(data, X=Z), float(self.alpha),
                              sample_weight)
        self.head_coef_ = H
        # Fold the (affine) encoder into the heads: predict is then one matrix product.
        components = self.pca_.components_
        if self.whiten:
            components = components / np.sqrt(self.pca_.explained_variance_)[:, None]
        self.coef_ = H @ components
        self.intercept_ = b - self.coef_ @ self.pca_.mean_
        return self

    def transform(self, X):
        """The shared representation: the principal components of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
            Features, plus the task-id column when ``task_column`` is set.

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self, "_task_layout")
        features, _ = check_predict_X(self, X)
        return self.pca_.transform(features)

    @property
    def _n_features_out(self):
        return self.pca_.n_components_

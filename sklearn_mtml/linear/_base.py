"""Prediction shared by the linear multi-task regressors."""

from __future__ import annotations

import numpy as np

from .._base import MultiTaskRegressorMixin


class LinearMultiTaskRegressorMixin(MultiTaskRegressorMixin):
    """``predict`` of a linear model with one weight vector and intercept per task.

    Subclasses fit ``coef_`` of shape ``(n_tasks, n_features)`` and ``intercept_`` of shape
    ``(n_tasks,)``; task ``t`` predicts ``x . coef_[t] + intercept_[t]``.
    """

    def _predict_tasks(self, X):
        return X @ self.coef_.T + self.intercept_

    def _predict_rows(self, X, task_index):
        # each row against its own task's weights only: no (n_samples, n_tasks) product
        return np.einsum("nd,nd->n", X, self.coef_[task_index]) + self.intercept_[task_index]

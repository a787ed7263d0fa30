"""Per-task sufficient statistics, shared by the least-squares estimators."""

from __future__ import annotations

import numpy as np

from .._targets import TaskData


def design(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """``X`` with a trailing column of ones when an intercept is fitted."""
    if not fit_intercept:
        return X
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def task_gram(Z: np.ndarray, data: TaskData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task Gram matrices ``G[t] = Z_t' Z_t``, moments ``r[t] = Z_t' y_t`` and counts.

    ``Z_t`` / ``y_t`` are the rows with an observed label for task ``t``. Long format sorts
    the rows by task once so each task is a contiguous slice (no copies per task); wide
    format without missing labels shares one Gram matrix.
    """
    n_tasks = data.layout.n_tasks
    p = Z.shape[1]
    if data.task_index is not None:
        order = np.argsort(data.task_index, kind="stable")
        Zs = Z[order]
        ys = data.Y[order, data.task_index[order]]
        keep = ~np.isnan(ys)
        counts = np.bincount(data.task_index[order][keep], minlength=n_tasks)
        if not keep.all():
            Zs, ys = Zs[keep], ys[keep]
        bounds = np.concatenate([[0], np.cumsum(counts)])
        G = np.empty((n_tasks, p, p))
        r = np.empty((n_tasks, p))
        for t in range(n_tasks):
            block = Zs[bounds[t] : bounds[t + 1]]
            G[t] = block.T @ block
            r[t] = block.T @ ys[bounds[t] : bounds[t + 1]]
        return G, r, counts
    if data.mask.all():
        G = np.broadcast_to(Z.T @ Z, (n_tasks, p, p)).copy()
        r = (Z.T @ data.Y).T
        return G, r, np.full(n_tasks, Z.shape[0])
    G = np.empty((n_tasks, p, p))
    r = np.empty((n_tasks, p))
    for t in range(n_tasks):
        rows = data.mask[:, t]
        block = Z[rows]
        G[t] = block.T @ block
        r[t] = block.T @ data.Y[rows, t]
    return G, r, data.mask.sum(axis=0)


def predict_rows(X, coef, intercept, task_index):
    """Each row's prediction for its own task: ``x_i . w_{t(i)} + b_{t(i)}``."""
    return np.einsum("nd,nd->n", X, coef[task_index]) + intercept[task_index]

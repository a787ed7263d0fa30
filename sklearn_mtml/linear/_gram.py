"""Per-task sufficient statistics, shared by the least-squares estimators."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._targets import TaskData
from .._weights import effective_rows, observed_weights


def design(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """``X`` with a trailing column of ones when an intercept is fitted."""
    if not fit_intercept:
        return X
    return np.hstack([X, np.ones((X.shape[0], 1), dtype=X.dtype)])


def _observed_rows(data: TaskData, weight: np.ndarray | None = None):
    """Rows, tasks, labels (and weights, or ``None``) of every observed label, grouped by
    task (stable order)."""
    n_tasks = data.layout.n_tasks
    rows, task, y_obs = data.observed_labels()
    w_obs = None if weight is None else observed_weights(data, weight)
    if data.task_index is not None:  # row order: group by task (wide is task-major already)
        # A stable sort of small integers is a radix sort: O(n) instead of O(n log n).
        small = np.int16 if n_tasks < 2**15 else np.int64
        order = np.argsort(task.astype(small, copy=False), kind="stable")
        rows, task, y_obs = rows[order], task[order], y_obs[order]
        w_obs = None if w_obs is None else w_obs[order]
    return rows, task, y_obs, np.bincount(task, minlength=n_tasks), w_obs


def observations_by_task(Z: np.ndarray, data: TaskData, weight: np.ndarray | None = None):
    """Every observed (row, task) label, grouped by task: ``(Z_obs, y_obs, task, counts,
    w_obs)``.

    ``Z_obs[i]`` is the row of ``Z`` of the ``i``-th observed label ``y_obs[i]`` of task
    ``task[i]``, of weight ``w_obs[i]`` (``w_obs`` is ``None`` without ``weight``, the
    per-label weights of :func:`sklearn_mtml._weights.resolve_weights`); observations are
    sorted by task, so task ``t`` is the contiguous slice ``bounds[t]:bounds[t + 1]`` with
    ``bounds = [0, *cumsum(counts)]``. Long format has one observation per row; wide
    format one per observed entry of ``Y``. Rows already grouped by task are returned
    without a copy.
    """
    rows, task, y_obs, counts, w_obs = _observed_rows(data, weight)
    if len(rows) == Z.shape[0] and np.all(rows[1:] > rows[:-1]):
        return Z, y_obs, task, counts, w_obs
    if Z.flags.f_contiguous and not Z.flags.c_contiguous:
        # Gathering rows across a Fortran-ordered array (as sklearn's loaders and pandas
        # give) is several times slower than gathering each contiguous column.
        Z_obs = np.empty((len(rows), Z.shape[1]), order="F")
        for j in range(Z.shape[1]):
            Z_obs[:, j] = Z[rows, j]
        return Z_obs, y_obs, task, counts, w_obs
    return Z[rows], y_obs, task, counts, w_obs


def task_bounds(counts: np.ndarray) -> np.ndarray:
    """Slice bounds of each task's observations (see :func:`observations_by_task`)."""
    return np.concatenate([[0], np.cumsum(counts)])


def task_gram(
    Z: np.ndarray, data: TaskData, *, intercept: bool = False,
    weight: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-task Gram matrices ``G[t] = Z_t' D_t Z_t``, moments ``r[t] = Z_t' D_t y_t`` and
    counts.

    ``Z_t`` / ``y_t`` are the rows with an observed label for task ``t`` and ``D_t`` the
    diagonal of their weights (``weight``: per-label weights of
    :func:`sklearn_mtml._weights.resolve_weights`; the identity without). ``counts`` is
    the number of observed labels per task, or their total weight. With
    ``intercept=True`` the statistics are those of ``[Z, 1]`` (a last column of ones),
    built from per-task sums without copying ``Z``. The observations are grouped by task
    once so each task is a contiguous slice; wide format without missing labels or
    weights shares one Gram matrix.
    """
    n_tasks = data.layout.n_tasks
    p = Z.shape[1]
    q = p + 1 if intercept else p
    G = np.empty((n_tasks, q, q))
    r = np.empty((n_tasks, q))
    if weight is None and data.task_index is None and data.mask.all():
        G[:, :p, :p] = Z.T @ Z
        r[:, :p] = (Z.T @ data.Y).T
        counts = np.full(n_tasks, Z.shape[0])
        sums, y_sums = Z.sum(axis=0), data.Y.sum(axis=0)
    else:
        Zs, ys, _, counts, ws = observations_by_task(Z, data, weight)
        bounds = task_bounds(counts)
        # weighted sums: the weights multiply one side of each product
        Zw = Zs if ws is None else Zs * ws[:, None]
        yw = ys if ws is None else ys * ws
        for t in range(n_tasks):
            block = Zs[bounds[t] : bounds[t + 1]]
            G[t, :p, :p] = Zw[bounds[t] : bounds[t + 1]].T @ block
            r[t, :p] = block.T @ yw[bounds[t] : bounds[t + 1]]
        if ws is not None:
            G[:, :p, :p] = (G[:, :p, :p] + np.swapaxes(G[:, :p, :p], 1, 2)) / 2
            counts = np.bincount(np.repeat(np.arange(n_tasks), counts), weights=ws,
                                 minlength=n_tasks)
        if intercept:
            # reduceat over the non-empty tasks only: an empty segment would make the
            # segment before it stop one row short.
            nonempty = np.diff(bounds) > 0
            sums, y_sums = np.zeros((n_tasks, p)), np.zeros(n_tasks)
            if nonempty.any():
                starts = bounds[:-1][nonempty]
                sums[nonempty] = np.add.reduceat(Zw, starts, axis=0)
                y_sums[nonempty] = np.add.reduceat(yw, starts)
    if intercept:
        G[:, :p, p] = sums
        G[:, p, :p] = sums
        G[:, p, p] = counts
        r[:, p] = y_sums
    return G, r, counts


@dataclass
class CenteredTaskStats:
    """Per-task least-squares statistics with the task intercepts eliminated.

    The smooth part of every penalised estimator of this package is the multi-task
    least-squares loss ``1/(2 n) sum_t ||y_t - X_t w_t - b_t||^2`` over the observed labels
    (``n`` = rows of ``X``). With unpenalised task intercepts, ``b_t = ybar_t - xbar_t . w_t``
    is optimal for any ``w_t``, which leaves a quadratic in ``W`` alone:
    ``1/n sum_t (w_t' G_t w_t / 2 - r_t' w_t + yy_t / 2)`` with task-centred ``G_t``, ``r_t``.

    Attributes
    ----------
    G : ndarray of shape (n_tasks, p, p)
        Task-centred Gram matrices (uncentred without intercept).
    r : ndarray of shape (n_tasks, p)
        Task-centred moments ``X_t' y_t``.
    yy : ndarray of shape (n_tasks,)
        Task-centred ``||y_t||^2``.
    x_mean : ndarray of shape (n_tasks, p)
        Task means of the features (zeros without intercept).
    y_mean : ndarray of shape (n_tasks,)
        Task means of the targets (zeros without intercept).
    counts : ndarray of shape (n_tasks,)
        Observed labels per task (their total weight, with weights).
    n_samples : float
        Rows of ``X``: the ``n`` of the ``1/(2n)`` scaling (as sklearn's Lasso family);
        with weights, the weighted number of rows.
    """

    G: np.ndarray
    r: np.ndarray
    yy: np.ndarray
    x_mean: np.ndarray
    y_mean: np.ndarray
    counts: np.ndarray
    n_samples: float

    def loss(self, W: np.ndarray) -> float:
        """The least-squares loss at ``W`` of shape (n_tasks, p)."""
        GW = np.einsum("tij,tj->ti", self.G, W)
        return float(np.sum(0.5 * np.sum(W * GW, axis=1) - np.sum(self.r * W, axis=1)
                            + 0.5 * self.yy) / self.n_samples)

    def loss_grad(self, W: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and its gradient at ``W``."""
        GW = np.einsum("tij,tj->ti", self.G, W)
        value = np.sum(0.5 * np.sum(W * GW, axis=1) - np.sum(self.r * W, axis=1) + 0.5 * self.yy)
        return float(value / self.n_samples), (GW - self.r) / self.n_samples

    def lipschitz(self) -> float:
        """Lipschitz constant of the loss gradient (largest task Gram eigenvalue / n)."""
        return float(np.linalg.eigvalsh(self.G)[:, -1].max()) / self.n_samples

    def intercept(self, W: np.ndarray) -> np.ndarray:
        """The optimal task intercepts for weights ``W``."""
        return self.y_mean - np.sum(self.x_mean * W, axis=1)

    def split(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(coef, intercept)`` of the model with weights ``W``."""
        return W, self.intercept(W)


@dataclass
class SharedInterceptTaskStats:
    """Least-squares statistics for task intercepts that share an unpenalised mean.

    The task intercepts are ``b_t = b_0 + c_t``: ``b_0`` is unpenalised and eliminated
    exactly, the deviations ``c_t`` are the last column of the weight matrix ``W`` (the
    weights of a constant feature), so a structural penalty on ``W`` covers them too, as a
    bias feature does in MALSAR and as :class:`MultiTaskRidge` treats task intercepts. With
    ``y`` centred on its pooled mean, ``b_0 = ybar - sum_t g_t . w_t / N`` (``g_t`` the sums
    of ``[x, 1]`` over task ``t``, ``N`` the number of labels) and the loss is
    ``1/(2n) [sum_t (w_t' G_t w_t - 2 r_t' w_t + yy_t) - (sum_t g_t . w_t)^2 / N]``.
    """

    G: np.ndarray
    r: np.ndarray
    yy: np.ndarray
    y_mean: float
    n_samples: float

    @property
    def g(self) -> np.ndarray:
        return self.G[:, :, -1]

    def loss_grad(self, W: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss (``b_0`` eliminated) and its gradient at ``W``."""
        GW = np.einsum("tij,tj->ti", self.G, W)
        N = self.G[:, -1, -1].sum()
        shift = np.sum(self.g * W)
        value = np.sum(np.sum(W * GW, axis=1) - 2 * np.sum(self.r * W, axis=1) + self.yy)
        value = (value - shift * shift / N) / (2 * self.n_samples)
        return float(value), (GW - self.r - (shift / N) * self.g) / self.n_samples

    def loss(self, W: np.ndarray) -> float:
        return self.loss_grad(W)[0]

    def lipschitz(self) -> float:
        """An upper bound of the Lipschitz constant (the rank-one term only lowers it)."""
        return float(np.linalg.eigvalsh(self.G)[:, -1].max()) / self.n_samples

    def split(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(coef, intercept)``: features' weights and ``b_0 + c_t``."""
        b0 = self.y_mean - np.sum(self.g * W) / self.G[:, -1, -1].sum()
        return W[:, :-1], b0 + W[:, -1]


def shared_intercept_task_stats(
    data: TaskData, weight: np.ndarray | None = None
) -> SharedInterceptTaskStats:
    """Statistics of ``[X, 1]`` with ``y`` centred on its pooled mean (see the class);
    ``weight``: per-label weights (the sums weighted, ``n`` the weighted row count)."""
    G, r, counts = task_gram(data.X, data, intercept=True, weight=weight)
    y_mean = float(r[:, -1].sum() / counts.sum())
    r = r - y_mean * G[:, :, -1]
    yy = _centered_sum_of_squares(data, np.full(len(counts), y_mean), weight)
    return SharedInterceptTaskStats(G, r, yy, y_mean, effective_rows(data, weight))


def _centered_sum_of_squares(data: TaskData, y_mean: np.ndarray,
                             weight: np.ndarray | None = None) -> np.ndarray:
    """Per-task ``sum w_i (y_i - y_mean_t)^2`` over the observed labels (long format per
    row; ``w_i = 1`` without weights)."""
    _, index, values = data.observed_labels()
    dev = values - y_mean[index]
    dev2 = dev * dev if weight is None else dev * dev * observed_weights(data, weight)
    return np.bincount(index, weights=dev2, minlength=data.layout.n_tasks)


def centered_task_stats(data: TaskData, fit_intercept: bool,
                        weight: np.ndarray | None = None) -> CenteredTaskStats:
    """Per-task centred least-squares statistics of ``data`` (see :class:`CenteredTaskStats`).

    One pass of :func:`task_gram` on ``[X, 1]`` gives the per-task sums as well; the features
    are first centred on their pooled mean so that subtracting the task means afterwards does
    not cancel large offsets. With ``weight`` (per-label weights) every sum is weighted, the
    means are weighted means and ``n_samples`` is the weighted number of rows
    (:func:`sklearn_mtml._weights.effective_rows`): integer weights give the statistics of
    the repeated rows.
    """
    n, p = data.X.shape
    n_rows = effective_rows(data, weight) if weight is not None else n
    if not fit_intercept:
        G, r, counts = task_gram(data.X, data, weight=weight)
        zeros = np.zeros(len(counts))
        yy = _centered_sum_of_squares(data, zeros, weight)
        return CenteredTaskStats(G, r, yy, np.zeros((len(counts), p)), zeros, counts, n_rows)
    offset = data.X.mean(axis=0)
    G, r, counts = task_gram(data.X - offset, data, intercept=True, weight=weight)
    sums, y_sums = G[:, :p, p], r[:, p]
    x_mean = sums / counts[:, None]
    y_mean = y_sums / counts
    Gc = G[:, :p, :p] - sums[:, :, None] * x_mean[:, None, :]
    Gc = (Gc + np.swapaxes(Gc, 1, 2)) / 2
    rc = r[:, :p] - sums * y_mean[:, None]
    yy = _centered_sum_of_squares(data, y_mean, weight)
    return CenteredTaskStats(Gc, rc, yy, x_mean + offset, y_mean, counts, n_rows)

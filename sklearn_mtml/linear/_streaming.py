"""Per-task sufficient statistics accumulated over chunks (exact streaming least squares).

For every least-squares estimator of this package the data enter the solution only through
the per-task Gram matrices ``G[t] = Z_t' Z_t`` and moments ``r[t] = Z_t' y_t``
(:func:`~sklearn_mtml.linear._gram.task_gram`). Both are sums over rows, so they add up over
chunks: a model solved from statistics accumulated chunk by chunk is *exactly* the model
fitted on all rows at once. This is what makes ``partial_fit`` well defined for them.

Tasks are keyed by name, so a task first seen in a later chunk (long format) joins with
zero statistics before it; the statistics are kept in sorted task order, the order ``fit``
uses, so a streamed model and a fitted one have the same ``task_names_``.
"""

from __future__ import annotations

import numpy as np

from .._targets import TaskData
from ._gram import task_gram


class TaskGramAccumulator:
    """Running per-task ``Z'Z``, ``Z'y`` and label counts, updated chunk by chunk.

    Parameters
    ----------
    n_columns : int
        Columns of the design matrix ``Z`` (features, plus one for the intercept).

    Attributes
    ----------
    names : ndarray of object
        Task names seen so far, sorted (unsortable names keep their order of appearance).
    G : ndarray of shape (n_tasks, n_columns, n_columns)
    r : ndarray of shape (n_tasks, n_columns)
    counts : ndarray of int, shape (n_tasks,)
        Observed labels per task so far.

    See Also
    --------
    sklearn_mtml.MultiTaskRidge.partial_fit : the streaming fit built on it.
    """

    def __init__(self, n_columns: int):
        self.n_columns = int(n_columns)
        self.names = np.empty(0, dtype=object)
        self.G = np.zeros((0, self.n_columns, self.n_columns))
        self.r = np.zeros((0, self.n_columns))
        self.counts = np.zeros(0)

    @property
    def n_tasks(self) -> int:
        return len(self.names)

    def update(self, X: np.ndarray, data: TaskData, *, intercept: bool = False,
               weight: np.ndarray | None = None) -> TaskGramAccumulator:
        """Add one validated chunk (``data.layout.names`` are the chunk's tasks).

        ``intercept=True`` accumulates the statistics of ``[X, 1]`` (see
        :func:`~sklearn_mtml.linear._gram.task_gram`).
        """
        G, r, counts = task_gram(X, data, intercept=intercept, weight=weight)
        if G.shape[1] != self.n_columns:
            raise ValueError(
                f"This chunk has {G.shape[1]} design columns; earlier chunks had "
                f"{self.n_columns}."
            )
        positions = self._positions(data.layout.names)
        self.G[positions] += G
        self.r[positions] += r
        self.counts[positions] += counts
        return self

    def _positions(self, names) -> np.ndarray:
        """Positions of ``names`` in the accumulated tasks, adding the new ones (sorted)."""
        known = {name: i for i, name in enumerate(self.names)}
        new = [name for name in names if name not in known]
        if new:
            merged = np.concatenate([self.names, np.array(new, dtype=object)])
            try:
                order = np.argsort(merged, kind="stable")
            except TypeError:  # mixed, unsortable ids: keep order of appearance
                order = np.arange(len(merged))
            grow = len(new)
            p = self.n_columns
            self.G = np.concatenate([self.G, np.zeros((grow, p, p))])[order]
            self.r = np.concatenate([self.r, np.zeros((grow, p))])[order]
            self.counts = np.concatenate([self.counts, np.zeros(grow)])[order]
            self.names = merged[order]
            known = {name: i for i, name in enumerate(self.names)}
        return np.array([known[name] for name in names], dtype=np.intp)

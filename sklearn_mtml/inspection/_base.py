"""Helpers shared by the displays: axes, and the fitted neural estimator behind a pipeline."""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted


def get_axes(ax=None):
    """``ax``, or the axes of a new figure (matplotlib is imported only here)."""
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def final_estimator(estimator):
    """The last step of a pipeline, or the estimator itself."""
    return estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator


def fitted_history(estimator, display: str):
    """``(history, task_names)`` of a fitted neural estimator (or a pipeline ending in one).

    Raises a ``NotFittedError`` for an unfitted estimator and a ``TypeError`` naming
    ``display`` for an estimator that keeps no per-epoch ``history_``.
    """
    model = final_estimator(estimator)
    check_is_fitted(model)
    history = getattr(model, "history_", None)
    if history is None or not hasattr(model, "task_names_"):
        raise TypeError(
            f"{display} needs a fitted neural multi-task estimator with a per-epoch "
            f"history_ (e.g. MultiTaskNetRegressor); {type(model).__name__} has none."
        )
    if len(history) == 0:
        raise ValueError(f"{display}: {type(model).__name__}.history_ holds no epoch.")
    return history, np.asarray(model.task_names_, dtype=object)


def history_column(history, key: str, n_tasks: int | None = None) -> np.ndarray | None:
    """One history key over the epochs as a float array (``None`` if no epoch has it).

    Per-task keys give ``(n_epochs, n_tasks)``; an epoch without the key is a row of NaN.
    """
    rows = [row.get(key) for row in history]
    if all(value is None for value in rows):
        return None
    width = n_tasks if n_tasks is not None else 1
    out = np.full((len(rows), width), np.nan)
    for i, value in enumerate(rows):
        if value is not None:
            out[i] = np.asarray(value, dtype=np.float64).reshape(-1)
    return out if n_tasks is not None else out[:, 0]

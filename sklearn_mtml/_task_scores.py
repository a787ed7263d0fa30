"""Per-task scores over the task contract's layouts (wide columns or long-format task ids):
iterate the tasks' observed labels, score each, average the finite scores."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ._targets import _as_key, _missing, _y_columns

__all__ = ["iter_tasks", "mean_over_tasks", "mean_task_score", "per_task_values"]


def iter_tasks(y_true, y_pred, task_ids=None) -> Iterator[tuple[object, np.ndarray, np.ndarray]]:
    """Yield ``(task name, y_true, y_pred)`` with each task's observed labels only.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_tasks), or DataFrame
        True labels, missing ones as ``NaN`` / ``None`` / ``pd.NA``.
    y_pred : array-like of the same shape (wide) or (n_samples,) (long)
        Predictions.
    task_ids : array-like of shape (n_samples,), optional
        Long format: each row's task id; tasks are then the groups of rows.
    """
    if task_ids is not None:
        yt = np.asarray(y_true, dtype=object).ravel()
        yp = np.asarray(y_pred)
        if yp.ndim != 1:
            raise ValueError("In long format y_pred must be 1-D (one prediction per row).")
        ids = np.asarray([_as_key(v) for v in np.asarray(task_ids, dtype=object)], dtype=object)
        if not (len(yt) == len(yp) == len(ids)):
            raise ValueError("y_true, y_pred and task_ids must have the same length.")
        keep = ~_missing(yt)
        for name in sorted(set(ids[keep])):
            rows = keep & (ids == name)
            yield name, _tidy(yt[rows]), _tidy(yp[rows])
        return
    columns, names, _ = _y_columns(y_true, None)
    yp = y_pred.to_numpy() if isinstance(y_pred, pd.DataFrame | pd.Series) else np.asarray(y_pred)
    if yp.ndim == 1:
        yp = yp[:, None]
    if yp.shape != (len(columns[0]), len(columns)):
        raise ValueError(
            f"y_pred has shape {yp.shape}, expected {(len(columns[0]), len(columns))} to "
            "match y_true."
        )
    for t, col in enumerate(columns):
        keep = ~_missing(col)
        yield names[t], _tidy(col[keep]), _tidy(yp[keep, t])


def _tidy(values: np.ndarray) -> np.ndarray:
    """Observed labels as a plain-typed array (object columns of numbers -> numbers)."""
    if values.dtype != object or len(values) == 0:
        return values
    kinds = {type(_as_key(v)) for v in values}
    if kinds <= {int, float, bool}:
        return values.astype(np.float64)
    if kinds <= {str}:
        return values.astype(str)
    return values


def mean_over_tasks(scores, weights=None) -> float:
    """Mean of the per-task scores, over the tasks that have one.

    A task without a defined score (``NaN``: too few labels, a single class, ...) is left
    out of the mean rather than making it ``NaN``.

    Parameters
    ----------
    scores : dict or array-like of float
        Per-task scores (``{task name: score}`` or one value per task).
    weights : array-like of shape (n_tasks,), default=None
        Task weights of a weighted mean; ``None`` weighs the tasks equally.

    Returns
    -------
    mean : float
        ``NaN`` when no task has a finite score (or the finite ones weigh zero).
    """
    values = np.asarray(
        list(scores.values()) if isinstance(scores, dict) else scores, dtype=np.float64
    ).ravel()
    defined = np.isfinite(values)
    if weights is None:
        return float(np.mean(values[defined])) if defined.any() else float("nan")
    weights = np.asarray(weights, dtype=np.float64).ravel()
    if not defined.any() or weights[defined].sum() == 0:
        return float("nan")
    return float(np.average(values[defined], weights=weights[defined]))


def mean_task_score(metric, y_true, y_pred, task_ids=None, sample_weight=None, min_samples=1):
    """Mean over tasks of ``metric`` on each task's observed labels (DESIGN.md, score)."""
    return mean_over_tasks(
        per_task_values(metric, y_true, y_pred, task_ids, sample_weight, min_samples)
    )


def per_task_values(metric, y_true, y_pred, task_ids=None, sample_weight=None, min_samples=1):
    """``{task name: metric}`` over each task's observed labels (NaN if too few labels)."""
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    out = {}
    if weights is None:
        for name, yt, yp in iter_tasks(y_true, y_pred, task_ids):
            out[name] = float(metric(yt, yp)) if len(yt) >= min_samples else float("nan")
        return out
    # Carry weights along by appending them as an extra "prediction" column would copy the
    # whole matrix; instead re-derive the observed rows from positions.
    positions = np.arange(len(weights))
    for (name, yt, yp), (_, _, pos) in zip(
        iter_tasks(y_true, y_pred, task_ids),
        iter_tasks(y_true, _broadcast_like(positions, y_pred), task_ids),
    ):
        if len(yt) < min_samples:
            out[name] = float("nan")
        else:
            out[name] = float(metric(yt, yp, sample_weight=weights[np.asarray(pos, dtype=int)]))
    return out


def _broadcast_like(positions, y_pred):
    shape = np.shape(y_pred)
    if len(shape) == 1:
        return positions
    return np.repeat(positions[:, None], shape[1], axis=1)

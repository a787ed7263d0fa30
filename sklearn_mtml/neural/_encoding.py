"""Targets for training: scaling, encoding as tensors, the validation split."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .._targets import REGRESSION, TaskData
from .._weights import observed_weights
from ._data import TaskTensors

__all__ = ["encode_targets", "split", "target_scaling"]


def target_scaling(data: TaskData, how: str,
                   weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of regression targets per task, or over all tasks with
    ``target_scaling="pooled"`` (undone at predict time); weighted means and standard
    deviations with ``weight`` (per-label weights: those of the repeated rows)."""
    n_tasks = data.layout.n_tasks
    mean, scale = np.zeros(n_tasks), np.ones(n_tasks)
    regression = np.array([k == REGRESSION for k in data.layout.task_types])
    if regression.any():
        _, index, values = data.observed_labels()
        w = None if weight is None else observed_weights(data, weight)
        if how == "pooled":
            # one mean and scale over the labels of all regression tasks
            keep = regression[index]
            pooled = values[keep]
            if w is None:
                mean = np.full(n_tasks, pooled.mean())
                std = np.full(n_tasks, pooled.std())
            else:
                center = np.average(pooled, weights=w[keep])
                mean = np.full(n_tasks, center)
                std = np.full(n_tasks, np.sqrt(np.average((pooled - center) ** 2,
                                                          weights=w[keep])))
        else:
            counts = (np.bincount(index, minlength=n_tasks) if w is None
                      else np.bincount(index, w, minlength=n_tasks))
            counts = np.where(counts > 0, counts, 1)
            sums = values if w is None else values * w
            mean = np.bincount(index, sums, minlength=n_tasks) / counts
            dev2 = (values - mean[index]) ** 2
            var = np.bincount(index, dev2 if w is None else dev2 * w,
                              minlength=n_tasks) / counts
            std = np.sqrt(var)
        ok = std > 1e-12 * np.maximum(1.0, np.abs(mean))
        scale = np.where(regression & ok, std, 1.0)
        mean = np.where(regression, mean, 0.0)
    return mean, scale


def encode_targets(data: TaskData, mean: np.ndarray, scale: np.ndarray,
                   weight: np.ndarray | None = None) -> tuple[torch.Tensor, ...]:
    """Targets as tensors: ``(Y, mask)`` (wide) or ``(y, task, mask)`` (long).

    The mask is each label's weight: 0 where the label is missing, 1 where it is observed,
    or its weight (``weight``: the per-label weights of
    :func:`sklearn_mtml._weights.resolve_weights`, sample and class weights together), so
    that the loss's masked per-task mean is the weighted mean.
    """
    if data.task_index is not None:
        observed = ~np.isnan(data.y_long)
        index = data.task_index
        y = np.where(observed, (data.y_long - mean[index]) / scale[index], 0.0)
        mask = observed if weight is None else np.where(observed, weight, 0.0)
        return (torch.tensor(y, dtype=torch.float32),
                torch.tensor(index, dtype=torch.long),
                torch.tensor(mask, dtype=torch.float32))
    Y = np.where(data.mask, (data.Y - mean) / scale, 0.0)
    mask = data.mask if weight is None else np.where(data.mask, weight, 0.0)
    return (torch.tensor(Y, dtype=torch.float32),
            torch.tensor(mask, dtype=torch.float32))


def split(full: TaskTensors, data: TaskData, seed: int, validate: bool,
          fraction: float) -> tuple[TaskTensors, TaskTensors | None]:
    """Training and validation tensors (``None``: no validation split)."""
    n = len(full)
    if not validate or n < 2:
        if validate:
            warnings.warn("Too few samples for early stopping's validation split; "
                          "training without it.", UserWarning, stacklevel=5)
        return full, None
    index = np.arange(n)
    try:
        stratify = data.task_index if data.task_index is not None else None
        train_idx, valid_idx = train_test_split(
            index, test_size=fraction, random_state=seed, stratify=stratify
        )
    except ValueError:
        train_idx, valid_idx = train_test_split(
            index, test_size=fraction, random_state=seed
        )
    if len(valid_idx) == 0 or len(train_idx) == 0:
        return full, None
    return (full.subset(torch.as_tensor(train_idx)),
            full.subset(torch.as_tensor(valid_idx)))

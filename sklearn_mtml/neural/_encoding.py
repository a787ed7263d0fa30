"""Targets for training: scaling, encoding as tensors, the validation split."""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from .._targets import REGRESSION, TaskData
from ._data import TaskTensors

__all__ = ["encode_targets", "split", "target_scaling"]


def target_scaling(data: TaskData, how: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale of regression targets per task, or over all tasks with
    ``target_scaling="pooled"`` (undone at predict time)."""
    n_tasks = data.layout.n_tasks
    mean, scale = np.zeros(n_tasks), np.ones(n_tasks)
    regression = np.array([k == REGRESSION for k in data.layout.task_types])
    if regression.any():
        _, index, values = data.observed_labels()
        if how == "pooled":
            # one mean and scale over the labels of all regression tasks
            pooled = values[regression[index]]
            mean = np.full(n_tasks, pooled.mean())
            std = np.full(n_tasks, pooled.std())
        else:
            counts = np.maximum(np.bincount(index, minlength=n_tasks), 1)
            mean = np.bincount(index, values, minlength=n_tasks) / counts
            var = np.bincount(index, (values - mean[index]) ** 2,
                              minlength=n_tasks) / counts
            std = np.sqrt(var)
        ok = std > 1e-12 * np.maximum(1.0, np.abs(mean))
        scale = np.where(regression & ok, std, 1.0)
        mean = np.where(regression, mean, 0.0)
    return mean, scale


def encode_targets(data: TaskData, mean: np.ndarray, scale: np.ndarray) -> tuple[torch.Tensor, ...]:
    """Targets as tensors: ``(Y, mask)`` (wide) or ``(y, task, mask)`` (long)."""
    if data.task_index is not None:
        observed = ~np.isnan(data.y_long)
        index = data.task_index
        y = np.where(observed, (data.y_long - mean[index]) / scale[index], 0.0)
        return (torch.tensor(y, dtype=torch.float32),
                torch.tensor(index, dtype=torch.long),
                torch.tensor(observed, dtype=torch.float32))
    Y = np.where(data.mask, (data.Y - mean) / scale, 0.0)
    return (torch.tensor(Y, dtype=torch.float32),
            torch.tensor(data.mask, dtype=torch.float32))


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

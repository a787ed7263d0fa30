"""The masked per-task loss: each task's mean over its observed labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._targets import CLASSIFICATION, REGRESSION
from ..balancing import LossWeighting

__all__ = ["MaskedTaskLoss", "cross_entropy", "squared_error"]


def squared_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Element-wise squared error (the default regression loss)."""
    return F.mse_loss(pred, target, reduction="none")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of ``(batch, n_classes)`` logits (classification loss)."""
    return F.cross_entropy(logits, target, reduction="none")


class MaskedTaskLoss(nn.Module):
    """Per-task masked (weighted) mean losses, plus the task-balancing method that
    combines them.

    ``forward(outputs, Y, mask)`` (wide: ``(batch, n_tasks)`` targets and mask) or
    ``forward(outputs, y, task, mask)`` (long: each row's target, task position and mask,
    ``(batch,)`` each) returns ``(losses, counts)``, both of shape ``(n_tasks,)``: the mean
    loss of each task over the rows where its label is observed, and the number of those
    rows. A missing label contributes nothing to any task (its target is a placeholder
    multiplied by a zero mask), so it sends no gradient anywhere. ``mask=None`` means every
    label of the batch is observed.

    The mask may hold weights (``sample_weight`` times ``class_weight``): each task's loss
    is then the weighted mean ``sum(w * loss) / sum(w)`` over its labels and ``counts`` the
    total weight, so an integer weight ``k`` counts as the label repeated ``k`` times.

    Parameters
    ----------
    task_types : sequence of {"regression", "classification"}
    out_sizes : sequence of int
        Columns of the network output per task.
    weighting : LossWeighting
        The balancing method (a submodule, so its learnable parameters follow the device
        and reach the optimizer).
    regression_loss : callable, default=squared_error
        ``(pred, target) -> element-wise loss`` on ``(batch, n_regression_tasks)``.
    classification_loss : callable, default=cross_entropy
        ``(logits, target codes) -> per-sample loss``.
    routed : bool, default=False
        Long format: the network is called with ``task=`` and returns each row's own task
        outputs, ``(batch, max(out_sizes))``, instead of every task's.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import get_weighting
    >>> loss = MaskedTaskLoss(["regression", "regression"], [1, 1], get_weighting("fixed", 2))
    >>> out = torch.tensor([[1.0, 0.0], [3.0, 5.0]])
    >>> Y = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    >>> mask = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # task 1 misses row 0
    >>> losses, counts = loss(out, Y, mask)
    >>> losses, counts
    (tensor([ 2.5000, 25.0000]), tensor([2., 1.]))
    """

    def __init__(
        self,
        task_types: Sequence[str],
        out_sizes: Sequence[int],
        weighting: LossWeighting,
        regression_loss: Callable = squared_error,
        classification_loss: Callable = cross_entropy,
        routed: bool = False,
    ) -> None:
        super().__init__()
        self.routed = bool(routed)
        self.task_types = tuple(task_types)
        self.out_sizes = [int(s) for s in out_sizes]
        self.weighting = weighting
        self.regression_loss = regression_loss
        self.classification_loss = classification_loss
        offsets = np.concatenate([[0], np.cumsum(self.out_sizes)])
        self.slices = [slice(int(offsets[t]), int(offsets[t + 1])) for t in range(len(out_sizes))]
        reg = [t for t, k in enumerate(self.task_types) if k == REGRESSION]
        self.cls = [t for t, k in enumerate(self.task_types) if k == CLASSIFICATION]
        self.all_regression = not self.cls and all(s == 1 for s in self.out_sizes)
        self.register_buffer("reg_tasks", torch.tensor(reg, dtype=torch.long), persistent=False)
        self.register_buffer("reg_cols", torch.tensor([int(offsets[t]) for t in reg],
                                                      dtype=torch.long), persistent=False)
        # losses are computed regression-first, then classification; this puts them back.
        order = reg + self.cls
        self.register_buffer("restore", torch.tensor(np.argsort(order), dtype=torch.long),
                             persistent=False)
        # Long format: row-wise gather of each row's own task outputs.
        width = max(self.out_sizes)
        self.register_buffer("offsets", torch.tensor(offsets[:-1], dtype=torch.long),
                             persistent=False)
        self.register_buffer("sizes", torch.tensor(self.out_sizes, dtype=torch.long),
                             persistent=False)
        self.register_buffer("columns", torch.arange(width), persistent=False)

    def forward(self, outputs, *targets: torch.Tensor):
        if isinstance(outputs, list | tuple):
            outputs = torch.cat([o.reshape(len(o), -1) for o in outputs], dim=1)
        if len(targets) == 3:
            return self._long(outputs, *targets)
        Y, mask = targets
        if mask is None:
            if self.all_regression:  # the common case, in as few kernels as possible
                losses = self.regression_loss(outputs, Y).mean(0)
                return losses, torch.full_like(losses, float(len(Y)))
            mask = torch.ones_like(Y)
        counts = mask.sum(0)
        denominators = counts.clamp(min=1.0)
        if self.all_regression:
            err = self.regression_loss(outputs, Y) * mask
            return err.sum(0) / denominators, counts
        parts = []
        if len(self.reg_tasks):
            err = self.regression_loss(
                outputs.index_select(1, self.reg_cols), Y.index_select(1, self.reg_tasks)
            ) * mask.index_select(1, self.reg_tasks)
            parts.append(err.sum(0) / denominators.index_select(0, self.reg_tasks))
        if self.cls:
            per_task = []
            for t in self.cls:
                per_sample = self.classification_loss(outputs[:, self.slices[t]], Y[:, t].long())
                per_task.append((per_sample * mask[:, t]).sum() / denominators[t])
            parts.append(torch.stack(per_task))
        losses = torch.cat(parts) if len(parts) > 1 else parts[0]
        return losses.index_select(0, self.restore), counts

    def _long(self, outputs, y, task, mask):
        """Long format: only each row's own task output enters the loss."""
        n_tasks = len(self.out_sizes)
        if mask is None:
            mask = torch.ones_like(y)
        start = (torch.zeros_like(task) if self.routed
                 else self.offsets.index_select(0, task))
        if self.routed and self.all_regression:
            per_row = self.regression_loss(outputs[:, 0], y)
        elif self.all_regression:
            pred = outputs.gather(1, start.unsqueeze(1)).squeeze(1)
            per_row = self.regression_loss(pred, y)
        else:  # one task type in long format: classification with per-task label sets
            cols = (start.unsqueeze(1) + self.columns).clamp(max=outputs.shape[1] - 1)
            logits = outputs.gather(1, cols)
            valid = self.columns < self.sizes.index_select(0, task).unsqueeze(1)
            logits = logits.masked_fill(~valid, float("-inf"))
            per_row = self.classification_loss(logits, y.long())
        # each row's loss times its weight (0 where missing: no NaN from a placeholder)
        per_row = torch.where(mask > 0, per_row * mask, torch.zeros_like(per_row))
        sums = per_row.new_zeros(n_tasks).index_add(0, task, per_row)
        counts = mask.new_zeros(n_tasks).index_add(0, task, mask)
        return sums / counts.clamp(min=1.0), counts

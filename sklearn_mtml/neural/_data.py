"""Training data as preloaded tensors, and their mini-batches."""

from __future__ import annotations

from collections.abc import Mapping

import torch

__all__ = ["TaskTensors", "TensorBatches", "TensorInput", "n_rows", "take", "to_device"]

TensorInput = torch.Tensor | Mapping[str, torch.Tensor]


def n_rows(X: TensorInput) -> int:
    if isinstance(X, Mapping):
        return len(next(iter(X.values())))
    return len(X)


def take(X: TensorInput, index) -> TensorInput:
    """Rows ``index`` (a slice or an index tensor) of a tensor or a dict of tensors."""
    if isinstance(X, Mapping):
        return {k: v[index] for k, v in X.items()}
    return X[index]


def to_device(X: TensorInput, device, non_blocking: bool = False) -> TensorInput:
    if isinstance(X, Mapping):
        return {k: v.to(device, non_blocking=non_blocking) for k, v in X.items()}
    return X.to(device, non_blocking=non_blocking)


class TaskTensors(torch.utils.data.Dataset):
    """Preloaded training data: inputs and encoded targets.

    ``targets`` is ``(Y, mask)`` for wide data (``(n, n_tasks)`` each; targets 0 where
    missing) or ``(y, task, mask)`` for long data (``(n,)`` each: the row's target, its
    task position and whether the label is observed). The mask is the label's weight: 0
    (missing), 1 (observed) or, with sample / class weights, the weight.
    """

    def __init__(self, X: TensorInput, targets: tuple[torch.Tensor, ...]) -> None:
        self.X, self.targets = X, tuple(targets)
        # Without any missing label or weight, batches carry no mask (None): the loss skips
        # masking.
        self.complete = bool((self.mask == 1).all())

    def __len__(self) -> int:
        return len(self.targets[0])

    @property
    def mask(self) -> torch.Tensor:
        return self.targets[-1]

    def observed_per_task(self, n_tasks: int) -> torch.Tensor:
        if len(self.targets) == 2:
            return self.mask.sum(0)
        return torch.zeros(n_tasks).index_add_(0, self.targets[1].cpu(), self.mask.cpu())

    def __getitem__(self, i):  # per-sample access, only for users' own iterators
        return take(self.X, i), tuple(t[i] for t in self.targets)

    def subset(self, index) -> TaskTensors:
        return TaskTensors(take(self.X, index), tuple(t[index] for t in self.targets))

    def to(self, device) -> TaskTensors:
        return TaskTensors(to_device(self.X, device), tuple(t.to(device) for t in self.targets))


class TensorBatches:
    """Mini-batches as slices of preloaded tensors: no per-sample ``Dataset``/collate.

    When shuffling, the whole data set is permuted once per epoch (one gather per tensor)
    and the batches are then contiguous views of the permuted copy.

    With ``world > 1`` processes (data-parallel training), every process draws the same
    permutation and each step's ``batch_size * world`` rows are split between them; process
    ``rank`` takes its share. In training (``pad=True``) a short last step is padded with
    rows from the start of the epoch so that every process gets the same number of rows
    (no process idles at a collective operation); in evaluation the shares are not padded.
    """

    def __init__(self, data: TaskTensors, batch_size: int, shuffle: bool,
                 generator: torch.Generator | None, rank: int = 0, world: int = 1,
                 pad: bool = True) -> None:
        self.data, self.batch_size, self.shuffle, self.generator = (
            data, int(batch_size), shuffle, generator
        )
        self.rank, self.world, self.pad = int(rank), int(world), pad

    def __len__(self) -> int:
        return -(-len(self.data) // (self.batch_size * self.world))

    def _rows(self, n: int):
        """Per step, the rows of this process: slices (one process) or index tensors."""
        step = self.batch_size * self.world
        for start in range(0, n, step):
            if self.world == 1:
                yield slice(start, start + self.batch_size)
                continue
            rows = torch.arange(start, min(start + step, n))
            share = -(-len(rows) // self.world)
            if self.pad and len(rows) < share * self.world:
                rows = torch.cat([rows, torch.arange(share * self.world - len(rows)) % n])
            mine = rows[self.rank * share:(self.rank + 1) * share]
            if len(mine):
                yield mine.to(self.data.mask.device)

    def __iter__(self):
        data = self.data
        n = len(data)
        if self.shuffle and n > 1:
            order = torch.randperm(n, generator=self.generator).to(data.mask.device)
            data = data.subset(order)
        complete = self.data.complete
        for rows in self._rows(n):
            targets = tuple(t[rows] for t in data.targets)
            if complete:
                targets = targets[:-1] + (None,)
            yield take(data.X, rows), targets

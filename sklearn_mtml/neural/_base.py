"""Training machinery shared by every neural estimator of the package.

:class:`BaseMultiTaskNet` composes a skorch ``NeuralNet`` (``net_``; DESIGN.md: composition,
not subclassing) and owns everything that is not the network itself: device, seeding,
preloaded-tensor batching, masked per-task losses, task balancing, early stopping, history,
callbacks, progress bar, warm start / ``partial_fit`` and batched prediction.

Estimators built on it (``MultiTaskNetRegressor``, ``MultiTaskNetClassifier``,
``MultiTaskNet``, the multi-modal estimators) only choose a mixin of
:mod:`sklearn_mtml._base` and, where they need to, override the hooks listed in
:class:`BaseMultiTaskNet`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer, PrintLog
from torch import nn

from .._targets import (
    CLASSIFICATION,
    REGRESSION,
    TaskData,
    TaskLayout,
    as_task_list,
    fit_guard,
    validate_fit_data,
)
from ..balancing import WEIGHTINGS, LossWeighting, get_weighting
from ..nn.heads import ACTIVATIONS, TaskHeads
from ..nn.sharing import ARCHITECTURES, build_architecture

__all__ = ["BaseMultiTaskNet", "MaskedTaskLoss"]

#: Optimizers by name (the values accepted by ``optimizer=``).
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}

_HISTORY_LISTS = ["train_task_losses", "valid_task_losses", "task_weights"]

TensorInput = torch.Tensor | Mapping[str, torch.Tensor]


# ----------------------------------------------------------------------------- tensors
def _n_rows(X: TensorInput) -> int:
    if isinstance(X, Mapping):
        return len(next(iter(X.values())))
    return len(X)


def _take(X: TensorInput, index) -> TensorInput:
    """Rows ``index`` (a slice or an index tensor) of a tensor or a dict of tensors."""
    if isinstance(X, Mapping):
        return {k: v[index] for k, v in X.items()}
    return X[index]


def _to_device(X: TensorInput, device, non_blocking: bool = False) -> TensorInput:
    if isinstance(X, Mapping):
        return {k: v.to(device, non_blocking=non_blocking) for k, v in X.items()}
    return X.to(device, non_blocking=non_blocking)


class _TaskTensors(torch.utils.data.Dataset):
    """Preloaded training data: inputs and encoded targets.

    ``targets`` is ``(Y, mask)`` for wide data (``(n, n_tasks)`` each; targets 0 where
    missing) or ``(y, task, mask)`` for long data (``(n,)`` each: the row's target, its
    task position and whether the label is observed).
    """

    def __init__(self, X: TensorInput, targets: tuple[torch.Tensor, ...]) -> None:
        self.X, self.targets = X, tuple(targets)
        # Without any missing label, batches carry no mask (None): the loss skips masking.
        self.complete = bool(self.mask.all())

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
        return _take(self.X, i), tuple(t[i] for t in self.targets)

    def subset(self, index) -> _TaskTensors:
        return _TaskTensors(_take(self.X, index), tuple(t[index] for t in self.targets))

    def to(self, device) -> _TaskTensors:
        return _TaskTensors(_to_device(self.X, device), tuple(t.to(device) for t in self.targets))


class _TensorBatches:
    """Mini-batches as slices of preloaded tensors: no per-sample ``Dataset``/collate.

    When shuffling, the whole data set is permuted once per epoch (one gather per tensor)
    and the batches are then contiguous views of the permuted copy.

    With ``world > 1`` processes (data-parallel training), every process draws the same
    permutation and each step's ``batch_size * world`` rows are split between them; process
    ``rank`` takes its share. In training (``pad=True``) a short last step is padded with
    rows from the start of the epoch so that every process gets the same number of rows
    (no process idles at a collective operation); in evaluation the shares are not padded.
    """

    def __init__(self, data: _TaskTensors, batch_size: int, shuffle: bool,
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
            yield _take(data.X, rows), targets


# ----------------------------------------------------------------------------- losses
def squared_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Element-wise squared error (the default regression loss)."""
    return F.mse_loss(pred, target, reduction="none")


def cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy of ``(batch, n_classes)`` logits (classification loss)."""
    return F.cross_entropy(logits, target, reduction="none")


class MaskedTaskLoss(nn.Module):
    """Per-task masked mean losses, plus the task-balancing method that combines them.

    ``forward(outputs, Y, mask)`` (wide: ``(batch, n_tasks)`` targets and mask) or
    ``forward(outputs, y, task, mask)`` (long: each row's target, task position and mask,
    ``(batch,)`` each) returns ``(losses, counts)``, both of shape ``(n_tasks,)``: the mean
    loss of each task over the rows where its label is observed, and the number of those
    rows. A missing label contributes nothing to any task (its target is a placeholder
    multiplied by a zero mask), so it sends no gradient anywhere. ``mask=None`` means every
    label of the batch is observed.

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
    ) -> None:
        super().__init__()
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

    #: long format: the network was called with ``task=`` and returned each row's own task
    #: outputs, ``(batch, max(out_sizes))``, instead of every task's
    routed = False

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
        per_row = torch.where(mask > 0, per_row, torch.zeros_like(per_row))
        sums = per_row.new_zeros(n_tasks).index_add(0, task, per_row)
        counts = mask.new_zeros(n_tasks).index_add(0, task, mask)
        return sums / counts.clamp(min=1.0), counts


# ----------------------------------------------------------------------------- skorch net
class _EpochProgressBar(Callback):
    """A tqdm bar over epochs showing the current train / valid loss."""

    def __init__(self, total: int) -> None:
        self.total = total

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        # data-parallel training: one bar, on each machine's main process
        accelerator = getattr(net, "accelerator", None)
        quiet = accelerator is not None and not accelerator.is_local_main_process
        self.bar_ = tqdm(total=self.total, desc=type(net).__name__.lstrip("_"), leave=False,
                         disable=quiet)

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix(
            {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row}
        )
        self.bar_.update(1)

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


class _MultiTaskNeuralNet(NeuralNet):
    """skorch ``NeuralNet`` with a multi-task training step over preloaded tensors.

    Overrides only skorch's small hooks: ``get_split_datasets`` (the estimator splits),
    ``get_iterator`` (slices of preloaded tensors), ``infer`` (the module takes the batch
    input whole: a tensor or a dict), ``train_step``/``train_step_single`` (per-task losses,
    balancing ``backward``), ``validation_step``, ``run_single_epoch`` (epoch-level
    per-task losses, one device sync per epoch, divergence check),
    ``on_epoch_end`` (balancing weights) and ``initialize_optimizer`` (parameter groups).
    """

    # Set by the estimator before training (plain attributes, not skorch parameters).
    _valid_data: _TaskTensors | None = None
    _generator: torch.Generator | None = None
    _shared_parameters: list = []
    _task_names: list = []
    _observed: list = []
    _summary_weights: torch.Tensor | None = None
    _grad_callbacks: bool = True
    _fused: bool = False
    _routed: bool = False
    #: shuffling: epochs the generator has served (a resumed run replays the earlier ones)
    _generator_epoch: int = 0
    #: on_divergence="keep_last_good": (epoch, module state, criterion state) or None
    _keep_last_good: bool = False
    _last_good: tuple | None = None
    _auxiliary: bool = False
    #: TaskHeads with a head_shrinkage penalty (told each step which tasks have labels)
    _shrunk_heads: list = []
    #: the estimator's seed; torch's RNG is reseeded from it and the epoch number per epoch
    _epoch_seed: int | None = None

    def get_default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer())]
        if self.verbose >= 2:
            callbacks.append(("print_log", PrintLog(keys_ignored=_HISTORY_LISTS)))
        return callbacks

    def initialize_optimizer(self, *args, **kwargs):
        groups = [{"params": [p for p in self.module_.parameters() if p.requires_grad]}]
        # Balancing parameters (uncertainty log-variances, ...) are not weight-decayed.
        extra = [p for p in self.criterion_.parameters() if p.requires_grad]
        if extra:
            groups.append({"params": extra, "weight_decay": 0.0})
        options = self.get_params_for("optimizer")
        options.setdefault("lr", self.lr)
        self.optimizer_ = None
        if self._fused and "fused" not in options:
            # torch's fused Adam/AdamW/SGD kernels (CPU and CUDA) do the same update in one
            # kernel per step instead of several per parameter.
            with contextlib.suppress(RuntimeError, TypeError, ValueError):
                self.optimizer_ = self.optimizer(groups, fused=True, **options)
        if self.optimizer_ is None:
            self.optimizer_ = self.optimizer(groups, **options)
        overridden = [cb for _, cb in getattr(self, "callbacks_", [])
                      if type(cb).on_grad_computed is not Callback.on_grad_computed]
        self._grad_callbacks = bool(overridden)
        return self

    def get_split_datasets(self, X, y=None, **fit_params):
        return X, self._valid_data

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, _TaskTensors):
            return _TensorBatches(dataset, self.batch_size, training, self._generator)
        return super().get_iterator(dataset, training)

    def infer(self, x, **fit_params):
        return self.module_(x, **fit_params)

    def _routing(self, targets) -> dict:
        """``task=`` for networks that route long-format rows to their own task."""
        return {"task": targets[1]} if self._routed and len(targets) == 3 else {}

    def train_step_single(self, batch, **fit_params):
        y_pred, losses, counts, auxiliary = self._forward_losses(batch, **fit_params)
        total = self._backward(losses, counts, auxiliary)
        return {"loss": total, "y_pred": y_pred, "task_losses": losses.detach(),
                "task_counts": counts}

    def _forward_losses(self, batch, **fit_params):
        """Forward pass: outputs, per-task mean losses and label counts of the batch, and
        the network's own regulariser (``None`` when it has none)."""
        Xi, targets = batch
        y_pred = self.infer(Xi, **self._routing(targets), **fit_params)
        losses, counts = self.criterion_(y_pred, *targets)
        self._mark_labelled(counts)
        auxiliary = self.module_.auxiliary_loss() if self._auxiliary else None
        return y_pred, losses, counts, auxiliary

    def _backward(self, losses, counts, auxiliary) -> torch.Tensor:
        """Gradients of the step (the balancing method's backward); the objective, detached."""
        if auxiliary is not None:  # the network's own regulariser (e.g. shared_private)
            auxiliary.backward(retain_graph=True)
        return self.criterion_.weighting.backward(losses, self._shared_parameters, counts > 0)

    def _mark_labelled(self, counts: torch.Tensor) -> None:
        """Head shrinkage penalises the tasks with a label in this batch (as their loss)."""
        for heads in self._shrunk_heads:
            heads.mark_labelled(counts > 0)

    def train_step(self, batch, **fit_params):
        if isinstance(self.optimizer_, torch.optim.LBFGS):  # needs a re-evaluating closure
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        if self._grad_callbacks:
            self.notify("on_grad_computed", named_parameters=list(
                self.get_all_learnable_params()), batch=batch, training=True)
        self._step_optimizer(None)
        return step

    def validation_step(self, batch, **fit_params):
        Xi, targets = batch
        with torch.no_grad():
            y_pred = self.infer(Xi, **self._routing(targets), **fit_params)
            losses, counts = self.criterion_(y_pred, *targets)
        return {"loss": self._summary(losses, counts), "y_pred": y_pred,
                "task_losses": losses, "task_counts": counts}

    def _summary(self, task_means: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
        """Task-weighted mean of the observed tasks' losses (what early stopping watches)."""
        w = self._summary_weights.to(task_means.device) * (counts > 0)
        return (w * torch.nan_to_num(task_means)).sum() / w.sum().clamp(min=1e-12)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        if training:
            self._align_generator(iterator)
        losses, counts, totals = [], [], []
        batch_count = 0
        for batch in iterator:
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            losses.append(step["task_losses"])
            counts.append(step["task_counts"])
            totals.append(step["loss"].detach())
            self.notify("on_batch_end", batch=batch, training=training, **step)
            batch_count += 1
        if batch_count:
            counts_ = torch.stack(counts)
            seen = counts_.sum(0)
            sums = (torch.stack(losses) * counts_).sum(0)
            objective_sum = torch.stack(totals).sum()
        else:  # a process whose share of a small validation set is empty
            sums = seen = torch.zeros(len(self._task_names), device=self._data_device)
            objective_sum = sums.sum()
        sums, seen, objective_sum, steps = self._epoch_totals(
            sums, seen, objective_sum, batch_count)
        task_means = sums / seen
        # One device synchronisation per epoch, not per batch.
        summary = float(self._summary(task_means, seen))
        means = task_means.tolist()
        objective = float(objective_sum) / steps if steps else float("nan")
        if training:
            self._check_finite(means, objective, losses, counts)
            self.history.record("train_objective", objective)
        self.history.record(prefix + "_loss", summary)
        self.history.record(prefix + "_task_losses", means)
        self.history.record(prefix + "_batch_count", batch_count)

    def _epoch_totals(self, sums, seen, objective_sum, steps):
        """Per-task loss sums, label counts, objective sum and steps of this epoch, over
        all processes (one process here; data-parallel training adds the others')."""
        return sums, seen, objective_sum, steps

    @property
    def _data_device(self) -> torch.device:
        return next(self.module_.parameters(), torch.zeros(())).device

    def _align_generator(self, iterator) -> None:
        """Replay the shuffles of epochs trained before this call (a run resumed from a
        checkpoint with ``LoadInitState``), so epoch ``k`` always gets the same order."""
        if not isinstance(iterator, _TensorBatches) or self._generator is None:
            return
        n = len(iterator.data)
        epoch = len(self.history) - 1
        while self._generator_epoch < epoch:
            if n > 1:
                torch.randperm(n, generator=self._generator)
            self._generator_epoch += 1
        self._generator_epoch = epoch + 1

    def _check_finite(self, means, objective, batch_losses=(), batch_counts=()):
        bad = [(self._task_names[t], v) for t, v in enumerate(means)
               if np.isinf(v) or (np.isnan(v) and self._observed[t])]
        if bad or not np.isfinite(objective):
            what = (f"the loss of task {bad[0][0]!r} became {bad[0][1]}" if bad
                    else f"the balanced training objective became {objective}")
            # only on failure: find the first batch that went wrong, and which task did
            for b, (loss, count) in enumerate(zip(batch_losses, batch_counts)):
                wrong = (~torch.isfinite(loss) & (count > 0)).cpu().numpy()
                if wrong.any():
                    t = int(np.flatnonzero(wrong)[0])
                    what = (f"the loss of task {self._task_names[t]!r} became "
                            f"{float(loss[t])} in batch {b + 1}")
                    break
            raise _Diverged(
                f"Training diverged at epoch {len(self.history)}: {what}. Try a smaller lr, "
                "stronger weight_decay, or standardised features."
            )

    def _snapshot(self) -> None:
        """Remember the current weights if they are finite (``keep_last_good``)."""
        params = list(self.module_.parameters()) + list(self.criterion_.parameters())
        if all(bool(torch.isfinite(p).all()) for p in params):
            self._last_good = (
                len(self.history),
                {k: v.detach().clone() for k, v in self.module_.state_dict().items()},
                {k: v.detach().clone() for k, v in self.criterion_.state_dict().items()},
            )

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid,
                               **kwargs)
        if self._epoch_seed is not None:
            # Dropout, modality dropout and random weighting draw from torch's RNG: seeded
            # from the estimator's seed and the epoch number, so that epoch k draws the same
            # numbers in a run resumed from a checkpoint as in the uninterrupted run.
            torch.manual_seed((self._epoch_seed * 1_000_003 + len(self.history)) % 2**63)

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        weighting = self.criterion_.weighting
        train_means = np.asarray(self.history[-1, "train_task_losses"], dtype=np.float64)
        weighting.epoch_end(train_means)
        self.history.record("task_weights", weighting.weights().detach().cpu().tolist())
        if self._keep_last_good:
            self._snapshot()


class _Diverged(ValueError):
    """A non-finite training loss (``on_divergence`` decides what happens next)."""


# ----------------------------------------------------------------------------- estimator
def _silent(*args, **kwargs) -> None:
    """A print sink that prints nothing (a module-level function: the model pickles)."""


@contextlib.contextmanager
def _without_validation_callbacks(net, active: bool):
    """Leave out the early-stopping callbacks that watch a validation score while training
    without validation data (``partial_fit``; as in scikit-learn, it does not stop early)."""
    if not active:
        yield
        return
    callbacks = net.callbacks_
    net.callbacks_ = [(name, cb) for name, cb in callbacks
                      if not (isinstance(cb, EarlyStopping)
                              and str(cb.monitor).startswith("valid"))]
    try:
        yield
    finally:
        net.callbacks_ = callbacks


def _seed_from(random_state) -> int:
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def _local_torch_rng(seed: int, device: torch.device):
    """Seed torch inside the block only: the caller's global RNG state is left untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _with_classes(layout: TaskLayout, classes) -> TaskLayout:
    """``layout`` with the label sets given to ``partial_fit(classes=...)``."""
    if layout.y_1d or layout.long:
        given = [classes] * layout.n_tasks
    else:
        given = list(classes)
        if len(given) != layout.n_tasks:
            raise ValueError(
                f"classes has {len(given)} entries but there are {layout.n_tasks} tasks."
            )
    new = tuple(None if kind == REGRESSION else np.unique(np.asarray(c))
                for c, kind in zip(given, layout.task_types))
    return dataclasses.replace(layout, classes=new)


@contextlib.contextmanager
def _torch_threads(n_threads: int | None):
    """Use ``n_threads`` torch intra-op threads inside the block (``None``: unchanged)."""
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _accepts_task(module: nn.Module) -> bool:
    """Whether ``module.forward`` takes ``task=`` (row routing, see nn.sharing)."""
    try:
        return "task" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


def _as_sizes(value, name: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, numbers.Integral):
        value = (value,)
    sizes = tuple(int(v) for v in value)
    if any(s < 1 for s in sizes):
        raise ValueError(f"{name} must hold positive layer widths, got {value!r}.")
    return sizes


@contextlib.contextmanager
def _keep_task_attributes(estimator):
    """Restore the task attributes that validation sets if a ``partial_fit`` chunk fails."""
    names = ("_task_layout", "task_names_", "n_tasks_", "classes_")
    saved = {k: getattr(estimator, k) for k in names if hasattr(estimator, k)}
    try:
        yield
    except BaseException:
        for k, v in saved.items():
            setattr(estimator, k, v)
        raise


class BaseMultiTaskNet:
    """Base class of the neural multi-task estimators (training machinery and hooks).

    Not used directly: estimators combine it, *first*, with a task mixin of
    :mod:`sklearn_mtml._base` and ``BaseEstimator`` last, e.g.
    ``class MultiTaskNetRegressor(BaseMultiTaskNet, MultiTaskRegressorMixin,
    BaseEstimator)`` (first, so that its ``_fit`` / ``_predict_tasks`` replace the mixin's
    abstract ones; ``BaseEstimator`` last, as sklearn wants mixins before it). The mixin's
    ``fit`` validates ``X, y`` through the task contract and calls :meth:`_fit`, which tells
    the story: targets -> tensors -> module -> skorch ``NeuralNet`` (``net_``) -> train ->
    record ``history_``.

    **Hooks** (a contract with the estimators built on this class; override only these):

    ``_to_tensors(self, X, fit: bool) -> Tensor | dict[str, Tensor]``
        Turn the validated ``X`` (what the mixin's ``_convert_X`` returned; a float64 array
        by default) into CPU tensors: one float32 tensor, or a dict of tensors (e.g. one per
        modality plus presence masks). Every tensor has the samples on its first dimension.
        Called with ``fit=True`` in ``fit`` (may learn preprocessing, stored as attributes
        ending in ``_``) and ``fit=False`` at predict time.
    ``_build_module(self, X_t, out_sizes: list[int]) -> torch.nn.Module``
        Build the network. ``forward`` receives a batch of ``X_t`` *whole* (the tensor or
        the dict, not unpacked as keyword arguments) and returns either a list of per-task
        outputs (``(batch, out_sizes[t])`` each) or one tensor of the outputs side by side,
        ``(batch, sum(out_sizes))``, in task order. ``out_sizes[t]`` is 1 for a regression
        task and the number of classes for a classification task. The default builds the
        sharing architecture of ``architecture=`` with :meth:`_build_sharing`.
    ``_build_sharing(self, in_features, out_sizes) -> torch.nn.Module``
        The sharing network of ``architecture=`` and the size parameters, for a given input
        width (a multi-modal network puts it on top of its fused representation).
        A network may also define ``auxiliary_loss() -> Tensor | None``: a regulariser of
        its last training forward pass, back-propagated with the task losses; and accept
        ``forward(x, task=index)`` to route long-format rows through their own task only
        (returning ``(batch, max(out_sizes))``), which the estimator then uses.
    ``_shared_parameters(self, module) -> list[Parameter]``
        Parameters shared by the tasks, handed to gradient balancing methods (PCGrad, MGDA,
        ...). Default: ``module.shared_parameters()`` when the module has it, else every
        parameter.
    ``_shared_modules(self, module) -> dict[str, Module]``
        The shared part copied by ``init_from`` (default ``module.shared_modules()``).
    ``_regression_loss`` / ``_classification_loss``
        Element-wise ``(pred, target)`` regression loss on standardised targets (default
        squared error) and per-sample ``(logits, codes)`` classification loss (default
        cross-entropy); masking and per-task means are applied around them.
    ``_check_instance()`` (classmethod)
        A tiny, fast configuration for the common estimator checks.

    Parameters
    ----------
    architecture : {"shared_bottom", "cross_stitch", "mmoe", "ple", "shared_private", \
            "independent"}, class or module, default="shared_bottom"
        How tasks share parameters (see :mod:`sklearn_mtml.nn.sharing`). A
        ``torch.nn.Module`` class is called as ``cls(in_features, out_sizes, **sizes)``; an
        instance is used as is (copied at each fit).
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the shared trunk (each task's column for ``"cross_stitch"`` and
        ``"independent"``; each expert for ``"mmoe"``/``"ple"`` unless ``expert_sizes``).
    tower_sizes : tuple of int, default=()
        Widths of each task's own tower under its output layer.
    n_experts : int, default=4
        Experts of ``"mmoe"``; shared experts per level of ``"ple"``.
    expert_sizes : tuple of int or None, default=None
        Widths of each expert (default ``hidden_layer_sizes``).
    n_task_experts : int, default=1
        Task-specific experts per task and level of ``"ple"``.
    n_levels : int, default=2
        CGC levels of ``"ple"``.
    activation : str, default="relu"
        One of ``"relu"``, ``"gelu"``, ``"tanh"``, ``"elu"``, ``"leaky_relu"``, ``"selu"``,
        ``"silu"``.
    dropout : float, default=0.0
    loss_weighting : str, LossWeighting class or instance, default="fixed"
        Task balancing (see :mod:`sklearn_mtml.balancing`): ``"fixed"``, ``"uncertainty"``,
        ``"dwa"``, ``"gradnorm"``, ``"pcgrad"``, ``"mgda"``, ``"cagrad"``, ...
    loss_weighting_params : dict or None, default=None
        Hyper-parameters of the balancing method (e.g. ``{"temperature": 2.0}``).
    task_weights : array-like of shape (n_tasks,), dict or None, default=None
        Fixed per-task loss multipliers (a dict maps task names to weights).
    head_shrinkage : float, default=0.0
        Pull the tasks' output layers towards their mean: the neural analogue of the
        task-specific penalty of :class:`~sklearn_mtml.linear.MultiTaskRidge` (weights
        ``w_t = w_0 + v_t``, a ridge penalty on ``v_t``), for tasks with few labels each.
        A training step adds, for every task with a label in its batch (as the task's
        loss), ``head_shrinkage / n_t * (||W_t - W_mean||^2 + ||b_t - b_mean||^2)``, where
        ``W_t, b_t`` are task ``t``'s output layer (the network's
        :class:`~sklearn_mtml.nn.heads.TaskHeads`), the means are over all tasks and
        ``n_t`` is task ``t``'s number of training labels. A task's loss is a mean over its
        rows, so its objective is then, as in a ridge whose ``alpha`` is
        ``head_shrinkage``, (sum of its losses + ``head_shrinkage`` x penalty) / ``n_t``:
        the value means the same whatever the number of rows or tasks. The biases are
        shrunk with the weights (regression targets are standardised per task, so every
        task keeps its own mean). Closest to the ridge on ``"shared_bottom"`` without
        ``tower_sizes`` (linear heads on the shared representation). 0 disables it; needs a
        network with ``TaskHeads`` (every built-in architecture). Not scaled by
        ``task_weights`` or the balancing weights.
    target_scaling : {"task", "pooled"}, default="task"
        How regression targets are standardised for training (undone at predict time).
        ``"task"``: each task by its own mean and standard deviation, so each task's mean
        is learned freely. ``"pooled"``: one mean and standard deviation over the labels of
        all regression tasks, for tasks that measure the same quantity (long format, e.g.
        one score per school): each task's level is then learned by its head's bias, which
        ``head_shrinkage`` pulls towards the common level, as
        :class:`~sklearn_mtml.linear.MultiTaskRidge` shrinks task intercepts. On School,
        ``head_shrinkage`` with ``"pooled"`` scores about 1.5 EV points above it with
        ``"task"`` (see benchmarks/README.md).
    optimizer : {"adam", "adamw", "sgd"} or torch optimizer class, default="adam"
    lr : float, default=1e-3
    weight_decay : float, default=0.0
    batch_size : int, default=128
    max_epochs : int, default=100
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop when the validation loss
        (task mean) has not improved by ``tol`` (relative) for ``n_iter_no_change`` epochs;
        the best epoch's weights are restored.
    validation_fraction : float, default=0.1
    n_iter_no_change : int, default=10
    tol : float, default=1e-4
    callbacks : list of (str, skorch Callback) or None, default=None
        Extra skorch callbacks, passed to ``net_``.
    warm_start : bool, default=False
        ``fit`` continues from the previous solution when the tasks are the same.
    init_from : fitted estimator of this family, torch.nn.Module or None, default=None
        Transfer: copy the shared layers of this fitted estimator (or of its network,
        ``fitted.net_.module_``) into the new network, which may have other tasks. Same
        architecture and input width. ``clone`` (``GridSearchCV``) keeps the fitted
        estimator as it is (it is only read).
    freeze_shared : bool, default=False
        With ``init_from``: keep the copied shared layers fixed.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling, dropout and the validation split (without
        touching torch's global RNG). The same integer gives identical predictions on CPU.
    verbose : int, default=0
        1: a tqdm progress bar over epochs; 2: also skorch's per-epoch table.
    task_column : int, str or None, default=None
        Long format: the column of ``X`` with each row's task id (not a feature).
    n_threads : int or None, default=None
        Torch intra-op threads while this estimator fits or predicts (restored after);
        ``None`` leaves torch's setting alone. Small networks on a busy CPU train many
        times faster with 1 (thread synchronisation dominates tiny kernels).
    on_divergence : {"raise", "keep_last_good"}, default="raise"
        What a non-finite training loss does. ``"raise"``: a ``ValueError`` naming the
        epoch, the batch and the task, and the estimator is left unfitted.
        ``"keep_last_good"``: training stops with a ``UserWarning`` saying the same, and the
        model keeps the weights of the last epoch that ended with finite weights (the
        diverged epoch is dropped from ``history_``).
    accelerator : dict, accelerate.Accelerator or None, default=None
        Train through Hugging Face Accelerate (skorch's ``AccelerateMixin``; needs the
        ``accelerate`` extra): mixed precision, gradient accumulation, and data-parallel
        training of one model on several GPUs or processes started by ``accelerate
        launch``. A dict holds ``accelerate.Accelerator`` options (e.g.
        ``{"mixed_precision": "bf16", "gradient_accumulation_steps": 2}``; this form
        clones and pickles with the estimator); an ``Accelerator`` is used as is. The
        accelerator chooses the device (leave ``device="auto"``). With several processes
        each one calls ``fit`` on the same data, trains on its share of every step's rows,
        and ends with the same model; ``batch_size`` is per process. DeepSpeed, FSDP and
        Megatron-LM are not supported; fp16 (loss scaling) needs a loss-weighting method.
        See the "Scaling" user guide.
    """

    _parameter_constraints: dict = {
        "architecture": [StrOptions(set(ARCHITECTURES)), type, nn.Module],
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "tower_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "n_experts": [Interval(Integral, 1, None, closed="left")],
        "expert_sizes": [None, "array-like", Interval(Integral, 1, None, closed="left")],
        "n_task_experts": [Interval(Integral, 1, None, closed="left")],
        "n_levels": [Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS)), type, nn.Module],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "loss_weighting": [StrOptions(set(WEIGHTINGS)), type, LossWeighting],
        "loss_weighting_params": [None, dict],
        "task_weights": [None, "array-like", dict],
        "head_shrinkage": [Interval(Real, 0, None, closed="left")],
        "target_scaling": [StrOptions({"task", "pooled"})],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "init_from": [None, HasMethods(["fit"]), nn.Module],
        "freeze_shared": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "task_column": [None, str, Integral],
        "n_threads": [None, Interval(Integral, 1, None, closed="left")],
        "on_divergence": [StrOptions({"raise", "keep_last_good"})],
        "accelerator": [None, dict, HasMethods(["prepare", "autocast"])],
    }

    #: rows per forward pass at predict time (memory grows with this, not with n)
    _predict_batch_size = 4096

    def __init__(
        self,
        *,
        architecture="shared_bottom",
        hidden_layer_sizes=(64,),
        tower_sizes=(),
        n_experts=4,
        expert_sizes=None,
        n_task_experts=1,
        n_levels=2,
        activation="relu",
        dropout=0.0,
        loss_weighting="fixed",
        loss_weighting_params=None,
        task_weights=None,
        head_shrinkage=0.0,
        target_scaling="task",
        optimizer="adam",
        lr=1e-3,
        weight_decay=0.0,
        batch_size=128,
        max_epochs=100,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        warm_start=False,
        init_from=None,
        freeze_shared=False,
        device="auto",
        random_state=None,
        verbose=0,
        task_column=None,
        n_threads=None,
        on_divergence="raise",
        accelerator=None,
    ):
        self.architecture = architecture
        self.hidden_layer_sizes = hidden_layer_sizes
        self.tower_sizes = tower_sizes
        self.n_experts = n_experts
        self.expert_sizes = expert_sizes
        self.n_task_experts = n_task_experts
        self.n_levels = n_levels
        self.activation = activation
        self.dropout = dropout
        self.loss_weighting = loss_weighting
        self.loss_weighting_params = loss_weighting_params
        self.task_weights = task_weights
        self.head_shrinkage = head_shrinkage
        self.target_scaling = target_scaling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.init_from = init_from
        self.freeze_shared = freeze_shared
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.task_column = task_column
        self.n_threads = n_threads
        self.on_divergence = on_divergence
        self.accelerator = accelerator

    def set_params(self, **params):
        """Set parameters, including those of callbacks as ``callbacks__<name>__<param>``.

        As in skorch, ``callbacks__<name>__<param>`` reaches the parameter of the callback
        passed as ``(name, callback)`` (so ``GridSearchCV`` can tune it) and
        ``callbacks__<name>`` replaces that callback. The callback is copied before it is
        changed: the caller's instance is never modified.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        nested = {k: v for k, v in params.items() if k.startswith("callbacks__")}
        if nested:
            callbacks = [tuple(item) for item in (self.callbacks or [])]
            names = [name for name, _ in callbacks]
            for key, value in nested.items():
                name, _, param = key[len("callbacks__"):].partition("__")
                if name not in names:
                    raise ValueError(
                        f"{key!r}: no callback named {name!r}; callbacks are {names}."
                    )
                i = names.index(name)
                if not param:
                    callbacks[i] = (name, value)
                    continue
                callback = copy.deepcopy(callbacks[i][1])
                callback.set_params(**{param: value})
                callbacks[i] = (name, callback)
            params = {k: v for k, v in params.items() if k not in nested}
            params["callbacks"] = callbacks
        return super().set_params(**params)

    # ------------------------------------------------------------------ hooks
    def _to_tensors(self, X, fit: bool) -> TensorInput:
        return torch.tensor(np.asarray(X, dtype=np.float32))

    def _build_module(self, X_t: TensorInput, out_sizes: list[int]) -> nn.Module:
        if isinstance(X_t, Mapping):
            raise TypeError(
                f"{type(self).__name__} got a dict of tensors; override _build_module to "
                "build a network that takes it."
            )
        return self._build_sharing(X_t.shape[1], out_sizes)

    def _build_sharing(self, in_features: int, out_sizes: list[int]) -> nn.Module:
        spec = self.architecture
        if isinstance(spec, nn.Module):
            return copy.deepcopy(spec)
        return build_architecture(
            spec,
            in_features,
            out_sizes,
            hidden_layer_sizes=_as_sizes(self.hidden_layer_sizes, "hidden_layer_sizes"),
            tower_sizes=_as_sizes(self.tower_sizes, "tower_sizes"),
            activation=self.activation,
            dropout=float(self.dropout),
            n_experts=int(self.n_experts),
            expert_sizes=(None if self.expert_sizes is None
                          else _as_sizes(self.expert_sizes, "expert_sizes")),
            n_task_experts=int(self.n_task_experts),
            n_levels=int(self.n_levels),
        )

    def _shared_parameters(self, module: nn.Module) -> list[nn.Parameter]:
        if hasattr(module, "shared_parameters"):
            return list(module.shared_parameters())
        return list(module.parameters())

    def _shared_modules(self, module: nn.Module) -> dict[str, nn.Module]:
        if hasattr(module, "shared_modules"):
            return dict(module.shared_modules())
        raise TypeError(
            f"init_from needs a network that names its shared part (shared_modules()); "
            f"{type(module).__name__} does not."
        )

    _regression_loss = staticmethod(squared_error)
    _classification_loss = staticmethod(cross_entropy)

    # ------------------------------------------------------------------ fit story
    def _fit(self, data: TaskData, epochs: int | None = None, partial: bool = False):
        self._check_classification_targets(data.layout)
        reuse = hasattr(self, "net_") and (partial or self.warm_start)
        if reuse:
            self._check_same_tasks(data.layout)
        accelerator = self._make_accelerator()
        device = self._resolve_device(accelerator)
        history_length = len(self.net_.history) if reuse else 0
        base_seed = _seed_from(self.random_state)
        if accelerator is not None:  # data-parallel processes: one seed, the same data
            from ._accelerate import agree, check_same_data

            base_seed = agree(accelerator, base_seed)
            check_same_data(accelerator, len(data.mask), data.layout.n_tasks,
                            type(self).__name__)
        seed = base_seed + history_length
        with _local_torch_rng(seed, device), _torch_threads(getattr(self, "n_threads", None)):
            X_t = self._to_tensors(data.X, fit=True)
            if not reuse:
                self._fit_target_scaling(data)
            train, valid = self._split(
                _TaskTensors(X_t, self._encode_targets(data)), data, seed,
                validate=self.early_stopping and not partial,
            )
            if not reuse:
                self.net_ = self._make_net(X_t, data.layout, device,
                                           early_stopping=valid is not None,
                                           accelerator=accelerator)
            elif hasattr(self.net_, "accelerator") != (accelerator is not None):
                self.net_ = self._rewrap_net(X_t, data.layout, device, accelerator)
            elif accelerator is not None:
                self.net_.accelerator, self.net_.device = accelerator, None
            self._train(train, valid, device, seed, epochs or self.max_epochs, base_seed)
        self.device_ = device
        self.history_ = self.net_.history
        self.n_iter_ = len(self.history_)
        self._net_layout_ = data.layout
        return self

    def _make_net(self, X_t, layout: TaskLayout, device, early_stopping: bool,
                  accelerator=None):
        out_sizes = self._out_sizes(layout)
        module = self._build_module(X_t, out_sizes)
        self._transfer_shared(module)
        weighting = get_weighting(
            copy.deepcopy(self.loss_weighting) if isinstance(self.loss_weighting, nn.Module)
            else self.loss_weighting,
            layout.n_tasks,
            task_weights=self._task_weight_list(layout),
            task_types=layout.task_types,
            **(self.loss_weighting_params or {}),
        )
        criterion = MaskedTaskLoss(layout.task_types, out_sizes, weighting,
                                   self._regression_loss, self._classification_loss)
        optimizer = self.optimizer
        fused = isinstance(optimizer, str)
        if fused:
            optimizer = OPTIMIZERS[optimizer]
        if accelerator is not None:
            from ._accelerate import AcceleratedMultiTaskNet, check_weighting

            check_weighting(accelerator, weighting, type(self).__name__)
            net_class, placement = AcceleratedMultiTaskNet, {"accelerator": accelerator}
        else:
            net_class, placement = _MultiTaskNeuralNet, {"device": str(device)}
        net = net_class(
            module=module,
            criterion=criterion,
            optimizer=optimizer,
            lr=float(self.lr),
            optimizer__weight_decay=float(self.weight_decay),
            max_epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            train_split=None,
            callbacks=self._net_callbacks(early_stopping),
            verbose=int(self.verbose),
            **placement,
            # the fitted net pickles torch modules of this package, not only weights
            torch_load_kwargs={"weights_only": False},
        )
        net._fused = fused
        net._routed = layout.long and _accepts_task(module)
        criterion.routed = net._routed
        net._auxiliary = callable(getattr(module, "auxiliary_loss", None))
        net.initialize()
        net._task_names = list(layout.names)
        weights = self._task_weight_list(layout)
        net._summary_weights = torch.tensor(
            np.ones(layout.n_tasks) if weights is None else np.asarray(weights, float),
            dtype=torch.float32,
        )
        net._shared_parameters = self._shared_parameters(net.module_)
        return net

    def _net_callbacks(self, early_stopping: bool) -> list:
        callbacks = list(self.callbacks or [])
        for item in callbacks:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ValueError(
                    f"callbacks must be (name, skorch Callback) pairs; got {item!r}."
                )
        callbacks = [(name, copy.deepcopy(cb)) for name, cb in callbacks]
        if early_stopping:
            callbacks.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=int(self.n_iter_no_change),
                threshold=float(self.tol), threshold_mode="rel", load_best=True,
                sink=print if self.verbose >= 2 else _silent,
            )))
        if self.verbose:
            callbacks.append(("progress_bar", _EpochProgressBar(int(self.max_epochs))))
        return callbacks

    def _train(self, train: _TaskTensors, valid, device, seed: int, epochs: int,
               base_seed: int | None = None) -> None:
        net = self.net_
        net._epoch_seed = base_seed
        observed = train.observed_per_task(len(net._task_names))
        net._observed = [seen > 0 for seen in observed.tolist()]
        net._shrunk_heads = self._set_head_shrinkage(net.module_, observed)
        net._valid_data = None if valid is None else valid.to(device)
        net._generator = torch.Generator().manual_seed(seed)
        net._generator_epoch = len(net.history)  # the seed already counts these epochs
        net._keep_last_good = getattr(self, "on_divergence", "raise") == "keep_last_good"
        net._last_good = None
        if net._keep_last_good:
            net._snapshot()
        try:
            with _without_validation_callbacks(net, active=valid is None):
                net.partial_fit(train.to(device), epochs=epochs)
            if not all(bool(torch.isfinite(p).all()) for p in net.module_.parameters()):
                raise _Diverged(
                    f"Training diverged at epoch {len(net.history)}: network weights became "
                    "non-finite. Try a smaller lr."
                )
        except _Diverged as exc:
            if net._last_good is None:
                raise
            epoch, module_state, criterion_state = net._last_good
            net.module_.load_state_dict(module_state)
            net.criterion_.load_state_dict(criterion_state)
            del net.history[epoch:]
            warnings.warn(f"{exc} Training stopped; the model keeps the weights of epoch "
                          f"{epoch} (on_divergence='keep_last_good').", UserWarning,
                          stacklevel=4)
        except torch.cuda.OutOfMemoryError as exc:
            raise torch.cuda.OutOfMemoryError(
                f"{exc}\n{type(self).__name__} ran out of GPU memory while training with "
                f"batch_size={self.batch_size}: try a smaller batch_size (e.g. "
                f"{max(1, int(self.batch_size) // 2)}), a smaller network, or device='cpu'."
            ) from exc
        finally:
            # the fitted estimator keeps no reference to the training data
            net._valid_data = None
            net._generator = None
            net._last_good = None

    # ------------------------------------------------------------------ helpers
    def _set_head_shrinkage(self, module: nn.Module, observed: torch.Tensor) -> list:
        """Give every ``TaskHeads`` of ``module`` the strengths ``head_shrinkage / n_t``
        (``n_t``: task ``t``'s training labels; a task without any is not penalised)."""
        strength = float(getattr(self, "head_shrinkage", 0.0))
        heads = [m for m in module.modules() if isinstance(m, TaskHeads)]
        if strength > 0 and not (heads and callable(getattr(module, "auxiliary_loss", None))):
            raise ValueError(
                f"head_shrinkage={strength} needs a network whose output layers are "
                "sklearn_mtml.nn.heads.TaskHeads and whose auxiliary_loss() adds their "
                f"penalty (every built-in architecture); {type(module).__name__} has "
                f"{'no auxiliary_loss' if heads else 'no TaskHeads'}."
            )
        per_task = None
        if strength > 0:
            observed = observed.double()
            per_task = torch.where(observed > 0, strength / observed.clamp(min=1.0), 0.0)
        for head in heads:
            head.set_shrinkage(per_task)
        return heads if strength > 0 else []

    def _make_accelerator(self):
        """The ``accelerate.Accelerator`` of this fit, or ``None``."""
        spec = getattr(self, "accelerator", None)
        if spec is None:
            return None
        from ._accelerate import make_accelerator

        return make_accelerator(spec, type(self).__name__)

    def _rewrap_net(self, X_t, layout: TaskLayout, device, accelerator):
        """The previous net's training state (weights, balancing state, optimizer state,
        history) in a net with or without an accelerator: ``warm_start``/``partial_fit``
        may switch ``accelerator=`` on or off (e.g. after ``load_safe``)."""
        old = self.net_
        early = any(name == "early_stopping" for name, _ in old.callbacks_)
        net = self._make_net(X_t, layout, device, early_stopping=early,
                             accelerator=accelerator)
        net.module_.load_state_dict(old.module_.state_dict())
        net.criterion_.load_state_dict(old.criterion_.state_dict())
        optimizer = getattr(net.optimizer_, "optimizer", net.optimizer_)
        optimizer.load_state_dict(getattr(old.optimizer_, "optimizer", old.optimizer_)
                                  .state_dict())
        net.history = old.history
        return net

    def _resolve_device(self, accelerator=None) -> torch.device:
        if accelerator is not None:
            device = accelerator.device
            if not (isinstance(self.device, str) and self.device == "auto"):
                wanted = torch.device(self.device)
                if wanted.type != device.type or (wanted.index is not None
                                                  and wanted != device):
                    raise ValueError(
                        f"{type(self).__name__}: device={self.device!r} but the accelerator "
                        f"places this process on {device}; leave device='auto' when "
                        "accelerator= is given (accelerate chooses the device)."
                    )
            return device
        if isinstance(self.device, str) and self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={self.device!r} is not a torch device: {exc}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} but CUDA is not available; use 'auto'.")
        return device

    @staticmethod
    def _out_sizes(layout: TaskLayout) -> list[int]:
        return [1 if c is None else max(len(c), 1) for c in layout.classes]

    def _task_weight_list(self, layout: TaskLayout):
        if self.task_weights is None:
            return None
        weights = as_task_list(self.task_weights, layout, "task_weights")
        weights = np.asarray(weights, dtype=np.float64)
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise ValueError(f"task_weights must be finite and >= 0, got {weights.tolist()}.")
        return weights

    def _check_classification_targets(self, layout: TaskLayout) -> None:
        for name, kind, classes in zip(layout.names, layout.task_types, layout.classes):
            if kind == CLASSIFICATION and classes.dtype.kind == "f":
                raise ValueError(
                    f"Unknown label type: task {name!r} has continuous targets; "
                    f"{type(self).__name__} needs class labels (use a regressor)."
                )

    def _fit_target_scaling(self, data: TaskData) -> None:
        """Standardise regression targets per task, or all together with
        ``target_scaling="pooled"`` (undone at predict time)."""
        n_tasks = data.layout.n_tasks
        mean, scale = np.zeros(n_tasks), np.ones(n_tasks)
        regression = np.array([k == REGRESSION for k in data.layout.task_types])
        if regression.any():
            _, index, values = data.observed_labels()
            if getattr(self, "target_scaling", "task") == "pooled":
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
        self._target_mean_, self._target_scale_ = mean, scale

    def _encode_targets(self, data: TaskData) -> tuple[torch.Tensor, ...]:
        """Targets as tensors: ``(Y, mask)`` (wide) or ``(y, task, mask)`` (long)."""
        if data.task_index is not None:
            observed = ~np.isnan(data.y_long)
            index = data.task_index
            y = np.where(observed, (data.y_long - self._target_mean_[index])
                         / self._target_scale_[index], 0.0)
            return (torch.tensor(y, dtype=torch.float32),
                    torch.tensor(index, dtype=torch.long),
                    torch.tensor(observed, dtype=torch.float32))
        Y = np.where(data.mask, (data.Y - self._target_mean_) / self._target_scale_, 0.0)
        return (torch.tensor(Y, dtype=torch.float32),
                torch.tensor(data.mask, dtype=torch.float32))

    def _split(self, full: _TaskTensors, data: TaskData, seed: int, validate: bool):
        n = len(full)
        if not validate or n < 2:
            if validate:
                warnings.warn("Too few samples for early stopping's validation split; "
                              "training without it.", UserWarning, stacklevel=3)
            return full, None
        index = np.arange(n)
        try:
            stratify = data.task_index if data.task_index is not None else None
            train_idx, valid_idx = train_test_split(
                index, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError:
            train_idx, valid_idx = train_test_split(
                index, test_size=self.validation_fraction, random_state=seed
            )
        if len(valid_idx) == 0 or len(train_idx) == 0:
            return full, None
        return (full.subset(torch.as_tensor(train_idx)),
                full.subset(torch.as_tensor(valid_idx)))

    def _check_same_tasks(self, layout: TaskLayout) -> None:
        old = self._net_layout_
        same = (
            list(old.names) == list(layout.names)
            and old.task_types == layout.task_types
            and all((a is None and b is None) or (a is not None and b is not None
                    and len(a) == len(b) and np.all(a == b))
                    for a, b in zip(old.classes, layout.classes))
        )
        if not same:
            raise ValueError(
                f"{type(self).__name__} cannot continue training (warm_start / partial_fit) "
                "on other tasks or labels than the first fit's; fit a new model instead."
            )

    def _transfer_shared(self, module: nn.Module) -> None:
        source = self.init_from
        if source is None:
            return
        if isinstance(source, BaseMultiTaskNet):
            if not hasattr(source, "net_"):
                raise ValueError(
                    "init_from is an unfitted estimator; pass a fitted one, or its network "
                    "`fitted.net_.module_`."
                )
            source = source.net_.module_
        if not isinstance(source, nn.Module):
            raise TypeError(f"init_from must be a fitted estimator or a torch module, got "
                            f"{type(source).__name__}.")
        if type(source) is not type(module):
            raise ValueError(
                f"init_from has a {type(source).__name__} network but this estimator builds "
                f"a {type(module).__name__}; use the same architecture."
            )
        targets = self._shared_modules(module)
        for name, src in self._shared_modules(source).items():
            try:
                targets[name].load_state_dict(src.state_dict())
            except (KeyError, RuntimeError) as exc:
                raise ValueError(
                    f"init_from's shared part {name!r} does not fit this network (same "
                    f"input width and sizes needed): {exc}"
                ) from None
            if self.freeze_shared:
                for p in targets[name].parameters():
                    p.requires_grad_(False)

    def __sklearn_clone__(self):
        """``sklearn.base.clone``, except that a fitted ``init_from`` estimator is passed on
        as it is (a clone would be unfitted): the transfer source survives
        ``GridSearchCV`` / ``cross_validate``. It is only read, never modified."""
        from sklearn.base import _clone_parametrized

        new = _clone_parametrized(self)
        source = self.init_from
        if isinstance(source, BaseMultiTaskNet) and hasattr(source, "net_"):
            new.init_from = source
        return new

    # ------------------------------------------------------------------ partial_fit
    def partial_fit(self, X, y, classes=None):
        """Train for one epoch on ``X, y``, continuing from the current weights.

        The first call sets up the tasks (and, for classification, the labels: pass
        ``classes`` when a batch may not show every label).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_columns)
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
        classes : array-like, or list of array-like (one per task), default=None
            All labels of each classification task; needed on the first call only.

        Returns
        -------
        self : object
        """
        self._validate_params()
        fitted = hasattr(self, "net_")
        if fitted:
            validate_data(self, X, reset=False, skip_check_array=True)
        previous = getattr(self, "_net_layout_", None)
        # The first call sets the model up (a failure leaves it unfitted); a later chunk that
        # fails leaves the model as it was, and may lack some task's labels.
        with fit_guard(self) if not fitted else _keep_task_attributes(self):
            data = validate_fit_data(
                self, X, y, task_types=self._get_task_types(),
                task_column=getattr(self, "task_column", None),
                allow_nan_X=self._allow_nan_X, convert_X=self._convert_X,
                require_labels=not fitted,
            )
            data = self._align_targets(data, previous if fitted else None, classes)
            self._set_label_attributes(data)
            self._fit(data, epochs=1, partial=True)
        return self

    def _align_targets(self, data: TaskData, previous: TaskLayout | None, classes):
        """Express a partial_fit batch in the task / label coding of the first call."""
        layout = data.layout
        if previous is None and classes is None:
            return data
        target = previous if previous is not None else _with_classes(layout, classes)
        position = {name: j for j, name in enumerate(target.names)}
        unknown = [name for name in layout.names if name not in position]
        if unknown or (not layout.long and list(layout.names) != list(target.names)):
            raise ValueError(
                f"partial_fit got tasks {unknown or list(layout.names)} that differ from the "
                f"first call's {list(target.names)}."
            )

        def recode(t: int, j: int, values: np.ndarray) -> np.ndarray:
            labels, known = layout.classes[t], target.classes[j]
            if labels is None:
                return values
            inside = np.isin(labels, known)
            if not inside.all():
                raise ValueError(
                    f"Task {layout.names[t]!r} has labels {list(labels[~inside])} not among "
                    f"its classes {list(known)} (pass every label with `classes`)."
                )
            codes = np.searchsorted(known, labels)
            out = values.copy()
            observed = ~np.isnan(values)
            out[observed] = codes[values[observed].astype(np.intp)]
            return out

        if layout.long:
            task_map = np.array([position[name] for name in layout.names], dtype=np.intp)
            y_long = data.y_long.copy()
            for t in range(layout.n_tasks):
                rows = data.task_index == t
                y_long[rows] = recode(t, task_map[t], data.y_long[rows])
            aligned = TaskData(X=data.X, layout=target, task_index=task_map[data.task_index],
                               y_long=y_long)
        else:
            Y = np.column_stack([recode(t, t, data.Y[:, t]) for t in range(layout.n_tasks)])
            aligned = TaskData(X=data.X, layout=target, _Y=Y)
        self._task_layout = target
        self.task_names_ = target.names
        self.n_tasks_ = target.n_tasks
        return aligned

    # ------------------------------------------------------------------ predict
    def _forward_numpy(self, X, task_index=None) -> np.ndarray:
        """Network outputs ``(n_samples, sum(out_sizes))`` computed in batches.

        With ``task_index`` (long format, routing network): each row's own task outputs,
        ``(n_samples, max(out_sizes))``.
        """
        check_is_fitted(self, "net_")
        X_t = self._to_tensors(X, fit=False)
        task = None if task_index is None else torch.as_tensor(task_index, dtype=torch.long)
        module = self.net_.module_
        module.eval()
        n = _n_rows(X_t)
        out = None
        step = self._predict_batch_size
        with torch.inference_mode(), _torch_threads(getattr(self, "n_threads", None)):
            for start in range(0, n, step):
                rows = slice(start, start + step)
                route = {} if task is None else {"task": task[rows].to(self.device_)}
                batch = module(_to_device(_take(X_t, rows), self.device_), **route)
                if isinstance(batch, list | tuple):
                    batch = torch.cat([b.reshape(len(b), -1) for b in batch], dim=1)
                batch = batch.float().cpu().numpy()
                if out is None:
                    out = np.empty((n, batch.shape[1]), dtype=np.float32)
                out[rows] = batch
        return out

    def _task_outputs(self, X) -> list[np.ndarray]:
        """Per task: values ``(n,)`` (regression, original scale) or probabilities ``(n, C)``."""
        out = self._forward_numpy(X)
        layout = self._task_layout
        offsets = np.concatenate([[0], np.cumsum(self._out_sizes(layout))])
        result = []
        for t, kind in enumerate(layout.task_types):
            block = out[:, offsets[t]:offsets[t + 1]].astype(np.float64)
            if kind == REGRESSION:
                result.append(block[:, 0] * self._target_scale_[t] + self._target_mean_[t])
            else:
                block -= block.max(axis=1, keepdims=True)
                np.exp(block, out=block)
                block /= block.sum(axis=1, keepdims=True)
                result.append(block)
        return result

    def _predict_tasks(self, X):
        columns = [p if p.ndim == 1 else p.argmax(axis=1)
                   for p in self._task_outputs(X)]
        return np.column_stack(columns)

    def _predict_rows(self, X, task_index):
        """Long format: each row's encoded prediction for its own task only."""
        if not self.net_._routed:
            P = self._predict_tasks(X)
            return P[np.arange(len(task_index)), task_index]
        out = self._forward_numpy(X, task_index).astype(np.float64)
        layout = self._task_layout
        if all(kind == REGRESSION for kind in layout.task_types):
            return out[:, 0] * self._target_scale_[task_index] + self._target_mean_[task_index]
        sizes = np.asarray(self._out_sizes(layout))[task_index]
        out[np.arange(out.shape[1])[None, :] >= sizes[:, None]] = -np.inf
        return out.argmax(axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

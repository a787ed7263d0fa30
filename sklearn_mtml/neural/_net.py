"""The skorch net of the neural estimators: a multi-task training step over preloaded tensors.

The net is configured only through its constructor: skorch's own arguments plus one frozen
:class:`NetConfig`. What it derives from its network (shared parameters, row routing, an
auxiliary loss) it computes itself in :meth:`~_MultiTaskNeuralNet.initialize_module`; what
one training call needs (validation data, the shuffling seed, ...) is passed to
:meth:`~_MultiTaskNeuralNet.train_tensors`, which forgets it afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import warnings

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PrintLog
from torch import nn

from ..nn.heads import TaskHeads
from ._callbacks import (
    BalancingWeights,
    BestEpoch,
    EpochReseed,
    KeepLastGood,
    without_validation_callbacks,
)
from ._data import TaskTensors, TensorBatches

__all__ = ["Diverged", "NetConfig", "_MultiTaskNeuralNet"]

_HISTORY_LISTS = ["train_task_losses", "valid_task_losses", "task_weights"]


class Diverged(ValueError):
    """A non-finite training loss (``on_divergence`` decides what happens next)."""


@dataclasses.dataclass(frozen=True)
class NetConfig:
    """What the multi-task net knows of the tasks, fixed when it is built.

    Parameters
    ----------
    task_names : tuple of str
        Names of the tasks, in output order (for messages).
    summary_weights : tuple of float
        Per-task weights of the task-mean loss that early stopping watches.
    long : bool
        Long format: targets are ``(y, task, mask)``; a network whose ``forward`` takes
        ``task=`` is then called with each row's task (row routing).
    fused : bool
        Try torch's fused optimizer kernels (the optimizer was given by name).
    structure : tuple of (str, str)
        The estimator parameters the network was built from, ``(name, repr(value))``: a
        continued fit (warm start, ``partial_fit``) checks that they have not changed.
    """

    task_names: tuple = ()
    summary_weights: tuple = ()
    long: bool = False
    fused: bool = False
    structure: tuple = ()


def accepts_task(module: nn.Module) -> bool:
    """Whether ``module.forward`` takes ``task=`` (row routing, see nn.sharing)."""
    try:
        return "task" in inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False


class _MultiTaskNeuralNet(NeuralNet):
    """skorch ``NeuralNet`` with a multi-task training step over preloaded tensors.

    Overrides only skorch's small hooks: ``get_split_datasets`` (the estimator splits),
    ``get_iterator`` (slices of preloaded tensors), ``infer`` (the module takes the batch
    input whole: a tensor or a dict), ``train_step``/``train_step_single`` (per-task losses,
    balancing ``backward``), ``validation_step``, ``run_single_epoch`` (epoch-level
    per-task losses, one device sync per epoch, divergence check), ``initialize_module``
    (what the net derives from its network) and ``initialize_optimizer`` (parameter
    groups). Epoch-level behaviour lives in callbacks (:mod:`._callbacks`).
    """

    def __init__(self, module, criterion, *args, config: NetConfig | None = None, **kwargs):
        super().__init__(module, criterion, *args, **kwargs)
        self.config = NetConfig() if config is None else config

    # ------------------------------------------------------------------ set-up
    def get_default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("epoch_reseed", EpochReseed()),
            ("balancing_weights", BalancingWeights()),
            ("best_epoch", BestEpoch()),
            ("keep_last_good", KeepLastGood()),
        ]
        if self.verbose >= 2:
            callbacks.append(("print_log", PrintLog(keys_ignored=_HISTORY_LISTS)))
        return callbacks

    def initialize_module(self):
        super().initialize_module()
        module = self.module_
        self.shared_parameters_ = (list(module.shared_parameters())
                                   if hasattr(module, "shared_parameters")
                                   else list(module.parameters()))
        self.routed_ = bool(self.config.long and accepts_task(module))
        self.auxiliary_ = callable(getattr(module, "auxiliary_loss", None))
        self.summary_weights_ = torch.tensor(self.config.summary_weights, dtype=torch.float32)
        return self

    # read by tests and inspection under their historical private names
    _routed = property(lambda self: self.routed_)
    _auxiliary = property(lambda self: self.auxiliary_)

    def initialize_optimizer(self, *args, **kwargs):
        groups = [{"params": [p for p in self.module_.parameters() if p.requires_grad]}]
        # Balancing parameters (uncertainty log-variances, ...) are not weight-decayed.
        extra = [p for p in self.criterion_.parameters() if p.requires_grad]
        if extra:
            groups.append({"params": extra, "weight_decay": 0.0})
        options = self.get_params_for("optimizer")
        options.setdefault("lr", self.lr)
        self.optimizer_ = None
        if self.config.fused and "fused" not in options:
            # torch's fused Adam/AdamW/SGD kernels (CPU and CUDA) do the same update in one
            # kernel per step instead of several per parameter.
            with contextlib.suppress(RuntimeError, TypeError, ValueError):
                self.optimizer_ = self.optimizer(groups, fused=True, **options)
        if self.optimizer_ is None:
            self.optimizer_ = self.optimizer(groups, **options)
        return self

    def initialize_callbacks(self, *args, **kwargs):
        super().initialize_callbacks(*args, **kwargs)
        # gradients are handed to callbacks only when one of them wants them
        self.grad_callbacks_ = any(type(cb).on_grad_computed is not Callback.on_grad_computed
                                   for _, cb in self.callbacks_)
        return self

    # ------------------------------------------------------------------ one training call
    def train_tensors(self, train: TaskTensors, valid: TaskTensors | None, *, seed: int,
                      epoch_seed: int | None, epochs: int, head_shrinkage: float = 0.0,
                      keep_last_good: bool = False) -> None:
        """Train for ``epochs`` epochs on preloaded tensors (already on the device).

        ``seed`` seeds the shuffles (a resumed run replays the earlier epochs' draws),
        ``epoch_seed`` torch's RNG at each epoch (:class:`EpochReseed`),
        ``head_shrinkage`` the pull of the task heads towards their mean, and
        ``keep_last_good`` what a divergence does (:class:`KeepLastGood`). Nothing of the
        call stays on the net afterwards but the trained weights and the history.
        """
        n_tasks = len(self.config.task_names)
        observed = train.observed_per_task(n_tasks)
        self.observed_ = [seen > 0 for seen in observed.tolist()]
        self.shrunk_heads_ = self._set_head_shrinkage(head_shrinkage, observed)
        self.valid_data_ = valid
        self.generator_ = torch.Generator().manual_seed(seed)
        self.generator_epoch_ = len(self.history)  # the seed already counts these epochs
        self.epoch_seed_ = epoch_seed
        self.keep_last_good_ = keep_last_good
        keeper = dict(self.callbacks_).get("keep_last_good")
        try:
            with without_validation_callbacks(self, active=valid is None):
                self.partial_fit(train, epochs=epochs)
            if not all(bool(torch.isfinite(p).all()) for p in self.module_.parameters()):
                raise Diverged(
                    f"Training diverged at epoch {len(self.history)}: network weights became "
                    "non-finite. Try a smaller lr."
                )
        except Diverged as exc:
            epoch = None if keeper is None else keeper.restore(self)
            if epoch is None:
                raise
            del self.history[epoch:]
            warnings.warn(f"{exc} Training stopped; the model keeps the weights of epoch "
                          f"{epoch} (on_divergence='keep_last_good').", UserWarning,
                          stacklevel=5)
        finally:
            # the fitted net keeps no reference to the training data
            self.valid_data_ = self.generator_ = None
            if keeper is not None:
                keeper.clear()

    def _set_head_shrinkage(self, strength: float, observed: torch.Tensor) -> list:
        """Give every ``TaskHeads`` of the network the strengths ``strength / n_t``
        (``n_t``: task ``t``'s training labels; a task without any is not penalised)."""
        heads = [m for m in self.module_.modules() if isinstance(m, TaskHeads)]
        per_task = None
        if strength > 0:
            observed = observed.double()
            per_task = torch.where(observed > 0, strength / observed.clamp(min=1.0), 0.0)
        for head in heads:
            head.set_shrinkage(per_task)
        return heads if strength > 0 else []

    # ------------------------------------------------------------------ skorch hooks
    def get_split_datasets(self, X, y=None, **fit_params):
        return X, getattr(self, "valid_data_", None)

    def get_iterator(self, dataset, training=False):
        if isinstance(dataset, TaskTensors):
            return TensorBatches(dataset, self.batch_size, training,
                                 getattr(self, "generator_", None))
        return super().get_iterator(dataset, training)

    def infer(self, x, **fit_params):
        return self.module_(x, **fit_params)

    def _routing(self, targets) -> dict:
        """``task=`` for networks that route long-format rows to their own task."""
        return {"task": targets[1]} if self.routed_ and len(targets) == 3 else {}

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
        # head shrinkage penalises the tasks with a label in this batch (as their loss)
        for heads in self.shrunk_heads_:
            heads.mark_labelled(counts > 0)
        auxiliary = self.module_.auxiliary_loss() if self.auxiliary_ else None
        return y_pred, losses, counts, auxiliary

    def _backward(self, losses, counts, auxiliary) -> torch.Tensor:
        """Gradients of the step (the balancing method's backward); the objective, detached."""
        if auxiliary is not None:  # the network's own regulariser (e.g. shared_private)
            auxiliary.backward(retain_graph=True)
        return self.criterion_.weighting.backward(losses, self.shared_parameters_, counts > 0)

    def train_step(self, batch, **fit_params):
        if isinstance(self.optimizer_, torch.optim.LBFGS):  # needs a re-evaluating closure
            return super().train_step(batch, **fit_params)
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        if self.grad_callbacks_:
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
        w = self.summary_weights_.to(task_means.device) * (counts > 0)
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
            sums = seen = torch.zeros(len(self.config.task_names), device=self._data_device)
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
        generator = getattr(self, "generator_", None)
        if not isinstance(iterator, TensorBatches) or generator is None:
            return
        n = len(iterator.data)
        epoch = len(self.history) - 1
        while self.generator_epoch_ < epoch:
            if n > 1:
                torch.randperm(n, generator=generator)
            self.generator_epoch_ += 1
        self.generator_epoch_ = epoch + 1

    def _check_finite(self, means, objective, batch_losses=(), batch_counts=()):
        names = self.config.task_names
        bad = [(names[t], v) for t, v in enumerate(means)
               if np.isinf(v) or (np.isnan(v) and self.observed_[t])]
        if bad or not np.isfinite(objective):
            what = (f"the loss of task {bad[0][0]!r} became {bad[0][1]}" if bad
                    else f"the balanced training objective became {objective}")
            # only on failure: find the first batch that went wrong, and which task did
            for b, (loss, count) in enumerate(zip(batch_losses, batch_counts)):
                wrong = (~torch.isfinite(loss) & (count > 0)).cpu().numpy()
                if wrong.any():
                    t = int(np.flatnonzero(wrong)[0])
                    what = (f"the loss of task {names[t]!r} became "
                            f"{float(loss[t])} in batch {b + 1}")
                    break
            raise Diverged(
                f"Training diverged at epoch {len(self.history)}: {what}. Try a smaller lr, "
                "stronger weight_decay, or standardised features."
            )

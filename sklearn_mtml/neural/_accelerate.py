"""Training one network on several devices with Hugging Face Accelerate.

``accelerator=`` of the neural estimators trains through skorch's
:class:`skorch.hf.AccelerateMixin` (its initialisation, callbacks, printing only on the main
process, unwrapping after training), composed with this package's multi-task step:

* the forward pass and the losses run under ``accelerator.autocast()`` (mixed precision);
  the objective of a loss-weighting method goes through ``accelerator.backward`` (gradient
  accumulation, the fp16 loss scaler); a gradient method (PCGrad, MGDA, ...) keeps its own
  ``backward`` with the losses divided by the accumulation steps (fp16 loss scaling is
  refused for them: their update is not the gradient of one objective);
* data-parallel training (several processes, ``accelerate launch``): every process draws the
  same shuffle and trains on its share of each step's rows; after each backward the
  gradients of all parameters (network and balancing) are averaged over the processes in
  one all-reduce, so the processes' models stay identical. The network is not wrapped in
  ``DistributedDataParallel``: gradient methods (PCGrad, MGDA, ...) differentiate each task
  separately, which DDP's gradient hooks do not allow. Each process combines the task
  gradients of its own rows; the combined directions are averaged. For the loss-weighting
  methods this is exactly DDP's update.
* per-task epoch losses (``history_``, early stopping, DWA and other epoch-level
  balancing) are summed over the processes, so every process takes the same decisions.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from skorch.callbacks import LRScheduler
from skorch.hf import AccelerateMixin

from ..balancing import LossWeighting
from ..balancing._base import _write_flat_grad
from ._data import TaskTensors, TensorBatches
from ._net import _MultiTaskNeuralNet

# Engines that shard the model or the optimizer: their own backward/step cannot be composed
# with a multi-task balancing backward.
_UNSUPPORTED = {"DEEPSPEED", "FSDP", "MEGATRON_LM"}


def make_accelerator(spec, owner: str):
    """The ``accelerate.Accelerator`` described by an estimator's ``accelerator=``.

    Parameters
    ----------
    spec : dict or accelerate.Accelerator
        Keyword arguments of ``accelerate.Accelerator`` (a new accelerator per fit; this
        form clones and pickles with the estimator), or an accelerator to use as is.
    owner : str
        Name of the estimator class, for messages.

    Returns
    -------
    accelerator : accelerate.Accelerator
    """
    try:
        from accelerate import Accelerator
    except ImportError as exc:
        raise ImportError(
            f"{owner}(accelerator=...) needs the 'accelerate' package: "
            "pip install 'sklearn-mtml[accelerate]'."
        ) from exc
    if isinstance(spec, Accelerator):
        accelerator = spec
    elif isinstance(spec, Mapping):
        try:
            accelerator = Accelerator(**spec)
        except TypeError as exc:
            raise TypeError(f"{owner}: accelerator={dict(spec)!r} is not a valid set of "
                            f"accelerate.Accelerator options: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{owner}: accelerator={dict(spec)!r}: {exc}") from None
    else:
        raise TypeError(
            f"{owner}: accelerator must be None, a dict of accelerate.Accelerator options "
            f"or an accelerate.Accelerator; got {type(spec).__name__}."
        )
    kind = _kind(accelerator)
    if kind in _UNSUPPORTED:
        raise ValueError(
            f"{owner}: accelerate's {kind} engine shards the model and runs its own backward, "
            "which the multi-task balancing step cannot be composed with; use plain "
            "data-parallel training (accelerate launch --multi_gpu) instead."
        )
    return accelerator


def _kind(accelerator) -> str:
    """Name of the accelerator's engine (``"NO"``, ``"MULTI_GPU"``, ``"DEEPSPEED"``, ...)."""
    return str(getattr(accelerator.distributed_type, "name", accelerator.distributed_type))


def _has_objective(weighting: LossWeighting) -> bool:
    """Whether the weighting's gradient is that of its scalar ``objective``."""
    return (not weighting.uses_task_gradients
            and type(weighting).backward is LossWeighting.backward)


def check_weighting(accelerator, weighting: LossWeighting, owner: str) -> None:
    """Reject a balancing method the fp16 loss scaler would corrupt."""
    if accelerator.scaler is not None and not _has_objective(weighting):
        raise ValueError(
            f"{owner}: loss_weighting={type(weighting).__name__} computes its own gradients "
            "instead of differentiating one objective, so the fp16 loss scaler cannot be "
            "applied to it; use mixed_precision='bf16' (no loss scaling) or a "
            "loss-weighting method such as 'fixed', 'uncertainty' or 'dwa'."
        )


def _distributed(accelerator) -> bool:
    return accelerator.num_processes > 1 and torch.distributed.is_initialized()


def agree(accelerator, value: int) -> int:
    """The main process's ``value`` on every process (seeds: the same shuffles)."""
    if accelerator is None or not _distributed(accelerator):
        return value
    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def check_same_data(accelerator, n_rows: int, n_tasks: int, owner: str) -> None:
    """Every process must fit on the same data (each trains on its share of it)."""
    if accelerator is None or not _distributed(accelerator):
        return
    # on the accelerator's device: NCCL (GPUs) reduces device tensors only
    mine = torch.tensor([n_rows, n_tasks], dtype=torch.float64, device=accelerator.device)
    low, high = mine.clone(), mine.clone()
    torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
    torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
    if not torch.equal(low, high):
        raise ValueError(
            f"{owner}: the {accelerator.num_processes} processes were given different data "
            f"(rows between {int(low[0])} and {int(high[0])}, tasks between {int(low[1])} "
            f"and {int(high[1])}); every process must call fit with the same X and y."
        )


class AcceleratedMultiTaskNet(AccelerateMixin, _MultiTaskNeuralNet):
    """The multi-task skorch net trained through skorch's ``AccelerateMixin``."""

    #: {"optimizer": the accelerate wrapper of optimizer_} while training ({} after)
    _accelerated: dict = {}
    #: micro-step within the epoch and steps per epoch (gradient accumulation)
    _micro_step: int = 0
    _steps_per_epoch: int = 1

    def _initialize_accelerator(self):
        if self._wrapped_with_accelerator:
            return self
        accelerator = self.accelerator
        # The network and the balancing module are placed, not wrapped (see module doc).
        self.module_.to(accelerator.device)
        self.criterion_.to(accelerator.device)
        if _distributed(accelerator):  # every process starts from the main process's weights
            for part in (self.module_, self.criterion_):
                for tensor in [*part.parameters(), *part.buffers()]:
                    torch.distributed.broadcast(tensor.data, src=0)
        # optimizer_ stays the torch optimizer (what skorch and LR schedulers see); the
        # accelerate wrapper (state placed on the device, fp16 unscaling) steps beside it
        # (kept in a dict: skorch would register an optimizer attribute as a component)
        self._accelerated = {"optimizer": accelerator.prepare_optimizer(self.optimizer_)}
        for _, callback in self.callbacks_:
            if isinstance(callback, LRScheduler) and hasattr(callback, "policy_"):
                callback.policy_ = accelerator.prepare(callback.policy_)
        self._wrapped_with_accelerator = True
        return self

    def _unwrap_accelerator(self):
        if not self._wrapped_with_accelerator:
            return
        self._accelerated = {}
        self._wrapped_with_accelerator = False

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self._initialize_accelerator()  # again after a previous fit unwrapped it
        self.optimizer_.zero_grad()
        return super().on_train_begin(net, X=X, y=y, **kwargs)

    def get_iterator(self, dataset, training=False):
        if not isinstance(dataset, TaskTensors):
            return super().get_iterator(dataset, training)
        accelerator = self.accelerator
        world = accelerator.num_processes if _distributed(accelerator) else 1
        return TensorBatches(dataset, self.batch_size, training, getattr(self, "generator_", None),
                              rank=accelerator.process_index if world > 1 else 0,
                              world=world, pad=training)

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if training and iterator is not None:
            self._micro_step, self._steps_per_epoch = 0, len(iterator)
        return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)

    def train_step(self, batch, **fit_params):
        accelerator = self.accelerator
        every = max(int(accelerator.gradient_accumulation_steps), 1)
        self._micro_step += 1
        # Step the optimizer every `every` batches and at the end of the epoch.
        accelerator.sync_gradients = (self._micro_step % every == 0
                                      or self._micro_step >= self._steps_per_epoch)
        step = self.train_step_single(batch, **fit_params)
        if accelerator.sync_gradients:
            if _distributed(accelerator):
                self._average_gradients()
            if self.grad_callbacks_:
                self.notify("on_grad_computed", named_parameters=list(
                    self.get_all_learnable_params()), batch=batch, training=True)
            # accelerate's optimizer unscales (fp16) and skips a step that overflowed; with
            # nothing to unscale, the torch optimizer is stepped directly (the wrapper's
            # per-step package lookups cost about a fifth of a small network's step)
            optimizer = self.optimizer_
            if accelerator.scaler is not None or _kind(accelerator) == "XLA":
                optimizer = self._accelerated["optimizer"]
            optimizer.step()
            optimizer.zero_grad()
        return step

    def train_step_single(self, batch, **fit_params):
        # the multi-task step (not AccelerateMixin's single-loss one); its parts below
        return _MultiTaskNeuralNet.train_step_single(self, batch, **fit_params)

    def _forward_losses(self, batch, **fit_params):
        with self.accelerator.autocast():  # mixed precision: the forward pass only
            y_pred, losses, counts, auxiliary = super()._forward_losses(batch, **fit_params)
        return y_pred, losses.float(), counts, None if auxiliary is None else auxiliary.float()

    def _backward(self, losses, counts, auxiliary) -> torch.Tensor:
        accelerator = self.accelerator
        if auxiliary is not None:
            accelerator.backward(auxiliary, retain_graph=True)
        weighting = self.criterion_.weighting
        if _has_objective(weighting):
            # accelerator.backward divides by the accumulation steps and applies the fp16
            # loss scale to the whole objective (regularisers of the weighting included)
            total = weighting.objective(losses, counts > 0)
            accelerator.backward(total)
            return total.detach()
        # a gradient method: its update is linear in the (uniformly scaled) losses
        factor = 1.0 / max(int(accelerator.gradient_accumulation_steps), 1)
        return weighting.backward(losses * factor, self.shared_parameters_, counts > 0) / factor

    def validation_step(self, batch, **fit_params):
        with self.accelerator.autocast():
            step = super().validation_step(batch, **fit_params)
        step["task_losses"] = step["task_losses"].float()
        step["loss"] = step["loss"].float()
        return step

    def _average_gradients(self) -> None:
        """All-reduce (mean) every gradient in one flat buffer."""
        params = [p for group in self.optimizer_.param_groups for p in group["params"]
                  if p.requires_grad]
        if not params:
            return
        flat = torch.cat([torch.zeros_like(p).flatten() if p.grad is None
                          else p.grad.flatten() for p in params])
        torch.distributed.all_reduce(flat)
        flat /= self.accelerator.num_processes
        _write_flat_grad(params, flat, [None] * len(params))

    def _epoch_totals(self, sums, seen, objective_sum, steps):
        if not _distributed(self.accelerator):
            return sums, seen, objective_sum, steps
        packed = torch.cat([sums.float(), seen.float(),
                            torch.stack([objective_sum.float(),
                                         torch.tensor(float(steps), device=sums.device)])])
        torch.distributed.all_reduce(packed)
        n = len(sums)
        return packed[:n], packed[n:2 * n], packed[-2], int(packed[-1])

    def __getstate__(self):
        # The accelerator (process group, device state) does not travel with a pickled
        # model; the estimator attaches one again at its next fit.
        state = super().__getstate__()
        state["accelerator"] = None
        state["device"] = str(self._data_device)  # where unpickling puts the weights
        return state

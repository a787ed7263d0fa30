"""skorch callbacks of the multi-task net: progress bar, epoch reseeding, balancing weights,
keep-last-good snapshots."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from skorch.callbacks import Callback, EarlyStopping

__all__ = [
    "BalancingWeights",
    "BestEpoch",
    "EpochProgressBar",
    "EpochReseed",
    "KeepLastGood",
    "without_validation_callbacks",
]


class EpochProgressBar(Callback):
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


class EpochReseed(Callback):
    """Reseed torch's RNG at each epoch from the fit's seed and the epoch number.

    Dropout, modality dropout and random weighting draw from torch's RNG: epoch ``k`` then
    draws the same numbers in a run resumed from a checkpoint as in the uninterrupted run.
    The seed is the net's ``epoch_seed_`` (set for each training call; ``None``: no reseed).
    """

    def on_epoch_begin(self, net, **kwargs):
        seed = getattr(net, "epoch_seed_", None)
        if seed is not None:
            torch.manual_seed((seed * 1_000_003 + len(net.history)) % 2**63)


class BalancingWeights(Callback):
    """At each epoch's end, show the balancing method the epoch's per-task training losses
    (DWA and friends adapt to them) and record its task weights in ``history``."""

    def on_epoch_end(self, net, **kwargs):
        weighting = net.criterion_.weighting
        train_means = np.asarray(net.history[-1, "train_task_losses"], dtype=np.float64)
        weighting.epoch_end(train_means)
        net.history.record("task_weights", weighting.weights().detach().cpu().tolist())


class BestEpoch(Callback):
    """Mark the best epoch so far in ``history`` (``valid_loss_best``, as skorch's scoring
    callbacks do), when the epoch has a validation loss (early stopping)."""

    def on_epoch_end(self, net, **kwargs):
        if "valid_loss" not in net.history[-1]:
            return
        losses = [row["valid_loss"] for row in net.history[:-1] if "valid_loss" in row]
        current = net.history[-1, "valid_loss"]
        net.history.record("valid_loss_best", bool(not losses or current < min(losses)))


class KeepLastGood(Callback):
    """Remember the weights of the last epoch that ended with finite weights.

    Active only for a training call with ``on_divergence="keep_last_good"`` (the net's
    ``keep_last_good_``); :meth:`restore` puts them back after a divergence.
    """

    def on_train_begin(self, net, **kwargs):
        self.last_good_ = None
        if getattr(net, "keep_last_good_", False):
            self.snapshot(net)

    def on_epoch_end(self, net, **kwargs):
        if getattr(net, "keep_last_good_", False):
            self.snapshot(net)

    def snapshot(self, net) -> None:
        params = list(net.module_.parameters()) + list(net.criterion_.parameters())
        if all(bool(torch.isfinite(p).all()) for p in params):
            self.last_good_ = (
                len(net.history),
                {k: v.detach().clone() for k, v in net.module_.state_dict().items()},
                {k: v.detach().clone() for k, v in net.criterion_.state_dict().items()},
            )

    def restore(self, net) -> int | None:
        """Load the last good weights into ``net``; their epoch, or ``None`` if there are
        none."""
        if getattr(self, "last_good_", None) is None:
            return None
        epoch, module_state, criterion_state = self.last_good_
        net.module_.load_state_dict(module_state)
        net.criterion_.load_state_dict(criterion_state)
        return epoch

    def clear(self) -> None:
        self.last_good_ = None


@contextlib.contextmanager
def without_validation_callbacks(net, active: bool):
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

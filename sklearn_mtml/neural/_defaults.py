"""The ``"auto"`` values of the neural estimators' parameters, in one place.

Each is a rule on the data layout or the network, never on measured load, so that a given
``random_state`` gives the same fit. Where they come from: benchmarks/README.md
("Long-format candidates", "Torch threads").
"""

from __future__ import annotations

import torch
from torch import nn

from .._targets import TaskLayout
from ..nn.heads import TaskHeads

__all__ = ["AutoDefaultsMixin", "has_task_heads"]


def has_task_heads(module: nn.Module) -> bool:
    heads = any(isinstance(m, TaskHeads) for m in module.modules())
    return heads and callable(getattr(module, "auxiliary_loss", None))


class AutoDefaultsMixin:
    """``early_stopping``, ``target_scaling``, ``head_shrinkage`` and ``n_threads`` as
    they apply to one fit (``"auto"`` resolved)."""

    #: the long-format defaults (``"auto"``), chosen on the defaults suite's long-format
    #: problems (School, landmine) and checked on its hold-out (parkinsons): see
    #: benchmarks/README.md, "Long-format candidates"
    _long_format_head_shrinkage = {"independent": 100.0}
    _long_format_head_shrinkage_default = 1000.0

    def _early_stopping_for(self, layout: TaskLayout) -> bool:
        """``early_stopping``; ``"auto"``: on in long format (many small tasks overfit)."""
        if isinstance(self.early_stopping, str):
            return bool(layout.long)
        return bool(self.early_stopping)

    def _target_scaling_for(self, layout: TaskLayout) -> str:
        """``target_scaling``; ``"auto"``: pooled in long format (one target column: the
        tasks measure the same quantity), per task otherwise."""
        if self.target_scaling == "auto":
            return "pooled" if layout.long else "task"
        return self.target_scaling

    def _head_shrinkage_for(self, layout: TaskLayout, module: nn.Module | None = None) -> float:
        """``head_shrinkage``; ``"auto"``: 1000 in long format (100 for
        ``architecture="independent"``) on networks with ``TaskHeads``, 0 otherwise."""
        if not isinstance(self.head_shrinkage, str):
            return float(self.head_shrinkage)
        if not layout.long or (module is not None and not has_task_heads(module)):
            return 0.0
        name = self.architecture if isinstance(self.architecture, str) else None
        return self._long_format_head_shrinkage.get(
            name, self._long_format_head_shrinkage_default)

    #: batch rows x network parameters under which a step runs on one thread ("auto")
    _one_thread_work = 2e8

    def _fixed_threads(self) -> int | None:
        """``n_threads`` where it does not depend on the network (``"auto"``: unchanged)."""
        return None if self.n_threads == "auto" else self.n_threads

    def _threads_for(self, module: nn.Module, device, batch_rows: int) -> int | None:
        """The torch threads for steps of ``batch_rows`` rows through ``module``."""
        if self.n_threads != "auto":
            return self.n_threads
        if torch.device(device).type != "cpu":
            return None
        work = batch_rows * sum(p.numel() for p in module.parameters())
        return 1 if work < self._one_thread_work else None

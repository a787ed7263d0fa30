"""Optimizers by name (the values accepted by ``optimizer=``)."""

from __future__ import annotations

import torch

from ..utils._registry import Registry

__all__ = ["OPTIMIZERS"]

#: torch optimizer classes by name; a class (skorch calls it with the parameter groups) is
#: accepted too. Not an instance: an optimizer is bound to the parameters it was built on.
OPTIMIZERS = Registry("optimizer", torch.optim.Optimizer, {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}, instances=False)

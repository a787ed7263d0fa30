"""Where and how a fit runs: its device, its seeds, torch's RNG inside the fit only."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["local_torch_rng", "resolve_device", "seed_from"]


def seed_from(random_state) -> int:
    """An integer seed drawn from ``random_state`` (sklearn's convention)."""
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def local_torch_rng(seed: int, device: torch.device):
    """Seed torch inside the block only: the caller's global RNG state is left untouched."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def resolve_device(device, accelerator, owner: str) -> torch.device:
    """The torch device of ``device=`` (``"auto"``: CUDA when available), or the
    accelerator's, checked against each other."""
    if accelerator is not None:
        placed = accelerator.device
        if not (isinstance(device, str) and device == "auto"):
            wanted = torch.device(device)
            if wanted.type != placed.type or (wanted.index is not None
                                              and wanted != placed):
                raise ValueError(
                    f"{owner}: device={device!r} but the accelerator "
                    f"places this process on {placed}; leave device='auto' when "
                    "accelerator= is given (accelerate chooses the device)."
                )
        return placed
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available; use 'auto'.")
    return resolved

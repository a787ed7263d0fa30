"""Torch helpers below every torch-using module of the package (no estimator imports)."""

from __future__ import annotations

import contextlib

import torch

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n_threads: int | None):
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

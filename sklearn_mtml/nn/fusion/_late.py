"""Late fusion: per-modality linear heads averaged with learned weights."""

from __future__ import annotations

import torch
from torch import nn

from ._base import Fusion, _masked_softmax, _present_or_all

__all__ = ["LateFusion"]



class LateFusion(Fusion):
    """Late fusion: one linear head per modality, combined by learned softmax weights.

    ``out = sum_m w_m (A_m h_m + b_m)`` with ``w = softmax(a)`` over the *present*
    modalities. Since the estimator's task heads are linear, this is exactly a per-modality
    prediction per task, averaged with learned weights; an absent modality casts no vote.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import LateFusion
    >>> fusion = LateFusion([3, 5], 4)
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5)], torch.ones(2, 2, dtype=bool)).shape
    torch.Size([2, 4])
    >>> fusion.modality_weights(torch.ones(1, 2, dtype=bool)).tolist()
    [[0.5, 0.5]]
    """

    def __init__(self, in_features, out_features=64, dropout=0.0):
        super().__init__(in_features, out_features, dropout)
        self.heads = nn.ModuleList(nn.Linear(d, out_features) for d in self.in_features)
        self.logits = nn.Parameter(torch.zeros(len(self.in_features)))

    def modality_weights(self, mask: torch.Tensor) -> torch.Tensor:
        """Per-row weights of the modalities (0 for absent ones)."""
        mask = _present_or_all(mask.bool())
        return _masked_softmax(self.logits.expand(mask.shape[0], -1), mask, dim=1)

    def fuse(self, h, mask):
        weights = self.modality_weights(mask)
        out = torch.stack([head(x) for head, x in zip(self.heads, h)], dim=1)
        return (weights.unsqueeze(-1) * out).sum(dim=1)

"""Gated multimodal unit fusion (Arevalo et al., 2017).

References
----------
J. Arevalo, T. Solorio, M. Montes-y-Gomez, F. Gonzalez. Gated multimodal units for
information fusion. ICLR workshop, 2017.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import Fusion, _masked_softmax, _present_or_all

__all__ = ["GatedFusion"]



class GatedFusion(Fusion):
    """Gated multimodal unit (Arevalo et al., 2017), for any number of modalities.

    ``h_m = tanh(W_m x_m)``, gates ``z = softmax_m(W_z [x_1, ..., x_M])`` per output unit,
    ``out = sum_m z_m * h_m``. With two modalities the softmax is the paper's sigmoid gate
    ``z h_1 + (1 - z) h_2``. Absent modalities get gate 0.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import GatedFusion
    >>> fusion = GatedFusion([3, 5], 4)
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5)], torch.ones(2, 2, dtype=bool)).shape
    torch.Size([2, 4])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0):
        super().__init__(in_features, out_features, dropout)
        self.transforms = nn.ModuleList(nn.Linear(d, out_features) for d in self.in_features)
        self.gate = nn.Linear(sum(self.in_features), len(self.in_features) * out_features)
        self.drop = nn.Dropout(dropout)

    def gates(self, h, mask) -> torch.Tensor:
        """Gate values ``(n, n_modalities, out_features)``, summing to 1 over modalities."""
        logits = self.gate(torch.cat(h, dim=1)).view(-1, len(h), self.out_features)
        keep = _present_or_all(mask).unsqueeze(-1).expand_as(logits)
        return _masked_softmax(logits, keep, dim=1)

    def fuse(self, h, mask):
        hidden = torch.stack([torch.tanh(t(x)) for t, x in zip(self.transforms, h)], dim=1)
        return self.drop((self.gates(h, mask) * hidden).sum(dim=1))

"""Low-rank multimodal fusion (Liu et al., 2018).

References
----------
Z. Liu, Y. Shen, V. Lakshminarasimhan, P. Liang, A. Zadeh, L.-P. Morency. Efficient low-rank
multimodal fusion with modality-specific factors. ACL 2018.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._base import Fusion

__all__ = ["LowRankFusion"]



class LowRankFusion(Fusion):
    """Low-rank multimodal fusion (Liu et al., 2018).

    The tensor-fusion weight is a rank-``r`` sum of per-modality factors, so
    ``out = sum_i lambda_i prod_m (W_m^(i) [1, h_m]) + b`` costs ``O(r sum_m d_m)`` instead
    of the product of the ``d_m``.

    Parameters
    ----------
    in_features, out_features, dropout
        As :class:`Fusion`.
    rank : int, default=4

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import LowRankFusion
    >>> fusion = LowRankFusion([3, 5], 4, rank=2)
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5)], torch.ones(2, 2, dtype=bool)).shape
    torch.Size([2, 4])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0, rank: int = 4):
        super().__init__(in_features, out_features, dropout)
        self.rank = rank
        self.factors = nn.ParameterList(
            nn.Parameter(torch.randn(rank, d + 1, out_features) / math.sqrt(d + 1))
            for d in self.in_features
        )
        self.rank_weights = nn.Parameter(torch.full((rank,), 1.0 / rank))
        self.bias = nn.Parameter(torch.zeros(out_features))
        self.drop = nn.Dropout(dropout)

    def fuse(self, h, mask):
        fused = None
        for factor, x in zip(self.factors, h):
            x1 = torch.cat([torch.ones_like(x[:, :1]), x], dim=1)
            z = torch.einsum("nd,rdo->nro", x1, factor)
            fused = z if fused is None else fused * z
        out = torch.einsum("r,nro->no", self.rank_weights, fused) + self.bias
        return self.drop(torch.relu(out))

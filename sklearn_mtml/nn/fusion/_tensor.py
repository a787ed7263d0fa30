"""Tensor fusion (Zadeh et al., 2017).

References
----------
A. Zadeh, M. Chen, S. Poria, E. Cambria, L.-P. Morency. Tensor fusion network for multimodal
sentiment analysis. EMNLP 2017.
"""

from __future__ import annotations

import torch
from torch import nn

from ..encoders import mlp
from ._base import Fusion

__all__ = ["TensorFusion"]



class TensorFusion(Fusion):
    """Tensor fusion (Zadeh et al., 2017): the outer product of ``[1, p_m]`` over modalities.

    The product keeps every unimodal, bimodal, ..., M-modal interaction. Its size grows as
    ``prod_m (k_m + 1)``, so each modality is first projected to ``k`` units, ``k`` the
    largest size (at most ``max_dim``) keeping the product within ``max_features``.

    Parameters
    ----------
    in_features, out_features, dropout
        As :class:`Fusion`.
    max_features : int, default=4096
        Upper bound on the size of the outer product.
    max_dim : int, default=32
        Upper bound on each modality's projection size.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import TensorFusion
    >>> fusion = TensorFusion([3, 5, 7], 4)
    >>> fusion.projection_dim, fusion.product_features
    (15, 4096)
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5), torch.randn(2, 7)],
    ...        torch.ones(2, 3, dtype=bool)).shape
    torch.Size([2, 4])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0, max_features: int = 4096,
                 max_dim: int = 32):
        super().__init__(in_features, out_features, dropout)
        n = len(self.in_features)
        base = 2
        while base + 1 <= max_dim + 1 and (base + 1) ** n <= max_features:
            base += 1
        self.projection_dim = base - 1
        self.product_features = base**n
        self.projections = nn.ModuleList(
            nn.Sequential(nn.Linear(d, self.projection_dim), nn.ReLU()) for d in self.in_features
        )
        self.net, _ = mlp(self.product_features, (), out_features, dropout)

    def fuse(self, h, mask):
        z = None
        for proj, x in zip(self.projections, h):
            p = proj(x)
            p = torch.cat([torch.ones_like(p[:, :1]), p], dim=1)
            z = p if z is None else (z.unsqueeze(2) * p.unsqueeze(1)).flatten(1)
        return self.net(z)

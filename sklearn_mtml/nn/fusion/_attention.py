"""Attention fusion: self-attention over modality tokens."""

from __future__ import annotations

import torch
from torch import nn

from ._base import Fusion, _present_or_all

__all__ = ["AttentionFusion"]



class AttentionFusion(Fusion):
    """Self-attention over modality tokens, then mean pooling over present modalities.

    Each modality is projected to a token (plus a learned modality embedding); one
    multi-head attention layer (absent modalities masked out as keys) with a residual
    connection and layer norm lets each modality attend to the others.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import AttentionFusion
    >>> fusion = AttentionFusion([3, 5, 2], 8)
    >>> mask = torch.tensor([[True, False, True], [False, False, False]])
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5), torch.randn(2, 2)], mask).shape
    torch.Size([2, 8])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0, n_heads: int | None = None):
        super().__init__(in_features, out_features, dropout)
        if n_heads is None:
            n_heads = 4 if out_features % 4 == 0 else 1
        self.tokens = nn.ModuleList(nn.Linear(d, out_features) for d in self.in_features)
        self.modality_embedding = nn.Parameter(
            0.02 * torch.randn(len(self.in_features), out_features)
        )
        self.attention = nn.MultiheadAttention(out_features, n_heads, dropout=dropout,
                                               batch_first=True)
        self.norm = nn.LayerNorm(out_features)
        self.out = nn.Sequential(nn.Linear(out_features, out_features), nn.ReLU(),
                                 nn.Dropout(dropout))

    def fuse(self, h, mask):
        keep = _present_or_all(mask)
        tokens = torch.stack([proj(x) for proj, x in zip(self.tokens, h)], dim=1)
        tokens = tokens + self.modality_embedding
        attended, _ = self.attention(tokens, tokens, tokens, key_padding_mask=~keep,
                                     need_weights=False)
        tokens = self.norm(tokens + attended)
        w = keep.to(tokens.dtype).unsqueeze(-1)
        pooled = (tokens * w).sum(dim=1) / w.sum(dim=1)
        return self.out(pooled)

"""Concatenation fusions: of the modality embeddings (concat) or of raw inputs (early)."""

from __future__ import annotations

import torch

from ..encoders import mlp
from ._base import Fusion

__all__ = ["ConcatFusion", "EarlyFusion"]



class ConcatFusion(Fusion):
    """Concatenate the modality representations, then a ReLU layer.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import ConcatFusion
    >>> fusion = ConcatFusion([3, 5], out_features=4)
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5)], torch.ones(2, 2, dtype=bool)).shape
    torch.Size([2, 4])
    """

    depth = ()

    def __init__(self, in_features, out_features=64, dropout=0.0):
        super().__init__(in_features, out_features, dropout)
        hidden = [out_features] * len(self.depth)
        self.net, _ = mlp(sum(self.in_features), hidden, out_features, dropout)

    def fuse(self, h, mask):
        return self.net(torch.cat(h, dim=1))


class EarlyFusion(ConcatFusion):
    """Early fusion: concatenate the modalities' raw inputs, then a two-layer MLP.

    The estimator gives it raw encoders (standardised numbers, category embeddings, a
    text's TF-IDF bag, flattened pixels), so the only modality-specific learning is the
    embedding of categories and words.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import EarlyFusion
    >>> EarlyFusion([3, 5], 4)([torch.randn(2, 3), torch.randn(2, 5)],
    ...                        torch.tensor([[True, False], [True, True]])).shape
    torch.Size([2, 4])
    """

    raw_inputs = True
    depth = (1,)

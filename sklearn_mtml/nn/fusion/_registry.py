"""The fusion registry: ``fusion=`` names and their classes, built through one Registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ...utils._registry import Registry
from ._attention import AttentionFusion
from ._base import Fusion
from ._concat import ConcatFusion, EarlyFusion
from ._gated import GatedFusion
from ._hierarchical import HierarchicalFusion
from ._late import LateFusion
from ._low_rank import LowRankFusion
from ._sequential import SequentialFusion
from ._tensor import TensorFusion

__all__ = ["FUSIONS", "fusion_class", "make_fusion"]

#: The fusion registry: name -> class (a Mapping; ``FUSIONS.constraint()`` for sklearn).
FUSIONS = Registry("fusion", Fusion, {
    "early": EarlyFusion,
    "concat": ConcatFusion,
    "late": LateFusion,
    "attention": AttentionFusion,
    "gated": GatedFusion,
    "tensor": TensorFusion,
    "low_rank": LowRankFusion,
    "hierarchical": HierarchicalFusion,
    "sequential": SequentialFusion,
})


def fusion_class(fusion) -> type[Fusion] | Callable | Fusion:
    """The class (or factory, or uncopied instance) behind ``fusion``.

    Examples
    --------
    >>> from sklearn_mtml.nn.fusion import fusion_class
    >>> fusion_class("early").raw_inputs
    True
    """
    return FUSIONS.lookup(fusion)


def make_fusion(fusion, in_features: Sequence[int], out_features: int = 64,
                dropout: float = 0.0, **kwargs) -> Fusion:
    """Build a fusion module by name (or class / factory; an instance is copied).

    Examples
    --------
    >>> from sklearn_mtml.nn.fusion import make_fusion
    >>> type(make_fusion("gated", [4, 4], 8)).__name__
    'GatedFusion'
    >>> make_fusion("average", [4], 8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Unknown fusion 'average'; valid names are ['attention', 'concat', ...
    """
    return FUSIONS.build(fusion, in_features, out_features, dropout, **kwargs)

"""Fusion of modality representations: one registry, every method mask-aware.

A fusion module takes the list of per-modality representations ``h_m`` of shape
``(n, d_m)`` and the presence mask ``(n, n_modalities)`` and returns one fused
representation ``(n, out_features)``. Before fusing, every fusion replaces the
representation of an absent modality by a learned "absent" embedding
(:meth:`Fusion.fill_absent`), so nothing computed from an absent modality's (zero-filled)
inputs reaches the output; methods that weight modalities (late, attention, gated)
additionally give absent modalities zero weight.

======================  ==================================================================
name                    method
======================  ==================================================================
``"early"``             concatenate the raw inputs (the estimator uses raw encoders), MLP
``"concat"``            concatenate the modality embeddings, one layer
``"late"``              a linear "head" per modality, averaged with learned weights
``"attention"``         self-attention over modality tokens, masked mean pooling
``"gated"``             gated multimodal unit (Arevalo et al., 2017), softmax gates
``"tensor"``            tensor fusion: outer product of ``[1, h_m]`` (Zadeh et al., 2017)
``"low_rank"``          low-rank multimodal fusion (Liu et al., 2018)
``"hierarchical"``      fused level by level along a tree of groups (``groups=``)
``"sequential"``        a GRU cell reads the modalities in turn (``order=``)
======================  ==================================================================

:class:`MultiModalNetwork` puts encoders, a fusion and per-task heads together.

Layout: ``_base`` (:class:`Fusion`, the mask helpers), one module per fusion, ``_registry``
(:data:`FUSIONS`, :func:`make_fusion`) and ``_network`` (:class:`MultiModalNetwork`). A new
fusion is one module plus its entry in ``_registry``.

References
----------
J. Arevalo, T. Solorio, M. Montes-y-Gomez, F. Gonzalez. Gated multimodal units for
information fusion. ICLR workshop, 2017.
A. Zadeh, M. Chen, S. Poria, E. Cambria, L.-P. Morency. Tensor fusion network for multimodal
sentiment analysis. EMNLP 2017.
Z. Liu, Y. Shen, V. Lakshminarasimhan, P. Liang, A. Zadeh, L.-P. Morency. Efficient low-rank
multimodal fusion with modality-specific factors. ACL 2018.
"""

from ._attention import AttentionFusion
from ._base import Fusion
from ._concat import ConcatFusion, EarlyFusion
from ._gated import GatedFusion
from ._hierarchical import HierarchicalFusion
from ._late import LateFusion
from ._low_rank import LowRankFusion
from ._network import MultiModalNetwork
from ._registry import FUSIONS, fusion_class, make_fusion
from ._sequential import SequentialFusion
from ._tensor import TensorFusion

__all__ = [
    "FUSIONS",
    "AttentionFusion",
    "ConcatFusion",
    "EarlyFusion",
    "Fusion",
    "GatedFusion",
    "HierarchicalFusion",
    "LateFusion",
    "LowRankFusion",
    "MultiModalNetwork",
    "SequentialFusion",
    "TensorFusion",
    "fusion_class",
    "make_fusion",
]

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
======================  ==================================================================

:class:`MultiModalNetwork` puts encoders, a fusion and per-task heads together.

References
----------
J. Arevalo, T. Solorio, M. Montes-y-Gomez, F. Gonzalez. Gated multimodal units for
information fusion. ICLR workshop, 2017.
A. Zadeh, M. Chen, S. Poria, E. Cambria, L.-P. Morency. Tensor fusion network for multimodal
sentiment analysis. EMNLP 2017.
Z. Liu, Y. Shen, V. Lakshminarasimhan, P. Liang, A. Zadeh, L.-P. Morency. Efficient low-rank
multimodal fusion with modality-specific factors. ACL 2018.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import nn

from .encoders import mlp
from .heads import head_shrinkage_penalty

__all__ = [
    "FUSIONS",
    "AttentionFusion",
    "ConcatFusion",
    "EarlyFusion",
    "Fusion",
    "GatedFusion",
    "LateFusion",
    "LowRankFusion",
    "MultiModalNetwork",
    "TensorFusion",
    "make_fusion",
]


def _present_or_all(mask: torch.Tensor) -> torch.Tensor:
    """The mask, with rows where nothing is present treated as all present."""
    none = ~mask.any(dim=1, keepdim=True)
    return mask | none


def _masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=dim)


class Fusion(nn.Module):
    """Base class of the fusion modules.

    Subclasses implement :meth:`fuse`; :meth:`forward` first swaps in the learned absent
    embeddings. Set ``raw_inputs = True`` for fusions that want raw (unencoded) inputs.

    Parameters
    ----------
    in_features : sequence of int
        Size of each modality's representation.
    out_features : int, default=64
        Size of the fused representation.
    dropout : float, default=0.0
    """

    raw_inputs = False

    def __init__(self, in_features: Sequence[int], out_features: int = 64,
                 dropout: float = 0.0):
        super().__init__()
        self.in_features = [int(d) for d in in_features]
        self.out_features = int(out_features)
        self.absent = nn.ParameterList(nn.Parameter(torch.zeros(d)) for d in self.in_features)

    def fill_absent(self, embeddings: Sequence[torch.Tensor], mask: torch.Tensor):
        """Replace absent rows of each representation with that modality's absent embedding."""
        return [
            torch.where(mask[:, m : m + 1], h, self.absent[m].to(h.dtype).expand_as(h))
            for m, h in enumerate(embeddings)
        ]

    def forward(self, embeddings: Sequence[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        mask = mask.bool()
        return self.fuse(self.fill_absent(embeddings, mask), mask)

    def fuse(self, h: list[torch.Tensor], mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


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


#: The fusion registry: name -> class.
FUSIONS: dict[str, type[Fusion]] = {
    "early": EarlyFusion,
    "concat": ConcatFusion,
    "late": LateFusion,
    "attention": AttentionFusion,
    "gated": GatedFusion,
    "tensor": TensorFusion,
    "low_rank": LowRankFusion,
}


def fusion_class(fusion) -> type[Fusion] | Callable:
    """The class (or factory) behind ``fusion``: a registry name, a class or a factory."""
    if isinstance(fusion, str):
        if fusion not in FUSIONS:
            raise ValueError(
                f"Unknown fusion {fusion!r}; choose one of {sorted(FUSIONS)}, or pass a "
                "Fusion subclass."
            )
        return FUSIONS[fusion]
    if isinstance(fusion, Fusion):
        return fusion
    if callable(fusion):
        return fusion
    raise ValueError(f"fusion must be a name, a Fusion subclass or instance; got {fusion!r}.")


def uses_raw_inputs(fusion) -> bool:
    """Whether ``fusion`` wants raw inputs (early fusion)."""
    return bool(getattr(fusion_class(fusion), "raw_inputs", False))


def make_fusion(fusion, in_features: Sequence[int], out_features: int = 64,
                dropout: float = 0.0, **kwargs) -> Fusion:
    """Build a fusion module by name (or class / factory; an instance is copied).

    Examples
    --------
    >>> from sklearn_mtml.nn.fusion import make_fusion
    >>> type(make_fusion("gated", [4, 4], 8)).__name__
    'GatedFusion'
    >>> make_fusion("average", [4], 8)
    Traceback (most recent call last):
    ...
    ValueError: Unknown fusion 'average'; choose one of ['attention', 'concat', 'early', \
'gated', 'late', 'low_rank', 'tensor'], or pass a Fusion subclass.
    """
    cls = fusion_class(fusion)
    if isinstance(cls, Fusion):
        return copy.deepcopy(cls)
    return cls(in_features, out_features, dropout, **kwargs)


class MultiModalNetwork(nn.Module):
    """Encoders, a fusion and one linear head per task.

    Parameters
    ----------
    encoders : dict of {str: nn.Module}
        Per modality (in mask order) an encoder with an ``out_features`` attribute.
    n_inputs : dict of {str: int}
        Per modality, how many input tensors its encoder takes.
    fusion : Fusion
    head_sizes : sequence of int
        Output size of each task head (classes, or 1 for regression).
    head : nn.Module or None, default=None
        The multi-task part on top of the fused representation (e.g. a sharing network of
        :mod:`sklearn_mtml.nn.sharing`); ``None``: one linear head per task.
    modality_dropout : float, default=0.0
        In training, each modality of each row is dropped (treated as absent) with this
        probability; a row always keeps at least one of its present modalities.
    dropout : float, default=0.0
        Dropout before the task heads.
    alignment_weight : float, default=0.0
        Weight of the auxiliary cross-modal alignment loss (:meth:`auxiliary_loss`);
        0 disables it.
    alignment_dim : int, default=32
        Size of the projections compared by the alignment loss.
    temperature : float, default=0.1
        Temperature of the alignment loss.
    reconstruction_weight : float, default=0.0
        Weight of the auxiliary per-modality reconstruction loss (:meth:`auxiliary_loss`);
        0 disables it.
    reconstruct_sizes : dict of {str: int} or None, default=None
        Modalities to reconstruct and the width of their dense float input (``"<m>__0"``):
        numeric, the numeric part of tabular, or image pixels.

    The forward pass takes a dict with keys ``"<modality>__<i>"`` and ``"mask"`` (see
    :meth:`sklearn_mtml._modalities.ModalityBlocks.flat`), as a positional dict or keywords,
    and returns a list with one ``(n, head_size)`` tensor per task.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import TabularEncoder
    >>> from sklearn_mtml.nn.fusion import MultiModalNetwork, make_fusion
    >>> encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(2, out_features=4)}
    >>> net = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 8),
    ...                         head_sizes=[3, 1])
    >>> out = net({"a__0": torch.randn(5, 3), "b__0": torch.randn(5, 2),
    ...            "mask": torch.ones(5, 2, dtype=torch.bool)})
    >>> [o.shape for o in out]
    [torch.Size([5, 3]), torch.Size([5, 1])]
    """

    def __init__(self, encoders: Mapping[str, nn.Module], n_inputs: Mapping[str, int],
                 fusion: Fusion, head_sizes: Sequence[int], modality_dropout: float = 0.0,
                 dropout: float = 0.0, head: nn.Module | None = None,
                 alignment_weight: float = 0.0, alignment_dim: int = 32,
                 temperature: float = 0.1, reconstruction_weight: float = 0.0,
                 reconstruct_sizes: Mapping[str, int] | None = None):
        super().__init__()
        self.reconstruction_weight = float(reconstruction_weight)
        sizes = dict(reconstruct_sizes or {}) if self.reconstruction_weight > 0 else {}
        # A linear decoder per reconstructed modality reads the *fused* representation:
        # the fused vector must keep what each modality carries, also when modality dropout
        # hid that modality from the encoders.
        self.decoders = nn.ModuleDict(
            {name: nn.Linear(fusion.out_features, int(size)) for name, size in sizes.items()
             if int(size) > 0}
        )
        self._recon = None
        self.alignment_weight = float(alignment_weight)
        self.temperature = float(temperature)
        self.align = nn.ModuleList(
            nn.Linear(e.out_features, alignment_dim) for e in encoders.values()
        ) if self.alignment_weight > 0 else None
        self._last = None
        self.names = list(encoders)
        self.n_inputs = [int(n_inputs[name]) for name in self.names]
        self.encoders = nn.ModuleList(encoders[name] for name in self.names)
        self.fusion = fusion
        self.modality_dropout = float(modality_dropout)
        self.drop = nn.Dropout(dropout)
        if head is None:
            head = _LinearHeads(fusion.out_features, head_sizes)
        self.head = head

    def shared_modules(self) -> dict[str, nn.Module]:
        """What every task shares: the encoders, the fusion, and the head's shared part."""
        shared = {"encoders": self.encoders, "fusion": self.fusion}
        if hasattr(self.head, "shared_modules"):
            shared.update({f"head.{k}": v for k, v in self.head.shared_modules().items()})
        return shared

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters that receive gradient from more than one task."""
        return [p for m in self.shared_modules().values() for p in m.parameters()]

    def drop_modalities(self, mask: torch.Tensor) -> torch.Tensor:
        """Training-time modality dropout (keeps one present modality per row)."""
        if not self.training or self.modality_dropout <= 0 or mask.shape[1] < 2:
            return mask
        dropped = mask & (torch.rand(mask.shape, device=mask.device) >= self.modality_dropout)
        empty = ~dropped.any(dim=1) & mask.any(dim=1)
        if empty.any():
            # keep one present modality, chosen at random, in rows that lost them all
            scores = torch.rand(mask.shape, device=mask.device).masked_fill(~mask, -1.0)
            keep = nn.functional.one_hot(scores.argmax(dim=1), mask.shape[1]).bool()
            dropped = torch.where(empty.unsqueeze(1), keep, dropped)
        return dropped

    def fused(self, X=None, **kwargs) -> torch.Tensor:
        """The fused representation ``(n, fusion.out_features)``."""
        inputs = dict(X) if isinstance(X, Mapping) else {}
        inputs.update(kwargs)
        mask = self.drop_modalities(inputs["mask"].bool())
        embeddings = [
            encoder(*[inputs[f"{name}__{i}"] for i in range(k)])
            for name, k, encoder in zip(self.names, self.n_inputs, self.encoders)
        ]
        if self.align is not None and self.training:
            self._last = (embeddings, mask)
        fused = self.fusion(embeddings, mask)
        if len(self.decoders) and self.training:
            self._recon = (fused, inputs, inputs["mask"].bool())
        return fused

    def auxiliary_loss(self) -> torch.Tensor | None:
        """Auxiliary objectives of the last training batch (``None`` when all disabled).

        The training objective becomes ``sum_t lambda_t L_t + sum_m mu_m R_m``:

        * alignment (``alignment_weight``): for each pair of modalities, over the rows where
          both are present, a symmetric InfoNCE loss (CLIP-style) pulls the projections of the
          same row together and pushes other rows' apart; the mean over pairs is scaled;
        * reconstruction (``reconstruction_weight``): each reconstructed modality's dense
          input is predicted from the fused representation by a linear decoder; mean squared
          error over the rows where that modality is present, averaged over modalities;
        * the head network's own regulariser (its ``auxiliary_loss()``, e.g. the
          ``"shared_private"`` terms and the task heads' shrinkage penalty), or for a head
          without one the heads' shrinkage penalty when set
          (:func:`~sklearn_mtml.nn.heads.head_shrinkage_penalty`).
        """
        head_loss = getattr(self.head, "auxiliary_loss", None)
        head_term = head_loss() if callable(head_loss) else head_shrinkage_penalty(self.head)
        terms = [t for t in (self._alignment_loss(), self._reconstruction_loss(), head_term)
                 if t is not None]
        if not terms:
            return None
        return sum(terms[1:], terms[0])

    def _reconstruction_loss(self) -> torch.Tensor | None:
        if self._recon is None:
            return None
        fused, inputs, mask = self._recon
        self._recon = None
        losses = []
        for name, decoder in self.decoders.items():
            present = mask[:, self.names.index(name)]
            if not bool(present.any()):
                continue
            target = inputs[f"{name}__0"][present].reshape(int(present.sum()), -1).float()
            losses.append(nn.functional.mse_loss(decoder(fused[present]), target))
        if not losses:
            return None
        return self.reconstruction_weight * torch.stack(losses).mean()

    def _alignment_loss(self) -> torch.Tensor | None:
        if self.align is None or self._last is None:
            return None
        embeddings, mask = self._last
        self._last = None
        losses = []
        for i in range(len(embeddings)):
            for j in range(i + 1, len(embeddings)):
                rows = mask[:, i] & mask[:, j]
                if int(rows.sum()) < 2:
                    continue
                zi = nn.functional.normalize(self.align[i](embeddings[i][rows]), dim=1)
                zj = nn.functional.normalize(self.align[j](embeddings[j][rows]), dim=1)
                logits = zi @ zj.T / self.temperature
                target = torch.arange(len(zi), device=zi.device)
                losses.append((nn.functional.cross_entropy(logits, target)
                               + nn.functional.cross_entropy(logits.T, target)) / 2)
        if not losses:
            return None
        return self.alignment_weight * torch.stack(losses).mean()

    def forward(self, X=None, **kwargs):
        return self.head(self.drop(self.fused(X, **kwargs)))


class _LinearHeads(nn.Module):
    def __init__(self, in_features: int, head_sizes: Sequence[int]):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(in_features, k) for k in head_sizes)

    def forward(self, h: torch.Tensor) -> list[torch.Tensor]:
        return [head(h) for head in self.heads]

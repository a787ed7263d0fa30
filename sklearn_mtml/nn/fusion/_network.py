"""The multi-modal network: encoders, a fusion and the multi-task heads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ...utils._keys import MASK_KEY, block_key
from ..heads import head_shrinkage_penalty
from ._base import Fusion

__all__ = ["MultiModalNetwork"]


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
        Modalities to reconstruct and the width of their dense float input (``block_key(m, 0)``):
        numeric, the numeric part of tabular, or image pixels.

    Notes
    -----
    **Rows with every modality absent.** Such a row carries no evidence, so in evaluation
    mode, once :meth:`set_absent_prior` has been called, its outputs are the *prior*
    outputs (the estimators set them to the training prior: the log class frequencies of a
    classification task, the standardised training mean of a regression task) instead of
    whatever the encoders' "absent" embeddings lead to. The switch is a
    ``torch.where`` on the presence mask, so the forward pass has no data-dependent branch
    (it traces and exports), and training is unchanged: the prior is never used in
    training mode, and rows with at least one modality present get exactly the network's
    outputs.

    The forward pass takes a dict with keys :func:`~sklearn_mtml.utils._keys.block_key`
    ``(modality, i)`` and :data:`~sklearn_mtml.utils._keys.MASK_KEY` (see
    :meth:`sklearn_mtml._modalities.ModalityBlocks.flat`), as a positional dict or keywords,
    and returns a list with one ``(n, head_size)`` tensor per task.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.encoders import TabularEncoder
    >>> from sklearn_mtml.nn.fusion import MultiModalNetwork, make_fusion
    >>> from sklearn_mtml.utils._keys import MASK_KEY, block_key
    >>> encoders = {"a": TabularEncoder(3, out_features=4), "b": TabularEncoder(2, out_features=4)}
    >>> net = MultiModalNetwork(encoders, {"a": 1, "b": 1}, make_fusion("concat", [4, 4], 8),
    ...                         head_sizes=[3, 1])
    >>> out = net({block_key("a", 0): torch.randn(5, 3), block_key("b", 0): torch.randn(5, 2),
    ...            MASK_KEY: torch.ones(5, 2, dtype=torch.bool)})
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
        self.head_sizes = [int(k) for k in head_sizes]
        # outputs of a row with every modality absent (evaluation mode), once set (flag 1)
        self.register_buffer("absent_prior", torch.zeros(sum(self.head_sizes)))
        self.register_buffer("absent_prior_set", torch.zeros(()))

    def set_absent_prior(self, prior) -> None:
        """Set the outputs given, in evaluation mode, to rows with every modality absent.

        Parameters
        ----------
        prior : array-like of shape (sum(head_sizes),), or None
            The heads' outputs concatenated (e.g. log class frequencies of a
            classification head, the standardised mean of a regression head). ``None``:
            unset (such rows get the network's own outputs).
        """
        if prior is None:
            self.absent_prior_set.zero_()
            return
        values = torch.as_tensor(np.asarray(prior, dtype=np.float32).reshape(-1))
        if values.numel() != self.absent_prior.numel():
            raise ValueError(
                f"The prior has {values.numel()} values; the heads have "
                f"{self.absent_prior.numel()} outputs."
            )
        self.absent_prior.copy_(values)
        self.absent_prior_set.fill_(1.0)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # weights saved before the prior existed load as "no prior" (the old behaviour)
        for name in ("absent_prior", "absent_prior_set"):
            state_dict.setdefault(prefix + name, torch.zeros_like(getattr(self, name)))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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

    @staticmethod
    def _inputs(X, kwargs) -> dict:
        inputs = dict(X) if isinstance(X, Mapping) else {}
        inputs.update(kwargs)
        return inputs

    def fused(self, X=None, **kwargs) -> torch.Tensor:
        """The fused representation ``(n, fusion.out_features)``."""
        inputs = self._inputs(X, kwargs)
        mask = self.drop_modalities(inputs[MASK_KEY].bool())
        embeddings = [
            encoder(*[inputs[block_key(name, i)] for i in range(k)])
            for name, k, encoder in zip(self.names, self.n_inputs, self.encoders)
        ]
        if self.align is not None and self.training:
            self._last = (embeddings, mask)
        fused = self.fusion(embeddings, mask)
        if len(self.decoders) and self.training:
            self._recon = (fused, inputs, inputs[MASK_KEY].bool())
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
            target = inputs[block_key(name, 0)][present].reshape(int(present.sum()), -1).float()
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
        out = self.head(self.drop(self.fused(X, **kwargs)))
        if self.training:
            return out
        return self._with_prior(out, self._inputs(X, kwargs)[MASK_KEY])

    def _with_prior(self, out, mask: torch.Tensor):
        """``out`` with the prior outputs in rows where every modality is absent (once set)."""
        absent = ~mask.bool().any(dim=1) & (self.absent_prior_set > 0)
        if isinstance(out, torch.Tensor):
            outputs, sizes = [out], [sum(self.head_sizes)]
        else:
            outputs, sizes = list(out), self.head_sizes
        if len(outputs) != len(sizes) or any(
            o.reshape(len(o), -1).shape[1] != k for o, k in zip(outputs, sizes)
        ):
            return out  # a head of another shape: leave its outputs alone
        priors = torch.split(self.absent_prior, sizes)
        replaced = [
            torch.where(absent.reshape(-1, *([1] * (o.dim() - 1))),
                        p.to(o.dtype).reshape(o.shape[1:]), o)
            for o, p in zip(outputs, priors)
        ]
        if isinstance(out, torch.Tensor):
            return replaced[0]
        return type(out)(replaced)


class _LinearHeads(nn.Module):
    def __init__(self, in_features: int, head_sizes: Sequence[int]):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(in_features, k) for k in head_sizes)

    def forward(self, h: torch.Tensor) -> list[torch.Tensor]:
        return [head(h) for head in self.heads]

"""The fusion base class and the mask helpers every fusion shares."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

__all__ = ["Fusion", "modality_positions"]


def _present_or_all(mask: torch.Tensor) -> torch.Tensor:
    """The mask, with rows where nothing is present treated as all present."""
    none = ~mask.any(dim=1, keepdim=True)
    return mask | none


def _masked_softmax(logits: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    return torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=dim)


def modality_positions(entries: Sequence, n_modalities: int,
                       names: Sequence[str] | None, param: str) -> list[int]:
    """Positions (in the modality order) of ``entries``: positions or, given ``names``, names.

    For fusions with a per-modality parameter (``param``, named in errors as a
    ``fusion_params`` entry). Every modality must appear exactly once.

    Examples
    --------
    >>> modality_positions(["b", 0], 2, ["a", "b"], "order")
    [1, 0]
    >>> modality_positions([0, 0], 2, None, "order")
    Traceback (most recent call last):
    ...
    ValueError: fusion_params order: modality 0 appears twice.
    """
    where = f"fusion_params {param}"
    out = []
    for entry in entries:
        if isinstance(entry, str):
            if names is None:
                raise ValueError(
                    f"{where}: {entry!r} is a modality name, but this fusion was not given "
                    f"the modality names; use positions 0 to {n_modalities - 1} (the order "
                    "of `modalities`)."
                )
            if entry not in names:
                raise ValueError(f"{where}: {entry!r} is not a modality; use one of "
                                 f"{list(names)}.")
            position = list(names).index(entry)
        elif (isinstance(entry, Integral) and not isinstance(entry, bool)
              and 0 <= int(entry) < n_modalities):
            position = int(entry)
        else:
            raise ValueError(f"{where}: {entry!r} is not a modality position (0 to "
                             f"{n_modalities - 1}) or name.")
        if position in out:
            raise ValueError(f"{where}: modality {entry!r} appears twice.")
        out.append(position)
    missing = sorted(set(range(n_modalities)) - set(out))
    if missing:
        raise ValueError(f"{where} leaves out modalities at positions {missing}; every "
                         "modality must appear once.")
    return out


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

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import Fusion
    >>> class Sum(Fusion):
    ...     def fuse(self, h, mask):
    ...         return sum(h)
    >>> Sum([2, 2], 2)([torch.ones(1, 2), torch.ones(1, 2)],
    ...                torch.tensor([[True, False]]))
    tensor([[1., 1.]], grad_fn=<AddBackward0>)
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

"""Sequential fusion: the modalities read one after the other by a recurrent cell.

Multimodal-fusion surveys name sequential fusion beside parallel and hierarchical fusion:
each modality updates a state that carries what the modalities before it contributed, so
each step is conditioned on the earlier ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._base import Fusion, _present_or_all, modality_positions

__all__ = ["SequentialFusion"]


class SequentialFusion(Fusion):
    """A GRU cell reads the modality representations in ``order``; its last state is fused.

    Each modality is projected to ``out_features`` units (a linear map per modality); one
    shared ``GRUCell`` of width ``out_features`` starts from a learned initial state and
    reads them in turn: ``s_t = GRU(x_{order[t]}, s_{t-1})``. A modality absent in a row is
    skipped in that row (``s_t = s_{t-1}``), so it contributes nothing and gets no gradient.
    Rows with no modality present read every modality's learned absent embedding, as in the
    other fusions.

    Parameters
    ----------
    in_features, out_features, dropout
        As :class:`Fusion` (dropout on the output).
    order : sequence or None, default=None
        The reading order: every modality once, by position in the order of ``modalities``
        (or by name when ``names`` is given). ``None``: the order of ``modalities``.
    names : sequence of str or None, default=None
        The modality names, to allow names in ``order``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import make_fusion
    >>> fusion = make_fusion("sequential", [3, 5, 2], 8, order=[2, 0, 1])
    >>> mask = torch.tensor([[True, True, True], [False, True, False]])
    >>> fusion([torch.randn(2, 3), torch.randn(2, 5), torch.randn(2, 2)], mask).shape
    torch.Size([2, 8])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0,
                 order: Sequence | None = None, names: Sequence[str] | None = None):
        super().__init__(in_features, out_features, dropout)
        n = len(self.in_features)
        if order is None:
            order = range(n)
        elif isinstance(order, str):
            raise ValueError(f"fusion_params order must be a list of modalities, got {order!r}.")
        self.order = modality_positions(list(order), n, names, "order")
        self.inputs = nn.ModuleList(nn.Linear(d, self.out_features) for d in self.in_features)
        self.initial = nn.Parameter(torch.zeros(self.out_features))
        self.cell = nn.GRUCell(self.out_features, self.out_features)
        self.drop = nn.Dropout(dropout)

    def fuse(self, h, mask):
        mask = _present_or_all(mask)
        state = self.initial.to(h[0].dtype).expand(h[0].shape[0], -1)
        for m in self.order:
            step = self.cell(self.inputs[m](h[m]), state)
            # skip the step where the modality is absent: the state passes unchanged
            state = torch.where(mask[:, m : m + 1], step, state)
        return self.drop(state)

"""Hierarchical fusion: modalities fused level by level along a tree.

Multimodal-fusion surveys name hierarchical fusion beside parallel (all modalities at once)
and sequential fusion: related modalities are fused first, and their fused representations
are fused at the next level.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from ._base import Fusion, _present_or_all, modality_positions

__all__ = ["HierarchicalFusion"]


def _adjacent_pairs(n: int) -> list:
    """A balanced binary tree over positions ``0..n-1``: adjacent pairs, then pairs of pairs."""
    level: list = list(range(n))
    while len(level) > 2:
        level = [level[i : i + 2] if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    return level


def _leaves(tree) -> list:
    if isinstance(tree, list | tuple):
        if not tree:
            raise ValueError("fusion_params groups: an empty group [] fuses nothing.")
        return [leaf for child in tree for leaf in _leaves(child)]
    return [tree]


class _Group(nn.Module):
    """The interaction term of one group: a linear map per child and one bias."""

    def __init__(self, n_children: int, width: int):
        super().__init__()
        self.weights = nn.ModuleList(nn.Linear(width, width, bias=False)
                                     for _ in range(n_children))
        self.bias = nn.Parameter(torch.zeros(width))


class HierarchicalFusion(Fusion):
    """Fuse modalities level by level along a tree (``groups``).

    Each modality is projected to ``out_features`` units (linear + ReLU). Each group (a node
    of the tree) fuses the representations of its *present* children ``z_c``::

        node = mean_{c present} z_c + [2 or more present] * ReLU(sum_{c present} W_c z_c + b)

    so a group with one present child is exactly that child's representation, a group with
    none is absent for its parent, and the interaction term is learned per group. The root
    is the fused output. Rows with no modality present are fused as if all were present with
    their learned absent embeddings, as in the other fusions.

    Parameters
    ----------
    in_features, out_features, dropout
        As :class:`Fusion` (dropout on each group's interaction term).
    groups : nested list or None, default=None
        The tree: a list of groups, each a modality (its position in the order of
        ``modalities``, or its name when ``names`` is given) or a list of groups, e.g.
        ``[[0, 1], [2, 3]]`` (two pairs, then the pairs) or ``[[[0, 1], 2], 3]``. Every
        modality appears exactly once. ``None``: adjacent pairs in modality order, then
        adjacent pairs of those, up to the root (a balanced binary tree).
    names : sequence of str or None, default=None
        The modality names, to allow names in ``groups``.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.nn.fusion import make_fusion
    >>> fusion = make_fusion("hierarchical", [3, 5, 2, 4], 8, groups=[[0, 2], [1, 3]])
    >>> fusion.groups
    [[0, 2], [1, 3]]
    >>> mask = torch.tensor([[True, True, True, True], [True, False, False, True]])
    >>> fusion([torch.randn(2, d) for d in (3, 5, 2, 4)], mask).shape
    torch.Size([2, 8])
    """

    def __init__(self, in_features, out_features=64, dropout=0.0, groups=None,
                 names: Sequence[str] | None = None):
        super().__init__(in_features, out_features, dropout)
        n = len(self.in_features)
        tree = _adjacent_pairs(n) if groups is None else groups
        if not isinstance(tree, list | tuple):
            tree = [tree]
        modality_positions(_leaves(tree), n, names, "groups")  # validates every leaf
        self.groups = copy.deepcopy(tree)  # not an alias of the caller's fusion_params
        self.leaves = nn.ModuleList(
            nn.Sequential(nn.Linear(d, self.out_features), nn.ReLU()) for d in self.in_features
        )
        # Nodes in post-order (children before parents): ids 0..n-1 are the modalities,
        # node k gets id n + k; the root is the last node.
        self._children: list[list[int]] = []
        self.nodes = nn.ModuleList()
        self._root = self._build(tree, names)
        self.drop = nn.Dropout(dropout)

    def _build(self, tree, names) -> int:
        if not isinstance(tree, list | tuple):
            return list(names).index(tree) if isinstance(tree, str) else int(tree)
        children = [self._build(child, names) for child in tree]
        if len(children) == 1:
            return children[0]  # a group of one is its member
        self._children.append(children)
        self.nodes.append(_Group(len(children), self.out_features))
        return len(self.in_features) + len(self._children) - 1

    def fuse(self, h, mask):
        mask = _present_or_all(mask)
        z = [leaf(x) for leaf, x in zip(self.leaves, h)]
        present = [mask[:, m : m + 1] for m in range(len(h))]
        for children, group in zip(self._children, self.nodes):
            p = torch.cat([present[c] for c in children], dim=1).to(z[0].dtype)
            count = p.sum(dim=1, keepdim=True)
            # absent children are multiplied by 0: no value and no gradient from them
            mean = sum(p[:, i : i + 1] * z[c] for i, c in enumerate(children))
            mean = mean / count.clamp(min=1)
            inter = group.bias + sum(p[:, i : i + 1] * lin(z[c])
                                     for i, (c, lin) in enumerate(zip(children, group.weights)))
            z.append(mean + (count >= 2).to(mean.dtype) * self.drop(torch.relu(inter)))
            present.append(count > 0)
        return z[self._root]

"""Multi-task sharing architectures: how tasks share (or do not share) parameters.

Every architecture is a :class:`SharingNetwork`: built from the input width and the list of
per-task output sizes, its ``forward(x)`` returns the tasks' outputs side by side, a tensor
of shape ``(batch, sum(out_sizes))`` in task order. ``forward(x, task=index)`` *routes*
each row through its own task only (long format: a row belongs to one task) and returns
``(batch, max(out_sizes))``, the row's own task outputs: task-specific parts then cost the
same for 139 tasks as for 2. It also says which of its parameters are
*shared* (:meth:`SharingNetwork.shared_parameters`, what gradient-balancing methods such as
PCGrad or MGDA operate on) and which sub-modules form the shared part
(:meth:`SharingNetwork.shared_modules`, what transfer to new tasks copies).

==================  ===================================================================
name                sharing
==================  ===================================================================
``independent``     none: one MLP per task (the single-task baseline)
``shared_bottom``   hard sharing: one trunk MLP, then per-task towers (Caruana, 1997)
``cross_stitch``    soft sharing: one column per task, mixed by learned cross-stitch units
                    after every layer (Misra et al., 2016)
``mmoe``            multi-gate mixture of experts (Ma et al., 2018)
``ple``             progressive layered extraction: stacked CGC levels with shared and
                    task-specific experts (Tang et al., 2020)
``shared_private``  a shared and a private encoder per task; an adversarial task
                    discriminator keeps task identity out of the shared part, an
                    orthogonality penalty keeps the two parts apart (Liu et al., 2017)
==================  ===================================================================

A network may add a regulariser to the training objective through an
``auxiliary_loss()`` method returning a scalar tensor of its last training forward pass (or
``None``); the estimators back-propagate it alongside the task losses. The base class's
returns the shrinkage penalty of its :class:`~sklearn_mtml.nn.heads.TaskHeads` (task heads
pulled towards their mean, see :meth:`TaskHeads.set_shrinkage
<sklearn_mtml.nn.heads.TaskHeads.set_shrinkage>`; ``None`` unless one is set); a network
that overrides ``auxiliary_loss`` adds :func:`~sklearn_mtml.nn.heads.head_shrinkage_penalty`
to its own terms.

All per-task parts are batched (:class:`~sklearn_mtml.nn.heads.TaskLinear`), so a step costs
a handful of kernels whatever the number of tasks.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils._registry import Registry, declared_options
from .heads import (
    MLP,
    TaskHeads,
    TaskLinear,
    TaskMLP,
    head_shrinkage_penalty,
    make_activation,
)

__all__ = [
    "ARCHITECTURES",
    "CrossStitchNetwork",
    "IndependentNetwork",
    "MMoENetwork",
    "PLENetwork",
    "SharedBottomNetwork",
    "SharedPrivateNetwork",
    "SharingNetwork",
    "build_architecture",
]


class SharingNetwork(nn.Module):
    """Base class of the sharing architectures.

    Subclasses build their layers in ``__init__`` (first two arguments ``in_features`` and
    ``out_sizes``, every other argument keyword-only), implement ``forward(x, task=None)``
    (``(batch, sum(out_sizes))``, or routed by ``task``: ``(batch, max(out_sizes))``) and
    :meth:`shared_modules`.

    Parameters
    ----------
    in_features : int
        Width of the input.
    out_sizes : sequence of int
        Outputs per task (1 for regression, the number of classes for classification).
    """

    def __init__(self, in_features: int, out_sizes: Sequence[int]) -> None:
        super().__init__()
        self.in_features = int(in_features)
        self.out_sizes = [int(s) for s in out_sizes]
        if not self.out_sizes:
            raise ValueError("A sharing network needs at least one task.")

    @property
    def n_tasks(self) -> int:
        return len(self.out_sizes)

    def shared_modules(self) -> dict[str, nn.Module]:
        """Sub-modules shared by the tasks, by attribute name (empty: nothing shared)."""
        return {}

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters that receive gradient from more than one task."""
        return [p for m in self.shared_modules().values() for p in m.parameters()]

    def auxiliary_loss(self) -> torch.Tensor | None:
        """Regulariser of the last training forward pass: the task heads' shrinkage
        penalty (:func:`~sklearn_mtml.nn.heads.head_shrinkage_penalty`), or ``None``."""
        heads = getattr(self, "heads", None)
        if isinstance(heads, TaskHeads):  # the built-in networks: no walk over the modules
            return heads.shrinkage_penalty()  # at every training step
        return head_shrinkage_penalty(self)


class IndependentNetwork(SharingNetwork):
    """No sharing: one MLP (``hidden_layer_sizes`` then ``tower_sizes``) per task.

    The single-task baseline inside the multi-task API, to measure (negative) transfer.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
    tower_sizes : sequence of int, default=()
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> net = IndependentNetwork(4, [1, 1, 3], hidden_layer_sizes=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 5])
    >>> net.shared_parameters()
    []
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, out_sizes)
        sizes = tuple(hidden_layer_sizes) + tuple(tower_sizes)
        self.towers = TaskMLP(self.n_tasks, in_features, sizes, activation, dropout)
        self.heads = TaskHeads(self.n_tasks, self.towers.out_features, self.out_sizes)

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        return self.heads(self.towers(x, task), task)


class SharedBottomNetwork(SharingNetwork):
    """Hard parameter sharing: a shared trunk, then per-task towers and heads.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of the shared trunk.
    tower_sizes : sequence of int, default=()
        Widths of each task's own tower on top of the trunk (empty: linear heads).
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> net = SharedBottomNetwork(4, [1, 1], hidden_layer_sizes=(8,), tower_sizes=(4,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    >>> list(net.shared_modules())
    ['trunk']
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__(in_features, out_sizes)
        self.trunk = MLP(in_features, hidden_layer_sizes, activation, dropout)
        self.towers = TaskMLP(self.n_tasks, self.trunk.out_features, tower_sizes, activation,
                              dropout)
        self.heads = TaskHeads(self.n_tasks, self.towers.out_features, self.out_sizes)
        self._has_towers = len(tuple(tower_sizes)) > 0

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        h = self.trunk(x)
        return self.heads(self.towers(h, task) if self._has_towers else h, task)

    def shared_modules(self) -> dict[str, nn.Module]:
        return {"trunk": self.trunk}


class CrossStitchNetwork(SharingNetwork):
    """Soft sharing: one column per task, linearly mixed after every hidden layer.

    After layer ``l`` the task representations become ``h_t <- sum_s alpha_l[t, s] h_s``
    with learned cross-stitch matrices ``alpha_l`` initialised close to the identity
    (``self_weight`` on the diagonal), so training starts near independent columns and
    learns how much to share.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of each task's column (one cross-stitch unit after each layer).
    tower_sizes : sequence of int, default=()
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0
    self_weight : float, default=0.9
        Initial diagonal of the cross-stitch matrices (rows sum to one).

    Examples
    --------
    >>> import torch
    >>> net = CrossStitchNetwork(4, [1, 2], hidden_layer_sizes=(8, 8))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 3])
    >>> net.stitch[0].detach()
    tensor([[0.9000, 0.1000],
            [0.1000, 0.9000]])
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
        self_weight: float = 0.9,
    ) -> None:
        super().__init__(in_features, out_sizes)
        n = self.n_tasks
        self.columns = nn.ModuleList()
        self.stitch = nn.ParameterList()
        width = int(in_features)
        for size in hidden_layer_sizes:
            self.columns.append(TaskLinear(n, width, int(size)))
            off = (1.0 - self_weight) / (n - 1) if n > 1 else 0.0
            alpha = torch.full((n, n), off)
            alpha.fill_diagonal_(self_weight if n > 1 else 1.0)
            self.stitch.append(nn.Parameter(alpha))
            width = int(size)
        self.act = make_activation(activation)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()
        self.towers = TaskMLP(n, width, tower_sizes, activation, dropout)
        self.heads = TaskHeads(n, self.towers.out_features, self.out_sizes)

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        h = x
        for layer, alpha in zip(self.columns, self.stitch):
            h = self.drop(self.act(layer(h)))  # (T, B, width)
            n_tasks, batch, width = h.shape
            h = (alpha @ h.reshape(n_tasks, batch * width)).view(n_tasks, batch, width)
        if h.dim() == 2:  # no hidden layer: every column sees the input
            h = h.unsqueeze(0).expand(self.n_tasks, -1, -1)
        if task is not None:  # columns depend on each other; only towers/heads are routed
            h = h[task, torch.arange(h.shape[1], device=h.device)]
            return self.heads(self.towers(h, task), task)
        return self.heads(self.towers(h))

    def shared_modules(self) -> dict[str, nn.Module]:
        # Through the stitch units every column receives gradient from every task.
        return {"columns": self.columns, "stitch": self.stitch}


class MMoENetwork(SharingNetwork):
    """Multi-gate mixture of experts: shared experts, one softmax gate per task.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of each expert when ``expert_sizes`` is None.
    tower_sizes : sequence of int, default=()
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0
    n_experts : int, default=4
    expert_sizes : sequence of int or None, default=None
        Widths of each expert MLP (default ``hidden_layer_sizes``).

    Examples
    --------
    >>> import torch
    >>> net = MMoENetwork(4, [1, 1], n_experts=3, expert_sizes=(8,))
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
        n_experts: int = 4,
        expert_sizes: Sequence[int] | None = None,
    ) -> None:
        super().__init__(in_features, out_sizes)
        sizes = hidden_layer_sizes if expert_sizes is None else expert_sizes
        self.experts = TaskMLP(n_experts, in_features, sizes, activation, dropout)
        self.gates = TaskLinear(self.n_tasks, in_features, n_experts)
        self.towers = TaskMLP(self.n_tasks, self.experts.out_features, tower_sizes, activation,
                              dropout)
        self.heads = TaskHeads(self.n_tasks, self.towers.out_features, self.out_sizes)

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        experts = self.experts(x)  # (E, B, H)
        if task is not None:
            gates = torch.softmax(self.gates(x, task), dim=-1)  # (B, E)
            mixed = torch.einsum("be,ebh->bh", gates, experts)
            return self.heads(self.towers(mixed, task), task)
        gates = torch.softmax(self.gates(x), dim=-1)  # (T, B, E)
        mixed = torch.einsum("tbe,ebh->tbh", gates, experts)
        return self.heads(self.towers(mixed))

    def shared_modules(self) -> dict[str, nn.Module]:
        return {"experts": self.experts}


class _CGCLevel(nn.Module):
    """One customised gate control level of PLE."""

    def __init__(self, n_tasks, in_features, sizes, activation, dropout, n_shared, n_own,
                 last):
        super().__init__()
        self.n_tasks, self.n_shared, self.n_own = n_tasks, n_shared, n_own
        self.shared_experts = TaskMLP(n_shared, in_features, sizes, activation, dropout)
        self.task_experts = TaskMLP(n_tasks * n_own, in_features, sizes, activation, dropout)
        self.task_gates = TaskLinear(n_tasks, in_features, n_own + n_shared)
        self.shared_gate = None if last else nn.Linear(in_features, n_shared + n_tasks * n_own)
        self.out_features = self.shared_experts.out_features

    def forward(self, task_in, shared_in):
        shared_out = self.shared_experts(shared_in)  # (S, B, H)
        own_in = task_in if task_in.dim() == 2 else task_in.repeat_interleave(self.n_own, 0)
        own_out = self.task_experts(own_in)  # (T * k, B, H)
        _, batch, width = shared_out.shape
        candidates = torch.cat(
            [own_out.view(self.n_tasks, self.n_own, batch, width),
             shared_out.unsqueeze(0).expand(self.n_tasks, -1, -1, -1)],
            dim=1,
        )  # (T, k + S, B, H)
        gates = torch.softmax(self.task_gates(task_in), dim=-1)  # (T, B, k + S)
        task_out = torch.einsum("tbe,tebh->tbh", gates, candidates)
        if self.shared_gate is None:
            return task_out, None
        every = torch.cat([shared_out, own_out], dim=0)
        shared_gates = torch.softmax(self.shared_gate(shared_in), dim=-1)  # (B, S + T * k)
        return task_out, torch.einsum("be,ebh->bh", shared_gates, every)


class PLENetwork(SharingNetwork):
    """Progressive layered extraction: ``n_levels`` stacked CGC levels.

    Each level has ``n_experts`` shared experts and ``n_task_experts`` experts per task;
    task ``t``'s gate mixes its own and the shared experts, and (except at the last level) a
    shared gate mixes all experts into the next level's shared input.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of each expert when ``expert_sizes`` is None.
    tower_sizes : sequence of int, default=()
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0
    n_experts : int, default=4
        Shared experts per level.
    expert_sizes : sequence of int or None, default=None
    n_task_experts : int, default=1
        Task-specific experts per task and level.
    n_levels : int, default=2

    Examples
    --------
    >>> import torch
    >>> net = PLENetwork(4, [1, 3], expert_sizes=(8,), n_levels=2)
    >>> net(torch.zeros(5, 4)).shape
    torch.Size([5, 4])
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
        n_experts: int = 4,
        expert_sizes: Sequence[int] | None = None,
        n_task_experts: int = 1,
        n_levels: int = 2,
    ) -> None:
        super().__init__(in_features, out_sizes)
        sizes = tuple(hidden_layer_sizes if expert_sizes is None else expert_sizes)
        self.levels = nn.ModuleList()
        width = int(in_features)
        for level in range(int(n_levels)):
            cgc = _CGCLevel(self.n_tasks, width, sizes, activation, dropout, int(n_experts),
                            int(n_task_experts), last=level == n_levels - 1)
            self.levels.append(cgc)
            width = cgc.out_features
        self.towers = TaskMLP(self.n_tasks, width, tower_sizes, activation, dropout)
        self.heads = TaskHeads(self.n_tasks, self.towers.out_features, self.out_sizes)

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        task_in, shared_in = x, x
        levels = list(self.levels)
        if task is not None:
            for level in levels[:-1]:  # the shared gates need every task's experts
                task_in, shared_in = level(task_in, shared_in)
            if task_in.dim() == 3:  # each row continues with its own task's representation
                task_in = task_in[task, torch.arange(task_in.shape[1], device=x.device)]
            out = self._last_routed(levels[-1], task_in, shared_in, task)
            return self.heads(self.towers(out, task), task)
        for level in levels:
            task_in, shared_in = level(task_in, shared_in)
        return self.heads(self.towers(task_in))

    @staticmethod
    def _last_routed(level, task_in, shared_in, task):
        shared_out = level.shared_experts(shared_in)
        own = [level.task_experts(task_in, task * level.n_own + j) for j in range(level.n_own)]
        candidates = torch.cat([torch.stack(own), shared_out], dim=0)
        gates = torch.softmax(level.task_gates(task_in, task), dim=-1)
        return torch.einsum("be,ebh->bh", gates, candidates)

    def shared_modules(self) -> dict[str, nn.Module]:
        out: dict[str, nn.Module] = {}
        for i, level in enumerate(self.levels):
            out[f"levels.{i}.shared_experts"] = level.shared_experts
            if level.shared_gate is not None:
                out[f"levels.{i}.shared_gate"] = level.shared_gate
        return out


class _GradientReversal(torch.autograd.Function):
    """Identity forward, negated (scaled) gradient backward (Ganin & Lempitsky, 2015)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


class SharedPrivateNetwork(SharingNetwork):
    """Shared-private sharing with an adversarial task discriminator (Liu et al., 2017).

    Each task's head sees ``[shared(x), private_t(x)]``. During training, when the rows'
    tasks are known (long format, ``forward(x, task=...)``), a linear discriminator learns
    to tell the task from the shared representation while the shared encoder, through a
    gradient-reversal layer, learns to fool it; an orthogonality penalty (squared cosine
    between each row's shared and private representation) discourages the private part
    from duplicating the shared one. Both terms are returned by :meth:`auxiliary_loss`.

    Parameters
    ----------
    in_features : int
    out_sizes : sequence of int
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of the shared encoder and of each private encoder.
    tower_sizes : sequence of int, default=()
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0
    adversarial_weight : float, default=0.05
        Weight of the discriminator's loss (and of the reversed gradient).
    orthogonality_weight : float, default=0.01

    Examples
    --------
    >>> import torch
    >>> net = SharedPrivateNetwork(4, [1, 1, 1], hidden_layer_sizes=(8,))
    >>> out = net(torch.zeros(5, 4), task=torch.tensor([0, 1, 2, 0, 1]))
    >>> out.shape, net.auxiliary_loss().shape
    (torch.Size([5, 1]), torch.Size([]))
    """

    def __init__(
        self,
        in_features: int,
        out_sizes: Sequence[int],
        *,
        hidden_layer_sizes: Sequence[int] = (64,),
        tower_sizes: Sequence[int] = (),
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
        adversarial_weight: float = 0.05,
        orthogonality_weight: float = 0.01,
    ) -> None:
        super().__init__(in_features, out_sizes)
        self.shared = MLP(in_features, hidden_layer_sizes, activation, dropout)
        self.private = TaskMLP(self.n_tasks, in_features, hidden_layer_sizes, activation,
                               dropout)
        width = self.shared.out_features + self.private.out_features
        self.towers = TaskMLP(self.n_tasks, width, tower_sizes, activation, dropout)
        self.heads = TaskHeads(self.n_tasks, self.towers.out_features, self.out_sizes)
        self.discriminator = nn.Linear(self.shared.out_features, self.n_tasks)
        self.adversarial_weight = float(adversarial_weight)
        self.orthogonality_weight = float(orthogonality_weight)
        self._aux: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        shared = self.shared(x)  # (B, H)
        private = self.private(x, task)  # (B, H) routed, else (T, B, H)
        if task is None:
            both = torch.cat([shared.unsqueeze(0).expand(self.n_tasks, -1, -1), private], -1)
        else:
            both = torch.cat([shared, private], dim=-1)
        out = self.heads(self.towers(both, task), task)
        self._aux = None
        if self.training:
            cosine = F.cosine_similarity(shared.expand_as(private), private, dim=-1)
            aux = self.orthogonality_weight * cosine.square().mean()
            if task is not None and self.n_tasks > 1:
                reversed_ = _GradientReversal.apply(shared, self.adversarial_weight)
                aux = aux + self.adversarial_weight * F.cross_entropy(
                    self.discriminator(reversed_), task)
            self._aux = aux
        return out

    def auxiliary_loss(self) -> torch.Tensor | None:
        """The regulariser of the last training forward pass (``None`` in eval mode), plus
        the heads' shrinkage penalty when one is set."""
        shrinkage = super().auxiliary_loss()
        if shrinkage is None or self._aux is None:
            return self._aux if shrinkage is None else shrinkage
        return self._aux + shrinkage

    def shared_modules(self) -> dict[str, nn.Module]:
        return {"shared": self.shared}


#: Sharing architectures by name (the values accepted by ``architecture=``).
ARCHITECTURES = Registry("architecture", nn.Module, {
    "independent": IndependentNetwork,
    "shared_bottom": SharedBottomNetwork,
    "cross_stitch": CrossStitchNetwork,
    "mmoe": MMoENetwork,
    "ple": PLENetwork,
    "shared_private": SharedPrivateNetwork,
})


def build_architecture(spec, in_features: int, out_sizes: Sequence[int], **params) -> nn.Module:
    """Build a sharing network from a name, a class or an instance.

    Parameters
    ----------
    spec : str, SharingNetwork subclass (or any ``nn.Module`` class or factory) or instance
        A key of :data:`ARCHITECTURES`. A class is called as
        ``spec(in_features, out_sizes, **params)`` with the ``params`` its signature
        declares (all of them if it takes ``**kwargs``), so a user's network need not take
        every size option; an instance is returned as is (estimators pass a copy).
    in_features : int
    out_sizes : sequence of int
    **params
        Sizes and options (``hidden_layer_sizes``, ``tower_sizes``, ``n_experts``, ...).

    Returns
    -------
    network : nn.Module

    Examples
    --------
    >>> net = build_architecture("mmoe", 4, [1, 1], n_experts=2, hidden_layer_sizes=(8,))
    >>> type(net).__name__
    'MMoENetwork'
    """
    factory = ARCHITECTURES.lookup(spec)
    if isinstance(factory, nn.Module):
        return factory
    accepted = declared_options(factory)
    kwargs = {k: v for k, v in params.items() if accepted is None or k in accepted}
    return factory(int(in_features), [int(s) for s in out_sizes], **kwargs)

"""Batched per-task layers and output heads.

Many tasks (School has 139) make a Python loop over per-task ``nn.Linear`` layers the
bottleneck of a training step. The layers here hold the weights of all tasks (or experts)
in one tensor of shape ``(n_groups, in_features, out_features)`` and run one batched matrix
product, so the cost of a step grows with the arithmetic, not with the number of tasks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..utils._registry import Registry

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "TaskHeads",
    "TaskLinear",
    "TaskMLP",
    "head_shrinkage_penalty",
    "make_activation",
]

#: Activations by name (the values accepted by ``activation=``); a module class or
#: instance works too (an instance is copied for each layer).
ACTIVATIONS = Registry("activation", nn.Module, {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "selu": nn.SELU,
    "silu": nn.SiLU,
})


def make_activation(activation: str | type[nn.Module] | nn.Module) -> nn.Module:
    """Return a fresh activation module from a name, a class or an instance.

    Parameters
    ----------
    activation : str, nn.Module subclass or instance
        A key of :data:`ACTIVATIONS` (``"relu"``, ``"gelu"``, ...), a class (called with
        no argument) or an instance (copied).

    Returns
    -------
    module : nn.Module

    Examples
    --------
    >>> make_activation("tanh")
    Tanh()
    """
    return ACTIVATIONS.build(activation)


class MLP(nn.Sequential):
    """Plain multi-layer perceptron: ``Linear -> activation -> dropout`` per hidden layer.

    Parameters
    ----------
    in_features : int
        Input width.
    sizes : sequence of int
        Widths of the layers; an empty sequence is the identity.
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0

    Attributes
    ----------
    out_features : int
        Width of the output (``in_features`` when ``sizes`` is empty).

    Examples
    --------
    >>> import torch
    >>> MLP(4, (8, 3))(torch.zeros(2, 4)).shape
    torch.Size([2, 3])
    """

    def __init__(
        self,
        in_features: int,
        sizes: Sequence[int],
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
    ) -> None:
        layers: list[nn.Module] = []
        width = int(in_features)
        for size in sizes:
            layers.append(nn.Linear(width, int(size)))
            layers.append(make_activation(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        super().__init__(*layers)
        self.out_features = width


class TaskLinear(nn.Module):
    """``n_groups`` independent linear layers evaluated in one batched product.

    Parameters
    ----------
    n_groups : int
        Number of independent layers (tasks or experts).
    in_features, out_features : int

    Notes
    -----
    ``forward`` accepts a shared input of shape ``(batch, in_features)`` (every group sees
    the same rows) or one input per group, ``(n_groups, batch, in_features)``; it returns
    ``(n_groups, batch, out_features)``. With ``group`` (a ``(batch,)`` index tensor) each
    row goes through its own group's layer only (routing; long-format data, where a row
    belongs to one task) and the result is ``(batch, out_features)``: the cost no longer
    grows with the number of groups. Weights are initialised like ``nn.Linear``.

    Examples
    --------
    >>> import torch
    >>> layer = TaskLinear(3, 4, 2)
    >>> layer(torch.zeros(5, 4)).shape
    torch.Size([3, 5, 2])
    >>> layer(torch.zeros(5, 4), group=torch.tensor([0, 2, 2, 1, 0])).shape
    torch.Size([5, 2])
    """

    def __init__(self, n_groups: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.n_groups, self.in_features, self.out_features = (
            int(n_groups), int(in_features), int(out_features)
        )
        self.weight = nn.Parameter(torch.empty(self.n_groups, self.in_features, self.out_features))
        self.bias = nn.Parameter(torch.empty(self.n_groups, 1, self.out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor, group: torch.Tensor | None = None) -> torch.Tensor:
        if group is not None:
            weight = self.weight.index_select(0, group)  # (B, in, out)
            bias = self.bias.index_select(0, group)  # (B, 1, out)
            return torch.baddbmm(bias, x.unsqueeze(1), weight).squeeze(1)
        if x.dim() == 2:
            # (B, in) @ (G, in, out) broadcasts to (G, B, out) in a single batched GEMM.
            return torch.baddbmm(
                self.bias, x.unsqueeze(0).expand(self.n_groups, -1, -1), self.weight
            )
        return torch.baddbmm(self.bias, x, self.weight)

    def extra_repr(self) -> str:
        return f"n_groups={self.n_groups}, in_features={self.in_features}, " \
               f"out_features={self.out_features}"


class TaskMLP(nn.Module):
    """``n_groups`` independent MLPs of the same shape, evaluated batched.

    Parameters
    ----------
    n_groups : int
    in_features : int
    sizes : sequence of int
        Layer widths; empty means the identity (the input is broadcast to every group).
    activation : str or nn.Module, default="relu"
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> TaskMLP(2, 4, (8, 3))(torch.zeros(5, 4)).shape
    torch.Size([2, 5, 3])
    """

    def __init__(
        self,
        n_groups: int,
        in_features: int,
        sizes: Sequence[int],
        activation: str | nn.Module = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.n_groups = int(n_groups)
        layers: list[nn.Module] = []
        width = int(in_features)
        for size in sizes:
            layers.append(TaskLinear(n_groups, width, int(size)))
            layers.append(make_activation(activation))
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(size)
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x: torch.Tensor, group: torch.Tensor | None = None) -> torch.Tensor:
        """``(n_groups, batch, out)``, or ``(batch, out)`` routed by ``group`` (per row)."""
        if group is not None:
            for layer in self.layers:
                x = layer(x, group) if isinstance(layer, TaskLinear) else layer(x)
            return x
        if len(self.layers) == 0:
            return x.unsqueeze(0).expand(self.n_groups, -1, -1) if x.dim() == 2 else x
        return self.layers(x)


class TaskHeads(nn.Module):
    """One linear output layer per task, returning the concatenated task outputs.

    Task ``t`` has ``out_sizes[t]`` outputs (1 for a regression task, the number of classes
    for a classification task). The result has shape ``(batch, sum(out_sizes))`` with the
    tasks' outputs side by side in task order.

    The weights of all heads form one ``(in_features, n_tasks * width)`` matrix
    (``width = max(out_sizes)``), so on a shared representation the heads cost a single
    matrix product, as one ``nn.Linear`` with ``n_tasks * width`` outputs would.

    Parameters
    ----------
    n_tasks : int
    in_features : int
    out_sizes : sequence of int

    Attributes
    ----------
    weight : Parameter of shape (in_features, n_tasks * width)
    bias : Parameter of shape (n_tasks * width,)
    shrinkage : Tensor of shape (n_tasks,) or None
        Per-task strength of :meth:`shrinkage_penalty` (set with :meth:`set_shrinkage`;
        ``None``: no penalty).

    Notes
    -----
    **Shrinkage towards the mean head.** With :meth:`set_shrinkage` the heads carry the
    penalty ``sum_t c_t (||W_t - mean_s W_s||^2 + ||b_t - mean_s b_s||^2)`` over the tasks
    ``t`` of the last training forward pass (every task, or only the tasks of the rows when
    routed by ``task``): the neural analogue of a mean-regularised multi-task ridge,
    ``w_t = w_0 + v_t`` with a penalty on ``v_t``. Means are over all tasks, output column
    by output column (padding columns of tasks with fewer outputs take no part).

    Examples
    --------
    >>> import torch
    >>> heads = TaskHeads(2, 4, [1, 3])
    >>> heads(torch.zeros(5, 4)).shape  # one shared representation
    torch.Size([5, 4])
    >>> heads(torch.zeros(2, 5, 4)).shape  # one representation per task
    torch.Size([5, 4])
    >>> heads.task_weight(1).shape  # task 1's (in_features, width) block
    torch.Size([4, 3])
    """

    def __init__(self, n_tasks: int, in_features: int, out_sizes: Sequence[int]) -> None:
        super().__init__()
        out_sizes = [int(s) for s in out_sizes]
        if len(out_sizes) != n_tasks:
            raise ValueError(f"out_sizes has {len(out_sizes)} entries for {n_tasks} tasks.")
        self.n_tasks, self.in_features, self.out_sizes = int(n_tasks), int(in_features), out_sizes
        self.width = max(out_sizes)
        self.weight = nn.Parameter(torch.empty(self.in_features, self.n_tasks * self.width))
        self.bias = nn.Parameter(torch.empty(self.n_tasks * self.width))
        bound = 1.0 / math.sqrt(self.in_features) if self.in_features else 0.0
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)
        self.uniform = all(s == self.width for s in out_sizes)
        # Columns of the padded (batch, n_tasks * width) output that hold real outputs.
        keep = [t * self.width + j for t, s in enumerate(out_sizes) for j in range(s)]
        self.register_buffer("keep", torch.tensor(keep, dtype=torch.long), persistent=False)
        self.register_buffer("shrinkage", None, persistent=False)
        self._present: torch.Tensor | None = None
        self._labelled: torch.Tensor | None = None

    def set_shrinkage(self, strength) -> None:
        """Set the per-task strength ``c_t`` of :meth:`shrinkage_penalty`.

        Parameters
        ----------
        strength : float, array-like of shape (n_tasks,) or None
            One value for every task, or one per task; ``None`` (or all zeros) removes the
            penalty.
        """
        if strength is None:
            self.shrinkage = None
            return
        values = torch.as_tensor(strength, dtype=self.weight.dtype).flatten()
        if values.numel() == 1:
            values = values.expand(self.n_tasks)
        if values.numel() != self.n_tasks:
            raise ValueError(f"shrinkage has {values.numel()} values for {self.n_tasks} tasks.")
        if not bool(torch.isfinite(values).all()) or bool((values < 0).any()):
            raise ValueError(f"shrinkage must be finite and >= 0, got {values.tolist()}.")
        self.shrinkage = (values.to(self.weight.device).clone() if bool((values > 0).any())
                          else None)

    def shrinkage_penalty(self) -> torch.Tensor | None:
        """The shrinkage penalty of the last training forward pass (see Notes).

        Returns ``None`` when no shrinkage is set or in eval mode. Only the tasks the last
        forward pass was routed to are penalised (their heads are the ones the batch's loss
        reaches), so per step each task's penalty accompanies its loss.
        """
        strength = getattr(self, "shrinkage", None)
        if strength is None or not self.training:
            return None
        weight = self.weight.view(self.in_features, self.n_tasks, self.width)
        bias = self.bias.view(self.n_tasks, self.width)
        if self.uniform:
            dw = weight - weight.mean(dim=1, keepdim=True)
            db = bias - bias.mean(dim=0, keepdim=True)
        else:  # padding columns (tasks with fewer outputs) neither count nor move
            valid = (torch.arange(self.width, device=bias.device)
                     < torch.tensor(self.out_sizes, device=bias.device).unsqueeze(1))
            valid = valid.to(bias.dtype)  # (n_tasks, width)
            n = valid.sum(dim=0)
            dw = (weight - (weight * valid).sum(dim=1, keepdim=True) / n) * valid
            db = (bias - (bias * valid).sum(dim=0, keepdim=True) / n) * valid
        per_task = dw.square().sum(dim=(0, 2)) + db.square().sum(dim=1)  # (n_tasks,)
        labelled = getattr(self, "_labelled", None)
        present = getattr(self, "_present", None)
        if labelled is not None:
            strength = strength * labelled.to(device=strength.device, dtype=strength.dtype)
        elif present is not None:
            strength = strength * torch.zeros_like(strength).index_fill_(0, present, 1.0)
        return (strength * per_task).sum()

    def mark_labelled(self, labelled: torch.Tensor | None) -> None:
        """Penalise, at the next :meth:`shrinkage_penalty`, only the tasks with a label in
        the current batch (bool of shape ``(n_tasks,)``; ``None``: back to the tasks of the
        last forward pass). The estimators call it at each training step, so that a task's
        penalty accompanies its loss also in wide data with missing labels."""
        self._labelled = labelled

    def task_weight(self, t: int) -> torch.Tensor:
        """Task ``t``'s weight block, shape ``(in_features, width)``."""
        return self.weight[:, t * self.width:(t + 1) * self.width]

    def forward(self, x: torch.Tensor, task: torch.Tensor | None = None) -> torch.Tensor:
        """Outputs ``(batch, sum(out_sizes))``; routed by ``task``: ``(batch, width)``.

        Routed (each row's representation ``x`` of shape ``(batch, in_features)`` belongs to
        task ``task[i]``), row ``i`` gets only its own task's outputs, left-aligned and
        padded to ``width = max(out_sizes)``.
        """
        if self.training and getattr(self, "shrinkage", None) is not None:
            self._present = task  # the tasks whose heads this batch trains
        if task is not None:
            weight = self.weight.view(self.in_features, self.n_tasks, self.width)
            weight = weight.index_select(1, task).permute(1, 0, 2)  # (B, in, width)
            bias = self.bias.view(self.n_tasks, 1, self.width).index_select(0, task)
            return torch.baddbmm(bias, x.unsqueeze(1), weight).squeeze(1)
        if x.dim() == 2:
            out = torch.addmm(self.bias, x, self.weight)  # (B, T * width)
        else:
            n_tasks, batch, _ = x.shape
            weight = self.weight.view(self.in_features, n_tasks, self.width).transpose(0, 1)
            out = torch.baddbmm(self.bias.view(n_tasks, 1, self.width), x, weight)
            out = out.squeeze(-1).transpose(0, 1) if self.width == 1 else \
                out.transpose(0, 1).reshape(batch, n_tasks * self.width)
        return out if self.uniform else out.index_select(1, self.keep)

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, in_features={self.in_features}, " \
               f"out_sizes={self.out_sizes}"


def head_shrinkage_penalty(module: nn.Module) -> torch.Tensor | None:
    """Sum of the :meth:`TaskHeads.shrinkage_penalty` of every ``TaskHeads`` in ``module``.

    ``None`` when no head carries a shrinkage (or in eval mode). Networks add it to their
    ``auxiliary_loss()``.

    Parameters
    ----------
    module : nn.Module

    Returns
    -------
    penalty : Tensor or None

    Examples
    --------
    >>> import torch
    >>> heads = TaskHeads(3, 4, [1, 1, 1])
    >>> head_shrinkage_penalty(heads) is None
    True
    >>> heads.set_shrinkage(0.5)
    >>> _ = heads(torch.zeros(2, 4))
    >>> bool(head_shrinkage_penalty(heads) > 0)
    True
    """
    total = None
    for m in module.modules():
        if isinstance(m, TaskHeads):
            penalty = m.shrinkage_penalty()
            if penalty is not None:
                total = penalty if total is None else total + penalty
    return total

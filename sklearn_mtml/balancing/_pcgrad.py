"""Projecting conflicting gradients, PCGrad (Yu et al., 2020)."""

from __future__ import annotations

import torch

from ._base import GradientBalancing


class PCGrad(GradientBalancing):
    r"""Project each task gradient off the gradients it conflicts with, then sum.

    For each task :math:`i`, starting from :math:`\tilde g_i = g_i` and visiting the other
    tasks :math:`j` in a random order,

    .. math::

        \text{if } \tilde g_i \cdot g_j < 0: \quad
        \tilde g_i \leftarrow \tilde g_i - \frac{\tilde g_i \cdot g_j}{\|g_j\|^2}\, g_j,

    and the shared parameters receive :math:`\sum_i \tilde g_i`. Gradients that do not
    conflict are left unchanged (the update is then the plain sum). The order is drawn from
    a ``torch.Generator`` seeded at construction, so runs are reproducible.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.
    seed : int, default=0
        Seed of the generator of the task orders.

    References
    ----------
    T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman and C. Finn, "Gradient surgery for
    multi-task learning", NeurIPS 2020.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import PCGrad
    >>> grads = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # conflicting: dot product -1
    >>> PCGrad(2).combine_gradients(grads)
    tensor([0.5000, 1.5000])
    """

    def __init__(self, n_tasks: int, task_weights=None, seed: int = 0) -> None:
        super().__init__(n_tasks, task_weights)
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        n = grads.shape[0]
        sq_norms = (grads * grads).sum(dim=1)
        # orders[i] is task i's own random order of the other tasks. Round k projects every
        # task at once against the k-th task of its order: n vectorised rounds, no host syncs.
        orders = torch.rand(n, n, generator=self.generator).argsort(dim=1).to(grads.device)
        rows = torch.arange(n, device=grads.device)
        projected = grads.clone()
        for k in range(n):
            j = orders[:, k]
            dots = (projected * grads[j]).sum(dim=1)
            conflict = (dots < 0) & (j != rows) & (sq_norms[j] > 0)
            coef = torch.where(conflict, dots / sq_norms[j].clamp_min(1e-30), 0.0)
            projected = projected - coef[:, None] * grads[j]
        return projected.sum(dim=0)

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, seed={self.seed}"

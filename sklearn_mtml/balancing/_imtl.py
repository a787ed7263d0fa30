"""Impartial multi-task learning, IMTL-G (Liu et al., 2021)."""

from __future__ import annotations

import torch

from ._base import GradientBalancing


class IMTL(GradientBalancing):
    r"""Combine the task gradients so that every task sees the same progress.

    IMTL-G looks for :math:`d = \sum_t \alpha_t g_t` with :math:`\sum_t \alpha_t = 1` whose
    projections on all unit task gradients :math:`u_t = g_t / \|g_t\|` are equal,
    :math:`d \cdot u_1 = d \cdot u_t`. With the rows :math:`D_t = g_1 - g_t` and
    :math:`U_t = u_1 - u_t` (:math:`t \ge 2`) the closed form is

    .. math::

        \alpha_{2:T} = (U D^\top)^{-1} U g_1, \qquad \alpha_1 = 1 - \sum_{t \ge 2} \alpha_t,

    solved by least squares when the system is singular. Tasks with a zero gradient are left
    out (weight 0). Only the gradient part (IMTL-G) of the paper is implemented, not its
    learned loss scaling (IMTL-L).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.

    Attributes
    ----------
    last_alpha : torch.Tensor of shape (n_tasks,)
        The weights :math:`\alpha` of the last step (zero for absent tasks).

    References
    ----------
    L. Liu, Y. Li, Z. Kuang, J.-H. Xue, Y. Chen, W. Yang, Q. Liao and W. Zhang, "Towards
    impartial multi-task learning", ICLR 2021.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import IMTL
    >>> grads = torch.tensor([[3.0, 0.0], [0.0, 1.0]])
    >>> d = IMTL(2).combine_gradients(grads)  # alpha = (1/4, 3/4)
    >>> d
    tensor([0.7500, 0.7500])
    >>> d @ torch.tensor([1.0, 0.0]), d @ torch.tensor([0.0, 1.0])  # equal projections
    (tensor(0.7500), tensor(0.7500))
    """

    def __init__(self, n_tasks: int, task_weights=None) -> None:
        super().__init__(n_tasks, task_weights)
        self.register_buffer("last_alpha", torch.full((self.n_tasks,), 1.0 / self.n_tasks))

    def weights(self) -> torch.Tensor:
        return self.task_weights * self.last_alpha

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        tasks = list(range(grads.shape[0])) if tasks is None else list(tasks)
        # Everything from the n x n Gram matrix, in float64 on the CPU: K[i, j] = u_i . g_j.
        gram = (grads @ grads.T).detach().to(device="cpu", dtype=torch.float64)
        norms = torch.diagonal(gram).clamp_min(0).sqrt()
        nonzero = norms > 0
        alpha = torch.zeros(grads.shape[0], dtype=torch.float64)
        if bool(nonzero.any()):
            keep = nonzero.nonzero().flatten()
            K = gram[keep][:, keep] / norms[keep, None]
            if keep.numel() == 1:
                sub = torch.ones(1, dtype=torch.float64)
            else:
                # (U D^T)[t, s] = (u_1 - u_t) . (g_1 - g_s),  (U g_1)[t] = (u_1 - u_t) . g_1
                A = K[0, 0] - K[0, 1:][None, :] - K[1:, :1] + K[1:, 1:]
                rhs = (K[0, 0] - K[1:, 0])[:, None]
                rest = torch.linalg.lstsq(A, rhs).solution.flatten()
                sub = torch.cat([1 - rest.sum(dim=0, keepdim=True), rest])
            alpha[keep] = sub
        self.last_alpha.zero_()
        self.last_alpha[tasks] = alpha.to(self.last_alpha)
        return alpha.to(device=grads.device, dtype=grads.dtype) @ grads

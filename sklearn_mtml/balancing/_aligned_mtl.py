"""Aligned-MTL: aligning the principal components of the task gradients (Senushkin et al., 2023)."""

from __future__ import annotations

import torch

from ._base import GradientBalancing


class AlignedMTL(GradientBalancing):
    r"""Make the task-gradient system perfectly conditioned, then sum.

    With :math:`G` the matrix of task gradients (one row per task) and the eigendecomposition
    :math:`G G^\top = V \Lambda V^\top`, the gradients are replaced by

    .. math::

        \hat G = B G, \qquad B = \sqrt{\lambda_{\min}}\; V \Lambda^{-1/2} V^\top,

    whose singular values all equal the smallest one, :math:`\sigma_{\min}`: the aligned
    gradients are orthogonal components of equal norm, so no task dominates and none
    conflicts. The shared parameters receive :math:`\sum_t \hat g_t`. Eigenvalues below a
    relative tolerance are dropped (a rank-deficient system is aligned in its span).
    ``task_weights`` scale the losses before alignment, which normalises scales away: a
    weight changes a task's direction's share, not its magnitude (a zero weight still
    removes the task).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.

    References
    ----------
    D. Senushkin, N. Patakin, A. Kuznetsov and A. Konushin, "Independent component alignment
    for multi-task learning", CVPR 2023.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import AlignedMTL
    >>> grads = torch.tensor([[3.0, 0.0], [0.0, 1.0]])  # orthogonal, norms 3 and 1
    >>> AlignedMTL(2).combine_gradients(grads)  # both brought to the smallest norm
    tensor([1., 1.])
    """

    def align(self, grads: torch.Tensor) -> torch.Tensor:
        """Align the task gradients.

        Parameters
        ----------
        grads : torch.Tensor of shape (n_tasks, n_shared)
            One gradient per task.

        Returns
        -------
        aligned : torch.Tensor of shape (n_tasks, n_shared)
            The aligned gradients :math:`\\hat G = B G`.
        """
        # n_tasks x n_tasks: solved in float64 on the CPU (float64 is not on every device)
        gram = (grads @ grads.T).detach().to(device="cpu", dtype=torch.float64)
        eigvals, eigvecs = torch.linalg.eigh(gram)
        top = float(eigvals.max())
        if top <= 0:
            return torch.zeros_like(grads)
        keep = eigvals > top * grads.shape[0] * torch.finfo(grads.dtype).eps * 10
        eigvals, eigvecs = eigvals[keep], eigvecs[:, keep]
        B = eigvals.min().sqrt() * (eigvecs * eigvals.rsqrt()) @ eigvecs.T
        return B.to(device=grads.device, dtype=grads.dtype) @ grads

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        return self.align(grads).sum(dim=0)

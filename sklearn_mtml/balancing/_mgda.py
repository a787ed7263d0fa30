"""Multiple-gradient descent, MGDA (Sener & Koltun, 2018)."""

from __future__ import annotations

import torch

from ._base import GradientBalancing
from ._min_norm import min_norm_weights

_NORMALIZATIONS = ("none", "l2", "loss", "loss+")


class MGDA(GradientBalancing):
    r"""Follow the minimum-norm point of the convex hull of the task gradients.

    Solves :math:`\min_{\alpha \in \Delta} \|\sum_t \alpha_t g_t\|^2` over the simplex and
    updates the shared parameters with :math:`d = \sum_t \alpha_t g_t`, a direction that
    decreases every task's loss (or is zero at a Pareto-stationary point). The solution is
    exact for two tasks,

    .. math::

        \alpha_1 = \operatorname{clip}\!\left(
            \frac{(g_2 - g_1) \cdot g_2}{\|g_1 - g_2\|^2}, 0, 1\right), \quad
        \alpha_2 = 1 - \alpha_1,

    and found by Frank-Wolfe iterations beyond. As in the paper the weights sum to one, so
    the update has the scale of one task's gradient (not of the sum of losses). The gradients
    can first be normalised (``normalization``) as in the authors' code: the weights are
    solved on the normalised gradients and applied to the original ones.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.
    normalization : {"none", "l2", "loss", "loss+"}, default="none"
        Scale of each gradient before solving: none, its L2 norm, its loss, or both.
    max_iter : int, default=250
        Maximum number of Frank-Wolfe iterations (more than two tasks).

    Attributes
    ----------
    last_alpha : torch.Tensor of shape (n_tasks,)
        Weights of the last step (zero for absent tasks); returned by :meth:`weights`
        (times ``task_weights``).

    References
    ----------
    O. Sener and V. Koltun, "Multi-task learning as multi-objective optimization",
    NeurIPS 2018.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import MGDA
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> MGDA(2).combine_gradients(grads)  # alpha = (0.8, 0.2)
    tensor([0.8000, 0.4000])
    """

    def __init__(
        self,
        n_tasks: int,
        task_weights=None,
        normalization: str = "none",
        max_iter: int = 250,
    ) -> None:
        super().__init__(n_tasks, task_weights)
        if normalization not in _NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {list(_NORMALIZATIONS)}, got {normalization!r}."
            )
        self.normalization = normalization
        self.max_iter = int(max_iter)
        self.register_buffer("last_alpha", torch.full((self.n_tasks,), 1.0 / self.n_tasks))

    def weights(self) -> torch.Tensor:
        return self.task_weights * self.last_alpha

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        scale = torch.ones(grads.shape[0], dtype=grads.dtype, device=grads.device)
        if self.normalization in ("l2", "loss+"):
            scale = scale * grads.norm(dim=1)
        if self.normalization in ("loss", "loss+"):
            if losses is None:
                raise ValueError(f"normalization={self.normalization!r} needs the losses.")
            scale = scale * losses.to(grads)
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        normed = grads / scale[:, None]
        alpha = min_norm_weights(normed @ normed.T, max_iter=self.max_iter)
        alpha = alpha.to(device=grads.device, dtype=grads.dtype)
        tasks = list(range(grads.shape[0])) if tasks is None else list(tasks)
        self.last_alpha.zero_()
        self.last_alpha[tasks] = alpha.to(self.last_alpha)
        return alpha @ grads

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, normalization={self.normalization!r}"

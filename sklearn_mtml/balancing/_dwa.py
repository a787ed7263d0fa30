"""Dynamic Weight Average (Liu, Johns & Davison, 2019)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import LossWeighting


class DynamicWeightAverage(LossWeighting):
    r"""Weight tasks by how slowly their loss has been falling.

    With :math:`\bar L_t(e)` the mean training loss of task :math:`t` in epoch :math:`e` and
    :math:`r_t = \bar L_t(e-1) / \bar L_t(e-2)`, the weights of epoch :math:`e` are

    .. math::

        w_t = K \frac{\exp(r_t / T)}{\sum_k \exp(r_k / T)},

    so they sum to the number of tasks :math:`K` and favour the task whose loss fell least.
    The first two epochs use equal weights. A task not observed in one of the two epochs
    (``NaN`` mean loss) gets :math:`r_t = 1`.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers applied on top; ``None`` means ones.
    temperature : float, default=2.0
        Softmax temperature :math:`T`; larger is closer to equal weights.

    References
    ----------
    S. Liu, E. Johns and A. J. Davison, "End-to-end multi-task learning with attention",
    CVPR 2019.

    Examples
    --------
    >>> from sklearn_mtml.balancing import DynamicWeightAverage
    >>> w = DynamicWeightAverage(2, temperature=1.0)
    >>> w.epoch_end([1.0, 1.0])
    >>> w.weights()
    tensor([1., 1.])
    >>> w.epoch_end([0.5, 0.9])  # task 1 improved least: it gets more weight
    >>> w.weights()
    tensor([0.8026, 1.1974])
    """

    def __init__(self, n_tasks: int, task_weights=None, temperature: float = 2.0) -> None:
        super().__init__(n_tasks, task_weights)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}.")
        self.temperature = float(temperature)
        # Rows: mean losses of the epoch before last and of the last epoch.
        self.register_buffer("loss_history", torch.full((2, self.n_tasks), float("nan")))

    def weights(self) -> torch.Tensor:
        before, last = self.loss_history[0], self.loss_history[1]
        ratio = last / before
        ratio = torch.where(torch.isfinite(ratio) & (before > 0), ratio, torch.ones_like(ratio))
        w = self.n_tasks * torch.softmax(ratio / self.temperature, dim=0)
        return self.task_weights * w

    def epoch_end(self, epoch_losses) -> None:
        losses = np.asarray(epoch_losses, dtype=np.float64).reshape(-1)
        if losses.shape[0] != self.n_tasks:
            raise ValueError(
                f"epoch_losses has length {losses.shape[0]} but there are {self.n_tasks} tasks."
            )
        new = torch.as_tensor(
            losses, dtype=self.loss_history.dtype, device=self.loss_history.device
        )
        self.loss_history[0] = self.loss_history[1]
        self.loss_history[1] = new

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, temperature={self.temperature}"

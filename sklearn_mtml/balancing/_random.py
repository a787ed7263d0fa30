"""Random loss weighting (Lin et al., 2022)."""

from __future__ import annotations

import torch

from ._base import LossWeighting


class RandomWeighting(LossWeighting):
    r"""Random loss weighting (RLW): fresh random weights at every step.

    At each call of :meth:`backward` the weights of the present tasks are drawn as
    :math:`w = \operatorname{softmax}(z)`, :math:`z \sim \mathcal N(0, I)` (they sum to one over
    the present tasks), and the objective is :math:`\sum_t w_t L_t`. The draws come from a
    ``torch.Generator`` seeded at construction, so runs are reproducible.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers applied on top; ``None`` means ones.
    seed : int, default=0
        Seed of the generator of the random weights.

    Attributes
    ----------
    last_weights : torch.Tensor of shape (n_tasks,)
        The weights used by the last :meth:`backward` (zero for absent tasks); returned by
        :meth:`weights`. Equal weights ``1 / n_tasks`` before the first step.

    References
    ----------
    B. Lin, F. Ye, Y. Zhang and I. W. Tsang, "Reasonable effectiveness of random weighting: a
    litmus test for multi-task learning", TMLR 2022.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import RandomWeighting
    >>> w = RandomWeighting(3, seed=0)
    >>> losses = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> _ = w.backward(losses, [], torch.tensor([True, False, True]))
    >>> float(w.weights().sum()), float(w.weights()[1])
    (1.0, 0.0)
    """

    def __init__(self, n_tasks: int, task_weights=None, seed: int = 0) -> None:
        super().__init__(n_tasks, task_weights)
        self.seed = int(seed)
        self.generator = torch.Generator().manual_seed(self.seed)
        self.register_buffer("last_weights", torch.full((self.n_tasks,), 1.0 / self.n_tasks))

    def weights(self) -> torch.Tensor:
        return self.task_weights * self.last_weights

    def _weighted_loss(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        # Drawn on the CPU generator whatever the device, so a seed gives the same draws.
        z = torch.randn(self.n_tasks, generator=self.generator)
        z[~present.cpu()] = float("-inf")
        self.last_weights.copy_(torch.softmax(z, dim=0))
        weights = self.weights().to(device=losses.device, dtype=losses.dtype)
        return (weights * losses)[present].sum()

    def get_extra_state(self) -> torch.Tensor:
        """The generator's state, saved in ``state_dict`` (checkpoints resume its draws)."""
        return self.generator.get_state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(torch.as_tensor(state, dtype=torch.uint8).cpu())

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, seed={self.seed}"

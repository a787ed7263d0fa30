"""Homoscedastic-uncertainty weighting (Kendall, Gal & Cipolla, 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._base import LossWeighting


class UncertaintyWeighting(LossWeighting):
    r"""Learn one log-variance per task and weight each loss by its precision.

    Each task has a learnable :math:`s_t = \log \sigma_t^2` and the objective is

    .. math::

        \sum_t c_t e^{-s_t} L_t + \tfrac12 s_t, \qquad
        c_t = \tfrac12 \text{ (regression)}, \quad c_t = 1 \text{ (classification)},

    i.e. :math:`L_t / (2\sigma_t^2) + \log\sigma_t` for a Gaussian likelihood and
    :math:`L_t / \sigma_t^2 + \log\sigma_t` for a softmax likelihood. For a constant loss
    the optimum is :math:`\sigma_t^2 = L_t` (regression) or :math:`2 L_t` (classification):
    noisy, high-loss tasks are down-weighted. ``task_weights[t]`` multiplies task ``t``'s whole
    term (it leaves the optimal :math:`\sigma_t` unchanged).

    The log-variances are parameters of this module; :meth:`backward` fills their
    ``.grad`` and the estimator's optimizer updates them with the model.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers; ``None`` means ones.
    task_types : sequence of {"regression", "classification"}, default=None
        Likelihood of each task; ``None`` means all ``"regression"``.
    init_log_variance : float, default=0.0
        Starting value of every :math:`s_t`.

    Attributes
    ----------
    log_variances : torch.nn.Parameter of shape (n_tasks,)
        The learnable :math:`s_t = \log\sigma_t^2`.

    References
    ----------
    A. Kendall, Y. Gal and R. Cipolla, "Multi-task learning using uncertainty to weigh losses
    for scene geometry and semantics", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import UncertaintyWeighting
    >>> w = UncertaintyWeighting(2, task_types=("regression", "classification"))
    >>> w.weights()
    tensor([0.5000, 1.0000])
    >>> losses = torch.tensor([4.0, 1.0], requires_grad=True)
    >>> w.backward(losses, [], torch.tensor([True, True]))
    tensor(3.)
    >>> w.log_variances.grad  # d/ds of (c e^-s L + s/2) at s=0: 1/2 - c L
    tensor([-1.5000, -0.5000])
    """

    def __init__(
        self,
        n_tasks: int,
        task_weights=None,
        task_types: Sequence[str] | None = None,
        init_log_variance: float = 0.0,
    ) -> None:
        super().__init__(n_tasks, task_weights)
        if task_types is None:
            task_types = ("regression",) * self.n_tasks
        task_types = tuple(task_types)
        if len(task_types) != self.n_tasks:
            raise ValueError(
                f"task_types has length {len(task_types)} but there are {self.n_tasks} tasks."
            )
        bad = sorted({t for t in task_types if t not in ("regression", "classification")})
        if bad:
            raise ValueError(
                f"Unknown task types {bad}; expected 'regression' or 'classification'."
            )
        self.task_types = task_types
        self.register_buffer(
            "precision_factor",
            torch.tensor([0.5 if t == "regression" else 1.0 for t in task_types]),
        )
        self.log_variances = torch.nn.Parameter(
            torch.full((self.n_tasks,), float(init_log_variance))
        )

    def weights(self) -> torch.Tensor:
        """Current per-task weights of the losses.

        Returns
        -------
        weights : torch.Tensor of shape (n_tasks,)
            ``task_weights * c_t * exp(-s_t)``, detached.
        """
        return (self.task_weights * self.precision_factor * torch.exp(-self.log_variances)).detach()

    def _weighted_loss(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        s = self.log_variances.to(device=losses.device, dtype=losses.dtype)
        c = self.precision_factor.to(device=losses.device, dtype=losses.dtype)
        tw = self.task_weights.to(device=losses.device, dtype=losses.dtype)
        terms = tw * (c * torch.exp(-s) * losses + 0.5 * s)
        return terms[present].sum()

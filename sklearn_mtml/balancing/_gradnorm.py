"""Gradient normalisation, GradNorm (Chen et al., 2018)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._base import LossWeighting, _flat_grad, _present_mask


class GradNorm(LossWeighting):
    r"""Learn task weights that equalise the tasks' gradient norms at their training pace.

    The model minimises :math:`\sum_t w_t L_t` with learnable weights :math:`w_t` (starting
    at one). With :math:`G_t = \|\nabla_W w_t L_t\|` the gradient norm of task :math:`t` on
    the shared parameters :math:`W`, :math:`\bar G` its mean over tasks,
    :math:`\tilde L_t = L_t / L_t(0)` the loss relative to its first value and
    :math:`r_t = \tilde L_t / \operatorname{mean}(\tilde L)` the relative inverse training
    rate, the weights minimise

    .. math::

        L_{grad} = \sum_t \left| G_t - \bar G\, r_t^{\alpha} \right|,

    the target :math:`\bar G r_t^\alpha` being held constant. Tasks that train slowly
    (large :math:`r_t`) are pushed to larger gradients; ``alpha=0`` simply equalises the
    gradient norms.

    *Update.* :meth:`backward` adds the gradient of :math:`\sum_t w_t L_t` (weights held
    fixed) to the model's parameters, and writes
    :math:`\partial L_{grad}/\partial w_t = \operatorname{sign}(G_t - \bar G r_t^\alpha)\,
    \|\nabla_W L_t\|` (exact, since :math:`G_t = w_t \|\nabla_W L_t\|`) into
    ``task_loss_weights.grad``: the estimator's shared optimizer step then updates the
    weights with the model. Every call starts by renormalising the weights to be positive
    and sum to ``n_tasks`` (the paper's renormalisation after each step). :math:`W` is
    whatever ``shared_parameters`` the caller passes (the paper uses the last shared layer;
    passing all shared parameters costs more but measures the same thing). A task's
    :math:`L_t(0)` is its loss the first time it is present.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.
    alpha : float, default=1.5
        Strength of the pull towards equal training rates.

    Attributes
    ----------
    task_loss_weights : torch.nn.Parameter of shape (n_tasks,)
        The learnable weights :math:`w_t`.
    initial_losses : torch.Tensor of shape (n_tasks,)
        :math:`L_t(0)`, ``NaN`` until the task is first seen.

    References
    ----------
    Z. Chen, V. Badrinarayanan, C.-Y. Lee and A. Rabinovich, "GradNorm: gradient
    normalization for adaptive loss balancing in deep multitask networks", ICML 2018.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import GradNorm
    >>> w = GradNorm(2, alpha=0.0)
    >>> theta = torch.nn.Parameter(torch.ones(2))
    >>> losses = torch.stack([theta[0], 10 * theta[1]])  # gradient norms 1 and 10
    >>> w.backward(losses, [theta], torch.tensor([True, True]))
    tensor(11.)
    >>> w.task_loss_weights.grad  # raise the first weight, lower the second
    tensor([-1., 10.])
    """

    uses_task_gradients: bool = True

    def __init__(self, n_tasks: int, task_weights=None, alpha: float = 1.5) -> None:
        super().__init__(n_tasks, task_weights)
        self.alpha = float(alpha)
        self.task_loss_weights = torch.nn.Parameter(torch.ones(self.n_tasks))
        self.register_buffer("initial_losses", torch.full((self.n_tasks,), float("nan")))

    def weights(self) -> torch.Tensor:
        w = self.task_loss_weights.detach().clamp_min(1e-6)
        return self.task_weights * w * (self.n_tasks / w.sum())

    @torch.no_grad()
    def _renormalize(self) -> None:
        w = self.task_loss_weights
        w.clamp_(min=1e-6)
        w.mul_(self.n_tasks / w.sum())

    def backward(
        self,
        losses: torch.Tensor,
        shared_parameters: Sequence[torch.nn.Parameter] = (),
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        self._renormalize()
        present, losses = _present_mask(losses, present, self.n_tasks)
        if not bool(present.any()):
            return losses.new_zeros(())
        scaled = losses * self.task_weights.to(device=losses.device, dtype=losses.dtype)
        w = self.task_loss_weights.detach().to(device=losses.device, dtype=losses.dtype)
        total = (w * scaled)[present].sum()
        if not total.requires_grad:
            return total.detach()
        shared = [p for p in shared_parameters if p.requires_grad]
        tasks = present.nonzero().flatten().tolist()
        norms = (
            torch.stack([_flat_grad(scaled[t], shared).norm() for t in tasks]) if shared else None
        )
        total.backward()
        if norms is None:
            return total.detach()

        current = scaled.detach()[tasks]
        initial = self.initial_losses.to(current)
        new = torch.isnan(initial[tasks])
        initial[torch.tensor(tasks, device=initial.device)[new]] = current[new]
        self.initial_losses.copy_(initial.to(self.initial_losses))
        ratio = current / initial[tasks]
        ratio = torch.where(torch.isfinite(ratio) & (ratio > 0), ratio, torch.ones_like(ratio))
        rate = ratio / ratio.mean()
        G = w[tasks] * norms
        target = G.mean() * rate**self.alpha
        grad = torch.zeros_like(self.task_loss_weights)
        grad[tasks] = (torch.sign(G - target) * norms).to(grad)
        if self.task_loss_weights.grad is None:
            self.task_loss_weights.grad = grad
        else:
            self.task_loss_weights.grad += grad
        return total.detach()

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, alpha={self.alpha}"

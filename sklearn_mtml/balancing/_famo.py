"""Fast adaptive multitask optimisation, FAMO (Liu et al., 2023)."""

from __future__ import annotations

import torch

from ._base import LossWeighting


class FAMO(LossWeighting):
    r"""Balance the tasks' log-loss decrease with O(1) cost per step.

    FAMO keeps task logits :math:`\xi` (weights :math:`z = \operatorname{softmax}(\xi)`) and
    minimises the weighted log-losses, normalised:

    .. math::

        \sum_t \frac{z_t}{c} \log L_t, \qquad c = \sum_t \frac{z_t}{L_t}
        \;\;(\text{held constant}),

    whose gradient is :math:`\sum_t \frac{z_t}{c L_t} \nabla L_t` (weights summing to one).
    The logits follow the observed decrease of the log-losses,
    :math:`\delta_t = \log L_t^{\text{before}} - \log L_t^{\text{after}}`: their gradient is
    :math:`J_z(\xi)^\top \delta + \gamma \xi`, which moves weight towards tasks whose loss
    fell least.

    *Update.* Only one batch's losses are seen per call, so :math:`\delta` compares the
    previous call's losses with this call's (consecutive batches rather than one batch
    before and after the step, as in the authors' code: noisier, no extra forward pass).
    :meth:`backward` writes the logits' gradient into ``logits.grad`` and the estimator's
    optimizer steps them with the model (the authors use a separate Adam with learning rate
    0.025). Softmaxes run over the tasks present (in both calls, for :math:`\delta`), so an
    absent task neither gets nor moves weight. ``task_weights`` multiply :math:`z`.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of :math:`z`; ``None`` means ones.
    gamma : float, default=0.001
        Weight decay of the logits.
    eps : float, default=1e-8
        Added to the losses before taking logs (losses are assumed non-negative).

    Attributes
    ----------
    logits : torch.nn.Parameter of shape (n_tasks,)
        The task logits :math:`\xi`; :meth:`weights` returns ``task_weights * softmax(logits)``.

    References
    ----------
    B. Liu, Y. Feng, P. Stone and Q. Liu, "FAMO: Fast adaptive multitask optimization",
    NeurIPS 2023.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import FAMO
    >>> famo = FAMO(2)
    >>> _ = famo.backward(torch.tensor([1.0, 1.0], requires_grad=True))
    >>> _ = famo.backward(torch.tensor([0.5, 1.0], requires_grad=True))  # task 0 improved
    >>> bool(famo.logits.grad[0] > 0 > famo.logits.grad[1])  # descent shifts weight to task 1
    True
    """

    def __init__(
        self, n_tasks: int, task_weights=None, gamma: float = 0.001, eps: float = 1e-8
    ) -> None:
        super().__init__(n_tasks, task_weights)
        if not gamma >= 0:
            raise ValueError(f"gamma must be non-negative, got {gamma!r}.")
        self.gamma = float(gamma)
        self.eps = float(eps)
        self.logits = torch.nn.Parameter(torch.zeros(self.n_tasks))
        # log-losses of the previous call, NaN for tasks absent from it
        self.register_buffer("previous_log_losses", torch.full((self.n_tasks,), float("nan")))

    def weights(self) -> torch.Tensor:
        return self.task_weights * torch.softmax(self.logits.detach(), dim=0)

    def _weighted_loss(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        log_losses = torch.log(losses.clamp_min(0) + self.eps)
        self._update_logits_grad(log_losses.detach(), present)
        xi = self.logits.detach().to(device=losses.device, dtype=losses.dtype)
        xi = xi.masked_fill(~present, float("-inf"))
        tw = self.task_weights.to(device=losses.device, dtype=losses.dtype)
        z = (tw * torch.softmax(xi, dim=0))[present]
        c = (z / torch.exp(log_losses.detach()[present])).sum()
        if c <= 0:  # every present task has a zero task weight
            return (0 * losses)[present].sum()
        return (z / c * log_losses[present]).sum()

    def _update_logits_grad(self, log_losses: torch.Tensor, present: torch.Tensor) -> None:
        previous = self.previous_log_losses.to(log_losses, copy=True)
        both = present & ~torch.isnan(previous)
        self.previous_log_losses.copy_(
            torch.where(present, log_losses, torch.full_like(log_losses, float("nan")))
        )
        if not bool(both.any()):
            return
        delta = torch.where(both, previous - log_losses, torch.zeros_like(log_losses))
        with torch.enable_grad():
            xi = self.logits.detach().to(log_losses).requires_grad_()
            z = torch.softmax(xi.masked_fill(~both, float("-inf")), dim=0)
            (grad,) = torch.autograd.grad(z, xi, grad_outputs=delta)
        grad = torch.where(both, grad + self.gamma * xi.detach(), torch.zeros_like(grad))
        grad = grad.to(self.logits)
        if self.logits.grad is None:
            self.logits.grad = grad
        else:
            self.logits.grad += grad

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, gamma={self.gamma}"

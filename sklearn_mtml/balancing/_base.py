"""Abstract bases of the task-balancing catalogue.

Two families share one interface, :meth:`LossWeighting.backward`, which plays the role of
``loss.backward()`` in a training step:

* **loss-weighting methods** (fixed, uncertainty, DWA, ...) override :meth:`LossWeighting.weights`
  (and, when they add a regulariser, ``_weighted_loss``) and back-propagate one weighted sum;
* **gradient methods** (PCGrad, MGDA, CAGrad, ...) subclass :class:`GradientBalancing`, get one
  gradient per present task for the shared parameters and override only
  :meth:`GradientBalancing.combine_gradients`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def _check_n_tasks(n_tasks: int) -> int:
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {n_tasks!r}.")
    return int(n_tasks)


def _check_task_weights(task_weights, n_tasks: int) -> torch.Tensor:
    if task_weights is None:
        return torch.ones(n_tasks)
    values = torch.as_tensor(np.asarray(task_weights, dtype=np.float64), dtype=torch.float32)
    if values.ndim != 1 or values.shape[0] != n_tasks:
        length = values.shape[0] if values.ndim == 1 else f"shape {tuple(values.shape)}"
        raise ValueError(
            f"task_weights has length {length} but there are {n_tasks} tasks; "
            f"pass one weight per task."
        )
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"task_weights must be finite and non-negative, got {values.tolist()}.")
    return values


def _present_mask(losses: torch.Tensor, present, n_tasks: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask of the tasks observed in the batch (on the device of ``losses``), and the losses
    with absent entries set to 0, so that a NaN placeholder cannot reach any gradient."""
    if present is None:
        present = torch.ones(losses.shape[0], dtype=torch.bool, device=losses.device)
    present = torch.as_tensor(present, device=losses.device).to(torch.bool)
    if losses.shape != (n_tasks,) or present.shape != (n_tasks,):
        raise ValueError(
            f"losses and present must have shape ({n_tasks},) (one entry per task); got "
            f"{tuple(losses.shape)} and {tuple(present.shape)}."
        )
    # No ``if present.all()`` shortcut: reading a device tensor on the host forces a GPU
    # synchronisation every step.
    return present, torch.where(present, losses, torch.zeros_like(losses))


class LossWeighting(torch.nn.Module):
    """Base class of the task-balancing methods.

    A balancing method turns the per-task losses of a batch into gradients. Subclasses
    either override :meth:`weights` (loss-weighting methods: the gradient is that of
    ``(weights() * losses)[present].sum()``) or :meth:`backward` (gradient methods, see
    :class:`GradientBalancing`).

    Learnable state of a method (uncertainty log-variances, GradNorm weights, ...) is held
    as ``torch.nn.Parameter`` of this module: the estimator gives ``self.parameters()`` to the
    same optimizer as the model, and :meth:`backward` fills their ``.grad``.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed, non-negative per-task multipliers applied by every method on top of its own
        weighting (a gradient method scales each task's loss before taking its gradient).
        ``None`` means ones.

    Attributes
    ----------
    task_weights : torch.Tensor of shape (n_tasks,)
        The fixed multipliers (a buffer: it follows the module's device).
    uses_task_gradients : bool
        Whether :meth:`backward` needs one gradient per task of the shared parameters (an
        extra backward pass per task). ``False`` for pure loss-weighting methods.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import LossWeighting
    >>> class HalfFirst(LossWeighting):
    ...     def weights(self):
    ...         return self.task_weights * torch.tensor([0.5, 1.0])
    >>> w = HalfFirst(n_tasks=2)
    >>> theta = torch.nn.Parameter(torch.ones(2))
    >>> losses = theta * torch.tensor([2.0, 3.0])
    >>> w.backward(losses, [theta], torch.tensor([True, True]))
    tensor(4.)
    >>> theta.grad
    tensor([1., 3.])
    """

    uses_task_gradients: bool = False

    def __init__(self, n_tasks: int, task_weights=None) -> None:
        super().__init__()
        self.n_tasks = _check_n_tasks(n_tasks)
        self.register_buffer("task_weights", _check_task_weights(task_weights, self.n_tasks))

    def weights(self) -> torch.Tensor:
        """Current per-task weights of the losses.

        Returns
        -------
        weights : torch.Tensor of shape (n_tasks,)
            The weights, ``task_weights`` included (for gradient methods: the combination
            weights of the last step where the method has them, else ``task_weights``).
        """
        return self.task_weights.clone()

    def _weighted_loss(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """Scalar objective of a loss-weighting method (override to add a regulariser)."""
        weights = self.weights().to(device=losses.device, dtype=losses.dtype)
        weighted = weights * losses
        return torch.where(present, weighted, torch.zeros_like(weighted)).sum()

    def backward(
        self,
        losses: torch.Tensor,
        shared_parameters: Sequence[torch.nn.Parameter] = (),
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Compute the gradients of a training step (the role of ``loss.backward()``).

        Gradients are *added* to ``.grad`` (as ``loss.backward()`` does), so the caller
        zeroes them before, and gradient accumulation over batches keeps working.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            Per-task mean losses of the batch. The loss of a task with no observed label in
            the batch is ignored (0 by convention).
        shared_parameters : sequence of torch.nn.Parameter
            Parameters shared by all tasks. Loss-weighting methods ignore them; gradient
            methods combine the per-task gradients of these parameters.
        present : torch.Tensor of shape (n_tasks,), dtype bool, default=None
            Which tasks have at least one observed label in the batch. An absent task gets no
            gradient and does not change the others' treatment. ``None`` means all present.

        Returns
        -------
        total : torch.Tensor
            The scalar objective that was differentiated, detached (for logging).
        """
        total = self.objective(losses, present)
        if total.requires_grad:
            total.backward()
        return total.detach()

    def objective(self, losses: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """The scalar objective whose gradient :meth:`backward` computes (loss weighting).

        For loss-weighting methods ``backward`` is ``objective(...).backward()``; a caller
        that must differentiate the objective itself (a loss scaler, gradient accumulation)
        uses this. Gradient methods, which override ``backward``, have no such objective.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            Per-task mean losses of the batch.
        present : torch.Tensor of shape (n_tasks,), dtype bool, default=None
            Which tasks have at least one observed label in the batch.

        Returns
        -------
        objective : torch.Tensor
            A scalar, differentiable with respect to the losses and the method's own
            parameters.
        """
        present, losses = _present_mask(losses, present, self.n_tasks)
        return self._weighted_loss(losses, present)

    def epoch_end(self, epoch_losses) -> None:
        """Receive the per-task mean training loss of the finished epoch (default: no-op).

        Parameters
        ----------
        epoch_losses : array-like of shape (n_tasks,)
            Mean training loss of each task over the epoch; ``NaN`` for a task never
            observed in the epoch.
        """

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}"


class GradientBalancing(LossWeighting):
    """Base class of the gradient methods (PCGrad, MGDA, CAGrad, ...).

    :meth:`backward` takes one gradient per present task of the shared parameters with
    ``torch.autograd.grad(..., retain_graph=True)`` (task ``t``'s loss scaled by
    ``task_weights[t]``), hands the ``(n_present, n_shared)`` matrix to
    :meth:`combine_gradients`, and adds the combined vector to the shared parameters'
    ``.grad``. Every other parameter (task heads, ...) gets its usual gradient, that of the
    sum of the present (scaled) losses. Subclasses implement only :meth:`combine_gradients`.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses. ``None`` means ones.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import GradientBalancing
    >>> class MaxNorm(GradientBalancing):
    ...     def combine_gradients(self, grads, losses=None, tasks=None):
    ...         return grads[grads.norm(dim=1).argmax()]
    >>> theta = torch.nn.Parameter(torch.zeros(2))
    >>> losses = torch.stack([theta @ torch.tensor([1.0, 0.0]), theta @ torch.tensor([0.0, 3.0])])
    >>> _ = MaxNorm(n_tasks=2).backward(losses, [theta], torch.tensor([True, True]))
    >>> theta.grad
    tensor([0., 3.])
    """

    uses_task_gradients: bool = True

    def combine_gradients(
        self,
        grads: torch.Tensor,
        losses: torch.Tensor | None = None,
        tasks: Sequence[int] | None = None,
    ) -> torch.Tensor:
        """Combine per-task gradients into one update direction.

        Parameters
        ----------
        grads : torch.Tensor of shape (n_present, n_shared)
            One flattened gradient of the shared parameters per present task.
        losses : torch.Tensor of shape (n_present,), default=None
            The (detached, scaled) losses of the present tasks, for methods that use them.
        tasks : sequence of int, default=None
            Indices of the present tasks (row ``k`` of ``grads`` is task ``tasks[k]``), for
            methods that keep per-task state; ``None`` means ``range(n_present)``.

        Returns
        -------
        direction : torch.Tensor of shape (n_shared,)
            The gradient written to the shared parameters.
        """
        raise NotImplementedError

    def backward(
        self,
        losses: torch.Tensor,
        shared_parameters: Sequence[torch.nn.Parameter] = (),
        present: torch.Tensor | None = None,
    ) -> torch.Tensor:
        present, losses = _present_mask(losses, present, self.n_tasks)
        if not bool(present.any()):
            return losses.new_zeros(())
        scaled = losses * self.task_weights.to(device=losses.device, dtype=losses.dtype)
        total = scaled[present].sum()
        if not total.requires_grad:
            return total.detach()
        shared = [p for p in shared_parameters if p.requires_grad]
        if not shared:
            total.backward()
            return total.detach()

        tasks = present.nonzero().flatten().tolist()
        grads = torch.stack([_flat_grad(scaled[t], shared) for t in tasks])
        direction = self.combine_gradients(grads, scaled[tasks].detach(), tasks)
        # One ordinary backward gives the task-specific parameters their gradient; the
        # shared parameters' part of it is then replaced by the combined direction.
        before = [None if p.grad is None else p.grad.clone() for p in shared]
        total.backward()
        _write_flat_grad(shared, direction, before)
        return total.detach()


def _flat_grad(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    """Gradient of ``loss`` w.r.t. ``params``, flattened (zeros where unused)."""
    if not loss.requires_grad:
        return torch.cat([torch.zeros_like(p).flatten() for p in params])
    grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
    return torch.cat(
        [torch.zeros_like(p).flatten() if g is None else g.flatten() for g, p in zip(grads, params)]
    )


def _write_flat_grad(
    params: list[torch.nn.Parameter],
    flat: torch.Tensor,
    before: list[torch.Tensor | None],
) -> None:
    """Set ``p.grad = before + flat[slice of p]`` for each parameter."""
    offset = 0
    for p, prev in zip(params, before):
        n = p.numel()
        piece = flat[offset : offset + n].view_as(p).to(p.dtype)
        p.grad = piece.clone() if prev is None else prev + piece
        offset += n

"""Fixed weighting: the plain (optionally weighted) sum of task losses."""

from __future__ import annotations

from ._base import LossWeighting


class FixedWeighting(LossWeighting):
    """Fixed task weights: minimise ``sum_t task_weights[t] * L_t``.

    The baseline every other method is compared with ("equal weighting" when
    ``task_weights`` is ``None``).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Per-task multipliers; ``None`` means ones.

    See Also
    --------
    RandomWeighting : Random weights drawn anew at every step.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import FixedWeighting
    >>> w = FixedWeighting(n_tasks=2, task_weights=[1.0, 0.5])
    >>> w.weights()
    tensor([1.0000, 0.5000])
    >>> theta = torch.nn.Parameter(torch.tensor(1.0))
    >>> losses = torch.stack([2 * theta, 4 * theta])
    >>> w.backward(losses, [theta], torch.tensor([True, False]))
    tensor(2.)
    >>> theta.grad
    tensor(2.)
    """

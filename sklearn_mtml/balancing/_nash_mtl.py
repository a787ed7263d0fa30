"""Nash-MTL: multi-task learning as a bargaining game (Navon et al., 2022)."""

from __future__ import annotations

import torch

from ._base import GradientBalancing


def nash_bargaining_weights(
    gram: torch.Tensor, max_iter: int = 100, tol: float = 1e-20, ridge: float = 0.0
) -> torch.Tensor:
    r"""Positive :math:`\alpha` solving :math:`G G^\top \alpha = 1 / \alpha` (element-wise).

    It is the minimiser of the strictly convex
    :math:`f(\alpha) = \tfrac12 \alpha^\top M \alpha - \sum_i \log \alpha_i` (its gradient is
    :math:`M\alpha - 1/\alpha`), found by damped Newton steps that keep :math:`\alpha > 0`.
    ``M`` is scaled to unit Frobenius norm for the solve (and the answer scaled back).
    When a non-negative combination of the gradients vanishes (a Pareto-stationary point)
    no solution exists and :math:`\alpha` grows along that combination until ``max_iter``;
    ``ridge`` (added to the scaled diagonal) bounds it, at the price of bias on
    ill-conditioned systems, hence its default of zero. Computed in float64 on the CPU.

    Parameters
    ----------
    gram : torch.Tensor of shape (n, n)
        Gram matrix :math:`M = G G^\top` of the task gradients.
    max_iter : int, default=100
        Maximum number of Newton steps.
    tol : float, default=1e-20
        Stop when half the squared Newton decrement falls below this.
    ridge : float, default=0.0
        Added to the diagonal of the scaled Gram matrix.

    Returns
    -------
    alpha : torch.Tensor of shape (n,), float64, on the CPU
        The positive weights (zeros when every gradient is zero).
    """
    M = gram.detach().to(device="cpu", dtype=torch.float64)
    n = M.shape[0]
    scale = float(torch.linalg.matrix_norm(M))
    if scale == 0:
        return torch.zeros(n, dtype=torch.float64)
    M = M / scale + ridge * torch.eye(n, dtype=torch.float64)

    def f(a):
        return 0.5 * a @ M @ a - torch.log(a).sum()

    alpha = torch.ones(n, dtype=torch.float64)
    for _ in range(max_iter):
        grad = M @ alpha - 1 / alpha
        hess = M + torch.diag(1 / alpha**2)
        try:
            step = torch.linalg.solve(hess, grad)
        except torch.linalg.LinAlgError:  # alpha diverging: no bargaining solution
            break
        decrement = float(grad @ step)
        if decrement / 2 <= tol:
            break
        t = 1.0
        while (
            bool((alpha - t * step <= 0).any())
            or f(alpha - t * step) > f(alpha) - 0.25 * t * decrement
        ):
            t *= 0.5
            if t < 1e-12:
                break
        alpha = alpha - t * step
    # M/s a' = 1/a'  <=>  M (a'/sqrt(s)) = 1/(a'/sqrt(s))
    return alpha / scale**0.5


class NashMTL(GradientBalancing):
    r"""Update along the Nash bargaining solution of the tasks.

    The update :math:`d = \sum_t \alpha_t g_t` maximises :math:`\sum_t \log(g_t \cdot d)` over
    a ball: each task's utility is its loss decrease, and the solution is invariant to the
    scale of each task's loss. Its weights solve :math:`G G^\top \alpha = 1/\alpha`, computed
    here by Newton's method on the equivalent convex problem (see
    :func:`nash_bargaining_weights`; no convex-programming package needed). As in the
    authors' code the combined gradient is clipped to norm ``max_norm`` (``None`` turns this
    off), and the weights can be recomputed only every ``update_every`` steps (reusing the
    last ones in between, the authors' speed-up; each step still needs per-task gradients).

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.
    max_norm : float or None, default=1.0
        Clip the norm of the combined gradient to this value.
    update_every : int, default=1
        Recompute the weights every this many steps.

    Attributes
    ----------
    last_alpha : torch.Tensor of shape (n_tasks,)
        The weights :math:`\alpha` of the last step (zero for absent tasks).

    References
    ----------
    A. Navon, A. Shamsian, I. Achituve, H. Maron, K. Kawaguchi, G. Chechik and E. Fetaya,
    "Multi-task learning as a bargaining game", ICML 2022.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import NashMTL
    >>> grads = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> d = NashMTL(2, max_norm=None).combine_gradients(grads)
    >>> torch.allclose(d, torch.tensor([1.0, 1.0]))  # orthogonal: alpha_t = 1 / ||g_t||
    True
    """

    def __init__(
        self,
        n_tasks: int,
        task_weights=None,
        max_norm: float | None = 1.0,
        update_every: int = 1,
    ) -> None:
        super().__init__(n_tasks, task_weights)
        if max_norm is not None and not max_norm > 0:
            raise ValueError(f"max_norm must be positive or None, got {max_norm!r}.")
        if int(update_every) < 1:
            raise ValueError(f"update_every must be a positive integer, got {update_every!r}.")
        self.max_norm = None if max_norm is None else float(max_norm)
        self.update_every = int(update_every)
        self.register_buffer("last_alpha", torch.zeros(self.n_tasks))
        self.register_buffer("n_steps", torch.zeros((), dtype=torch.long))

    def weights(self) -> torch.Tensor:
        return self.task_weights * self.last_alpha

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        tasks = list(range(grads.shape[0])) if tasks is None else list(tasks)
        previous = self.last_alpha[tasks]
        reuse = int(self.n_steps) % self.update_every != 0 and bool((previous > 0).all())
        if reuse:
            alpha = previous.to(grads)
        else:
            alpha = nash_bargaining_weights(grads @ grads.T).to(grads)
            self.last_alpha.zero_()
            self.last_alpha[tasks] = alpha.to(self.last_alpha)
        self.n_steps += 1
        direction = alpha @ grads
        if self.max_norm is not None:
            norm = direction.norm()
            if norm > self.max_norm:
                direction = direction * (self.max_norm / norm)
        return direction

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, max_norm={self.max_norm}, update_every={self.update_every}"

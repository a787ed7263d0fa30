"""Conflict-averse gradient descent, CAGrad (Liu et al., 2021)."""

from __future__ import annotations

import numpy as np
import torch

from ._base import GradientBalancing


def _cagrad_weights(gram: np.ndarray, radius: float) -> np.ndarray:
    """Simplex weights ``w`` minimising ``w' G g0 + radius * ||G' w||`` (dot products only)."""
    from scipy.optimize import minimize  # imported on first use: it is slow to import

    n = gram.shape[0]
    b = gram.mean(axis=1)  # (g_i . g0)_i

    def objective(w):
        norm = np.sqrt(max(w @ gram @ w, 0.0) + 1e-12)
        value = w @ b + radius * norm
        grad = b + radius * (gram @ w) / norm
        return value, grad

    result = minimize(
        objective,
        np.full(n, 1.0 / n),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)},),
    )
    w = np.clip(result.x, 0.0, None)
    return w / w.sum()


class CAGrad(GradientBalancing):
    r"""Move along the mean gradient while bounding the worst task's loss decrease.

    With :math:`g_0` the mean of the task gradients and :math:`c \ge 0`, CAGrad looks for the
    update :math:`d` maximising the smallest decrease :math:`\min_t g_t \cdot d` within a
    ball :math:`\|d - g_0\| \le c \|g_0\|`. Its dual solves, over the simplex,

    .. math::

        \min_{w \in \Delta} \; g_w \cdot g_0 + c\,\|g_0\|\,\|g_w\|, \qquad
        g_w = \sum_t w_t g_t,

    and the update is :math:`d = g_0 + \frac{c\|g_0\|}{\|g_w\|} g_w`, divided by
    :math:`1 + c^2` when ``rescale`` (the authors' default). ``c = 0`` is the mean gradient.
    The small simplex problem is solved with SciPy's SLSQP on the Gram matrix.

    Parameters
    ----------
    n_tasks : int
        Number of tasks.
    task_weights : array-like of shape (n_tasks,), default=None
        Fixed per-task multipliers of the losses; ``None`` means ones.
    c : float, default=0.4
        Radius of the ball around the mean gradient, relative to its norm.
    rescale : bool, default=True
        Divide the update by :math:`1 + c^2`.

    References
    ----------
    B. Liu, X. Liu, X. Jin, P. Stone and Q. Liu, "Conflict-averse gradient descent for
    multi-task learning", NeurIPS 2021.

    Examples
    --------
    >>> import torch
    >>> from sklearn_mtml.balancing import CAGrad
    >>> grads = torch.tensor([[1.0, 0.0], [-0.5, 1.0]])
    >>> CAGrad(2, c=0.0).combine_gradients(grads)  # the mean gradient
    tensor([0.2500, 0.5000])
    >>> d = CAGrad(2, c=0.5).combine_gradients(grads)
    >>> bool((grads @ d).min() > (grads @ grads.mean(0)).min())  # better worst task
    True
    """

    def __init__(
        self, n_tasks: int, task_weights=None, c: float = 0.4, rescale: bool = True
    ) -> None:
        super().__init__(n_tasks, task_weights)
        if not c >= 0:
            raise ValueError(f"c must be non-negative, got {c!r}.")
        self.c = float(c)
        self.rescale = bool(rescale)

    def combine_gradients(self, grads, losses=None, tasks=None) -> torch.Tensor:
        g0 = grads.mean(dim=0)
        if self.c == 0 or grads.shape[0] == 1:
            return g0
        gram = (grads @ grads.T).detach().to(device="cpu", dtype=torch.float64).numpy()
        radius = self.c * float(np.sqrt(max(gram.mean(), 0.0)))  # c ||g0||
        if radius == 0:
            return g0
        w = torch.as_tensor(_cagrad_weights(gram, radius), device=grads.device, dtype=grads.dtype)
        gw = w @ grads
        d = g0 + radius / (gw.norm() + 1e-12) * gw
        return d / (1 + self.c**2) if self.rescale else d

    def extra_repr(self) -> str:
        return f"n_tasks={self.n_tasks}, c={self.c}, rescale={self.rescale}"

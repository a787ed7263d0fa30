"""Minimum-norm point of the convex hull of a few vectors, from their Gram matrix."""

from __future__ import annotations

import torch


def _two_point_min_norm(g11: float, g12: float, g22: float) -> float:
    """``a`` minimising ``||a x1 + (1 - a) x2||`` over ``[0, 1]`` from the dot products.

    ``||a x1 + (1-a) x2||^2`` is a quadratic in ``a`` with minimiser
    ``((x2 - x1) . x2) / ||x1 - x2||^2``, clipped to ``[0, 1]``.
    """
    denom = g11 - 2 * g12 + g22
    if denom <= 0:  # x1 == x2: any point is the minimum
        return 0.5
    return min(max((g22 - g12) / denom, 0.0), 1.0)


def min_norm_weights(gram: torch.Tensor, max_iter: int = 250, tol: float = 1e-6) -> torch.Tensor:
    """Convex weights ``a`` minimising ``||sum_i a_i x_i||`` given ``gram[i, j] = x_i . x_j``.

    Exact for two vectors; Frank-Wolfe (Sener & Koltun, 2018, Algorithm 2) beyond, started
    from the best pair. Computed in float64 on the CPU (the problem is ``n x n``).

    Parameters
    ----------
    gram : torch.Tensor of shape (n, n)
        Gram matrix of the vectors.
    max_iter : int, default=250
        Maximum number of Frank-Wolfe iterations.
    tol : float, default=1e-6
        Stop when the weights move less than this (L1).

    Returns
    -------
    weights : torch.Tensor of shape (n,), float64, on the CPU
        Non-negative weights summing to one.
    """
    M = gram.detach().to(device="cpu", dtype=torch.float64)
    n = M.shape[0]
    if n == 1:
        return torch.ones(1, dtype=torch.float64)
    # Best pair as the start (exact answer when n == 2), all pairs at once.
    diag = torch.diagonal(M)
    denom = diag[:, None] - 2 * M + diag[None, :]
    a = torch.where(denom > 0, (diag[None, :] - M) / denom.clamp_min(1e-300), 0.5).clamp(0, 1)
    values = a**2 * diag[:, None] + 2 * a * (1 - a) * M + (1 - a) ** 2 * diag[None, :]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    values = torch.where(upper, values, torch.inf)
    i, j = divmod(int(torch.argmin(values)), n)
    alpha = torch.zeros(n, dtype=torch.float64)
    alpha[i], alpha[j] = a[i, j], 1 - a[i, j]
    if n == 2:
        return alpha
    for _ in range(max_iter):
        grad = M @ alpha  # half the gradient of alpha' M alpha
        t = int(torch.argmin(grad))
        # Line search between the current point v = sum alpha_i x_i and the vertex x_t.
        vv, vt, tt = float(alpha @ grad), float(grad[t]), float(M[t, t])
        gamma = _two_point_min_norm(vv, vt, tt)  # weight of the current point
        new = gamma * alpha
        new[t] += 1 - gamma
        if float((new - alpha).abs().sum()) < tol:
            alpha = new
            break
        alpha = new
    return alpha

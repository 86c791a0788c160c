"""Low-rank matrix completion by alternating minimization with exact or approximate updates.

From "Low Rank Matrix Completion via Robust Alternating Minimization in Nearly Linear Time" (2024).
Given the entries :math:`M_{ij}, (i, j) \\in \\Omega`, alternate the two least-squares problems

.. math::  V \\leftarrow \\arg\\min_V \\|P_\\Omega(U V^\\top - M)\\|_F^2,\\qquad
           U \\leftarrow \\arg\\min_U \\|P_\\Omega(U V^\\top - M)\\|_F^2,

each of which splits into one small regression per row: row i of U solves
:math:`H_i u_i = b_i` with :math:`H_i = \\sum_{j \\in \\Omega_i} v_j v_j^\\top`,
:math:`b_i = \\sum_{j \\in \\Omega_i} M_{ij} v_j`. The exact update forms every :math:`H_i`
(:math:`O(|\\Omega| k^2)` multiply-adds, plus :math:`O((m + n) k^3)` for the solves). The paper's point
is that alternating minimization still converges when each regression is solved only approximately;
here the approximate update runs a few conjugate-gradient steps per row, warm-started at the previous
factor, with :math:`H_i d` applied as :math:`V_{\\Omega_i}^\\top (V_{\\Omega_i} d)`, so a step costs
:math:`O(|\\Omega| k)`. (The paper preconditions its solver with a sketch; after the fixed factor is
orthonormalized, :math:`H_i` is already close to a multiple of the identity for incoherent matrices,
so plain CG is used.) The fixed factor is orthonormalized (QR) after each half-step, as in the
classical analysis of alternating minimization.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .._checks import check_choice, check_positive, check_tensor
from .matrix_factorization import randomized_svd


@dataclass
class CompletionResult:
    """Completed matrix :math:`\\hat M = U V^\\top` and the history of the run."""

    U: torch.Tensor  # (m, k)
    V: torch.Tensor  # (n, k)
    observed_errors: list[float] = field(default_factory=list)  # ||P(UV^T - M)|| / ||P(M)|| per iteration
    solve_residuals: list[float] = field(default_factory=list)  # mean ||H_i x_i - b_i|| / ||b_i||
    n_iter: int = 0
    converged: bool = False

    def to_matrix(self) -> torch.Tensor:
        """The (m, n) completed matrix U V^T."""
        return self.U @ self.V.T


def altmin_multiply_adds(n_observed: int, m: int, n: int, rank: int, solver: str, cg_steps: int = 3) -> float:
    """Leading multiply-add count of one outer iteration (both half-steps).

    Exact: :math:`|\\Omega| k^2` to form the :math:`H_i` plus :math:`(m + n) k^3 / 3` for Cholesky-type solves.
    CG: :math:`(2T + 1) |\\Omega| k` for the right-hand sides and T implicit Hessian products.
    """
    check_choice("solver", solver, {"exact", "cg"})
    if solver == "exact":
        return n_observed * rank**2 + (m + n) * rank**3 / 3
    return (2 * cg_steps + 1) * n_observed * rank


def _row_solve(rows, fixed_rows, values, fixed, start, n_out, solver, cg_steps, reg):
    """Solve every row regression H_i x_i = b_i of one half-step; returns (solution, mean relative residual)."""
    gathered = fixed[fixed_rows]  # (|Omega|, k)
    k = fixed.shape[1]
    rhs = torch.zeros(n_out, k, dtype=fixed.dtype, device=fixed.device).index_add_(
        0, rows, values[:, None] * gathered
    )  # (n_out, k)

    def hessian_times(direction):  # H_i d_i = V_{Omega_i}^T (V_{Omega_i} d_i) + reg d_i, for every row
        along = (direction[rows] * gathered).sum(1)  # (|Omega|,)
        product = torch.zeros_like(direction).index_add_(0, rows, along[:, None] * gathered)
        return product + reg * direction

    if solver == "exact":
        outer = gathered[:, :, None] * gathered[:, None, :]  # (|Omega|, k, k)
        hessians = torch.zeros(n_out, k, k, dtype=fixed.dtype, device=fixed.device).index_add_(0, rows, outer)
        hessians = hessians + reg * torch.eye(k, dtype=fixed.dtype, device=fixed.device)
        solution = torch.linalg.solve(hessians, rhs)  # (n_out, k)
    else:
        solution = start.clone()
        residual = rhs - hessian_times(solution)
        direction = residual.clone()
        residual_sq = (residual**2).sum(1)  # (n_out,)
        for _ in range(cg_steps):
            curvature = hessian_times(direction)
            denominator = (direction * curvature).sum(1)
            step = torch.where(denominator > 0, residual_sq / denominator.clamp_min(1e-300), 0.0)
            solution = solution + step[:, None] * direction
            residual = residual - step[:, None] * curvature
            new_residual_sq = (residual**2).sum(1)
            ratio = torch.where(residual_sq > 0, new_residual_sq / residual_sq.clamp_min(1e-300), 0.0)
            direction = residual + ratio[:, None] * direction
            residual_sq = new_residual_sq
    true_residual = torch.linalg.vector_norm(rhs - hessian_times(solution), dim=1)
    scale = torch.linalg.vector_norm(rhs, dim=1)
    relative = torch.where(scale > 0, true_residual / scale.clamp_min(1e-300), 0.0)
    return solution, relative.mean()


def altmin_completion(
    M: torch.Tensor,
    mask: torch.Tensor,
    rank: int,
    n_iter: int = 30,
    solver: str = "exact",
    cg_steps: int = 3,
    reg: float = 0.0,
    tol: float = 0.0,
    init: str = "spectral",
    seed: int | None = None,
    callback: Callable[[int, torch.Tensor, torch.Tensor], None] | None = None,
) -> CompletionResult:
    """Complete a rank-``rank`` matrix from the entries where ``mask`` is True.

    Args:
        M: (m, n) floating matrix; only the observed entries are read (the others may be NaN).
        mask: (m, n) boolean matrix of observed entries, at least ``rank`` per row and per column unless
            ``reg > 0``.
        rank: target rank k, 1 <= k <= min(m, n).
        n_iter: number of outer iterations (each updates V, then U).
        solver: ``"exact"`` (batched per-row normal equations) or ``"cg"`` (``cg_steps`` warm-started
            conjugate-gradient steps per row).
        cg_steps: CG steps T >= 1 per half-step (``solver="cg"`` only).
        reg: ridge term added to every :math:`H_i` (0: plain least squares).
        tol: stop early when the relative observed error falls below ``tol`` (0 runs every iteration).
        init: ``"spectral"`` (top-k SVD of :math:`P_\\Omega(M) / p`) or ``"random"`` (random orthonormal U).
        seed: seed of the sketch of the spectral init or of the random init.
        callback: called as ``callback(iteration, U, V)`` after each outer iteration.
    Returns:
        :class:`CompletionResult` with U (m, k), V (n, k), observed errors, mean relative solve residuals,
        n_iter and converged.
    """
    check_tensor("M", M, dim=2, floating=True, finite=False)
    check_tensor("mask", mask, dim=2, finite=False)
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be a boolean tensor, got dtype {mask.dtype}")
    if mask.shape != M.shape or mask.device != M.device:
        raise ValueError(f"mask must have M's shape {tuple(M.shape)} and device, got {tuple(mask.shape)}")
    m, n = M.shape
    check_positive("rank", rank, integer=True)
    if rank > min(m, n):
        raise ValueError(f"rank must be <= min(M.shape) = {min(m, n)}, got {rank}")
    check_positive("n_iter", n_iter, integer=True)
    check_choice("solver", solver, {"exact", "cg"})
    check_positive("cg_steps", cg_steps, integer=True)
    check_positive("reg", reg, allow_zero=True)
    check_positive("tol", tol, allow_zero=True)
    check_choice("init", init, {"spectral", "random"})
    rows, cols = mask.nonzero(as_tuple=True)
    values = M[rows, cols]  # (|Omega|,)
    if not bool(torch.isfinite(values).all()):
        raise ValueError("M must be finite on the observed entries (mask == True)")
    if reg == 0 and (int(mask.sum(1).min()) < rank or int(mask.sum(0).min()) < rank):
        raise ValueError(f"mask must observe at least rank={rank} entries in every row and column when reg=0")
    observed_norm = torch.linalg.vector_norm(values)
    if observed_norm == 0:
        raise ValueError("M must not be zero on every observed entry")

    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    if init == "spectral":
        rescaled = torch.where(mask, M, torch.zeros_like(M)) * (m * n / values.numel())  # P_Omega(M) / p
        top = randomized_svd(rescaled, rank, seed=int(torch.randint(2**31, (1,), generator=generator)))
        U, V = top.U, top.Vh.T * top.S  # U orthonormal, U V^T the rank-k approximation
    else:
        draw = torch.randn(m, rank, generator=generator, dtype=M.dtype).to(M.device)
        U, V = torch.linalg.qr(draw).Q, torch.zeros(n, rank, dtype=M.dtype, device=M.device)

    observed_errors, solve_residuals = [], []
    converged = False
    iteration = 0
    for iteration in range(1, n_iter + 1):
        V, residual_v = _row_solve(cols, rows, values, U, V, n, solver, cg_steps, reg)
        V, triangular = torch.linalg.qr(V)  # V orthonormal; U V^T unchanged with U R^T
        U = U @ triangular.T
        U, residual_u = _row_solve(rows, cols, values, V, U, m, solver, cg_steps, reg)
        fitted = (U[rows] * V[cols]).sum(1)  # (|Omega|,)
        observed_errors.append(torch.linalg.vector_norm(fitted - values) / observed_norm)
        solve_residuals.append((residual_v + residual_u) / 2)
        if callback is not None:
            callback(iteration, U, V)
        if tol > 0 and float(observed_errors[-1]) < tol:
            converged = True
            break
        if iteration < n_iter:
            U, triangular = torch.linalg.qr(U)  # U orthonormal for the next V update
            V = V @ triangular.T

    return CompletionResult(
        U=U,
        V=V,
        observed_errors=torch.stack(observed_errors).tolist(),
        solve_residuals=torch.stack(solve_residuals).tolist(),
        n_iter=iteration,
        converged=converged,
    )

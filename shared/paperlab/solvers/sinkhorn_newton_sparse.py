"""Sinkhorn-Newton-Sparse: Sinkhorn warm-up, then Newton steps on the dual with a sparsified Hessian."""

from __future__ import annotations

import math
import time
import warnings

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.sinkhorn import OTResult, check_marginal, check_solver_options, warn_not_converged


def _objective(log_kernel, a, b, alpha, beta):
    """Dual objective phi = <a, alpha> + <b, beta> - sum exp(K + alpha + beta), and the plan (n, m)."""
    plan = torch.exp(log_kernel + alpha.unsqueeze(-1) + beta.unsqueeze(-2))  # (n, m)
    return (a * alpha).sum() + (b * beta).sum() - plan.sum(), plan


def sparsify_plan(plan: torch.Tensor, density: float) -> torch.Tensor:
    """Keep, in every row and every column, its ``ceil(density * length)`` largest entries; zero the rest.

    Keeping the largest entries row- and column-wise (rather than globally) leaves every point with
    at least one neighbour, so the sparsified Hessian stays connected where the plan has little mass.
    At most ``2 * density`` of the entries survive.
    """
    n, m = plan.shape
    row_keep, column_keep = math.ceil(density * m), math.ceil(density * n)
    row_threshold = torch.topk(plan, row_keep, dim=1, sorted=False).values.amin(1, keepdim=True)  # (n, 1)
    column_threshold = torch.topk(plan, column_keep, dim=0, sorted=False).values.amin(
        0, keepdim=True
    )  # (1, m)
    return torch.where((plan >= row_threshold) | (plan >= column_threshold), plan, 0)


def hessian_sparsification_error(plan: torch.Tensor, density: float) -> torch.Tensor:
    r"""Relative Frobenius error :math:`\|H - H_\rho\|_F / \|H\|_F` of the sparsified dual Hessian.

    :math:`H = [[\mathrm{diag}(P1), P], [P^\top, \mathrm{diag}(P^\top 1)]]`; :math:`H_\rho` keeps the
    diagonal blocks and the largest entries of each row and column of P (see :func:`sparsify_plan`).
    """
    dropped = plan - sparsify_plan(plan, density)
    full = plan.sum(1).square().sum() + plan.sum(0).square().sum() + 2 * plan.square().sum()
    return torch.sqrt(2 * dropped.square().sum() / full)


def _conjugate_gradient(matvec, rhs, diagonal, rtol, max_iter):
    """Solve A x = rhs for a symmetric positive definite A by Jacobi-preconditioned conjugate gradient."""
    x = torch.zeros_like(rhs)
    residual = rhs.clone()
    z = residual / diagonal
    direction = z.clone()
    rz = residual @ z
    target = rtol * torch.linalg.vector_norm(rhs)
    for _ in range(max_iter):
        if torch.linalg.vector_norm(residual) <= target:
            break
        product = matvec(direction)
        step = rz / (direction @ product)
        x += step * direction
        residual -= step * product
        z = residual / diagonal
        rz, rz_old = residual @ z, rz
        direction = z + (rz / rz_old) * direction
    return x


def _newton_direction(plan, gradient, n, cg_max_iter, density):
    """Solve [[diag(P_s 1), P_s], [P_s^T, diag(P_s^T 1)]] d = gradient, P_s the sparsified plan."""
    sparse = sparsify_plan(plan, density)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        forward, backward = sparse.to_sparse_csr(), sparse.T.contiguous().to_sparse_csr()
    full_diagonal = torch.cat([plan.sum(1), plan.sum(0)])  # (n + m,)
    diagonal = torch.cat([sparse.sum(1), sparse.sum(0)]) + 1e-10 * full_diagonal  # (n + m,)

    def matvec(d):
        top = diagonal[:n] * d[:n] + forward @ d[n:]
        bottom = diagonal[n:] * d[n:] + backward @ d[:n]
        return torch.cat([top, bottom])

    forcing = min(0.1, math.sqrt(torch.linalg.vector_norm(gradient).item()))
    return _conjugate_gradient(matvec, gradient, diagonal, forcing, cg_max_iter)


def sinkhorn_newton_sparse(
    a: torch.Tensor | None,
    b: torch.Tensor | None,
    M: torch.Tensor,
    reg: float,
    max_iter: int = 200,
    tol: float = 1e-9,
    n_warmup: int = 20,
    density: float = 0.02,
    cg_max_iter: int = 200,
    history: list | None = None,
) -> OTResult:
    r"""Entropic OT by Sinkhorn warm-up steps followed by sparsified Newton steps on the dual.

    The dual (Lyapunov) potential, in log-scalings :math:`\alpha, \beta` with :math:`K = -M/\mathrm{reg}`,

    .. math:: \phi(\alpha, \beta) = \langle a, \alpha\rangle + \langle b, \beta\rangle
              - \textstyle\sum_{ij} e^{K_{ij} + \alpha_i + \beta_j},\qquad
              \nabla\phi = (a - P1,\ b - P^\top 1),

    is concave with Hessian :math:`-[[\mathrm{diag}(P1), P], [P^\top, \mathrm{diag}(P^\top 1)]]`.
    After ``n_warmup`` Sinkhorn iterations (coordinate ascent on :math:`\phi`), each Newton step
    keeps only the largest ``density`` fraction of the entries of each row and column of P in the
    Hessian (with matching diagonal blocks), solves for the direction by preconditioned conjugate
    gradient, and backtracks (Armijo) along it. When the accepted step is shorter than 0.1 (the
    sparsified Hessian misled the direction), the next iteration is a Sinkhorn step, so the method
    never stalls.

    From "Accelerating Sinkhorn Algorithm with Sparse Newton Iterations (2024)".

    Args:
        a: source weights (n,), positive, or None for uniform; normalized to sum 1.
        b: target weights (m,), positive, or None for uniform; normalized to sum 1.
        M: cost matrix (n, m).
        reg: entropic regularization, > 0.
        max_iter: maximum total number of iterations (Sinkhorn warm-up plus Newton).
        tol: stop when the marginal error :math:`\|(P1 - a, P^\top 1 - b)\|_2` falls below ``tol``.
        n_warmup: number of Sinkhorn iterations before switching to Newton steps.
        density: fraction of each row's and column's entries kept in the sparsified Hessian, in (0, 1]
            (at most ``2 * density`` of all entries survive).
        cg_max_iter: maximum conjugate-gradient iterations per Newton step.
        history: if a list, one ``(iteration, marginal_error, seconds)`` tuple is appended per
            iteration (this costs one extra pass over the plan per Sinkhorn iteration).

    Returns:
        OTResult (plan (n, m), value, potentials f (n,) and g (m,) in the a x b convention, n_iter
        counting Sinkhorn and Newton iterations, converged, marginal_error, entropic_value).
    """
    check_tensor("M", M, dim=2, floating=True)
    check_solver_options(reg, max_iter, tol)
    check_positive("n_warmup", n_warmup, integer=True, allow_zero=True)
    check_positive("density", density)
    if density > 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    check_positive("cg_max_iter", cg_max_iter, integer=True)
    a = check_marginal("a", a, M.shape[:1], M)
    b = check_marginal("b", b, M.shape[1:], M)
    if bool((a == 0).any()) or bool((b == 0).any()):
        raise ValueError("a and b must be positive for sinkhorn_newton_sparse (drop zero-weight points)")

    n = M.shape[0]
    started = time.perf_counter()
    with torch.no_grad():
        log_kernel, log_a, log_b = M / -reg, a.log(), b.log()
        alpha, beta = torch.zeros_like(a), torch.zeros_like(b)
        value, plan = _objective(log_kernel, a, b, alpha, beta)
        n_iter, error, stalled = 0, math.inf, False
        while n_iter < max_iter:
            newton = n_iter >= n_warmup and not stalled
            if not newton:
                beta = log_b - torch.logsumexp(log_kernel + alpha.unsqueeze(-1), dim=0)
                alpha = log_a - torch.logsumexp(log_kernel + beta.unsqueeze(-2), dim=1)
                n_iter += 1
                if history is None and n_iter % 10 and n_iter < n_warmup:
                    continue  # no need for the plan yet
                value, plan = _objective(log_kernel, a, b, alpha, beta)
            else:
                gradient = torch.cat([a - plan.sum(1), b - plan.sum(0)])  # (n + m,)
                direction = _newton_direction(plan, gradient, n, cg_max_iter, density)
                slope = gradient @ direction
                step = 1.0
                for _ in range(40):
                    candidate = _objective(
                        log_kernel, a, b, alpha + step * direction[:n], beta + step * direction[n:]
                    )
                    if candidate[0] >= value + 1e-4 * step * slope:
                        break
                    step /= 2
                alpha, beta = alpha + step * direction[:n], beta + step * direction[n:]
                value, plan = candidate
                n_iter += 1
            # a heavily damped Newton step means the sparsified Hessian misled it: do one Sinkhorn step
            stalled = newton and step < 0.1
            error = math.hypot(
                torch.linalg.vector_norm(plan.sum(1) - a).item(),
                torch.linalg.vector_norm(plan.sum(0) - b).item(),
            )
            if history is not None:
                history.append((n_iter, error, time.perf_counter() - started))
            if error < tol:
                break
    converged = error < tol
    if not converged:
        warn_not_converged("sinkhorn_newton_sparse", n_iter, error, tol)
    f, g = reg * (alpha - log_a), reg * (beta - log_b)
    cost = (plan * M).sum()
    return OTResult(cost, plan, (f, g), n_iter, converged, error, (a * f).sum() + (b * g).sum())

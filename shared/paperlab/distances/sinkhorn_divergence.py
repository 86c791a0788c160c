"""The debiased Sinkhorn divergence between point clouds."""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive
from paperlab.distances.cost import check_point_clouds, cost_matrix


def _dual_potentials(log_a, log_b, reg, row_soft_min, column_soft_min, max_iter, tol, symmetric):
    """Potentials (f, g) of entropic OT, by Sinkhorn's alternating updates or, when symmetric, averaged ones.

    T_b(g)_i = -reg LSE_j(log b_j + (g_j - C_ij) / reg) is ``row_soft_min(log b + g / reg)`` and T_a
    its transpose. Sinkhorn alternates f = T_b(g), g = T_a(f). On a symmetric problem (same points,
    same weights) it crawls, because the plan is nearly the identity; there the averaged update
    f <- (f + T_a(f)) / 2 with g = f reaches the same fixed point in a few dozen iterations and keeps
    f = g exactly. The marginal error is ||a (exp((f - T_b(g)) / reg) - 1)||_2, the row marginal
    error of the plan (its columns are exact after a g-update).
    """
    from paperlab.solvers.sinkhorn import CHECK_EVERY, warn_not_converged

    a = log_a.exp()
    f, g = torch.zeros_like(log_a), torch.zeros_like(log_b)
    error = math.inf
    for n_iter in range(max_iter + 1):
        f_new = row_soft_min(log_b + g / reg)
        if n_iter > 0 and (n_iter % CHECK_EVERY == 0 or n_iter == max_iter):
            error = torch.linalg.vector_norm(a * torch.expm1((f - f_new) / reg), dim=-1).max().item()
            if error < tol or n_iter == max_iter:
                break
        if symmetric:
            f = g = (f + f_new) / 2
        else:
            f = f_new
            g = column_soft_min(log_a + f / reg)
    if not error < tol:
        warn_not_converged("sinkhorn_divergence", max_iter, error, tol)
    return f, g


def _entropic_ot(X, Y, a, b, reg, p, max_iter, tol, chunk_size):
    """OT_reg(X, Y) = <a, f> + <b, g> with envelope gradients, shape (...)."""
    from paperlab.solvers.sinkhorn import check_marginal
    from paperlab.solvers.sinkhorn_samples import _Chunks, _EnvelopeOT

    a = check_marginal("a", a, X.shape[:-1], X)
    b = check_marginal("b", b, Y.shape[:-1], Y)
    log_a, log_b = a.detach().log(), b.detach().log()
    symmetric = X.shape == Y.shape and torch.equal(X, Y) and torch.equal(a, b)
    if chunk_size is None:
        C = cost_matrix(X, Y, p)  # (..., n, m)
        with torch.no_grad():
            kernel = C / -reg
            f, g = _dual_potentials(
                log_a,
                log_b,
                reg,
                lambda w: -reg * torch.logsumexp(kernel + w.unsqueeze(-2), dim=-1),
                lambda w: -reg * torch.logsumexp(kernel + w.unsqueeze(-1), dim=-2),
                max_iter,
                tol,
                symmetric,
            )
        # soft c-transform of the fixed g: its derivative w.r.t. C is the plan (envelope theorem)
        f_transform = -reg * torch.logsumexp((log_b + g / reg).unsqueeze(-2) - C / reg, dim=-1)
        return (a * f_transform).sum(-1) + (b * g).sum(-1)
    chunks = _Chunks(X.detach(), Y.detach(), reg, p, chunk_size)
    with torch.no_grad():
        f, g = _dual_potentials(
            log_a,
            log_b,
            reg,
            lambda w: -reg * chunks.row_lse(w),
            lambda w: -reg * chunks.column_lse(w),
            max_iter,
            tol,
            symmetric,
        )
    chunks.X, chunks.Y = X, Y  # the backward pass works on the caller's points
    alpha, beta = log_a + f / reg, log_b + g / reg
    return _EnvelopeOT.apply(X, Y, a, b, f, g, alpha, beta, chunks)[1]


def sinkhorn_divergence(
    X: torch.Tensor,
    Y: torch.Tensor,
    reg: float,
    a: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    p: float = 2,
    max_iter: int = 1000,
    tol: float = 1e-9,
    chunk_size: int | None = None,
) -> torch.Tensor:
    r"""Debiased Sinkhorn divergence between two weighted point clouds.

    .. math:: S_\varepsilon(\alpha, \beta) = \mathrm{OT}_\varepsilon(\alpha, \beta)
              - \tfrac12 \mathrm{OT}_\varepsilon(\alpha, \alpha) - \tfrac12 \mathrm{OT}_\varepsilon(\beta, \beta),
       \qquad \mathrm{OT}_\varepsilon = \min_{P \in U(a, b)} \langle P, C\rangle
              + \varepsilon\,\mathrm{KL}(P \| a \otimes b)

    with :math:`C_{ij} = \|x_i - y_j\|^p`. The KL term is taken relative to :math:`a \otimes b`, which
    makes :math:`S_\varepsilon` zero for equal measures and positive otherwise when
    :math:`\exp(-C/\varepsilon)` is a positive definite kernel (``0 < p <= 2``). The cross term is
    solved by log-domain Sinkhorn; the self terms (and a cross term between equal measures) by the
    averaged symmetric update :math:`f \leftarrow (f + T_a(f))/2`, which reaches the same fixed point
    much faster on these nearly diagonal problems and makes the divergence exactly 0 on equal inputs.
    Gradients with respect to X, Y, a and b follow the envelope theorem (potentials constant at
    convergence). The cross term converges slowly when its plan is close to a permutation (Y a
    slightly moved copy of X at small reg); a warning then says to raise max_iter or reg.

    From "Interpolating between Optimal Transport and MMD using Sinkhorn Divergences (2019)".

    Args:
        X: source points (..., n, d).
        Y: target points (..., m, d), same batch dims and d as ``X``.
        reg: entropic regularization :math:`\varepsilon`, > 0.
        a: source weights (..., n), or None for uniform; normalized to sum 1.
        b: target weights (..., m), or None for uniform; normalized to sum 1.
        p: exponent of the Euclidean ground cost, > 0.
        max_iter: maximum number of iterations per OT problem.
        tol: marginal-error tolerance of each solve.
        chunk_size: None solves on dense cost matrices (fast, batched); an integer recomputes costs
            ``chunk_size`` rows at a time, as :func:`paperlab.solvers.sinkhorn_samples` does, with
            O(n + m) memory (2-D X and Y only).

    Returns:
        The divergence, shape (...) (the batch dims).
    """
    check_point_clouds(X, Y, ("X", "Y"))
    check_positive("reg", reg)
    check_positive("p", p)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)
    if chunk_size is not None:
        check_positive("chunk_size", chunk_size, integer=True)
        if X.dim() != 2:
            raise ValueError(f"chunk_size needs 2-D X and Y (n, d), got X of shape {tuple(X.shape)}")
    ot_xy = _entropic_ot(X, Y, a, b, reg, p, max_iter, tol, chunk_size)
    ot_xx = _entropic_ot(X, X, a, a, reg, p, max_iter, tol, chunk_size)
    ot_yy = _entropic_ot(Y, Y, b, b, reg, p, max_iter, tol, chunk_size)
    return ot_xy - (ot_xx + ot_yy) / 2

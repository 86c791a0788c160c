"""Log-domain Sinkhorn between point clouds with costs computed chunk by chunk (no n x m matrix)."""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive
from paperlab.distances.cost import check_point_clouds
from paperlab.solvers.sinkhorn import (
    CHECK_EVERY,
    OTResult,
    check_marginal,
    check_solver_options,
    warn_not_converged,
)

ELEMENTS_PER_CHUNK = 2**22  # default budget for one (chunk, m) block of costs


def _cost_block(x: torch.Tensor, y: torch.Tensor, y_sq: torch.Tensor, p: float) -> torch.Tensor:
    """Costs ||x_i - y_j||^p of a block of rows, shape (chunk, m), in a fresh tensor."""
    if p == 2:
        block = torch.addmm(y_sq.unsqueeze(0), x, y.T, alpha=-2)  # (chunk, m)
        return block.add_((x * x).sum(-1, keepdim=True)).clamp_(min=0)
    return torch.cdist(x, y).pow_(p)


class _Chunks:
    """Row blocks of the kernel -C/reg, recomputed on demand so that memory stays O(n + m)."""

    def __init__(self, X, Y, reg, p, chunk_size):
        self.X, self.Y, self.reg, self.p = X, Y, reg, p
        self.y_sq = (Y * Y).sum(-1)
        self.bounds = [(i, min(i + chunk_size, len(X))) for i in range(0, len(X), chunk_size)]

    def costs(self):
        """Yield (row slice, cost block (chunk, m))."""
        for start, stop in self.bounds:
            yield slice(start, stop), _cost_block(self.X[start:stop], self.Y, self.y_sq, self.p)

    def row_lse(self, beta):
        """LSE_j(-C_ij / reg + beta_j), shape (n,)."""
        out = torch.empty(len(self.X), dtype=beta.dtype, device=beta.device)
        for rows, block in self.costs():
            out[rows] = torch.logsumexp(block.div_(-self.reg).add_(beta), dim=1)
        return out

    def column_lse(self, alpha):
        """LSE_i(-C_ij / reg + alpha_i), shape (m,), combined across row blocks."""
        out = torch.full_like(self.y_sq, -math.inf)
        for rows, block in self.costs():
            out = torch.logaddexp(out, torch.logsumexp(block.div_(-self.reg).add_(alpha[rows, None]), dim=0))
        return out

    def plan_blocks(self, alpha, beta):
        """Yield (row slice, cost block, plan block exp(-C/reg + alpha + beta)), each (chunk, m)."""
        for rows, block in self.costs():
            yield rows, block, torch.exp(alpha[rows, None] + beta - block / self.reg)


class _EnvelopeOT(torch.autograd.Function):
    """Transport cost and entropic value whose gradients follow the envelope theorem.

    The potentials are constants at convergence, so d/dx_i = sum_j P_ij grad_x c(x_i, y_j) and
    d/dy_j = sum_i P_ij grad_y c(x_i, y_j) (exact for the entropic value, POT's convention for
    <P, C>); d(entropic value)/da = f and /db = g.
    """

    @staticmethod
    def forward(ctx, X, Y, a, b, f, g, alpha, beta, chunks):
        ctx.save_for_backward(alpha, beta, f, g)
        ctx.chunks = chunks
        value = sum((block * plan).sum() for _, block, plan in chunks.plan_blocks(alpha, beta))
        return value, (a * f).sum() + (b * g).sum()

    @staticmethod
    def backward(ctx, grad_value, grad_entropic):
        alpha, beta, f, g = ctx.saved_tensors
        chunks = ctx.chunks
        X, Y, p = chunks.X, chunks.Y, chunks.p
        scale = grad_value + grad_entropic
        grad_X, grad_Y = torch.empty_like(X), torch.zeros_like(Y)
        col_weight = torch.zeros_like(beta)
        for rows, block, plan in chunks.plan_blocks(alpha, beta):
            # grad_x ||x - y||^p = p ||x - y||^(p - 2) (x - y); weight W_ij = P_ij p ||x_i - y_j||^(p - 2)
            if p == 2:
                weight = 2 * plan
            else:
                weight = torch.where(block > 0, p * plan * block.pow(1 - 2 / p), 0)
            grad_X[rows] = X[rows] * weight.sum(1, keepdim=True) - weight @ Y  # (chunk, d)
            grad_Y -= weight.T @ X[rows]  # (m, d)
            col_weight += weight.sum(0)
        grad_Y += Y * col_weight.unsqueeze(-1)
        return (
            scale * grad_X,
            scale * grad_Y,
            grad_entropic * f,
            grad_entropic * g,
            None,
            None,
            None,
            None,
            None,
        )


def sinkhorn_samples(
    X: torch.Tensor,
    Y: torch.Tensor,
    reg: float,
    a: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    p: float = 2,
    max_iter: int = 1000,
    tol: float = 1e-9,
    chunk_size: int | None = None,
) -> OTResult:
    r"""Log-domain Sinkhorn between point clouds without ever storing the n x m cost matrix.

    The same iterates as :func:`paperlab.solvers.sinkhorn` on :math:`M_{ij} = \|x_i - y_j\|^p`, but
    every log-sum-exp recomputes its block of costs from the points, ``chunk_size`` rows at a time,
    so memory is O(n + m) plus one (chunk_size, m) block. The transport cost
    :math:`\langle P, M\rangle` and the entropic value :math:`\langle a, f\rangle + \langle b, g\rangle`
    are summed block by block; their gradients with respect to X, Y (and a, b for the entropic value)
    follow the envelope theorem, :math:`\partial/\partial x_i = \sum_j P_{ij}\nabla_x c(x_i, y_j)`,
    with the potentials held constant at convergence.

    From "Sinkhorn Distances: Lightspeed Computation of Optimal Transport (2013)".

    Args:
        X: source points (n, d).
        Y: target points (m, d).
        reg: entropic regularization, > 0.
        a: source weights (n,), or None for uniform; normalized to sum 1.
        b: target weights (m,), or None for uniform; normalized to sum 1.
        p: exponent of the Euclidean ground cost, > 0.
        max_iter: maximum number of iterations (a warning says when it is reached).
        tol: stop when :math:`\|P^\top 1 - b\|_2` falls below ``tol`` (checked every 10 iterations).
        chunk_size: rows of costs computed at once; None picks about 4M entries per block.

    Returns:
        OTResult with ``plan=None`` (the plan is never materialized), value and entropic_value
        (scalars with envelope gradients), potentials f (n,) and g (m,), n_iter, converged and
        marginal_error.
    """
    check_point_clouds(X, Y, ("X", "Y"))
    if X.dim() != 2:
        raise ValueError(f"X and Y must be 2-D point clouds (n, d) and (m, d), got shape {tuple(X.shape)}")
    check_solver_options(reg, max_iter, tol)
    check_positive("p", p)
    if chunk_size is None:
        chunk_size = max(1, ELEMENTS_PER_CHUNK // len(Y))
    check_positive("chunk_size", chunk_size, integer=True)
    a = check_marginal("a", a, X.shape[:1], X)
    b = check_marginal("b", b, Y.shape[:1], Y)

    with torch.no_grad():
        chunks = _Chunks(X.detach(), Y.detach(), reg, p, chunk_size)
        log_a, log_b = a.detach().log(), b.detach().log()
        alpha, beta = torch.zeros_like(log_a), torch.zeros_like(log_b)
        n_iter, error = 0, math.inf
        while True:
            column_lse = chunks.column_lse(alpha)
            if n_iter > 0 and (n_iter % CHECK_EVERY == 0 or n_iter == max_iter):
                error = torch.linalg.vector_norm(torch.exp(beta + column_lse) - b.detach()).item()
                if error < tol or n_iter == max_iter:
                    break
            beta = log_b - column_lse
            alpha = log_a - chunks.row_lse(beta)
            n_iter += 1
        f = reg * (alpha - log_a)
        g = torch.where(b > 0, reg * (beta - log_b), -reg * column_lse)
        if bool((a == 0).any()):
            f = torch.where(a > 0, f, -reg * chunks.row_lse(beta))
    converged = error < tol
    if not converged:
        warn_not_converged("sinkhorn_samples", n_iter, error, tol)
    chunks.X, chunks.Y = X, Y  # the backward pass works on the caller's points
    value, entropic_value = _EnvelopeOT.apply(X, Y, a, b, f, g, alpha, beta, chunks)
    return OTResult(value, None, (f, g), n_iter, converged, error, entropic_value)

"""Entropic optimal transport between discrete measures with the log-domain Sinkhorn algorithm."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive, check_tensor

CHECK_EVERY = 10  # iterations between two marginal-error checks


@dataclass
class OTResult:
    """The outcome of an entropic OT solver.

    Attributes:
        value: transport cost :math:`\\langle P, M\\rangle`, shape (...) (batch dims of the problem).
        plan: transport plan P, shape (..., n, m), or None for solvers that never build it.
        potentials: dual potentials (f, g), shapes (..., n) and (..., m), with
            :math:`P_{ij} = a_i b_j \\exp((f_i + g_j - M_{ij}) / \\mathrm{reg})`.
        n_iter: number of Sinkhorn (or Newton) iterations done.
        converged: whether the marginal error fell below ``tol``.
        marginal_error: largest (over the batch) :math:`\\|P^\\top 1 - b\\|_2` at the last check.
        entropic_value: :math:`\\langle P, M\\rangle + \\mathrm{reg}\\,\\mathrm{KL}(P \\| a \\otimes b)`,
            equal to :math:`\\langle a, f\\rangle + \\langle b, g\\rangle` at convergence, shape (...).
    """

    value: torch.Tensor
    plan: torch.Tensor | None
    potentials: tuple[torch.Tensor, torch.Tensor]
    n_iter: int
    converged: bool
    marginal_error: float
    entropic_value: torch.Tensor | None = None


def check_marginal(name: str, w: torch.Tensor | None, shape: torch.Size, like: torch.Tensor) -> torch.Tensor:
    """Return weights of exact ``shape`` normalized to sum 1 on the last axis (None means uniform)."""
    if w is None:
        return torch.full(shape, 1.0 / shape[-1], dtype=like.dtype, device=like.device)
    check_tensor(name, w, floating=True)
    if w.shape != shape:
        raise ValueError(f"{name} must have shape {tuple(shape)}, got shape {tuple(w.shape)}")
    if w.dtype != like.dtype or w.device != like.device:
        raise TypeError(f"{name} must have dtype {like.dtype} on {like.device}, got {w.dtype} on {w.device}")
    if bool((w < 0).any()):
        raise ValueError(f"{name} must be non-negative, got minimum {w.min().item():.3g}")
    total = w.sum(-1, keepdim=True)
    if bool((total <= 0).any()):
        raise ValueError(
            f"{name} must have a positive sum to be normalized, got a sum of {total.min().item():.3g}"
        )
    return w / total


def check_solver_options(reg, max_iter, tol) -> None:
    """Raise unless reg > 0, max_iter a positive integer and tol >= 0."""
    check_positive("reg", reg)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)


def warn_not_converged(solver: str, n_iter: int, error: float, tol: float) -> None:
    """Warn that a solver stopped at max_iter, and say how to fix it."""
    warnings.warn(
        f"{solver} did not converge in {n_iter} iterations (marginal error {error:.2e} > tol {tol:.1e}); "
        "raise max_iter, or raise reg (a larger regularization converges faster)",
        UserWarning,
        stacklevel=3,
    )


def _column_error(col_sums: torch.Tensor, b: torch.Tensor) -> float:
    """Largest (over the batch) L2 distance between the plan's column sums and b."""
    return torch.linalg.vector_norm(col_sums - b, dim=-1).max().item()


def _log_step(log_kernel, alpha, beta, log_a, log_b, buffer):
    """One log-domain Sinkhorn iteration (beta then alpha), writing temporaries into ``buffer``."""
    torch.add(log_kernel, alpha.unsqueeze(-1), out=buffer)  # (..., n, m)
    beta = log_b - torch.logsumexp(buffer, dim=-2)
    torch.add(log_kernel, beta.unsqueeze(-2), out=buffer)  # (..., n, m)
    alpha = log_a - torch.logsumexp(buffer, dim=-1)
    return alpha, beta


def _absorb(log_kernel, alpha, beta, out, floor=None):
    """Write the current plan exp(-M/reg + alpha + beta) into ``out``, its log clamped at ``floor``.

    The floor keeps negligible entries (and their products with the scalings) out of the subnormal
    range, where CPU arithmetic is many times slower; it changes entries only below exp(floor).
    """
    torch.add(log_kernel, alpha.unsqueeze(-1), out=out)  # (..., n, m)
    out.add_(beta.unsqueeze(-2))
    if floor is not None:
        out.clamp_(min=floor)
    return out.exp_()


def _scaling_block(plan, a, b, u, v, n_steps, max_drift):
    """Run ``n_steps`` scaling iterations v = b / (P^T u), u = a / (P v) on the absorbed plan P.

    Matrix-vector products replace log-sum-exps; this is exact arithmetic on the same iterates as
    long as the scalings stay within exp(+-max_drift), which is checked. Returns the scalings u (..., n),
    v (..., m), their largest log-magnitude and the column sums of the scaled plan (..., m), or None
    when the block drifted too far (or hit an underflow).
    """
    tiny = torch.finfo(plan.dtype).tiny
    for _ in range(n_steps):
        v = b / (u.unsqueeze(-2) @ plan).squeeze(-2).clamp_min(tiny)  # (..., m)
        u = a / (plan @ v.unsqueeze(-1)).squeeze(-1).clamp_min(tiny)  # (..., n)
    columns = v * (u.unsqueeze(-2) @ plan).squeeze(-2)  # (..., m)
    drift = torch.maximum(_masked_log(u, a).abs().amax(), _masked_log(v, b).abs().amax())
    if not bool(drift < max_drift):  # also False for NaN
        return None
    return u, v, drift.item(), columns


def _masked_log(scaling, weights):
    """log of a scaling, 0 where the weight is 0 (those potentials are already -inf)."""
    return torch.where(weights > 0, scaling.log(), 0)


def _record(history, n_iter, error, started):
    if history is not None:
        history.append((n_iter, error, time.perf_counter() - started))


def _solve_fast(M, a, b, reg, max_iter, tol, history, started):
    """Sinkhorn without autograd: scaling blocks on an absorbed plan, log-domain blocks as a fallback.

    The plan exp(-M/reg + alpha + beta) is materialized once (absorption); blocks of scaling
    iterations then update multiplicative scalings u, v, which are absorbed into alpha, beta when they
    grow past half the safe range. A block that leaves the safe range is redone in the log domain.
    """
    log_kernel = M / -reg
    log_a, log_b = a.log(), b.log()
    buffer = torch.empty_like(M)
    max_drift = 0.1 * math.log(torch.finfo(M.dtype).max)
    floor = math.log(torch.finfo(M.dtype).tiny) + 2 * max_drift
    # one log-domain iteration makes every row of the absorbed plan sum to a_i
    alpha, beta = _log_step(log_kernel, torch.zeros_like(a), torch.zeros_like(b), log_a, log_b, buffer)
    _absorb(log_kernel, alpha, beta, buffer, floor)
    u, v = torch.ones_like(a), torch.ones_like(b)
    n_iter, error = 1, math.inf
    if max_iter == 1:
        error = _column_error(buffer.sum(-2), b)
    while n_iter < max_iter:
        n_steps = min(CHECK_EVERY - n_iter % CHECK_EVERY, max_iter - n_iter)
        block = _scaling_block(buffer, a, b, u, v, n_steps, max_drift)
        if block is None:
            alpha, beta = alpha + _masked_log(u, a), beta + _masked_log(v, b)
            for _ in range(n_steps):
                alpha, beta = _log_step(log_kernel, alpha, beta, log_a, log_b, buffer)
            _absorb(log_kernel, alpha, beta, buffer, floor)
            u, v = torch.ones_like(a), torch.ones_like(b)
            columns = buffer.sum(-2)
        else:
            u, v, drift, columns = block
            if drift > max_drift / 2:
                alpha, beta = alpha + _masked_log(u, a), beta + _masked_log(v, b)
                _absorb(log_kernel, alpha, beta, buffer, floor)
                u, v = torch.ones_like(a), torch.ones_like(b)
        n_iter += n_steps
        error = _column_error(columns, b)
        _record(history, n_iter, error, started)
        if error < tol:
            break
    alpha, beta = alpha + _masked_log(u, a), beta + _masked_log(v, b)
    return alpha, beta, _absorb(log_kernel, alpha, beta, buffer), n_iter, error


def _solve_autodiff(M, a, b, reg, max_iter, tol, history, started):
    """Plain log-domain Sinkhorn that autograd can differentiate through (unrolled iterations)."""
    log_kernel = M / -reg
    log_a, log_b = a.log(), b.log()
    alpha = torch.zeros_like(a)
    beta = torch.zeros_like(b)
    n_iter, error = 0, math.inf
    while n_iter < max_iter:
        beta = log_b - torch.logsumexp(log_kernel + alpha.unsqueeze(-1), dim=-2)
        alpha = log_a - torch.logsumexp(log_kernel + beta.unsqueeze(-2), dim=-1)
        n_iter += 1
        if n_iter % CHECK_EVERY == 0 or n_iter == max_iter:
            with torch.no_grad():
                plan = torch.exp(log_kernel + alpha.unsqueeze(-1) + beta.unsqueeze(-2))
                error = _column_error(plan.sum(-2), b)
            _record(history, n_iter, error, started)
            if error < tol:
                break
    plan = torch.exp(log_kernel + alpha.unsqueeze(-1) + beta.unsqueeze(-2))  # (..., n, m)
    return alpha, beta, plan, n_iter, error


def _potential(log_scaling, log_w, reg, c_transform):
    """reg * (log scaling - log weight), falling back to the soft c-transform where a weight is 0."""
    f = reg * (log_scaling - log_w)
    zero = torch.isinf(log_w)
    if bool(zero.any()):
        f = torch.where(zero, c_transform(), f)
    return f


def sinkhorn(
    a: torch.Tensor | None,
    b: torch.Tensor | None,
    M: torch.Tensor,
    reg: float,
    max_iter: int = 1000,
    tol: float = 1e-9,
    method: str = "log",
    grad: str = "autodiff",
    history: list | None = None,
) -> OTResult:
    r"""Entropic optimal transport by the log-domain Sinkhorn algorithm.

    Solves :math:`\min_{P \in U(a, b)} \langle P, M\rangle + \mathrm{reg}\,\mathrm{KL}(P \| a\otimes b)`
    by alternating the updates (in log-domain, :math:`K = -M/\mathrm{reg}`)

    .. math:: \beta = \log b - \mathrm{LSE}_i(K_{ij} + \alpha_i), \qquad
              \alpha = \log a - \mathrm{LSE}_j(K_{ij} + \beta_j),

    with :math:`P = \exp(K + \alpha \oplus \beta)`, the iterates of POT's ``sinkhorn_log``. Once the
    potentials are tame, blocks of iterations run as matrix-vector scalings on the absorbed plan
    (the same iterates, much cheaper than log-sum-exps), with a fallback to log-domain blocks. The
    marginal error :math:`\|P^\top 1 - b\|_2` is checked every 10 iterations.

    From "Sinkhorn Distances: Lightspeed Computation of Optimal Transport (2013)".

    Args:
        a: source weights (..., n), or None for uniform weights; normalized to sum 1.
        b: target weights (..., m), or None for uniform weights; normalized to sum 1.
        M: cost matrix (..., n, m); leading dims are independent problems solved together.
        reg: entropic regularization, > 0.
        max_iter: maximum number of iterations (a warning says when it is reached).
        tol: stop when the marginal error falls below ``tol``.
        method: only ``"log"`` (log-domain stabilized Sinkhorn).
        grad: ``"autodiff"`` differentiates through the unrolled iterations (plan, value and
            potentials all differentiable); ``"envelope"`` runs the iterations without a graph and
            gives ``value`` the gradient P w.r.t. M (POT's convention) and ``entropic_value`` its exact
            envelope gradient through a last soft c-transform; the plan is then detached.
        history: if a list, one ``(iteration, marginal_error, seconds)`` tuple is appended at every
            check (every 10 iterations).

    Returns:
        OTResult with value (...), plan (..., n, m), potentials f (..., n) and g (..., m), n_iter,
        converged, marginal_error and entropic_value (...).
    """
    check_choice("method", method, {"log"})
    check_choice("grad", grad, {"autodiff", "envelope"})
    check_tensor("M", M, min_dim=2, floating=True)
    check_solver_options(reg, max_iter, tol)
    a = check_marginal("a", a, M.shape[:-1], M)
    b = check_marginal("b", b, M.shape[:-2] + M.shape[-1:], M)

    started = time.perf_counter()
    needs_graph = torch.is_grad_enabled() and any(t.requires_grad for t in (M, a, b))
    if needs_graph and grad == "autodiff":
        alpha, beta, plan, n_iter, error = _solve_autodiff(M, a, b, reg, max_iter, tol, history, started)
    else:
        with torch.no_grad():
            alpha, beta, plan, n_iter, error = _solve_fast(M, a, b, reg, max_iter, tol, history, started)
    converged = error < tol
    if not converged:
        warn_not_converged("sinkhorn", n_iter, error, tol)

    log_a, log_b = a.log(), b.log()
    log_kernel = M / -reg
    f = _potential(alpha, log_a, reg, lambda: -reg * torch.logsumexp(log_kernel + beta.unsqueeze(-2), -1))
    g = _potential(beta, log_b, reg, lambda: -reg * torch.logsumexp(log_kernel + alpha.unsqueeze(-1), -2))
    if needs_graph and grad == "envelope":
        g = g.detach()
        # f = soft c-transform of the fixed g: its derivative w.r.t. M is P / a (envelope theorem)
        f = -reg * torch.logsumexp(log_b.unsqueeze(-2) + (g.unsqueeze(-2) - M) / reg, dim=-1)
        value = (plan.detach() * M).sum((-2, -1))
    else:
        value = (plan * M).sum((-2, -1))
    entropic_value = (a * f).sum(-1) + (b * g).sum(-1)
    return OTResult(value, plan, (f, g), n_iter, converged, error, entropic_value)

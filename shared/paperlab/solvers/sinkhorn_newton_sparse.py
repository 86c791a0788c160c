"""Sinkhorn-Newton-Sparse: Sinkhorn warm-up, then Newton steps on the dual with a sparsified Hessian."""

from __future__ import annotations

import math
import time
import warnings

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.sinkhorn import (
    OTResult,
    _absorb,
    _log_step,
    _scaling_block,
    check_marginal,
    check_solver_options,
    warn_not_converged,
)

REFRESH_DRIFT = math.log(2)  # largest |log-scaling| of the plan before its kept entries are re-selected
SLOW_PROGRESS = 0.9  # an iteration that cuts the marginal error by less than 10% also re-selects them


def _top_entries(plan: torch.Tensor, density: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column indices (each (nnz,)) of the entries :func:`sparsify_plan` keeps, each once."""
    n, m = plan.shape
    row_keep, column_keep = math.ceil(density * m), math.ceil(density * n)
    row_values, row_index = torch.topk(plan, row_keep, dim=1, sorted=False)  # (n, row_keep)
    column_values, column_index = torch.topk(plan, column_keep, dim=0, sorted=False)  # (column_keep, m)
    # an entry among its column's largest that its row already keeps is listed once, with the row's
    only_by_column = column_values < row_values.amin(1)[column_index]  # (column_keep, m)
    own_column = torch.arange(m, device=plan.device).expand(column_keep, m)  # (column_keep, m)
    own_row = torch.arange(n, device=plan.device).repeat_interleave(row_keep)  # (n * row_keep,)
    rows = torch.cat([own_row, column_index[only_by_column]])
    columns = torch.cat([row_index.flatten(), own_column[only_by_column]])
    return rows, columns


def sparsify_plan(plan: torch.Tensor, density: float) -> torch.Tensor:
    """Keep, in every row and every column, its ``ceil(density * length)`` largest entries; zero the rest.

    Keeping the largest entries row- and column-wise (rather than globally) leaves every point with
    at least one neighbour, so the sparsified Hessian stays connected where the plan has little mass.
    At most ``2 * density`` of the entries survive.
    """
    rows, columns = _top_entries(plan, density)
    sparse = torch.zeros_like(plan)
    sparse[rows, columns] = plan[rows, columns]
    return sparse


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


class _SparsePattern:
    """The kept entries (``rows``, ``columns``), each (nnz,), laid out as CSR matrices P_s and P_s^T."""

    def __init__(self, rows, columns, n, m):
        self.rows, self.columns, self.shape = rows, columns, (n, m)
        self.by_row = torch.argsort(rows * m + columns)  # (nnz,) order of the entries of P_s
        self.by_column = torch.argsort(columns * n + rows)  # (nnz,) order of the entries of P_s^T
        self.row_pointers = _pointers(rows, n)
        self.column_pointers = _pointers(columns, m)

    def matrices(self, values):
        """P_s (n, m) and P_s^T (m, n) as sparse CSR tensors holding ``values`` (nnz,)."""
        n, m = self.shape
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            forward = torch.sparse_csr_tensor(
                self.row_pointers,
                self.columns[self.by_row],
                values[self.by_row],
                (n, m),
                check_invariants=False,
            )
            backward = torch.sparse_csr_tensor(
                self.column_pointers,
                self.rows[self.by_column],
                values[self.by_column],
                (m, n),
                check_invariants=False,
            )
        return forward, backward


def _pointers(index, size):
    """CSR row pointers (size + 1,) of entries whose row indices are ``index``."""
    counts = torch.bincount(index, minlength=size)  # (size,)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def _newton_direction(pattern, values, gradient, full_diagonal, forcing, cg_max_iter):
    """Solve [[diag(P_s 1), P_s], [P_s^T, diag(P_s^T 1)]] d = gradient, P_s the sparsified plan.

    P_s holds the kept entries ``values`` (nnz,) of ``pattern``, so a product with the system costs
    O(nnz) instead of O(nm).
    """
    n, m = pattern.shape
    forward, backward = pattern.matrices(values)
    sparse_diagonal = torch.cat(
        [
            values.new_zeros(n).index_add_(0, pattern.rows, values),
            values.new_zeros(m).index_add_(0, pattern.columns, values),
        ]
    )  # (n + m,)
    diagonal = sparse_diagonal + 1e-10 * full_diagonal

    def matvec(d):
        return diagonal * d + torch.cat([forward @ d[n:], backward @ d[:n]])

    return _conjugate_gradient(matvec, gradient, diagonal, forcing, cg_max_iter)


class _ScaledPlan:
    """The plan exp(K + alpha + beta) kept as diag(e^x) P0 diag(e^y), P0 = exp(K + alpha0 + beta0).

    Marginals and the dual objective then cost matrix-vector products with the absorbed plan P0
    instead of an exponential of the whole cost matrix; the scalings are absorbed into P0 (one
    exponential) when they leave a safe range. Entries of P0 are floored above the subnormal range.
    """

    def __init__(self, log_kernel, a, b, alpha, beta):
        self.log_kernel, self.a, self.b = log_kernel, a, b
        self.max_drift = 0.1 * math.log(torch.finfo(log_kernel.dtype).max)
        self.floor = math.log(torch.finfo(log_kernel.dtype).tiny) + 2 * self.max_drift
        self.plan = torch.empty_like(log_kernel)
        self.absorb(alpha, beta)

    def absorb(self, alpha, beta):
        """Set P0 to the plan at (alpha, beta) and the log-scalings x, y to zero."""
        self.alpha0, self.beta0 = alpha, beta
        _absorb(self.log_kernel, alpha, beta, self.plan, self.floor)
        self.x, self.y = torch.zeros_like(alpha), torch.zeros_like(beta)
        self.row_sums, self.column_sums = self.plan.sum(1), self.plan.sum(0)

    def potentials(self, x=None, y=None):
        """The log-scalings alpha (n,), beta (m,) of the plan with log-scalings x, y (default: current)."""
        return self.alpha0 + (self.x if x is None else x), self.beta0 + (self.y if y is None else y)

    def objective(self, x, y):
        """Dual objective phi at log-scalings (x, y) and the plan's row sums there (n,)."""
        row_sums = x.exp() * (self.plan @ y.exp())  # (n,)
        alpha, beta = self.potentials(x, y)
        return (self.a * alpha).sum() + (self.b * beta).sum() - row_sums.sum(), row_sums

    def move_to(self, x, y, row_sums=None):
        """Take log-scalings (x, y); absorb them into P0 once an entry changed by a factor > 2 since.

        Absorbing also makes the solver re-select the kept entries on the new P0.
        """
        self.x, self.y = x, y
        if max(x.abs().max().item(), y.abs().max().item()) > REFRESH_DRIFT:
            self.absorb(*self.potentials())
            return
        u = x.exp()
        self.row_sums = u * (self.plan @ y.exp()) if row_sums is None else row_sums
        self.column_sums = y.exp() * (u @ self.plan)

    def sinkhorn_step(self):
        """One Sinkhorn iteration (beta then alpha) in log-scalings."""
        tiny = torch.finfo(self.plan.dtype).tiny
        y = self.y + self.b.log() - self.column_sums.clamp_min(tiny).log()
        row_sums = self.x.exp() * (self.plan @ y.exp())  # (n,)
        self.move_to(self.x + self.a.log() - row_sums.clamp_min(tiny).log(), y)

    def error(self):
        """Marginal error ||(P1 - a, P^T 1 - b)||_2."""
        return math.hypot(
            torch.linalg.vector_norm(self.row_sums - self.a).item(),
            torch.linalg.vector_norm(self.column_sums - self.b).item(),
        )


def _warm_up(log_kernel, a, b, n_steps, tol, record):
    """``n_steps`` Sinkhorn iterations as scalings of an absorbed plan (log-domain when they drift).

    Returns the scaled plan and the number of iterations done (fewer when the error fell below tol).
    """
    log_a, log_b = a.log(), b.log()
    alpha, beta = torch.zeros_like(a), torch.zeros_like(b)
    if n_steps == 0:
        return _ScaledPlan(log_kernel, a, b, alpha, beta), 0
    alpha, beta = _log_step(log_kernel, alpha, beta, log_a, log_b, torch.empty_like(log_kernel))
    state = _ScaledPlan(log_kernel, a, b, alpha, beta)
    record(1, state.error())
    u, v, done = torch.ones_like(a), torch.ones_like(b), 1
    while done < n_steps and state.error() >= tol:
        block = _scaling_block(state.plan, a, b, u, v, 1, state.max_drift)
        if block is None:  # the scalings left the safe range: one log-domain step instead
            alpha, beta = state.potentials(u.log(), v.log())
            state.absorb(*_log_step(log_kernel, alpha, beta, log_a, log_b, torch.empty_like(log_kernel)))
            u, v = torch.ones_like(a), torch.ones_like(b)
        else:
            u, v, drift, columns = block
            if drift > state.max_drift / 2:
                state.absorb(*state.potentials(u.log(), v.log()))
                u, v = torch.ones_like(a), torch.ones_like(b)
            else:
                state.x, state.y, state.row_sums, state.column_sums = u.log(), v.log(), a, columns
        done += 1
        record(done, state.error())
    return state, done


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

    The plan is kept as scalings :math:`\mathrm{diag}(e^x) P_0 \mathrm{diag}(e^y)` of an absorbed plan
    :math:`P_0`, so marginals and line-search values cost matrix-vector products. The kept entries are
    selected on :math:`P_0` and rescaled at every step (Hessian products cost O(kept entries) on CSR
    matrices); they are re-selected on the current plan once some scaling exceeds a factor 2, or
    after an iteration that cut the marginal error by less than 10%.

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
        history: if a list, one ``(iteration, marginal_error, seconds)`` tuple is appended per iteration.

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

    def record(n_iter, error):
        if history is not None:
            history.append((n_iter, error, time.perf_counter() - started))

    with torch.no_grad():
        log_kernel = M / -reg
        state, n_iter = _warm_up(log_kernel, a, b, min(n_warmup, max_iter), tol, record)
        error, stalled, pattern_of = state.error(), False, None
        while n_iter < max_iter and error >= tol:
            previous_error = error
            if stalled:
                state.sinkhorn_step()
            else:
                if pattern_of is not state.alpha0:  # kept entries, selected on the absorbed plan P0
                    rows, columns = _top_entries(state.plan, density)
                    pattern = _SparsePattern(rows, columns, *M.shape)
                    kept, pattern_of = state.plan[rows, columns], state.alpha0
                gradient = torch.cat([a - state.row_sums, b - state.column_sums])  # (n + m,)
                values = kept * state.x.exp()[rows] * state.y.exp()[columns]  # (nnz,)
                full_diagonal = torch.cat([state.row_sums, state.column_sums])  # (n + m,)
                # CG relative tolerance min(0.1, sqrt|grad|): inexact Newton with superlinear forcing
                forcing = min(0.1, math.sqrt(torch.linalg.vector_norm(gradient).item()))
                direction = _newton_direction(pattern, values, gradient, full_diagonal, forcing, cg_max_iter)
                slope = gradient @ direction
                value = state.objective(state.x, state.y)[0]
                step = 1.0
                for _ in range(40):
                    x, y = state.x + step * direction[:n], state.y + step * direction[n:]
                    candidate, row_sums = state.objective(x, y)
                    if candidate >= value + 1e-4 * step * slope:
                        break
                    step /= 2
                state.move_to(x, y, row_sums)
            n_iter += 1
            # a heavily damped Newton step means the sparsified Hessian misled it: do one Sinkhorn step
            stalled = not stalled and step < 0.1
            error = state.error()
            record(n_iter, error)
            if error > SLOW_PROGRESS * previous_error and not stalled:
                state.absorb(*state.potentials())  # re-select the kept entries on the current plan
        alpha, beta = state.potentials()
        plan = _absorb(log_kernel, alpha, beta, state.plan)
    converged = error < tol
    if not converged:
        warn_not_converged("sinkhorn_newton_sparse", n_iter, error, tol)
    f, g = reg * (alpha - a.log()), reg * (beta - b.log())
    cost = (plan * M).sum()
    return OTResult(cost, plan, (f, g), n_iter, converged, error, (a * f).sum() + (b * g).sum())

"""Alternating minimization for matrix completion: recovery, exact vs CG row solves, bad inputs."""

import numpy as np
import pytest
import torch

from paperlab.solvers import altmin_completion, altmin_multiply_adds
from paperlab.solvers.matrix_completion import _row_solve


def planted_problem(m, n, rank, fraction, seed):
    g = torch.Generator().manual_seed(seed)
    truth = (
        torch.randn(m, rank, generator=g, dtype=torch.float64) @ torch.randn(n, rank, generator=g).double().T
    )
    mask = torch.rand(m, n, generator=g) < fraction
    return truth, mask


def relative_error(x, y):
    return float(torch.linalg.matrix_norm(x - y) / torch.linalg.matrix_norm(x))


# 150 x 120 at rank 3 has (m + n - k) k = 801 degrees of freedom; 12% sampling observes about 2.7x as many.
@pytest.mark.parametrize(("solver", "cg_steps"), [("exact", 1), ("cg", 1), ("cg", 2)])
def test_recovers_a_planted_low_rank_matrix(solver, cg_steps):
    truth, mask = planted_problem(150, 120, 3, 0.12, seed=0)
    observed = torch.where(mask, truth, torch.full_like(truth, float("nan")))  # unobserved entries unused
    result = altmin_completion(observed, mask, 3, n_iter=40, solver=solver, cg_steps=cg_steps, seed=0)
    assert relative_error(truth, result.to_matrix()) < 1e-4
    assert result.observed_errors[-1] < 1e-2 * result.observed_errors[0]
    if solver == "cg":
        assert result.solve_residuals[0] > 1e-3  # with fewer CG steps than the rank k = 3, solves are inexact
    else:
        assert max(result.solve_residuals) < 1e-10


def test_exact_row_solve_matches_per_row_least_squares():
    truth, mask = planted_problem(20, 15, 2, 0.5, seed=1)
    noisy = truth + 0.1 * torch.randn(20, 15, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    fixed = torch.randn(15, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    rows, cols = mask.nonzero(as_tuple=True)
    solution, residual = _row_solve(rows, cols, noisy[rows, cols], fixed, None, 20, "exact", 1, 0.0)
    for i in range(20):
        observed = mask[i].numpy()
        reference = np.linalg.lstsq(fixed.numpy()[observed], noisy[i].numpy()[observed], rcond=None)[0]
        np.testing.assert_allclose(solution[i].numpy(), reference, rtol=1e-9, atol=1e-12)
    assert residual < 1e-10


def test_cg_with_k_steps_solves_exactly():
    """CG on a k x k positive definite system terminates in k steps (up to rounding)."""
    truth, mask = planted_problem(30, 25, 3, 0.4, seed=4)
    fixed = torch.randn(25, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    rows, cols = mask.nonzero(as_tuple=True)
    values = truth[rows, cols]
    exact, _ = _row_solve(rows, cols, values, fixed, None, 30, "exact", 1, 0.0)
    start = torch.zeros(30, 3, dtype=torch.float64)
    approximate, residual = _row_solve(rows, cols, values, fixed, start, 30, "cg", 3, 0.0)
    torch.testing.assert_close(approximate, exact, rtol=1e-7, atol=1e-9)
    one_step, one_step_residual = _row_solve(rows, cols, values, fixed, start, 30, "cg", 1, 0.0)
    assert one_step_residual > 1e3 * residual


def test_callback_tol_and_cost_formula():
    truth, mask = planted_problem(60, 50, 2, 0.3, seed=6)
    calls = []
    result = altmin_completion(truth, mask, 2, n_iter=50, tol=1e-8, callback=lambda i, u, v: calls.append(i))
    assert result.converged and result.n_iter < 50 and calls == list(range(1, result.n_iter + 1))
    assert altmin_multiply_adds(1000, 60, 50, 4, "cg", cg_steps=2) == 5 * 1000 * 4
    assert altmin_multiply_adds(1000, 60, 50, 4, "exact") == 1000 * 16 + 110 * 64 / 3


def test_bad_inputs_raise():
    truth, mask = planted_problem(20, 15, 2, 0.5, seed=7)
    with pytest.raises(TypeError, match="mask"):
        altmin_completion(truth, mask.double(), 2)
    with pytest.raises(ValueError, match="mask"):
        altmin_completion(truth, mask[:, :10], 2)
    with pytest.raises(ValueError, match="rank"):
        altmin_completion(truth, mask, 0)
    with pytest.raises(ValueError, match="rank"):
        altmin_completion(truth, mask, 16)
    sparse_row = mask.clone()
    sparse_row[0] = False
    with pytest.raises(ValueError, match="every row"):
        altmin_completion(truth, sparse_row, 2)
    bad = truth.clone()
    bad[mask] = float("nan")
    with pytest.raises(ValueError, match="observed"):
        altmin_completion(bad, mask, 2)
    with pytest.raises(ValueError, match="solver"):
        altmin_completion(truth, mask, 2, solver="gd")

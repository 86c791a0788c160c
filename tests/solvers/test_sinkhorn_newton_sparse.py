"""Tests for paperlab.solvers.sinkhorn_newton_sparse: same solution as Sinkhorn/POT, fewer iterations."""

import ot
import pytest
import torch

from paperlab.distances import cost_matrix
from paperlab.solvers import hessian_sparsification_error, sinkhorn, sinkhorn_newton_sparse, sparsify_plan
from paperlab.solvers.sinkhorn_newton_sparse import _SparsePattern, _top_entries


def grid_problem(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 2, generator=g, dtype=torch.float64)
    Y = torch.rand(n, 2, generator=g, dtype=torch.float64)
    a = torch.rand(n, generator=g, dtype=torch.float64) + 0.5
    return a / a.sum(), torch.full((n,), 1 / n, dtype=torch.float64), cost_matrix(X, Y)


def test_plan_and_value_match_pot_sinkhorn_log():
    a, b, M = grid_problem(120, seed=1)
    reg = 0.01
    result = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-11, density=0.1)
    expected = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=100_000, stopThr=1e-12)
    assert result.converged
    torch.testing.assert_close(result.plan, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(result.value, (expected * M).sum(), rtol=1e-6, atol=1e-9)
    f, g = result.potentials
    dense = sinkhorn(a, b, M, reg, tol=1e-11, max_iter=100_000)
    torch.testing.assert_close(
        f - f.mean(), dense.potentials[0] - dense.potentials[0].mean(), rtol=0, atol=1e-7
    )


def test_reaches_tolerance_in_fewer_iterations_than_sinkhorn_at_small_reg():
    a, b, M = grid_problem(200, seed=2)
    reg, tol = 0.002, 1e-9
    newton = sinkhorn_newton_sparse(a, b, M, reg, tol=tol, density=0.05)
    plain = sinkhorn(a, b, M, reg, tol=tol, max_iter=100_000)
    assert newton.converged and plain.converged
    assert 5 * newton.n_iter < plain.n_iter
    torch.testing.assert_close(newton.value, plain.value, rtol=1e-6, atol=0)


def test_dense_hessian_converges_superlinearly():
    a, b, M = grid_problem(80, seed=3)
    history = []
    sinkhorn_newton_sparse(a, b, M, 0.005, tol=1e-12, density=1.0, n_warmup=30, history=history)
    errors = [error for _, error, _ in history[30:]]
    # once below 1e-3 the contraction factor shrinks step after step (Sinkhorn's stays constant)
    late = [e for e in errors if e < 1e-3]
    ratios = [e1 / e0 for e0, e1 in zip(late, late[1:])]
    assert len(ratios) >= 2 and ratios == sorted(ratios, reverse=True) and ratios[-1] < 1e-3


def test_history_records_every_iteration():
    a, b, M = grid_problem(30, seed=4)
    history = []
    result = sinkhorn_newton_sparse(a, b, M, 0.05, tol=1e-10, density=0.2, history=history)
    assert [i for i, _, _ in history] == list(range(1, result.n_iter + 1))
    assert history[-1][1] == result.marginal_error


def test_sparsified_hessian_error_matches_a_dense_computation():
    a, b, M = grid_problem(25, seed=5)
    plan = sinkhorn(a, b, M, 0.01, max_iter=5000).plan
    kept = sparsify_plan(plan, 0.1)
    # every row and every column keeps at least its 3 largest entries
    assert ((kept > 0).sum(1) >= 3).all() and ((kept > 0).sum(0) >= 3).all()
    assert (kept > 0).sum().item() <= 2 * 3 * 25
    torch.testing.assert_close(kept.amax(1), plan.amax(1))

    def hessian(P):
        return torch.cat(
            [torch.cat([torch.diag(plan.sum(1)), P], 1), torch.cat([P.T, torch.diag(plan.sum(0))], 1)]
        )

    expected = torch.linalg.norm(hessian(plan) - hessian(kept)) / torch.linalg.norm(hessian(plan))
    torch.testing.assert_close(hessian_sparsification_error(plan, 0.1), expected)


def test_sparse_hessian_product_matches_the_dense_sparsified_hessian():
    a, b, M = grid_problem(40, seed=8)
    plan = sinkhorn(a, b, M, 0.01, max_iter=5000).plan[:, :30]  # a rectangular plan (40, 30)
    rows, columns = _top_entries(plan, 0.1)
    assert len(set(zip(rows.tolist(), columns.tolist()))) == rows.numel()  # every kept entry once
    forward, backward = _SparsePattern(rows, columns, 40, 30).matrices(plan[rows, columns])
    kept = sparsify_plan(plan, 0.1)
    torch.testing.assert_close(forward.to_dense(), kept, rtol=0, atol=0)
    torch.testing.assert_close(backward.to_dense(), kept.T, rtol=0, atol=0)


def test_small_reg_result_matches_sinkhorn_after_many_plan_refreshes():
    a, b, M = grid_problem(150, seed=9)
    reg = 1e-3
    history = []
    newton = sinkhorn_newton_sparse(a, b, M, reg, tol=1e-10, history=history)
    plain = sinkhorn(a, b, M, reg, tol=1e-10, max_iter=100_000)
    assert newton.converged and newton.marginal_error < 1e-10
    # the reported error is the one of the returned plan
    error = torch.cat([newton.plan.sum(1) - a, newton.plan.sum(0) - b]).norm().item()
    assert error < 1e-9
    torch.testing.assert_close(newton.plan, plain.plan, rtol=0, atol=1e-7)
    torch.testing.assert_close(newton.value, plain.value, rtol=1e-7, atol=0)


def test_non_convergence_warns():
    a, b, M = grid_problem(20, seed=6)
    with pytest.warns(UserWarning, match="raise max_iter"):
        result = sinkhorn_newton_sparse(a, b, M, 0.001, max_iter=3)
    assert not result.converged and result.n_iter == 3


def test_bad_inputs_raise_naming_the_argument():
    a, b, M = grid_problem(10, seed=7)
    with pytest.raises(ValueError, match="density"):
        sinkhorn_newton_sparse(a, b, M, 0.1, density=1.5)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn_newton_sparse(a, b, M, 0.0)
    with pytest.raises(ValueError, match="positive"):
        sinkhorn_newton_sparse(torch.cat([a[:-1], a.new_zeros(1)]), b, M, 0.1)
    with pytest.raises(ValueError, match="M"):
        sinkhorn_newton_sparse(a, b, M[None], 0.1)
    with pytest.raises(ValueError, match="n_warmup"):
        sinkhorn_newton_sparse(a, b, M, 0.1, n_warmup=-1)

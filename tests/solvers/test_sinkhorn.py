"""Tests for paperlab.solvers.sinkhorn against POT's sinkhorn_log, its invariants and bad inputs."""

import warnings

import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import cost_matrix
from paperlab.solvers import OTResult, sinkhorn


def random_problem(n, m, d=2, seed=0, batch=(), dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*batch, n, d, generator=g, dtype=dtype)
    y = torch.randn(*batch, m, d, generator=g, dtype=dtype) + 0.5
    a = torch.rand(*batch, n, generator=g, dtype=dtype) + 0.1
    b = torch.rand(*batch, m, generator=g, dtype=dtype) + 0.1
    return a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True), cost_matrix(x, y)


@pytest.mark.parametrize("n, m, reg_fraction", [(30, 20, 0.1), (64, 64, 0.01), (40, 55, 1e-3)])
def test_plan_and_value_match_pot_sinkhorn_log(n, m, reg_fraction):
    a, b, M = random_problem(n, m, seed=n)
    reg = reg_fraction * M.max().item()
    result = sinkhorn(a, b, M, reg, max_iter=50_000)
    expected = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=50_000, stopThr=1e-12)
    assert isinstance(result, OTResult) and result.converged
    torch.testing.assert_close(result.plan, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(result.value, (expected * M).sum(), rtol=1e-6, atol=1e-6)


def test_potentials_reproduce_plan_and_entropic_value():
    a, b, M = random_problem(25, 17, seed=3)
    reg = 0.05
    result = sinkhorn(a, b, M, reg, tol=1e-12)
    f, g = result.potentials
    rebuilt = a[:, None] * b[None, :] * torch.exp((f[:, None] + g[None, :] - M) / reg)
    torch.testing.assert_close(rebuilt, result.plan, rtol=1e-9, atol=1e-14)
    P = result.plan
    primal = (P * M).sum() + reg * (P * torch.log(P / (a[:, None] * b[None, :]))).sum()
    torch.testing.assert_close(result.entropic_value, primal, rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    m=st.integers(1, 12),
    reg_fraction=st.sampled_from([1e-3, 1e-2, 0.1, 1.0]),
    seed=st.integers(0, 10_000),
)
def test_marginals_hold_to_tol_and_no_nan(n, m, reg_fraction, seed):
    a, b, M = random_problem(n, m, seed=seed)
    reg = reg_fraction * max(M.max().item(), 1e-3)
    tol = 1e-9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sinkhorn(a, b, M, reg, max_iter=20_000, tol=tol)
    assert not torch.isnan(result.plan).any()
    assert result.converged or reg_fraction == 1e-3
    if result.converged:
        assert (result.plan.sum(0) - b).norm().item() < tol
        torch.testing.assert_close(result.plan.sum(1), a, rtol=0, atol=10 * tol)
    assert result.value.item() >= 0


def test_small_reg_has_no_nan_and_converges():
    a, b, M = random_problem(80, 70, seed=5)
    result = sinkhorn(a, b, M, 1e-3 * M.max().item(), max_iter=20_000)
    assert result.converged
    assert torch.isfinite(result.plan).all() and torch.isfinite(result.value)
    assert all(torch.isfinite(p).all() for p in result.potentials)


def test_batched_equals_a_loop_of_single_problems():
    a, b, M = random_problem(9, 7, batch=(2, 3), seed=7)
    batched = sinkhorn(a, b, M, 0.1, tol=1e-12, max_iter=10_000)
    assert batched.plan.shape == (2, 3, 9, 7) and batched.value.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            single = sinkhorn(a[i, j], b[i, j], M[i, j], 0.1, tol=1e-12, max_iter=10_000)
            torch.testing.assert_close(batched.plan[i, j], single.plan, rtol=0, atol=1e-10)
            torch.testing.assert_close(batched.potentials[0][i, j], single.potentials[0], rtol=0, atol=1e-8)


def test_none_weights_mean_uniform():
    _, _, M = random_problem(6, 4, seed=8)
    uniform_a, uniform_b = torch.full((6,), 1 / 6, dtype=M.dtype), torch.full((4,), 0.25, dtype=M.dtype)
    default = sinkhorn(None, None, M, 0.5)
    explicit = sinkhorn(uniform_a, uniform_b, M, 0.5)
    assert default.converged
    torch.testing.assert_close(default.plan, explicit.plan)


def test_zero_weights_get_no_mass_and_finite_potentials():
    a, b, M = random_problem(8, 6, seed=9)
    a = a.clone()
    a[2] = 0
    result = sinkhorn(a, b, M, 0.1, tol=1e-11)
    assert result.plan[2].abs().max().item() == 0
    assert all(torch.isfinite(p).all() for p in result.potentials)
    expected = ot.sinkhorn(a / a.sum(), b, M, 0.1, method="sinkhorn_log", stopThr=1e-12)
    torch.testing.assert_close(result.plan, expected, rtol=0, atol=1e-9)


def test_float32_stays_finite_and_close_to_float64():
    a, b, M = random_problem(50, 40, seed=10)
    reg = 0.01 * M.max().item()
    r64 = sinkhorn(a, b, M, reg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r32 = sinkhorn(a.float(), b.float(), M.float(), reg, tol=1e-6)
    assert r32.plan.dtype == torch.float32 and torch.isfinite(r32.plan).all()
    torch.testing.assert_close(r32.value.double(), r64.value, rtol=1e-3, atol=1e-5)


def test_non_convergence_warns_with_remedy():
    a, b, M = random_problem(30, 30, seed=11)
    with pytest.warns(UserWarning, match="max_iter.*reg"):
        result = sinkhorn(a, b, M, 1e-3 * M.max().item(), max_iter=5)
    assert not result.converged and result.n_iter == 5


def test_autodiff_gradient_matches_finite_differences():
    a, b, M = random_problem(5, 4, seed=12)
    M = M.requires_grad_()
    assert torch.autograd.gradcheck(lambda M: sinkhorn(a, b, M, 0.5, tol=1e-13).value, (M,))


def test_envelope_gradient_of_entropic_value_is_the_plan():
    a, b, M = random_problem(6, 5, seed=13)
    M = M.requires_grad_()
    result = sinkhorn(a, b, M, 0.3, tol=1e-13, grad="envelope")
    (grad,) = torch.autograd.grad(result.entropic_value, M)
    torch.testing.assert_close(grad, result.plan, rtol=1e-8, atol=1e-12)
    assert torch.autograd.gradcheck(
        lambda M: sinkhorn(a, b, M, 0.3, tol=1e-13, grad="envelope").entropic_value, (M,)
    )


def test_bad_inputs_raise_naming_the_argument():
    a, b, M = random_problem(4, 3, seed=14)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn(a, b, M, 0.0)
    with pytest.raises(ValueError, match="reg"):
        sinkhorn(a, b, M, -1.0)
    with pytest.raises(ValueError, match="^a "):
        sinkhorn(-a, b, M, 0.1)
    with pytest.raises(ValueError, match="^b "):
        sinkhorn(a, torch.zeros_like(b), M, 0.1)
    with pytest.raises(ValueError, match="^M "):
        sinkhorn(a, b, M.clone().fill_(float("nan")), 0.1)
    with pytest.raises(ValueError, match="^a "):
        sinkhorn(a[:3], b, M, 0.1)
    with pytest.raises(ValueError, match="^b "):
        sinkhorn(a, torch.ones(4, dtype=M.dtype), M, 0.1)
    with pytest.raises(ValueError, match="method"):
        sinkhorn(a, b, M, 0.1, method="greenkhorn")
    with pytest.raises(ValueError, match="max_iter"):
        sinkhorn(a, b, M, 0.1, max_iter=0)
    with pytest.raises(TypeError, match="^a "):
        sinkhorn(a.float(), b, M, 0.1)


def test_history_records_every_check():
    a, b, M = random_problem(20, 15, seed=15)
    history = []
    result = sinkhorn(a, b, M, 0.2, history=history)
    assert result.converged
    assert [i for i, _, _ in history] == list(range(10, result.n_iter + 1, 10))
    assert history[-1][1] == result.marginal_error
    errors = [e for _, e, _ in history]
    assert errors[-1] < errors[0]

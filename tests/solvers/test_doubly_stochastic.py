"""Doubly stochastic projection: marginals, symmetry, agreement with POT, block structure, bad inputs."""

from __future__ import annotations

import ot
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import DoublyStochasticResult, doubly_stochastic_projection


def gram(n, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    codes = F.normalize(torch.randn(n, c, generator=g, dtype=torch.float64), dim=1)
    return codes @ codes.T


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), c=st.integers(1, 6), reg=st.floats(0.05, 2.0), seed=st.integers(0, 1000))
def test_output_is_symmetric_doubly_stochastic(n, c, reg, seed):
    result = doubly_stochastic_projection(gram(n, c, seed), reg=reg, max_iter=5000, tol=1e-9)
    pi = result.membership
    assert isinstance(result, DoublyStochasticResult) and result.converged
    assert bool((pi >= 0).all())
    assert torch.allclose(pi, pi.T)
    assert torch.allclose(pi.sum(0), torch.ones(n, dtype=pi.dtype), atol=1e-7)
    assert torch.allclose(pi.sum(1), torch.ones(n, dtype=pi.dtype), atol=1e-7)


def test_matches_pot_sinkhorn_with_negated_affinity():
    a = gram(25, 3, seed=1)
    expected = 25 * ot.sinkhorn(
        torch.full((25,), 1 / 25, dtype=torch.float64),
        torch.full((25,), 1 / 25, dtype=torch.float64),
        -a,
        0.2,
        method="sinkhorn_log",
        numItermax=10_000,
        stopThr=1e-13,
    )
    result = doubly_stochastic_projection(a, reg=0.2, max_iter=10_000, tol=1e-11, symmetric=False)
    assert torch.allclose(result.membership, expected, atol=1e-8)


def test_block_affinity_gives_block_membership():
    # two groups with identical codes inside, orthogonal across: small reg puts ~all mass in the block
    codes = torch.zeros(10, 2, dtype=torch.float64)
    codes[:5, 0], codes[5:, 1] = 1.0, 1.0
    pi = doubly_stochastic_projection(codes @ codes.T, reg=0.05, max_iter=500).membership
    assert torch.allclose(pi[:5, :5], torch.full((5, 5), 0.2, dtype=torch.float64), atol=1e-6)
    assert float(pi[:5, 5:].max()) < 1e-6


def test_large_reg_tends_to_uniform_and_gradient_flows():
    a = gram(12, 3, seed=2).requires_grad_()
    pi = doubly_stochastic_projection(a, reg=1e4, max_iter=50).membership
    assert torch.allclose(pi, torch.full((12, 12), 1 / 12, dtype=torch.float64), atol=1e-4)
    (pi * torch.arange(144.0, dtype=torch.float64).reshape(12, 12)).sum().backward()
    assert a.grad is not None and bool(torch.isfinite(a.grad).all())


def test_reports_non_convergence_without_warning(recwarn):
    result = doubly_stochastic_projection(gram(30, 3), reg=0.01, max_iter=2)
    assert not result.converged and result.n_iter == 2 and result.marginal_error > 0
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


def test_bad_inputs():
    with pytest.raises(ValueError, match="affinity"):
        doubly_stochastic_projection(torch.ones(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="affinity"):
        doubly_stochastic_projection(torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="reg"):
        doubly_stochastic_projection(gram(4, 2), reg=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        doubly_stochastic_projection(gram(4, 2), max_iter=0)
    with pytest.raises(TypeError, match="symmetric"):
        doubly_stochastic_projection(gram(4, 2), symmetric="yes")

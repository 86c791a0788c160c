"""Coding rates and the MCR^2 / MLC losses against direct log-det formulas, invariances and gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import MCR2Loss, coding_rate, compressed_coding_rate, mlc_loss, rate_reduction


def unit_rows(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g, dtype=torch.float64), dim=1)


def direct_rate(z: np.ndarray, eps: float) -> float:
    n, d = z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + d / (n * eps**2) * z.T @ z)[1]


def direct_compressed_rate(z: np.ndarray, pi: np.ndarray, eps: float) -> float:
    n, d = z.shape
    total = 0.0
    for row in pi:
        size = row.sum()
        total += (
            size / (2 * n) * np.linalg.slogdet(np.eye(d) + d / (size * eps**2) * z.T @ np.diag(row) @ z)[1]
        )
    return total


@pytest.mark.parametrize("n, d", [(50, 8), (6, 20), (31, 31)])
def test_coding_rate_matches_direct_logdet(n, d):
    z = unit_rows(n, d, seed=n)
    assert coding_rate(z, eps=0.3).item() == pytest.approx(direct_rate(z.numpy(), 0.3), rel=1e-10)


def test_compressed_rate_matches_direct_formula_for_soft_membership():
    z = unit_rows(40, 6)
    pi = torch.rand(7, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    expected = direct_compressed_rate(z.numpy(), pi.numpy(), 0.5)
    assert compressed_coding_rate(z, pi, eps=0.5).item() == pytest.approx(expected, rel=1e-10)


def test_hard_partition_gives_per_cluster_rates():
    # indicator rows: R_c = sum_j n_j / n * R(Z_j), the classic MCR^2 compression term
    z, labels = unit_rows(30, 5), torch.arange(30) % 3
    pi = F.one_hot(labels).T.double()  # (3, 30)
    expected = sum(
        (labels == j).sum().item() / 30 * coding_rate(z[labels == j], 0.5).item() for j in range(3)
    )
    assert compressed_coding_rate(z, pi).item() == pytest.approx(expected, rel=1e-10)
    assert rate_reduction(z, pi).item() == pytest.approx(coding_rate(z).item() - expected, rel=1e-10)


def test_whole_batch_as_one_group_gives_zero_reduction():
    z = unit_rows(25, 4)
    assert rate_reduction(z, torch.ones(1, 25, dtype=torch.float64)).item() == pytest.approx(0.0, abs=1e-12)


def test_subspaces_have_larger_reduction_than_one_mixed_subspace():
    # two orthogonal lines are coded better apart than together
    g = torch.Generator().manual_seed(2)
    signs = torch.randint(0, 2, (20, 1), generator=g).double() * 2 - 1
    z = torch.cat([signs * torch.tensor([[1.0, 0, 0]]), signs * torch.tensor([[0, 1.0, 0]])]).double()
    pi = F.one_hot(torch.arange(40) // 20).T.double()
    assert rate_reduction(z, pi).item() > 0.5


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 30), d=st.integers(2, 10), seed=st.integers(0, 1000))
def test_rates_are_invariant_to_rotations_and_sample_order(n, d, seed):
    z = unit_rows(n, d, seed)
    pi = torch.rand(4, n, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    q, _ = torch.linalg.qr(
        torch.randn(d, d, generator=torch.Generator().manual_seed(seed + 2), dtype=torch.float64)
    )
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 3))
    assert coding_rate(z @ q).item() == pytest.approx(coding_rate(z).item(), rel=1e-9, abs=1e-12)
    assert compressed_coding_rate(z @ q, pi).item() == pytest.approx(
        compressed_coding_rate(z, pi).item(), rel=1e-9
    )
    assert compressed_coding_rate(z[perm], pi[:, perm]).item() == pytest.approx(
        compressed_coding_rate(z, pi).item(), rel=1e-9
    )
    assert coding_rate(z).item() >= 0


def test_gradcheck_float64():
    z = unit_rows(8, 3).requires_grad_()
    pi = torch.rand(5, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: rate_reduction(a, b, eps=0.4), (z, pi))
    codes = unit_rows(8, 4, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, c: mlc_loss(a, c, reg=0.5, max_iter=20), (z, codes))


def test_mlc_loss_equals_rate_reduction_under_projected_membership():
    from paperlab.solvers import doubly_stochastic_projection

    z, c = unit_rows(16, 4), unit_rows(16, 3, seed=9)
    pi = doubly_stochastic_projection(c @ c.T, reg=0.3, max_iter=7).membership
    assert mlc_loss(z, c, reg=0.3, max_iter=7).item() == pytest.approx(
        -rate_reduction(z, pi).item(), rel=1e-12
    )
    assert MCR2Loss(eps=0.5)(z, pi).item() == pytest.approx(-rate_reduction(z, pi).item(), rel=1e-12)


def test_float32_matches_float64():
    z = unit_rows(30, 8)
    pi = torch.rand(30, 30, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    assert rate_reduction(z.float(), pi.float()).item() == pytest.approx(
        rate_reduction(z, pi).item(), rel=1e-4
    )


def test_bad_inputs():
    z = unit_rows(10, 3)
    with pytest.raises(ValueError, match="eps"):
        coding_rate(z, eps=0.0)
    with pytest.raises(ValueError, match="features"):
        coding_rate(z[0])
    with pytest.raises(ValueError, match="features"):
        coding_rate(torch.full((4, 2), float("nan")))
    with pytest.raises(ValueError, match="membership"):
        compressed_coding_rate(z, torch.ones(2, 9, dtype=torch.float64))
    with pytest.raises(ValueError, match="membership"):
        compressed_coding_rate(z, -torch.ones(2, 10, dtype=torch.float64))
    with pytest.raises(ValueError, match="membership"):
        compressed_coding_rate(z, torch.zeros(2, 10, dtype=torch.float64))
    with pytest.raises(TypeError, match="membership"):
        compressed_coding_rate(z, torch.ones(2, 10))
    with pytest.raises(ValueError, match="codes"):
        mlc_loss(z, unit_rows(9, 3))
    with pytest.raises(ValueError, match="reg"):
        mlc_loss(z, z, reg=-1.0)

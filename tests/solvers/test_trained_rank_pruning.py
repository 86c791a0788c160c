"""Tests of Trained Rank Pruning: energy ranks, projections, nuclear subgradient and the trainer."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import (
    TRPResult,
    add_nuclear_subgradient_,
    energy_rank,
    low_rank_projection,
    nuclear_norm_subgradient,
    train_trained_rank_pruning,
    trp_project_,
)


def _brute_force_rank(singular_values, energy):
    squares = np.asarray(singular_values) ** 2
    for k in range(1, len(squares) + 1):
        if squares[:k].sum() >= energy * squares.sum() - 1e-12:
            return k
    return len(squares)


def test_energy_rank_on_known_spectra():
    s = torch.tensor([3.0, 2.0, 1.0, 0.0], dtype=torch.float64)  # squares 9, 4, 1: total 14
    assert energy_rank(s, 9 / 14).item() == 1
    assert energy_rank(s, 0.65).item() == 2
    assert energy_rank(s, 13 / 14).item() == 2
    assert energy_rank(s, 0.99).item() == 3
    assert energy_rank(s, 1.0).item() == 3  # the zero singular value is never needed
    assert energy_rank(torch.zeros(3), 0.5).item() == 1


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=8).filter(lambda v: sum(v) > 1e-3),
    energy=st.floats(0.01, 1.0),
)
def test_energy_rank_matches_brute_force(values, energy):
    s = torch.tensor(sorted(values, reverse=True), dtype=torch.float64)
    assert energy_rank(s, energy).item() == _brute_force_rank(s.numpy(), energy)


def test_projection_is_the_truncated_svd_at_the_energy_rank():
    generator = torch.Generator().manual_seed(0)
    left = torch.linalg.qr(torch.randn(7, 5, generator=generator, dtype=torch.float64)).Q
    right = torch.linalg.qr(torch.randn(6, 5, generator=generator, dtype=torch.float64)).Q
    spectrum = torch.tensor([5.0, 4.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    weight = left @ torch.diag(spectrum) @ right.T
    projection = low_rank_projection(weight, energy=0.95)  # 25+16 = 41 of 42.26 -> rank 2
    assert projection.rank.item() == 2
    expected = left[:, :2] @ torch.diag(spectrum[:2]) @ right[:, :2].T
    torch.testing.assert_close(projection.weight, expected)
    torch.testing.assert_close(projection.singular_values[:5], spectrum)  # (6,) with a trailing zero
    assert projection.singular_values[5] < 1e-12


def test_projection_handles_batches_matrix_by_matrix():
    generator = torch.Generator().manual_seed(1)
    low = torch.randn(6, 1, generator=generator) @ torch.randn(1, 5, generator=generator)
    full = torch.randn(6, 5, generator=generator)
    projection = low_rank_projection(torch.stack([low, full]), energy=0.999)  # (2, 6, 5)
    assert projection.rank.tolist()[0] == 1 and projection.rank.tolist()[1] >= 4
    torch.testing.assert_close(projection.weight[0], low, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(projection.weight[1], low_rank_projection(full, 0.999).weight)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(2, 7), n=st.integers(2, 7), seed=st.integers(0, 10_000))
def test_nuclear_subgradient_equals_autograd_of_the_nuclear_norm(m, n, seed):
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(m, n, generator=generator, dtype=torch.float64, requires_grad=True)
    torch.linalg.matrix_norm(weight, ord="nuc").backward()
    torch.testing.assert_close(nuclear_norm_subgradient(weight), weight.grad)


def test_nuclear_subgradient_is_u_vt_and_drops_null_directions():
    generator = torch.Generator().manual_seed(2)
    u = torch.linalg.qr(torch.randn(5, 2, generator=generator, dtype=torch.float64)).Q
    v = torch.linalg.qr(torch.randn(4, 2, generator=generator, dtype=torch.float64)).Q
    weight = u @ torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64)) @ v.T  # rank 2 of 4
    subgradient = nuclear_norm_subgradient(weight)
    torch.testing.assert_close(subgradient, u @ v.T)
    # A subgradient G satisfies <G, W> = ||W||_* and has spectral norm <= 1.
    torch.testing.assert_close((subgradient * weight).sum(), torch.tensor(4.0, dtype=torch.float64))
    assert torch.linalg.matrix_norm(subgradient, ord=2) <= 1 + 1e-12


def test_in_place_helpers_project_and_add_the_regularizer():
    generator = torch.Generator().manual_seed(3)
    weight = torch.randn(6, 4, generator=generator, dtype=torch.float64, requires_grad=True)
    expected = low_rank_projection(weight.detach(), 0.8)
    ranks = trp_project_([weight], 0.8)
    torch.testing.assert_close(weight.detach(), expected.weight)
    assert ranks[0].item() == expected.rank.item() < 4
    weight.grad = torch.ones_like(weight)
    add_nuclear_subgradient_([weight], reg=0.5)
    torch.testing.assert_close(weight.grad, 1 + 0.5 * nuclear_norm_subgradient(weight))


def test_trainer_projects_on_schedule_and_never_ends_on_a_projection():
    torch.manual_seed(0)
    target = torch.randn(8, 3) @ torch.randn(3, 8)  # rank 3
    weight = torch.zeros(8, 8, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    result = train_trained_rank_pruning(
        [weight],
        lambda step: (weight - target).square().sum(),
        optimizer,
        n_steps=50,
        period=10,
        energy=0.999,
        reg=1e-3,
    )
    assert isinstance(result, TRPResult)
    assert result.projection_steps == [10, 20, 30, 40] and len(result.losses) == 50
    assert result.ranks[0].item() <= 3 and result.losses[-1] < 0.01 * result.losses[0]


def test_trainer_without_projection_or_reg_is_plain_training():
    torch.manual_seed(0)
    weight = torch.randn(4, 4, requires_grad=True)
    reference = weight.detach().clone().requires_grad_(True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    train_trained_rank_pruning(
        [weight], lambda step: weight.square().sum(), optimizer, 5, period=100, reg=0.0
    )
    reference_optimizer = torch.optim.SGD([reference], lr=0.1)
    for _ in range(5):
        reference_optimizer.zero_grad()
        reference.square().sum().backward()
        reference_optimizer.step()
    torch.testing.assert_close(weight, reference)


def test_bad_inputs():
    s = torch.tensor([2.0, 1.0])
    for energy in (0.0, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="energy"):
            energy_rank(s, energy)
    with pytest.raises(ValueError, match="non-negative"):
        energy_rank(torch.tensor([1.0, -1.0]), 0.5)
    with pytest.raises(ValueError, match="weight"):
        low_rank_projection(torch.ones(3), 0.9)
    with pytest.raises(ValueError, match="weight"):
        nuclear_norm_subgradient(torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match="reg"):
        add_nuclear_subgradient_([torch.ones(2, 2)], reg=-1.0)
    with pytest.raises(ValueError, match="grad"):
        add_nuclear_subgradient_([torch.ones(2, 2)], reg=1.0)
    weight = torch.ones(2, 2, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1)
    with pytest.raises(ValueError, match="weights must not be empty"):
        train_trained_rank_pruning([], lambda step: weight.sum(), optimizer, 3)
    with pytest.raises(ValueError, match="require grad"):
        train_trained_rank_pruning([torch.ones(2, 2)], lambda step: weight.sum(), optimizer, 3)
    with pytest.raises(ValueError, match="period"):
        train_trained_rank_pruning([weight], lambda step: weight.sum(), optimizer, 3, period=0)
    with pytest.raises(ValueError, match="scalar"):
        train_trained_rank_pruning([weight], lambda step: weight * 1.0, optimizer, 3)


def test_zero_matrix_has_zero_subgradient_and_rank_one_projection():
    zero = torch.zeros(3, 4, dtype=torch.float64)
    torch.testing.assert_close(nuclear_norm_subgradient(zero), zero)
    projection = low_rank_projection(zero, 0.9)
    assert projection.rank.item() == 1 and not projection.weight.any()

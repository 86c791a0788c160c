"""Tests for the Poincaré-ball distance and maps against closed forms."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances.poincare import (
    mobius_add,
    poincare_cdist,
    poincare_distance,
    poincare_exp0,
    poincare_log0,
)


def ball_points(n, d, seed, max_radius=5.0):
    """``n`` random points of the ball with hyperbolic radius below ``max_radius``."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(n, d, generator=g, dtype=torch.float64)
    direction = direction / direction.norm(dim=1, keepdim=True)
    radius = max_radius * torch.rand(n, 1, generator=g, dtype=torch.float64)
    return torch.tanh(radius / 2) * direction


def test_distance_from_origin_is_twice_artanh_of_norm():
    x = ball_points(50, 3, 0)
    expected = 2 * torch.atanh(x.norm(dim=1))
    torch.testing.assert_close(poincare_distance(torch.zeros_like(x), x), expected, rtol=1e-12, atol=1e-12)


def test_distance_matches_arcosh_formula_away_from_boundary():
    x, y = ball_points(40, 2, 1), ball_points(40, 2, 2)
    u = (x - y).pow(2).sum(1) / ((1 - x.pow(2).sum(1)) * (1 - y.pow(2).sum(1)))
    torch.testing.assert_close(poincare_distance(x, y), torch.acosh(1 + 2 * u), rtol=1e-10, atol=1e-10)


def test_distance_is_accurate_near_the_boundary():
    # Two points on one ray at hyperbolic radii 20 and 23: their distance is exactly 3.
    direction = torch.tensor([[0.6, 0.8]], dtype=torch.float64)
    x, y = math.tanh(10) * direction, math.tanh(11.5) * direction
    assert abs(poincare_distance(x, y).item() - 3.0) < 1e-6
    assert abs(poincare_cdist(x, y).item() - 3.0) < 1e-6


def test_tiny_distances_do_not_cancel_to_zero():
    # arcosh(1 + 2u) rounds to 0 for u < 1e-16; the arsinh form keeps d ~ 2 |x - y| / (1 - |x|^2).
    x = torch.tensor([[0.3, 0.0]], dtype=torch.float64)
    y = x + torch.tensor([[0.0, 1e-10]], dtype=torch.float64)
    expected = 2e-10 / (1 - 0.09)
    assert abs(poincare_distance(x, y).item() - expected) < 1e-6 * expected


def test_mobius_translation_is_an_isometry_and_gives_the_distance():
    x, y, z = ball_points(30, 4, 3), ball_points(30, 4, 4), ball_points(30, 4, 5)
    torch.testing.assert_close(
        poincare_distance(mobius_add(z, x), mobius_add(z, y)), poincare_distance(x, y), rtol=1e-9, atol=1e-9
    )
    torch.testing.assert_close(
        2 * torch.atanh(mobius_add(-x, y).norm(dim=1)), poincare_distance(x, y), rtol=1e-9, atol=1e-9
    )
    torch.testing.assert_close(mobius_add(-z, mobius_add(z, x)), x, rtol=1e-10, atol=1e-12)


def test_exp_and_log_at_origin_are_inverse_with_length_two_v():
    v = torch.randn(20, 3, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    x = poincare_exp0(v)
    torch.testing.assert_close(poincare_distance(torch.zeros_like(x), x), 2 * v.norm(dim=1))
    torch.testing.assert_close(poincare_log0(x), v)
    assert torch.equal(poincare_exp0(torch.zeros(2, 3)), torch.zeros(2, 3))


def test_cdist_matches_pairwise_distance_and_has_zero_diagonal():
    x, y = ball_points(7, 2, 7), ball_points(5, 2, 8)
    expected = poincare_distance(x[:, None].expand(7, 5, 2), y[None].expand(7, 5, 2))
    torch.testing.assert_close(poincare_cdist(x, y), expected)
    assert torch.equal(poincare_cdist(x).diagonal(), torch.zeros(7, dtype=torch.float64))


def test_distance_is_differentiable():
    x, y = ball_points(4, 2, 9).requires_grad_(), ball_points(4, 2, 10).requires_grad_()
    assert torch.autograd.gradcheck(poincare_distance, (x, y))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5))
def test_symmetry_and_triangle_inequality(seed, d):
    x, y, z = ball_points(3, d, seed, max_radius=20.0)
    dxy = poincare_distance(x, y)
    assert abs(dxy - poincare_distance(y, x)) <= 1e-9 * (1 + dxy)
    assert dxy <= poincare_distance(x, z) + poincare_distance(z, y) + 1e-7
    assert dxy >= 0


@pytest.mark.parametrize(
    "x, y, error",
    [
        (torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2), ValueError),
        (torch.zeros(2, 2), torch.zeros(3, 2), ValueError),
        (torch.tensor([[float("nan"), 0.0]]), torch.zeros(1, 2), ValueError),
        (torch.zeros(1, 2, dtype=torch.long), torch.zeros(1, 2, dtype=torch.long), TypeError),
        ([[0.0, 0.0]], torch.zeros(1, 2), TypeError),
    ],
)
def test_bad_inputs(x, y, error):
    with pytest.raises(error):
        poincare_distance(x, y)
    with pytest.raises(error):
        mobius_add(x, y)


def test_bad_cdist_and_log_inputs():
    with pytest.raises(ValueError, match="y"):
        poincare_cdist(torch.zeros(2, 2), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="x"):
        poincare_log0(torch.tensor([[2.0, 0.0]]))

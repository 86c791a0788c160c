"""Tests for exact excess risks and the comp-sum H-consistency transform, against brute force."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics import (
    comp_sum_bayes_risk,
    comp_sum_error_transform,
    comp_sum_excess_risk,
    comp_sum_gamma,
    zero_one_excess_risk,
)
from paperlab.metrics.excess_risk import comp_sum_conditional_risk

P3 = torch.tensor([[0.5, 0.3, 0.2], [0.7, 0.2, 0.1], [0.34, 0.33, 0.33]], dtype=torch.float64)


def simplex_grid(resolution: int) -> torch.Tensor:
    """Every point of the 3-class simplex with coordinates in multiples of 1/resolution, interior only."""
    i, j = torch.meshgrid(torch.arange(1, resolution), torch.arange(1, resolution), indexing="ij")
    keep = i + j < resolution
    s = torch.stack([i[keep], j[keep], resolution - i[keep] - j[keep]], 1).double() / resolution
    return s  # (G, 3)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5, 2.0, 3.0])
def test_bayes_risk_equals_brute_force_over_the_simplex(tau):
    # scores log(s) range over the simplex: search it on a fine grid and compare with the closed form
    s = simplex_grid(600)
    scores = s.log()
    for p in P3:
        risks = comp_sum_conditional_risk(scores, p.expand_as(scores).contiguous(), tau)
        closed_form = comp_sum_bayes_risk(p, tau)
        assert closed_form <= risks.min() + 1e-12
        assert risks.min() - closed_form < 5e-3  # the grid's resolution; for tau >= 2 the minimum is a vertex


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5])
def test_bayes_risk_equals_gradient_minimization(tau):
    scores = torch.zeros_like(P3, requires_grad=True)
    optimizer = torch.optim.LBFGS([scores], lr=1, max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-16)

    def closure():
        optimizer.zero_grad()
        risk = comp_sum_conditional_risk(scores, P3, tau).sum()
        risk.backward()
        return risk

    optimizer.step(closure)
    found = comp_sum_conditional_risk(scores.detach(), P3, tau)
    torch.testing.assert_close(found, comp_sum_bayes_risk(P3, tau), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5])
def test_excess_risk_vanishes_at_the_closed_form_minimizer(tau):
    optimal_scores = P3.log() / (2 - tau)  # softmax(h) proportional to p^(1/(2 - tau))
    assert abs(comp_sum_excess_risk(optimal_scores, P3, tau).item()) < 1e-12


def test_leading_axes_hold_several_scorers():
    g = torch.Generator().manual_seed(5)
    scores = torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64)  # 8 scorers of 3 points
    a = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    for risk in (lambda h: zero_one_excess_risk(h, P3, a), lambda h: comp_sum_excess_risk(h, P3, 0.5, a)):
        batched = risk(scores)
        assert batched.shape == (4, 2)
        torch.testing.assert_close(
            batched, torch.stack([risk(h) for h in scores.reshape(8, 3, 3)]).view(4, 2)
        )


def test_zero_one_excess_risk_by_hand():
    scores = torch.tensor([[0.0, 1.0, 1.0], [2.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    # predictions: class 1 (tie with 2 -> first index), class 0, class 2; regrets 0.2, 0, 0.01
    torch.testing.assert_close(zero_one_excess_risk(scores, P3), torch.tensor(0.21 / 3, dtype=torch.float64))
    a = torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(
        zero_one_excess_risk(scores, P3, a), torch.tensor(0.41 / 4, dtype=torch.float64)
    )


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5, 2.0])
@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_transform_lower_bounds_every_conditional_regret(tau, n_classes):
    # the H-consistency bound holds pointwise: surrogate regret >= T_tau(zero-one regret)
    g = torch.Generator().manual_seed(n_classes)
    torch.manual_seed(n_classes)  # Dirichlet draws from the global generator
    p = torch.distributions.Dirichlet(torch.full((n_classes,), 0.4, dtype=torch.float64)).sample((4000,))
    scores = 3 * torch.randn(4000, n_classes, generator=g, dtype=torch.float64)
    surrogate = comp_sum_conditional_risk(scores, p, tau) - comp_sum_bayes_risk(p, tau)
    zero_one = p.max(-1).values - p.gather(-1, scores.argmax(-1, keepdim=True)).squeeze(-1)
    assert (surrogate >= comp_sum_error_transform(tau, zero_one.clamp(0, 1), n_classes) - 1e-12).all()


@pytest.mark.parametrize("tau", [0.0, 0.4, 1.0])
@pytest.mark.parametrize("t", [0.2, 0.5, 0.8])
def test_transform_is_attained_for_tau_at_most_one(tau, t):
    p = torch.tensor([[(1 + t) / 2, (1 - t) / 2, 0.0, 0.0]], dtype=torch.float64)
    scores = torch.tensor([[0.0, 1e-9, -60.0, -60.0]], dtype=torch.float64)  # predicts class 1: regret t
    regret = comp_sum_excess_risk(scores, p, tau).item()
    assert regret == pytest.approx(comp_sum_error_transform(tau, t, 4), rel=1e-6)
    assert zero_one_excess_risk(scores, p).item() == pytest.approx(t)
    assert comp_sum_gamma(tau, regret, 4) == pytest.approx(t, rel=1e-5)


def test_transform_is_attained_for_mae_with_n_tied_classes():
    n, t = 4, 0.3
    p = torch.tensor([[(1 + t) / n - t] + [(1 + t) / n] * (n - 1)], dtype=torch.float64)
    scores = torch.zeros(1, n, dtype=torch.float64)  # predicts class 0, the least likely: regret t
    assert comp_sum_excess_risk(scores, p, 2.0).item() == pytest.approx(t / n)


def test_transform_closed_forms_and_continuity_in_tau():
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    torch.testing.assert_close(comp_sum_error_transform(0.0, t, 4), 1 - torch.sqrt(1 - t**2))
    torch.testing.assert_close(comp_sum_error_transform(2.0, t, 4), t / 4)
    for tau, near in [(1.0, 1 - 1e-6), (1.0, 1 + 1e-6), (2.0, 2 - 1e-4)]:
        torch.testing.assert_close(
            comp_sum_error_transform(near, t, 4), comp_sum_error_transform(tau, t, 4), rtol=1e-3, atol=1e-5
        )


@settings(max_examples=25, deadline=None)
@given(tau=st.floats(0, 2), t=st.floats(0, 1), n_classes=st.integers(2, 10))
def test_gamma_inverts_the_transform(tau, t, n_classes):
    s = comp_sum_error_transform(tau, t, n_classes)
    assert comp_sum_gamma(tau, s, n_classes) == pytest.approx(t, abs=1e-6)
    assert comp_sum_gamma(tau, s + 10.0, n_classes) == 1.0  # past T(1) the bound is trivial


def test_gamma_on_tensors_keeps_shape_and_dtype():
    s = torch.tensor([[0.0, 0.01], [0.1, 5.0]], dtype=torch.float32)
    out = comp_sum_gamma(1.0, s, 4)
    assert out.shape == s.shape and out.dtype == torch.float32
    assert out[0, 0] == 0 and out[1, 1] == 1 and (out.diff(dim=1) >= 0).all()


def test_bad_inputs():
    scores = torch.zeros(3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="sum to 1"):
        comp_sum_bayes_risk(torch.tensor([0.5, 0.6]), 1.0)
    with pytest.raises(ValueError, match="non-negative"):
        comp_sum_bayes_risk(torch.tensor([1.5, -0.5]), 1.0)
    with pytest.raises(ValueError, match="shape"):
        comp_sum_excess_risk(scores[:2], P3, 1.0)
    with pytest.raises(ValueError, match="a must have shape"):
        zero_one_excess_risk(scores, P3, torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="last two axes"):
        zero_one_excess_risk(torch.zeros(3, 4, dtype=torch.float64), P3)
    with pytest.raises(ValueError, match="tau"):
        comp_sum_gamma(2.5, 0.1, 3)
    with pytest.raises(ValueError, match="tau"):
        comp_sum_bayes_risk(P3, -1.0)
    with pytest.raises(ValueError, match="n_classes"):
        comp_sum_gamma(1.0, 0.1, 1)
    with pytest.raises(ValueError, match="t must be in"):
        comp_sum_error_transform(1.0, 1.5, 3)
    with pytest.raises(ValueError, match="t must be >= 0"):
        comp_sum_gamma(1.0, -0.1, 3)
    with pytest.raises(TypeError, match="t must be"):
        comp_sum_gamma(1.0, math.nan, 3)

"""Tests for PGD, the smooth adversarial comp-sum loss and TRADES, against closed forms on linear models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from paperlab.losses import (
    AdversarialCompSumLoss,
    TradesLoss,
    adversarial_comp_sum_loss,
    comp_sum_loss,
    pgd_attack,
    trades_loss,
)


def linear_model(d=5, c=3, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(d, c).double()


def data(n=16, d=5, c=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(0, c, (n,), generator=g)


def ce_per_item(logits, y):
    return F.cross_entropy(logits, y, reduction="none")


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_ball_and_increases_the_loss(norm):
    model, (x, y) = linear_model(), data()
    eps = 0.3
    x_adv = pgd_attack(model, x, y, ce_per_item, eps, eps / 4, 10, norm=norm, generator=0)
    delta = x_adv - x
    sizes = delta.abs().amax(1) if norm == "linf" else delta.norm(dim=1)
    assert (sizes <= eps + 1e-12).all()
    assert not x_adv.requires_grad and x_adv.dtype == x.dtype
    with torch.no_grad():
        clean, attacked = ce_per_item(model(x), y), ce_per_item(model(x_adv), y)
        random_point = pgd_attack(model, x, y, ce_per_item, eps, eps / 4, 0, norm=norm, generator=0)
        at_random = ce_per_item(model(random_point), y)
    assert (attacked > clean).all()
    assert (attacked >= at_random).all()
    assert all(p.grad is None for p in model.parameters())  # only the input was differentiated


def test_pgd_linf_reaches_the_closed_form_worst_case_of_a_binary_linear_model():
    # For two classes, CE = softplus(-m(x)) with margin m = (w_y - w_o).x + (b_y - b_o); over the l_inf
    # ball its maximum is at m(x) - eps * ||w_y - w_o||_1.
    model, (x, y) = linear_model(d=4, c=2), data(d=4, c=2)
    eps = 0.2
    x_adv = pgd_attack(model, x, y, ce_per_item, eps, eps / 2, 5, random_start=False)
    w, b = model.weight.detach(), model.bias.detach()
    sign = torch.where(y == 0, 1.0, -1.0).double()  # +1 when the label is class 0
    margin = sign * ((x @ (w[0] - w[1])) + (b[0] - b[1]))
    worst = F.softplus(-(margin - eps * (w[0] - w[1]).abs().sum()))
    torch.testing.assert_close(ce_per_item(model(x_adv), y).detach(), worst)


def test_pgd_l2_finds_the_top_singular_direction_of_the_score_difference_shift():
    # For h(x) = W x + b the shift ||Delta(x') - Delta(x)||_2 = ||A (x' - x)||_2 with rows A_k = W_y - W_k,
    # so its supremum over the l2 ball is eps * sigma_max(A).
    model, (x, y) = linear_model(d=6, c=4), data(n=5, d=6, c=4)
    eps = 0.5
    loss = adversarial_comp_sum_loss(
        model, x, y, nu=1.0, eps=eps, step_size=eps, n_steps=200, norm="l2", reduction="none", generator=0
    )
    shift = (loss - comp_sum_loss(model(x), y, 1.0, reduction="none")).detach()
    w = model.weight.detach()
    sigma_max = torch.stack([torch.linalg.matrix_norm(w[label] - w, ord=2) for label in y])
    torch.testing.assert_close(shift, eps * sigma_max, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5])
def test_adversarial_comp_sum_reduces_to_comp_sum(tau):
    model, (x, y) = linear_model(), data()
    clean = comp_sum_loss(model(x), y, tau)
    kwargs = dict(tau=tau, step_size=0.1, n_steps=3, generator=0)
    torch.testing.assert_close(adversarial_comp_sum_loss(model, x, y, nu=0.0, eps=0.3, **kwargs), clean)
    torch.testing.assert_close(adversarial_comp_sum_loss(model, x, y, nu=2.0, eps=0.0, **kwargs), clean)
    assert adversarial_comp_sum_loss(model, x, y, nu=2.0, eps=0.3, **kwargs) > clean


def test_trades_reduces_to_cross_entropy_and_its_kl_term_is_non_negative():
    model, (x, y) = linear_model(), data()
    ce = F.cross_entropy(model(x), y, reduction="none")
    kwargs = dict(step_size=0.1, n_steps=3, reduction="none", generator=0)
    torch.testing.assert_close(trades_loss(model, x, y, beta=0.0, eps=0.3, **kwargs), ce)
    torch.testing.assert_close(trades_loss(model, x, y, beta=6.0, eps=0.0, **kwargs), ce)
    assert (trades_loss(model, x, y, beta=6.0, eps=0.3, **kwargs) > ce).all()


@pytest.mark.parametrize("name", ["trades", "comp_sum"])
def test_gradients_reach_the_parameters_and_runs_are_reproducible(name):
    x, y = data()
    losses = []
    for _ in range(2):
        model = linear_model()
        if name == "trades":
            loss = TradesLoss(beta=6.0, eps=0.3, step_size=0.1, n_steps=3)(model, x, y, generator=7)
        else:
            loss = AdversarialCompSumLoss(tau=1.0, nu=0.5, eps=0.3, step_size=0.1, n_steps=3)(
                model, x, y, generator=7
            )
        loss.backward()
        assert all(torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0 for p in model.parameters())
        losses.append(loss.detach())
    torch.testing.assert_close(losses[0], losses[1], rtol=0, atol=0)


def test_bad_inputs():
    model, (x, y) = linear_model(), data()
    with pytest.raises(ValueError, match="norm"):
        pgd_attack(model, x, y, ce_per_item, 0.1, 0.1, 3, norm="l1")
    with pytest.raises(ValueError, match="eps"):
        pgd_attack(model, x, y, ce_per_item, -0.1, 0.1, 3)
    with pytest.raises(ValueError, match="step_size"):
        pgd_attack(model, x, y, ce_per_item, 0.1, 0.0, 3)
    with pytest.raises(TypeError, match="n_steps"):
        pgd_attack(model, x, y, ce_per_item, 0.1, 0.1, 2.5)
    with pytest.raises(TypeError, match="x"):
        pgd_attack(model, x.long(), y, ce_per_item, 0.1, 0.1, 3)
    with pytest.raises(ValueError, match="nu"):
        adversarial_comp_sum_loss(model, x, y, nu=-1.0, eps=0.1, step_size=0.1)
    with pytest.raises(ValueError, match="tau"):
        adversarial_comp_sum_loss(model, x, y, tau=-1.0, eps=0.1, step_size=0.1)
    with pytest.raises(ValueError, match="beta"):
        trades_loss(model, x, y, beta=-1.0, eps=0.1, step_size=0.1)
    with pytest.raises(ValueError, match="target must be in"):
        trades_loss(model, x, torch.full_like(y, 3), eps=0.1, step_size=0.1)
    with pytest.raises(ValueError, match="shape"):
        adversarial_comp_sum_loss(model, x, y[:3], eps=0.1, step_size=0.1)
    with pytest.raises(ValueError, match="reduction"):
        trades_loss(model, x, y, eps=0.1, step_size=0.1, reduction="avg")

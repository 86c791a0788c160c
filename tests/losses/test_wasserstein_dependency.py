"""Tests of Wasserstein predictive coding: a naive per-pair reference, gradchecks, bad inputs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import (
    WassersteinPredictiveCoding,
    critic_gradient_penalty,
    info_nce,
    wasserstein_predictive_coding_loss,
)
from paperlab.models import BilinearCritic


def _critic(dim_in=5, dim=3, seed=0):
    torch.manual_seed(seed)
    x_enc = torch.nn.Sequential(torch.nn.Linear(dim_in, 4), torch.nn.Tanh(), torch.nn.Linear(4, dim))
    y_enc = torch.nn.Sequential(torch.nn.Linear(dim_in, 4), torch.nn.Tanh(), torch.nn.Linear(4, dim))
    critic = BilinearCritic(x_enc, y_enc, dim).double()
    with torch.no_grad():
        critic.weight.add_(0.3 * torch.randn(dim, dim, dtype=torch.float64))
    return critic


def _pairs(batch=6, dim_in=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, dim_in, generator=g, dtype=torch.float64)
    return x, x + 0.3 * torch.randn(batch, dim_in, generator=g, dtype=torch.float64)


def _naive(x, y, critic, gp_weight, objective, one_sided, seed):
    """Per-pair loops: f(x_i, y_j) one pair at a time, the penalty from one autograd call per point."""

    def f(xi, yj):
        return critic(xi.unsqueeze(0), yj.unsqueeze(0))[0, 0]

    batch = x.shape[0]
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(batch, generator=g, dtype=torch.float32).double()
    partner = torch.randperm(batch, generator=g)
    losses = []
    for i in range(batch):
        row = torch.stack([f(x[i], y[j]) for j in range(batch)])
        if objective == "infonce":
            loss = torch.log(torch.exp(row).sum()) - row[i]
        else:
            loss = (row.sum() - row[i]) / (batch - 1) - row[i]
        if gp_weight:
            xi = x[i].detach().clone().requires_grad_(True)
            yi = (t[i] * y[i] + (1 - t[i]) * y[partner[i]]).detach().requires_grad_(True)
            gx, gy = torch.autograd.grad(f(xi, yi), (xi, yi), create_graph=True)
            excess = torch.sqrt((gx**2).sum() + (gy**2).sum()) - 1
            loss = loss + gp_weight * (torch.relu(excess) if one_sided else excess) ** 2
        losses.append(loss)
    return torch.stack(losses)


@pytest.mark.parametrize(
    "gp_weight, objective, one_sided",
    [(0.0, "infonce", False), (10.0, "infonce", False), (2.0, "infonce", True), (5.0, "kr", False)],
)
def test_matches_naive_reference_value_and_gradients(gp_weight, objective, one_sided):
    critic = _critic()
    x, y = _pairs()
    ours = wasserstein_predictive_coding_loss(x, y, critic, gp_weight, objective, one_sided, 7, "none")
    naive = _naive(x, y, critic, gp_weight, objective, one_sided, 7)
    torch.testing.assert_close(ours, naive, atol=1e-10, rtol=1e-10)
    params = list(critic.parameters())
    ours_grad = torch.autograd.grad(ours.mean(), params)
    naive_grad = torch.autograd.grad(naive.mean(), params)
    for a, b in zip(ours_grad, naive_grad):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)


def test_gp_weight_zero_is_cpc_info_nce():
    critic = BilinearCritic(torch.nn.Identity(), torch.nn.Identity(), 5).double()
    x, y = _pairs()
    ours = wasserstein_predictive_coding_loss(x, y, critic, gp_weight=0.0)
    torch.testing.assert_close(ours, info_nce(x, y, temperature=1.0, normalize=False))


def test_penalty_of_a_linear_critic_is_closed_form():
    # f(x, y) = x^T W y: grad_x = W y, grad_y = W^T x at the penalty points
    dim = 4
    w = torch.randn(dim, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    critic = BilinearCritic(torch.nn.Identity(), torch.nn.Identity(), dim).double()
    with torch.no_grad():
        critic.weight.copy_(w)
    x, y = _pairs(batch=5, dim_in=dim)
    g = torch.Generator().manual_seed(3)
    t = torch.rand(5, generator=g).double().unsqueeze(1)
    y_hat = t * y + (1 - t) * y[torch.randperm(5, generator=g)]
    norms = torch.cat([y_hat @ w.T, x @ w], dim=1).norm(dim=1)
    expected = (norms - 1) ** 2
    torch.testing.assert_close(critic_gradient_penalty(x, y, critic, generator=3, reduction="none"), expected)


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(2, 7), seed=st.integers(0, 2**16))
def test_joint_permutation_invariance_without_penalty(batch, seed):
    critic = _critic()
    x, y = _pairs(batch=batch, seed=seed)
    perm = torch.randperm(batch, generator=torch.Generator().manual_seed(seed))
    losses = wasserstein_predictive_coding_loss(x, y, critic, 0.0, reduction="none")
    permuted = wasserstein_predictive_coding_loss(x[perm], y[perm], critic, 0.0, reduction="none")
    torch.testing.assert_close(permuted, losses[perm])
    assert bool((losses >= 0).all())  # LSE_j S_ij >= S_ii


def test_gradcheck_float64_inputs():
    critic = _critic()
    x, y = _pairs(batch=4)
    x.requires_grad_(True)
    y.requires_grad_(True)

    def loss(a, b):
        return wasserstein_predictive_coding_loss(a, b, critic, gp_weight=3.0, generator=5)

    assert torch.autograd.gradcheck(loss, (x, y))


def test_module_matches_function_and_holds_the_critic():
    critic = _critic()
    module = WassersteinPredictiveCoding(critic, gp_weight=4.0, objective="kr")
    x, y = _pairs()
    torch.testing.assert_close(
        module(x, y, generator=9),
        wasserstein_predictive_coding_loss(x, y, critic, 4.0, "kr", generator=9),
    )
    assert any(p is critic.weight for p in module.parameters())


def test_bad_inputs():
    critic = _critic()
    x, y = _pairs()
    with pytest.raises(ValueError, match="gp_weight"):
        wasserstein_predictive_coding_loss(x, y, critic, gp_weight=-1.0)
    with pytest.raises(ValueError, match="objective"):
        wasserstein_predictive_coding_loss(x, y, critic, objective="nwj")
    with pytest.raises(ValueError, match="y"):
        wasserstein_predictive_coding_loss(x, y[:4], critic)
    with pytest.raises(ValueError, match="x"):
        wasserstein_predictive_coding_loss(x[:1], y[:1], critic)
    with pytest.raises(TypeError, match="y"):
        wasserstein_predictive_coding_loss(x, y.float(), critic)
    with pytest.raises(TypeError, match="critic"):
        wasserstein_predictive_coding_loss(x, y, "critic")
    with pytest.raises(ValueError, match="critic"):
        wasserstein_predictive_coding_loss(x, y, lambda a, b: a @ b.T[:, :2])
    bad = x.clone()
    bad[0, 0] = float("inf")
    with pytest.raises(ValueError, match="x"):
        wasserstein_predictive_coding_loss(bad, y, critic)
    with pytest.raises(ValueError, match="reduction"):
        critic_gradient_penalty(x, y, critic, reduction="max")
    with pytest.raises(TypeError, match="critic"):
        WassersteinPredictiveCoding(lambda a, b: a @ b.T)


def test_pair_scores_shortcut_equals_the_diagonal():
    critic = _critic()
    x, y = _pairs()
    torch.testing.assert_close(critic.pair_scores(x, y), critic(x, y).diagonal())
    with_shortcut = critic_gradient_penalty(x, y, critic, generator=4, reduction="none")
    without = critic_gradient_penalty(x, y, lambda a, b: critic(a, b), generator=4, reduction="none")
    torch.testing.assert_close(with_shortcut, without)

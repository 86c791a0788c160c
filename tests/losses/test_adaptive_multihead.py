"""Tests for the AMCL loss against a naive per-head, per-anchor reference."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import AMCLLoss, amcl_loss, pair_temperatures


def views(b=5, c=2, d=3, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, d, generator=g, dtype=dtype), torch.randn(b, c, d, generator=g, dtype=dtype)


def linear_phi(d=3, seed=1, dtype=torch.float64):
    weight = torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return lambda z: z @ weight


def naive_amcl(z1, z2, phi, beta, tau_min, tau_max, top_k):
    """One head, one anchor, one negative at a time, straight from the formula."""
    b, c, d = z1.shape
    total = 0.0
    for head in range(c):
        views_ = [v / v.norm() for v in torch.cat([z1[:, head], z2[:, head]])]
        codes = [phi(v) for v in views_]

        def tau(i, j, codes=codes):
            return tau_min + (tau_max - tau_min) / (1 + math.exp(float(codes[i] @ codes[j])))

        head_loss = 0.0
        for a in range(2 * b):
            p = (a + b) % (2 * b)
            negatives = [n for n in range(2 * b) if n not in (a, p)]
            sims = {n: float(views_[a] @ views_[n]) for n in negatives}
            if top_k is None:
                kept = negatives
                neg = math.log(sum(math.exp(sims[n] / tau(a, n)) for n in negatives))
            else:
                kept = sorted(negatives, key=lambda n: -sims[n])[:top_k]
                neg = sum(sims[n] / tau(a, n) for n in kept) / len(kept)
            t = tau(a, p)
            omega_pos = d / 2 * math.log(t) + 1 / t
            omega_neg = sum(math.log(tau(a, n)) + 1 / tau(a, n) for n in kept)
            head_loss += -float(views_[a] @ views_[p]) / t + neg + beta * (omega_pos - omega_neg)
        total += head_loss / (2 * b)
    return total


@pytest.mark.parametrize("top_k", [None, 1, 3, 50])
def test_matches_naive_reference(top_k):
    z1, z2 = views(b=4, c=3)
    phi = linear_phi()
    ours = amcl_loss(z1, z2, phi, beta=0.1, tau_min=0.1, tau_max=0.9, top_k=top_k)
    assert ours.item() == pytest.approx(naive_amcl(z1, z2, phi, 0.1, 0.1, 0.9, top_k), rel=1e-10)


def test_constant_temperature_single_head_is_decoupled_infonce():
    """phi = 0 gives tau = (tau_min + tau_max) / 2 for every pair: -s_pos/tau + LSE over negatives."""
    z1, z2 = views(b=6, c=1, d=4)
    loss = amcl_loss(z1, z2, lambda z: torch.zeros_like(z), beta=0.0, tau_min=0.1, tau_max=0.3, top_k=None)
    z = torch.nn.functional.normalize(torch.cat([z1[:, 0], z2[:, 0]]), dim=1)
    logits = z @ z.T / 0.2
    pos = logits.diagonal(6).repeat(2)
    masked = logits.clone()
    masked.fill_diagonal_(-float("inf"))
    idx = torch.arange(12)
    masked[idx, (idx + 6) % 12] = -float("inf")
    torch.testing.assert_close(loss, (-pos + masked.logsumexp(1)).mean())


def test_temperatures_lie_in_bounds_and_follow_the_formula():
    a, b = torch.randn(7, 3, dtype=torch.float64), torch.randn(7, 3, dtype=torch.float64)
    tau = pair_temperatures(a, b, 0.2, 0.7)
    torch.testing.assert_close(tau, 0.2 + 0.5 * torch.sigmoid(-(a * b).sum(1)))
    _, tau_pos, tau_neg = amcl_loss(
        *views(b=3), linear_phi(), tau_min=0.2, tau_max=0.7, return_temperatures=True
    )
    assert tau_pos.shape == (2, 6) and tau_neg.shape == (2, 6, 4)
    assert (tau_neg > 0.2).all() and (tau_neg < 0.7).all()


def test_gradcheck_float64():
    z1, z2 = (v.requires_grad_() for v in views(b=3, c=2, d=3))
    weight = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    for top_k in (None, 2):
        assert torch.autograd.gradcheck(
            lambda x, y, w, k=top_k: amcl_loss(x, y, lambda z: z @ w, beta=0.05, top_k=k), (z1, z2, weight)
        )


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100.0), seed=st.integers(0, 1000))
def test_invariant_to_feature_scale_and_image_order(scale, seed):
    z1, z2 = views(b=4, c=2, seed=seed)
    phi = linear_phi()
    loss = amcl_loss(z1, z2, phi, top_k=3)
    perm = torch.randperm(4, generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(amcl_loss(scale * z1[perm], z2[perm], phi, top_k=3), loss)


def test_module_owns_phi_and_trains():
    torch.manual_seed(0)
    loss_fn = AMCLLoss(dim=3, top_k=None)
    z1, z2 = views(b=4, c=2, dtype=torch.float32)
    loss = loss_fn(z1, z2)
    torch.testing.assert_close(loss, amcl_loss(z1, z2, loss_fn.phi, top_k=None))
    loss.backward()
    assert all(p.grad is not None for p in loss_fn.parameters())


def test_bad_inputs_raise_naming_the_argument():
    z1, z2 = views()
    phi = linear_phi()
    with pytest.raises(ValueError, match="z1 and z2"):
        amcl_loss(z1, z2[:3], phi)
    with pytest.raises(ValueError, match="z1"):
        amcl_loss(z1[:, 0], z2[:, 0], phi)
    with pytest.raises(ValueError, match="at least 2"):
        amcl_loss(z1[:1], z2[:1], phi)
    with pytest.raises(ValueError, match="tau_min"):
        amcl_loss(z1, z2, phi, tau_min=1.0, tau_max=0.5)
    with pytest.raises(ValueError, match="beta"):
        amcl_loss(z1, z2, phi, beta=-1.0)
    with pytest.raises(ValueError, match="top_k"):
        amcl_loss(z1, z2, phi, top_k=0)
    with pytest.raises(ValueError, match="z2"):
        amcl_loss(z1, z2.float(), phi)
    with pytest.raises(ValueError, match="z1"):
        amcl_loss(z1.fill_(float("nan")), z2, phi)
    with pytest.raises(ValueError, match="feature width"):
        AMCLLoss(dim=5)(*views(d=3))

"""Tests for the comp-sum loss family: naive formula, cross-entropy and GCE special cases, stability."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import CompSumLoss, comp_sum_loss, generalized_cross_entropy

TAUS = [0.0, 0.3, 1.0, 1.5, 2.0, 3.0]


def naive_comp_sum(logits: torch.Tensor, target: torch.Tensor, tau: float) -> torch.Tensor:
    """Phi^tau(u), u = sum_{k != y} exp(h_k - h_y), straight from the paper's definition, per item."""
    h_y = logits.gather(1, target.unsqueeze(1))  # (N, 1)
    others = F.one_hot(target, logits.shape[1]) == 0  # (N, C)
    u = (torch.exp(logits - h_y) * others).sum(1)  # (N,)
    if tau == 1.0:
        return torch.log1p(u)
    return ((1 + u) ** (1 - tau) - 1) / (1 - tau)


def batch(n=37, c=7, scale=3.0, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, c, generator=g, dtype=dtype), torch.randint(0, c, (n,), generator=g)


@pytest.mark.parametrize("tau", TAUS)
def test_matches_naive_formula(tau):
    logits, target = batch()
    ours = comp_sum_loss(logits, target, tau, reduction="none")
    torch.testing.assert_close(ours, naive_comp_sum(logits, target, tau), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(comp_sum_loss(logits, target, tau), ours.mean())
    torch.testing.assert_close(comp_sum_loss(logits, target, tau, reduction="sum"), ours.sum())


def test_named_members_of_the_family():
    logits, target = batch()
    u = naive_comp_sum(logits, target, 0.0)  # tau = 0 is u itself
    p_y = F.softmax(logits, 1).gather(1, target.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(comp_sum_loss(logits, target, 0.0, reduction="none"), u)
    torch.testing.assert_close(comp_sum_loss(logits, target, 2.0, reduction="none"), u / (1 + u))
    torch.testing.assert_close(comp_sum_loss(logits, target, 2.0, reduction="none"), 1 - p_y)


@pytest.mark.parametrize("shape", [(5, 3), (4, 6, 2), (2, 3, 4, 5)])
def test_tau_one_is_cross_entropy(shape):
    g = torch.Generator().manual_seed(1)
    logits = 4 * torch.randn(shape, generator=g)
    target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=g)
    target.view(-1)[0] = -100
    expected = F.cross_entropy(logits, target, ignore_index=-100)
    torch.testing.assert_close(comp_sum_loss(logits, target, 1.0), expected)


@pytest.mark.parametrize("tau", [1.1, 1.5, 1.7, 2.0])
def test_between_one_and_two_is_generalized_cross_entropy(tau):
    logits, target = batch(seed=3)
    expected = generalized_cross_entropy(logits, target, q=tau - 1, reduction="none")
    torch.testing.assert_close(comp_sum_loss(logits, target, tau, reduction="none"), expected)


@pytest.mark.parametrize("tau", TAUS)
def test_large_logits_are_stable(tau):
    logits, target = batch(dtype=torch.float32)
    shifted = logits + 1e4  # exp(1e4) overflows any dtype; the loss must not care
    ours = comp_sum_loss(shifted, target, tau, reduction="none")
    assert torch.isfinite(ours).all()
    # the float64 reference sees the same (rounded) float32 logits, so the loss is judged, not the rounding
    reference = naive_comp_sum(shifted.double(), target, tau).float()
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)
    softmax_of_exps = torch.exp(shifted).sum(1)  # the naive softmax route overflows here
    assert not torch.isfinite(softmax_of_exps).any()
    # a confidently right prediction with logit gaps of 1e4: the loss underflows to 0, never NaN
    confident = torch.zeros(2, 3)
    confident[:, 0] = 1e4
    zeros = comp_sum_loss(confident, torch.zeros(2, dtype=torch.long), tau, reduction="none")
    assert torch.equal(zeros, torch.zeros(2))


@pytest.mark.parametrize("tau", [1.0, 1.5, 2.0, 3.0])
def test_bounded_losses_stay_finite_when_confidently_wrong(tau):
    logits = torch.tensor([[1e4, 0.0, -1e4]])
    loss = comp_sum_loss(logits, torch.tensor([2]), tau)
    assert torch.isfinite(loss)
    if tau > 1:
        torch.testing.assert_close(loss, torch.tensor(1 / (tau - 1)))  # sup of Phi^tau for tau > 1


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5, 2.0])
def test_gradcheck(tau):
    logits, target = batch(n=6, c=4, scale=1.0)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: comp_sum_loss(z, target, tau), (logits,))


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    shift=st.floats(-50, 50),
    taus=st.tuples(st.floats(0, 3), st.floats(0, 3)),
)
def test_properties(seed, shift, taus):
    logits, target = batch(n=9, c=5, seed=seed)
    low, high = sorted(taus)
    loss_low = comp_sum_loss(logits, target, low, reduction="none")
    loss_high = comp_sum_loss(logits, target, high, reduction="none")
    assert (loss_low >= 0).all()
    assert (loss_high <= loss_low + 1e-12).all()  # Phi^tau(u) is non-increasing in tau
    torch.testing.assert_close(comp_sum_loss(logits + shift, target, low, reduction="none"), loss_low)


def test_module_matches_function():
    logits, target = batch()
    module = CompSumLoss(tau=1.5, reduction="sum")
    torch.testing.assert_close(module(logits, target), comp_sum_loss(logits, target, 1.5, reduction="sum"))


def test_dtype_and_device_follow_input():
    logits, target = batch(dtype=torch.float32)
    assert comp_sum_loss(logits, target, 0.5).dtype == torch.float32
    assert comp_sum_loss(logits.double(), target, 0.5).dtype == torch.float64


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(tau=-0.1), ValueError, "tau"),
        (dict(tau=math.nan), ValueError, "tau"),
        (dict(tau=math.inf), ValueError, "tau"),
        (dict(tau=True), TypeError, "tau"),
        (dict(tau="1"), TypeError, "tau"),
        (dict(reduction="avg"), ValueError, "reduction"),
    ],
)
def test_bad_options(kwargs, error, match):
    logits, target = batch()
    with pytest.raises(error, match=match):
        comp_sum_loss(logits, target, **kwargs)
    with pytest.raises(error, match=match):
        CompSumLoss(**kwargs)


def test_bad_inputs():
    logits, target = batch(n=4, c=3)
    with pytest.raises(ValueError, match="target must be in"):
        comp_sum_loss(logits, torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="target must be in"):
        comp_sum_loss(logits, torch.tensor([0, 1, -1, 2]))
    with pytest.raises(ValueError, match="int64"):
        comp_sum_loss(logits, target.float())
    with pytest.raises(ValueError, match="shape"):
        comp_sum_loss(logits, target[:3])
    with pytest.raises(TypeError, match="floating"):
        comp_sum_loss(logits.long(), target)
    with pytest.raises(ValueError, match="finite"):
        comp_sum_loss(torch.full((4, 3), math.nan), target)
    with pytest.raises(ValueError, match="at least 2 classes"):
        comp_sum_loss(torch.zeros(4, 1), torch.zeros(4, dtype=torch.long))

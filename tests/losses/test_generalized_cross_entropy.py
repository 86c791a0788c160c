"""Tests for the generalized cross-entropy loss."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import GeneralizedCrossEntropyLoss, generalized_cross_entropy, mae_loss


def naive_gce(logits, target, q):
    """(1 - p_y^q) / q straight from the formula, with softmax probabilities."""
    p_y = F.softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    return (1 - p_y**q) / q


def batch(n=16, c=5, extra=(), seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, c, *extra, generator=g, dtype=dtype)
    target = torch.randint(0, c, (n, *extra), generator=g)
    return logits, target


@pytest.mark.parametrize("q", [0.1, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("extra", [(), (3, 2)])
def test_matches_formula(q, extra):
    logits, target = batch(extra=extra)
    expected = naive_gce(logits, target, q)
    torch.testing.assert_close(generalized_cross_entropy(logits, target, q, reduction="none"), expected)
    torch.testing.assert_close(generalized_cross_entropy(logits, target, q), expected.mean())
    torch.testing.assert_close(generalized_cross_entropy(logits, target, q, reduction="sum"), expected.sum())


def test_tends_to_cross_entropy_as_q_goes_to_zero():
    logits, target = batch()
    ce = F.cross_entropy(logits, target, reduction="none")
    gaps = [
        (generalized_cross_entropy(logits, target, q, reduction="none") - ce).abs().max().item()
        for q in (0.3, 0.03, 0.003)
    ]
    assert gaps[0] > gaps[1] > gaps[2]
    torch.testing.assert_close(
        generalized_cross_entropy(logits, target, 1e-7, reduction="none"), ce, rtol=1e-5, atol=1e-6
    )


def test_q_one_is_half_the_mae():
    logits, target = batch()
    p_y = F.softmax(logits, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(generalized_cross_entropy(logits, target, 1.0, reduction="none"), 1 - p_y)
    torch.testing.assert_close(generalized_cross_entropy(logits, target, 1.0), mae_loss(logits, target) / 2)


def test_accurate_for_tiny_probabilities():
    logits = torch.tensor([[0.0, 2000.0]], dtype=torch.float64)  # p_0 = e^-2000 underflows to 0
    target = torch.tensor([0])
    # softmax then pow would give p^q = 0 and a loss of 1/q; from log p it is (1 - e^{-2000 q}) / q
    expected = -math.expm1(-2000 * 1e-4) / 1e-4
    assert generalized_cross_entropy(logits, target, 1e-4).item() == pytest.approx(expected, rel=1e-12)


def test_ignore_index():
    logits, target = batch()
    target[::3] = -1
    keep = target != -1
    expected = naive_gce(logits[keep], target[keep], 0.7)
    out = generalized_cross_entropy(logits, target, 0.7, reduction="none", ignore_index=-1)
    assert bool((out[~keep] == 0).all())
    torch.testing.assert_close(out[keep], expected)
    torch.testing.assert_close(
        generalized_cross_entropy(logits, target, 0.7, ignore_index=-1), expected.mean()
    )


@settings(max_examples=25, deadline=None)
@given(
    q=st.floats(0.01, 1.0),
    seed=st.integers(0, 10_000),
    scale=st.floats(0.1, 20.0),
)
def test_bounded_by_inverse_q_and_below_cross_entropy(q, seed, scale):
    logits, target = batch(seed=seed)
    logits = logits * scale
    loss = generalized_cross_entropy(logits, target, q, reduction="none")
    assert bool((loss >= 0).all()) and bool((loss <= 1 / q + 1e-12).all())
    assert bool((loss <= F.cross_entropy(logits, target, reduction="none") + 1e-12).all())


def test_gradcheck():
    logits, target = batch(n=4, c=3)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: generalized_cross_entropy(z, target, 0.4), (logits,))


def test_module_matches_functional_and_keeps_dtype():
    logits, target = batch(dtype=torch.float32)
    module = GeneralizedCrossEntropyLoss(q=0.3, reduction="sum")
    out = module(logits, target)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, generalized_cross_entropy(logits, target, 0.3, reduction="sum"))


@pytest.mark.parametrize("q", [0, -0.5, 1.5, float("nan")])
def test_rejects_bad_q(q):
    logits, target = batch()
    with pytest.raises(ValueError, match="q"):
        generalized_cross_entropy(logits, target, q)
    with pytest.raises(ValueError, match="q"):
        GeneralizedCrossEntropyLoss(q=q)


def test_rejects_bad_inputs():
    logits, target = batch()
    with pytest.raises(TypeError, match="q"):
        generalized_cross_entropy(logits, target, True)
    with pytest.raises(ValueError, match="target"):
        generalized_cross_entropy(logits, target.clone().fill_(5))
    with pytest.raises(ValueError, match="target"):
        generalized_cross_entropy(logits, target.float())
    with pytest.raises(ValueError, match="target"):
        generalized_cross_entropy(logits, target[:-1])
    with pytest.raises(ValueError, match="reduction"):
        generalized_cross_entropy(logits, target, reduction="max")
    with pytest.raises(ValueError, match="input"):
        generalized_cross_entropy(logits.clone().fill_(float("nan")), target)
    with pytest.raises(TypeError, match="input"):
        generalized_cross_entropy(logits.long(), target)

"""Tests for the LDR-KL, Crammer-Singer and adaptive ALDR-KL losses."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import softmax
from scipy.stats import entropy

from paperlab.losses import ALDRKLLoss, LDRKLLoss, crammer_singer_hinge, ldr_kl_loss
from paperlab.losses.ldr import normalize_scores


def naive_scores(logits):
    positive = F.softplus(logits)
    return positive / positive.mean(dim=1, keepdim=True)


def naive_violations(scores, target, margin):
    one_hot = F.one_hot(target, scores.shape[1]).movedim(-1, 1).to(scores.dtype)
    return margin * (1 - one_hot) + scores - (scores * one_hot).sum(dim=1, keepdim=True)


def naive_ldr_kl(scores, target, lam, margin):
    """lam * log((1/K) sum_k exp((c [k != y] + s_k - s_y) / lam)) with plain exp / mean / log."""
    return lam * torch.log(torch.exp(naive_violations(scores, target, margin) / lam).mean(dim=1))


def naive_hinge(scores, target, margin):
    """max(0, max_{k != y} c + s_k - s_y) with the true class masked out by -inf."""
    one_hot = F.one_hot(target, scores.shape[1]).movedim(-1, 1).bool()
    others = (margin + scores - scores.gather(1, target.unsqueeze(1))).masked_fill(one_hot, -math.inf)
    return others.amax(dim=1).clamp_min(0)


def batch(n=12, c=5, extra=(), seed=0, dtype=torch.float64, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    logits = scale * torch.randn(n, c, *extra, generator=g, dtype=dtype)
    return logits, torch.randint(0, c, (n, *extra), generator=g)


def test_normalized_scores_are_positive_with_unit_mean():
    logits, _ = batch()
    scores = normalize_scores(logits)
    torch.testing.assert_close(scores, naive_scores(logits))
    assert bool((scores > 0).all())
    torch.testing.assert_close(scores.mean(dim=1), torch.ones(len(logits), dtype=logits.dtype))


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("extra", [(), (2, 3)])
@pytest.mark.parametrize("lam", [0.3, 1.0, 4.0])
def test_ldr_kl_matches_formula(normalize, extra, lam):
    logits, target = batch(extra=extra)
    scores = naive_scores(logits) if normalize else logits
    expected = naive_ldr_kl(scores, target, lam, 0.5)
    out = ldr_kl_loss(logits, target, lam, margin=0.5, normalize=normalize, reduction="none")
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(ldr_kl_loss(logits, target, lam, 0.5, normalize), expected.mean())
    torch.testing.assert_close(
        ldr_kl_loss(logits, target, lam, 0.5, normalize, reduction="sum"), expected.sum()
    )


@pytest.mark.parametrize("normalize", [True, False])
def test_tends_to_crammer_singer_hinge_within_lambda_log_k(normalize):
    logits, target = batch(n=40, c=7)
    scores = normalize_scores(logits) if normalize else logits
    hinge = crammer_singer_hinge(scores, target, margin=0.3, reduction="none")
    log_k = math.log(7)
    for lam in (1.0, 0.1, 1e-2, 1e-3, 1e-4):
        ldr = ldr_kl_loss(logits, target, lam, 0.3, normalize, reduction="none")
        assert bool((ldr <= hinge + 1e-12).all())
        assert bool((ldr >= hinge - lam * log_k - 1e-12).all())
    assert (hinge - ldr).max().item() < 1e-3  # lam = 1e-4


def test_hinge_matches_formula_and_zero_when_margin_met():
    logits, target = batch(extra=(3,))
    expected = naive_hinge(logits, target, 1.0)
    torch.testing.assert_close(crammer_singer_hinge(logits, target, reduction="none"), expected)
    separated = torch.tensor([[5.0, 0.0, 1.0], [0.0, 0.5, 0.2]], dtype=torch.float64)
    out = crammer_singer_hinge(separated, torch.tensor([0, 1]), margin=1.0, reduction="none")
    torch.testing.assert_close(out, torch.tensor([0.0, 0.7], dtype=torch.float64))


@pytest.mark.parametrize("normalize", [True, False])
def test_lambda_one_is_cross_entropy_of_margin_shifted_scores_minus_log_k(normalize):
    logits, target = batch(c=6)
    scores = normalize_scores(logits) if normalize else logits
    shifted = scores + 0.7 * (1 - F.one_hot(target, 6).to(scores.dtype))
    expected = F.cross_entropy(shifted, target, reduction="none") - math.log(6)
    torch.testing.assert_close(ldr_kl_loss(logits, target, 1.0, 0.7, normalize, reduction="none"), expected)


def test_per_item_lambda_tensor():
    logits, target = batch()
    lam = torch.linspace(0.05, 3.0, len(target), dtype=logits.dtype)
    out = ldr_kl_loss(logits, target, lam, reduction="none")
    for i in range(len(target)):
        one = ldr_kl_loss(logits[i : i + 1], target[i : i + 1], lam[i].item(), reduction="none")
        torch.testing.assert_close(out[i : i + 1], one)


def test_ignore_index():
    logits, target = batch()
    target[1::4] = -100
    keep = target != -100
    expected = naive_ldr_kl(naive_scores(logits[keep]), target[keep], 0.5, 0.1)
    out = ldr_kl_loss(logits, target, 0.5, reduction="none")
    assert bool((out[~keep] == 0).all())
    torch.testing.assert_close(out[keep], expected)
    torch.testing.assert_close(ldr_kl_loss(logits, target, 0.5), expected.mean())
    torch.testing.assert_close(
        crammer_singer_hinge(logits, target), naive_hinge(logits[keep], target[keep], 1.0).sum() / keep.sum()
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lam_small=st.floats(0.01, 1.0),
    ratio=st.floats(1.01, 50.0),
    margin=st.floats(0.0, 2.0),
)
def test_decreases_in_lambda_between_mean_and_max_violation(seed, lam_small, ratio, margin):
    logits, target = batch(seed=seed)
    scores = normalize_scores(logits)
    violations = naive_violations(scores, target, margin)
    small = ldr_kl_loss(logits, target, lam_small, margin, reduction="none")
    large = ldr_kl_loss(logits, target, lam_small * ratio, margin, reduction="none")
    assert bool((large <= small + 1e-12).all())
    assert bool((violations.mean(dim=1) <= large + 1e-12).all())
    assert bool((small <= violations.amax(dim=1) + 1e-12).all())


def test_gradcheck():
    logits, target = batch(n=4, c=3)
    logits.requires_grad_()
    assert torch.autograd.gradcheck(lambda z: ldr_kl_loss(z, target, 0.5, 0.2), (logits,))
    assert torch.autograd.gradcheck(lambda z: crammer_singer_hinge(z, target, 0.2), (logits,))
    lam = torch.tensor([0.3, 0.8, 1.0, 2.0], dtype=logits.dtype)
    assert torch.autograd.gradcheck(lambda z: ldr_kl_loss(z, target, lam, 0.2), (logits,))


def test_aldr_gradient_holds_lambda_fixed():
    """lambda_i is set without gradient (as in the authors' code): ALDR-KL's gradient is LDR-KL's at that lambda."""
    logits, target = batch(n=6, c=4)
    logits.requires_grad_()
    aldr = ALDRKLLoss(6, 4, lam0=1.0, alpha=2.0).double()
    (grad,) = torch.autograd.grad(aldr(logits, target, torch.arange(6)), logits)
    (expected,) = torch.autograd.grad(ldr_kl_loss(logits, target, aldr.lam.clone()), logits)
    torch.testing.assert_close(grad, expected)


def test_module_matches_functional_and_keeps_dtype():
    logits, target = batch(dtype=torch.float32)
    out = LDRKLLoss(lam=0.5, margin=0.2, reduction="none")(logits, target)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, ldr_kl_loss(logits, target, 0.5, 0.2, reduction="none"))


def reference_lambda(scores, previous, lam0, alpha):
    """lambda0 (1 - KL(softmax(s / lambda_prev) || uniform) / (alpha log K)), with SciPy's KL."""
    k = scores.shape[1]
    q = softmax(scores / previous[:, None], axis=1)
    kl = entropy(q, np.full_like(q, 1 / k), axis=1)
    return lam0 * (1 - kl / (alpha * math.log(k)))


def test_aldr_lambda_update_is_the_closed_form():
    logits, target = batch(n=8, c=6, scale=3.0)
    loss = ALDRKLLoss(n_samples=20, n_classes=6, lam0=1.5, alpha=3.0, margin=0.2).double()
    index = torch.tensor([2, 4, 6, 8, 10, 12, 14, 16])
    scores = naive_scores(logits).numpy()
    first = reference_lambda(scores, np.full(8, 1.5), 1.5, 3.0)
    loss(logits, target, index)
    np.testing.assert_allclose(loss.lam[index].numpy(), first, rtol=1e-10)
    untouched = torch.ones(20, dtype=torch.bool)
    untouched[index] = False
    assert bool((loss.lam[untouched] == 1.5).all())
    # the second visit starts from the stored lambda, not from lambda_0
    second = reference_lambda(scores, first, 1.5, 3.0)
    out = loss(logits, target, index)
    np.testing.assert_allclose(loss.lam[index].numpy(), second, rtol=1e-10)
    assert not np.allclose(first, second)
    lam = torch.from_numpy(second)
    penalty = 3.0 * math.log(6) / (2 * 1.5) * (lam - 1.5) ** 2
    violations = naive_violations(naive_scores(logits), target, 0.2)
    expected = lam * torch.log(torch.exp(violations / lam[:, None]).mean(dim=1)) - penalty
    torch.testing.assert_close(out, expected.mean())


def test_aldr_lambda_range_and_confident_samples_get_smaller_lambda():
    logits = torch.tensor([[8.0, -8.0, -8.0, -8.0], [0.1, 0.0, -0.1, 0.05]], dtype=torch.float64)
    loss = ALDRKLLoss(2, 4, lam0=2.0, alpha=1.5, normalize=False).double()
    for _ in range(5):
        loss(logits, torch.tensor([0, 0]), torch.tensor([0, 1]))
        assert bool((loss.lam >= 2.0 * (1 - 1 / 1.5) - 1e-12).all()) and bool((loss.lam <= 2.0).all())
    assert loss.lam[0] < loss.lam[1]


def test_aldr_eval_mode_keeps_the_buffer():
    logits, target = batch(n=4, c=3)
    loss = ALDRKLLoss(4, 3).double().eval()
    loss(logits, target, torch.arange(4))
    assert bool((loss.lam == 1.0).all())


def test_aldr_rejects_bad_arguments():
    logits, target = batch(n=4, c=3)
    with pytest.raises(ValueError, match="alpha"):
        ALDRKLLoss(4, 3, alpha=1.0)
    with pytest.raises(ValueError, match="lam0"):
        ALDRKLLoss(4, 3, lam0=0.0)
    with pytest.raises(ValueError, match="n_classes"):
        ALDRKLLoss(4, 1)
    loss = ALDRKLLoss(4, 3).double()
    with pytest.raises(ValueError, match="index"):
        loss(logits, target, torch.tensor([0, 1, 2, 4]))
    with pytest.raises(ValueError, match="index"):
        loss(logits, target, torch.tensor([0, 1, 2, 3], dtype=torch.int32))
    with pytest.raises(ValueError, match="index"):
        loss(logits, target, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="n_classes"):
        loss(torch.randn(4, 5, dtype=torch.float64), target, torch.arange(4))
    with pytest.raises(ValueError, match="target"):
        loss(logits, target.clone().fill_(3), torch.arange(4))


@pytest.mark.parametrize("lam", [0.0, -1.0, float("inf"), float("nan")])
def test_rejects_bad_lambda(lam):
    logits, target = batch()
    with pytest.raises(ValueError, match="lam"):
        ldr_kl_loss(logits, target, lam)


def test_rejects_bad_inputs():
    logits, target = batch()
    with pytest.raises(ValueError, match="lam"):
        ldr_kl_loss(logits, target, torch.ones(3, dtype=logits.dtype))
    with pytest.raises(ValueError, match="lam"):
        ldr_kl_loss(logits, target, torch.zeros(len(target), dtype=logits.dtype))
    with pytest.raises(ValueError, match="margin"):
        ldr_kl_loss(logits, target, margin=-0.1)
    with pytest.raises(ValueError, match="margin"):
        crammer_singer_hinge(logits, target, margin=float("inf"))
    with pytest.raises(ValueError, match="target"):
        ldr_kl_loss(logits, target.clone().fill_(5))
    with pytest.raises(ValueError, match="target"):
        crammer_singer_hinge(logits, target.float())
    with pytest.raises(ValueError, match="target"):
        ldr_kl_loss(logits, target[:-1])
    with pytest.raises(ValueError, match="reduction"):
        ldr_kl_loss(logits, target, reduction="avg")
    with pytest.raises(ValueError, match="input"):
        ldr_kl_loss(logits.clone().fill_(float("inf")), target)

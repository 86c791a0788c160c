"""Mean-field losses against naive references written from the authors' formulas, gradcheck, bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import (
    MeanFieldClassWiseMultiSimilarityLoss,
    MeanFieldContrastiveLoss,
    mean_field_classwise_ms_loss,
    mean_field_contrastive_loss,
)


def batch(n=12, d=5, n_classes=4, seed=0, dtype=torch.float64, present=None):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=dtype)
    high = n_classes if present is None else present
    y = torch.randint(0, high, (n,), generator=g)
    w = torch.randn(n_classes, d, generator=g, dtype=dtype)
    return x, y, w


def naive_contrastive(x, y, w, pos_margin, neg_margin, mf_reg, mf_power):
    """Loops over items and classes, from the paper's formula."""
    xs, ws = F.normalize(x, dim=1), F.normalize(w, dim=1)
    total = 0.0
    for i in range(len(y)):
        for c in range(len(w)):
            d = 1 - xs[i] @ ws[c]
            total = total + (torch.relu(d - pos_margin) if c == y[i] else torch.relu(neg_margin - d))
    reg = 0.0
    for c in range(len(w)):
        for k in range(len(w)):
            if c != k:
                reg = reg + torch.relu(neg_margin - (1 - ws[c] @ ws[k])) ** mf_power
    return total / len(y) + mf_reg * reg / len(w)


def naive_classwise_ms(x, y, w, alpha, beta, base, mf_reg, mf_power):
    """The authors' direct exponential form, with per-class loops."""
    xs, ws = F.normalize(x, dim=1), F.normalize(w, dim=1)
    n_classes, present = len(w), sorted(set(y.tolist()))
    s = xs @ ws.T  # (B, C)
    pos = torch.zeros(n_classes, n_classes, dtype=x.dtype)
    neg = torch.zeros(n_classes, n_classes, dtype=x.dtype)
    for c in present:
        rows = s[y == c]
        pos[c] = torch.exp(-alpha * (rows - base)).mean(0)
        neg[c] = torch.exp(beta * (rows - base)).mean(0)
    loss = sum(torch.log(1 + pos[c, c]) for c in range(n_classes)) / (alpha * len(present))
    neg_sym = neg + neg.T
    loss = loss + sum(
        torch.log(1 + neg_sym[c, k]) for c in range(n_classes) for k in range(n_classes) if c != k
    ) / (2 * beta * len(present))
    reg = 0.0
    for c in range(n_classes):
        for k in range(n_classes):
            if c != k:
                sim = ws[c] @ ws[k]
                reg = reg + (torch.log1p(torch.exp(beta * (sim - base))) / beta) ** mf_power
    return loss + mf_reg * reg / n_classes


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    pos_margin=st.floats(0, 0.5),
    neg_margin=st.floats(0.3, 1.5),
    mf_reg=st.floats(0, 2),
    mf_power=st.sampled_from([1.0, 2.0]),
)
def test_contrastive_matches_naive(seed, pos_margin, neg_margin, mf_reg, mf_power):
    x, y, w = batch(seed=seed)
    ours = mean_field_contrastive_loss(x, y, w, pos_margin, neg_margin, mf_reg, mf_power)
    expected = naive_contrastive(x, y, w, pos_margin, neg_margin, mf_reg, mf_power)
    torch.testing.assert_close(ours, expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    alpha=st.floats(0.5, 4),
    beta=st.floats(1, 60),
    base=st.floats(0, 1),
    mf_power=st.sampled_from([1.0, 2.0]),
    present=st.sampled_from([2, 4]),
)
def test_classwise_ms_matches_naive_including_absent_classes(seed, alpha, beta, base, mf_power, present):
    x, y, w = batch(seed=seed, present=present)
    ours = mean_field_classwise_ms_loss(x, y, w, alpha, beta, base, 0.7, mf_power)
    expected = naive_classwise_ms(x, y, w, alpha, beta, base, 0.7, mf_power)
    torch.testing.assert_close(ours, expected, rtol=1e-9, atol=1e-10)


def test_classwise_ms_gradient_matches_naive_and_stays_finite_for_large_beta():
    x, y, w = batch(seed=3, present=3)
    args = (2.0, 50.0, 0.5, 1.0, 1.0)
    xa, wa = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    xb, wb = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
    ours = torch.autograd.grad(mean_field_classwise_ms_loss(xa, y, wa, *args), (xa, wa))
    theirs = torch.autograd.grad(naive_classwise_ms(xb, y, wb, *args), (xb, wb))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)
    big = mean_field_classwise_ms_loss(xa.float(), y, wa.float(), 2.0, 2000.0, 0.0)
    (grad,) = torch.autograd.grad(big, xa)
    assert torch.isfinite(big) and torch.isfinite(grad).all()


def test_gradcheck_both_losses():
    x, y, w = batch(8, 4, 3, seed=5, present=2)
    x.requires_grad_(True)
    w.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda a, b: mean_field_contrastive_loss(a, y, b, 0.1, 0.9, 0.5, 2.0), (x, w)
    )
    assert torch.autograd.gradcheck(
        lambda a, b: mean_field_classwise_ms_loss(a, y, b, 2.0, 10.0, 0.5, 0.5), (x, w)
    )


def test_loss_is_zero_when_embeddings_sit_on_orthogonal_mean_fields():
    w = torch.eye(3, dtype=torch.float64)
    x, y = 2.0 * w, torch.arange(3)
    assert mean_field_contrastive_loss(x, y, w, 0.0, 1.0, 1.0).item() == pytest.approx(0.0, abs=1e-12)


def test_modules_own_mean_fields_and_train_them():
    x, y, _ = batch(seed=6, dtype=torch.float32)
    g = torch.Generator().manual_seed(0)
    for module in (
        MeanFieldContrastiveLoss(4, 5, generator=g),
        MeanFieldClassWiseMultiSimilarityLoss(4, 5, generator=g),
    ):
        assert module.mean_fields.shape == (4, 5)
        loss = module(x, y)
        loss.backward()
        assert module.mean_fields.grad is not None and loss.dtype == torch.float32
    module = MeanFieldContrastiveLoss(4, 5, 0.1, 0.8, 0.3, 2.0)
    expected = mean_field_contrastive_loss(x, y, module.mean_fields, 0.1, 0.8, 0.3, 2.0)
    torch.testing.assert_close(module(x, y), expected)
    module = MeanFieldClassWiseMultiSimilarityLoss(4, 5, 1.0, 20.0, 0.4, 0.3, 2.0)
    expected = mean_field_classwise_ms_loss(x, y, module.mean_fields, 1.0, 20.0, 0.4, 0.3, 2.0)
    torch.testing.assert_close(module(x, y), expected)


@pytest.mark.parametrize("loss", [mean_field_contrastive_loss, mean_field_classwise_ms_loss])
@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda x, y, w: (x, y, w[:, :3]), "mean_fields"),
        (lambda x, y, w: (x, y, w.float()), "mean_fields"),
        (lambda x, y, w: (x, y + 4, w), "labels"),
        (lambda x, y, w: (x, y - 1 - y.max(), w), "labels"),
        (lambda x, y, w: (x, y[:-1], w), "labels"),
        (lambda x, y, w: (x.masked_fill(x > 1, float("nan")), y, w), "embeddings"),
    ],
)
def test_bad_inputs_raise(loss, mutate, match):
    with pytest.raises(ValueError, match=match):
        loss(*mutate(*batch()))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda x, y, w: mean_field_contrastive_loss(x, y, w, pos_margin=-0.1), "pos_margin"),
        (lambda x, y, w: mean_field_contrastive_loss(x, y, w, mf_reg=-1.0), "mf_reg"),
        (lambda x, y, w: mean_field_contrastive_loss(x, y, w, mf_power=0.0), "mf_power"),
        (lambda x, y, w: mean_field_classwise_ms_loss(x, y, w, alpha=0.0), "alpha"),
        (lambda x, y, w: mean_field_classwise_ms_loss(x, y, w, beta=-2.0), "beta"),
        (lambda x, y, w: mean_field_classwise_ms_loss(x, y, w, base=float("nan")), "base"),
        (lambda x, y, w: MeanFieldContrastiveLoss(0, 3), "n_classes"),
    ],
)
def test_bad_options_raise(call, match):
    with pytest.raises(ValueError, match=match):
        call(*batch())

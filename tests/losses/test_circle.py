"""Circle loss and the unified pair loss against pytorch-metric-learning and the paper's formulas."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import losses as pml_losses

from paperlab.losses import circle_classification_loss, circle_loss, unified_pair_loss


def batch(n=20, d=5, n_classes=4, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=dtype), torch.randint(0, n_classes, (n,), generator=g)


def cosine(x):
    unit = torch.nn.functional.normalize(x, dim=1)
    return unit @ unit.T


def value_and_grad(fn, x):
    x = x.clone().requires_grad_(True)
    value = fn(x)
    (grad,) = torch.autograd.grad(value, x)
    return value.detach(), grad


def naive_circle(x, y, m, gamma):
    """Per-anchor circle loss written term by term from the paper (float64 python sums)."""
    s = cosine(x).tolist()
    out = []
    for i in range(len(y)):
        positives = [s[i][k] for k in range(len(y)) if k != i and y[k] == y[i]]
        negatives = [s[i][j] for j in range(len(y)) if y[j] != y[i]]
        if not positives or not negatives:
            out.append(0.0)
            continue
        a_p = [max(1 + m - sp, 0.0) for sp in positives]
        a_n = [max(sn + m, 0.0) for sn in negatives]
        neg = sum(math.exp(gamma * a * (sn - m)) for a, sn in zip(a_n, negatives))
        pos = sum(math.exp(-gamma * a * (sp - (1 - m))) for a, sp in zip(a_p, positives))
        out.append(math.log1p(neg * pos))
    return torch.tensor(out, dtype=torch.float64)


def naive_unified(x, y, m, gamma):
    """log[1 + sum_j sum_k exp(gamma (s_n^j - s_p^k + m))] per anchor, by explicit double sums."""
    s = cosine(x).tolist()
    out = []
    for i in range(len(y)):
        positives = [s[i][k] for k in range(len(y)) if k != i and y[k] == y[i]]
        negatives = [s[i][j] for j in range(len(y)) if y[j] != y[i]]
        total = sum(math.exp(gamma * (sn - sp + m)) for sn in negatives for sp in positives)
        out.append(math.log1p(total) if positives and negatives else 0.0)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize(("m", "gamma"), [(0.4, 80.0), (0.25, 256.0), (0.1, 8.0)])
def test_circle_matches_pml_value_and_gradient(m, gamma):
    x, y = batch(seed=1)
    peer = pml_losses.CircleLoss(m=m, gamma=gamma)
    ours = value_and_grad(lambda e: circle_loss(e, y, m, gamma), x)
    theirs = value_and_grad(lambda e: peer(e, y), x)
    torch.testing.assert_close(ours[0], theirs[0], rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize(("m", "gamma"), [(0.25, 16.0), (0.4, 4.0)])
def test_circle_per_anchor_matches_the_formula(m, gamma):
    x, y = batch(n=14, n_classes=3, seed=2)
    torch.testing.assert_close(circle_loss(x, y, m, gamma, reduction="none"), naive_circle(x, y, m, gamma))


def test_unified_per_anchor_matches_the_double_sum():
    x, y = batch(n=14, n_classes=3, seed=3)
    torch.testing.assert_close(
        unified_pair_loss(x, y, 0.25, 8.0, reduction="none"), naive_unified(x, y, 0.25, 8.0)
    )


def test_circle_is_stable_at_large_gamma_in_float32():
    x, y = batch(n=64, n_classes=2, seed=4, dtype=torch.float32)
    x = x * 1e3
    loss = circle_loss(x, y, m=0.25, gamma=1024.0)
    assert torch.isfinite(loss)
    x.requires_grad_(True)
    circle_loss(x, y, m=0.25, gamma=1024.0).backward()
    assert torch.isfinite(x.grad).all()


def test_anchors_without_positive_or_negative_count_zero_and_mean_skips_them():
    x, y = batch(n=6, seed=5)
    y = torch.tensor([0, 0, 1, 1, 2, 3])  # anchors 4 and 5 have no positive
    per_anchor = circle_loss(x, y, reduction="none")
    assert per_anchor[4] == 0 and per_anchor[5] == 0
    assert (per_anchor[:4] > 0).all()
    torch.testing.assert_close(circle_loss(x, y), per_anchor[:4].mean())
    torch.testing.assert_close(circle_loss(x, y, reduction="sum"), per_anchor.sum())
    e = x.clone().requires_grad_(True)
    total = circle_loss(e, torch.arange(6)) + unified_pair_loss(e, torch.zeros(6, dtype=torch.long))
    total.backward()
    assert total.item() == 0.0 and torch.count_nonzero(e.grad) == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 24), log_scale=st.floats(-3, 3))
def test_invariant_to_permutation_and_row_scaling(seed, n, log_scale):
    x, y = batch(n=n, n_classes=3, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    order = torch.randperm(n, generator=g)
    scales = torch.exp(log_scale + torch.rand(n, 1, generator=g, dtype=x.dtype))
    for loss in (circle_loss, unified_pair_loss):
        reference = loss(x, y, 0.25, 32.0)
        torch.testing.assert_close(loss(x[order], y[order], 0.25, 32.0), reference)
        torch.testing.assert_close(loss(x * scales, y, 0.25, 32.0), reference)


def test_circle_logits_vanish_at_the_tangency_point():
    # similarities at the tangency point T = (s_n, s_p) = (m, 1 - m) lie on the decision boundary
    # (alpha_n (s_n - m) = 0 and alpha_p (s_p - (1 - m)) = 0): the loss is log(1 + n_n * n_p)
    m = 0.25
    theta_p, theta_n = math.acos(1 - m), math.acos(m)
    x = torch.tensor([[1.0, 0.0, 0.0], [math.cos(theta_p), math.sin(theta_p), 0.0]], dtype=torch.float64)
    third = torch.tensor([[math.cos(theta_n), 0.0, math.sin(theta_n)]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1])
    losses = circle_loss(torch.cat([x, third]), y, m=m, gamma=256.0, reduction="none")
    torch.testing.assert_close(losses[0], torch.tensor(math.log(2.0), dtype=torch.float64))


def test_class_level_circle_matches_the_formula_per_sample():
    x, y = batch(n=9, d=4, n_classes=5, seed=6)
    w = torch.randn(5, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    m, gamma = 0.25, 32.0
    s = (torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(w, dim=1).T).tolist()
    expected = []
    for i, label in enumerate(y.tolist()):
        s_p = s[i][label]
        pos = math.exp(-gamma * max(1 + m - s_p, 0.0) * (s_p - (1 - m)))
        neg = sum(math.exp(gamma * max(s[i][j] + m, 0.0) * (s[i][j] - m)) for j in range(5) if j != label)
        expected.append(math.log1p(pos * neg))
    ours = circle_classification_loss(x, w, y, m, gamma, reduction="none")
    torch.testing.assert_close(ours, torch.tensor(expected, dtype=torch.float64))
    with pytest.raises(ValueError, match="class indices"):
        circle_classification_loss(x, w, y + 5)
    with pytest.raises(ValueError, match="weight"):
        circle_classification_loss(x, w[:, :3], y)


@pytest.mark.parametrize("loss", [circle_loss, unified_pair_loss])
def test_bad_inputs_raise(loss):
    x, y = batch()
    with pytest.raises(ValueError, match="embeddings"):
        loss(x[None], y)
    with pytest.raises(TypeError, match="labels"):
        loss(x, y > 0)
    with pytest.raises(ValueError, match="m must"):
        loss(x, y, m=-0.1)
    with pytest.raises(ValueError, match="gamma"):
        loss(x, y, gamma=0.0)
    with pytest.raises(ValueError, match="reduction"):
        loss(x, y, reduction="mean_nonzero")
    bad = x.clone()
    bad[1, 1] = float("inf")
    with pytest.raises(ValueError, match="finite"):
        loss(bad, y)

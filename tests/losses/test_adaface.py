"""AdaFace, ArcFace and CosFace heads against pytorch-metric-learning and a naive reference."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from pytorch_metric_learning import losses as pml_losses

from paperlab.losses import (
    AdaFaceLoss,
    ArcFaceLoss,
    CosFaceLoss,
    adaface_loss,
    adaface_margin_scaler,
    arcface_loss,
    cosface_loss,
    margin_softmax_logits,
)


def head_batch(b=12, d=8, c=5, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, d, generator=g, dtype=dtype) * (1 + 3 * torch.rand(b, 1, generator=g, dtype=dtype))
    w = torch.randn(c, d, generator=g, dtype=dtype)
    y = torch.randint(0, c, (b,), generator=g)
    return x, y, w


def naive_adaface(x, y, w, m, h, s, mean, std, eps=1e-3):
    """Per-row AdaFace loss from the authors' formulas, with python floats."""
    total = 0.0
    for i in range(len(y)):
        norm = min(max(x[i].norm().item(), 1e-3), 100.0)
        z = max(-1.0, min(1.0, h * (norm - mean) / (std + eps)))
        logits = []
        for j in range(w.shape[0]):
            c = (x[i] @ w[j] / (x[i].norm() * w[j].norm())).item()
            c = max(-1 + eps, min(1 - eps, c))
            if j == y[i].item():
                theta = min(max(math.acos(c) - m * z, eps), math.pi - eps)
                c = math.cos(theta) - (m * z + m)
            logits.append(s * c)
        top = max(logits)
        log_sum = top + math.log(sum(math.exp(v - top) for v in logits))
        total += log_sum - logits[y[i].item()]
    return total / len(y)


def pml_loss(cls, x, y, w, **kwargs):
    loss = cls(num_classes=w.shape[0], embedding_size=w.shape[1], **kwargs)
    loss.W.data = w.T.clone()
    return loss(x, y)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_arcface_matches_pml(seed):
    x, y, w = head_batch(seed=seed)
    ours = arcface_loss(x, y, w, margin=0.5, scale=30.0)
    theirs = pml_loss(pml_losses.ArcFaceLoss, x, y, w, margin=math.degrees(0.5), scale=30.0)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosface_matches_pml_with_gradients(seed):
    x, y, w = head_batch(seed=seed)
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    ours = cosface_loss(x1, y, w, margin=0.35, scale=20.0)
    theirs = pml_loss(pml_losses.CosFaceLoss, x2, y, w, margin=0.35, scale=20.0)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-7)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("seed", [0, 1])
def test_adaface_matches_naive_reference(seed):
    x, y, w = head_batch(seed=seed)
    norms = x.norm(dim=1)
    mean, std = norms.mean().item(), norms.std().item()
    expected = naive_adaface(x, y, w, 0.4, 1.0, 16.0, mean, std)
    assert adaface_loss(x, y, w, margin=0.4, h=1.0, scale=16.0).item() == pytest.approx(expected, rel=1e-9)
    given_stats = naive_adaface(x, y, w, 0.4, 0.333, 16.0, 2.0, 0.5)
    ours = adaface_loss(x, y, w, margin=0.4, h=0.333, scale=16.0, batch_mean=2.0, batch_std=0.5)
    assert ours.item() == pytest.approx(given_stats, rel=1e-9)


def test_adaface_special_cases_are_arcface_and_cosface():
    x, y, w = head_batch()
    low_quality = adaface_loss(x, y, w, margin=0.4, scale=16.0, batch_mean=1e6, batch_std=1.0)  # z = -1
    torch.testing.assert_close(low_quality, arcface_loss(x, y, w, margin=0.4, scale=16.0))
    average = adaface_loss(x, y, w, margin=0.4, h=1e-12, scale=16.0)  # z = 0
    torch.testing.assert_close(average, cosface_loss(x, y, w, margin=0.4, scale=16.0))
    high_quality = adaface_loss(x, y, w, margin=0.4, scale=16.0, batch_mean=0.0, batch_std=1e-9)  # z = 1
    cosine = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(w, dim=1).T
    logits = margin_softmax_logits(cosine, y, -0.4, 0.8, 16.0)
    torch.testing.assert_close(high_quality, torch.nn.functional.cross_entropy(logits, y))


def test_margin_scaler_is_clipped_and_detached():
    norms = torch.tensor([0.5, 3.0, 200.0], dtype=torch.float64, requires_grad=True)
    z = adaface_margin_scaler(norms, 3.0, 1.0, h=0.5)
    torch.testing.assert_close(z, torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64))
    assert not z.requires_grad


def test_module_keeps_authors_ema_and_freezes_in_eval():
    x, y, w = head_batch()
    head = AdaFaceLoss(5, 8, margin=0.4, scale=16.0, t_alpha=0.25).double()
    head.weight.data = w.clone()
    safe = x.norm(dim=1).clamp(1e-3, 100)
    mean = 0.25 * safe.mean() + 0.75 * 20.0
    std = 0.25 * safe.std() + 0.75 * 100.0
    loss = head(x, y)
    torch.testing.assert_close(head.batch_mean.double(), mean.to(torch.float64), rtol=1e-6, atol=0)
    expected = adaface_loss(x, y, w, 0.4, 0.333, 16.0, head.batch_mean.double(), head.batch_std.double())
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(head.batch_std.double(), std, rtol=1e-6, atol=0)
    head.eval()
    head(x * 3, y)
    torch.testing.assert_close(head.batch_mean.double(), mean, rtol=1e-6, atol=0)


def test_modules_match_functionals():
    x, y, w = head_batch()
    for module, fn in (
        (ArcFaceLoss(5, 8, 0.3, 10.0), arcface_loss),
        (CosFaceLoss(5, 8, 0.2, 10.0), cosface_loss),
    ):
        module = module.double()
        module.weight.data = w.clone()
        torch.testing.assert_close(module(x, y), fn(x, y, w, module.margin, 10.0))
    full_batch = AdaFaceLoss(5, 8, 0.4, 0.333, 10.0, t_alpha=1.0).double()
    full_batch.weight.data = w.clone()
    torch.testing.assert_close(full_batch(x, y), adaface_loss(x, y, w, 0.4, 0.333, 10.0))


def test_gradcheck_float64():
    x, y, w = head_batch(b=6, d=4, c=3)
    x.requires_grad_(True)
    w.requires_grad_(True)
    # The margin uses the norms as constants (the authors' stop-gradient), so the analytic gradient in
    # the embeddings is the true one only where the scaler is saturated; in the proxies it always is.
    saturated = {"batch_mean": 0.0, "batch_std": 1e-9}
    assert torch.autograd.gradcheck(lambda a, b: adaface_loss(a, y, b, 0.4, 0.333, 8.0, **saturated), (x, w))
    assert torch.autograd.gradcheck(lambda b: adaface_loss(x.detach(), y, b, 0.4, 0.333, 8.0), (w,))
    assert torch.autograd.gradcheck(lambda a, b: arcface_loss(a, y, b, 0.5, 8.0), (x, w))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), margin=st.floats(0.05, 0.8))
def test_margins_only_raise_the_loss(seed, margin):
    x, y, w = head_batch(seed=seed)
    plain = cosface_loss(x, y, w, margin=0.0, scale=8.0, reduction="none")
    assert (cosface_loss(x, y, w, margin=margin, scale=8.0, reduction="none") > plain).all()
    cosine = torch.nn.functional.normalize(x, dim=1) @ torch.nn.functional.normalize(w, dim=1).T
    room = cosine.gather(1, y[:, None]).squeeze(1).acos() + margin < math.pi  # cos(theta + m) < cos(theta)
    arc = arcface_loss(x, y, w, margin=margin, scale=8.0, reduction="none")
    assert (arc[room] > plain[room]).all()


def test_bad_inputs():
    x, y, w = head_batch()
    with pytest.raises(ValueError, match="weight"):
        arcface_loss(x, y, w[:, :3])
    with pytest.raises(ValueError, match="labels"):
        arcface_loss(x, y + 5, w)
    with pytest.raises(ValueError, match="margin"):
        arcface_loss(x, y, w, margin=-0.1)
    with pytest.raises(ValueError, match="margin"):
        adaface_loss(x, y, w, margin=2.0)
    with pytest.raises(ValueError, match="scale"):
        cosface_loss(x, y, w, scale=0.0)
    with pytest.raises(ValueError, match="embeddings"):
        adaface_loss(x.clone().fill_(float("nan")), y, w)
    with pytest.raises(ValueError, match="batch_mean"):
        adaface_loss(x, y, w, batch_mean=1.0)
    with pytest.raises(ValueError, match="rows"):
        adaface_loss(x[:1], y[:1], w)
    with pytest.raises(TypeError, match="labels"):
        cosface_loss(x, y.double(), w)
    with pytest.raises(ValueError, match="h"):
        adaface_loss(x, y, w, h=-1.0)
    with pytest.raises(ValueError, match="t_alpha"):
        AdaFaceLoss(5, 8, t_alpha=0.0)
    with pytest.raises(ValueError, match="angular_margin"):
        margin_softmax_logits(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), torch.zeros(2))
    with pytest.raises(ValueError, match="dtype"):
        arcface_loss(x, y, w.float())

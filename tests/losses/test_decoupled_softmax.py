"""Decoupled softmax, multi-label softmax and the soft top-k loss against naive references."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from paperlab.losses import (
    DecoupledSoftmaxLoss,
    MultiLabelSoftmaxLoss,
    SoftTopKLoss,
    decoupled_softmax_loss,
    log_soft_topk,
    multilabel_softmax_loss,
    soft_topk,
    soft_topk_loss,
)


def xmc_batch(b=6, n_labels=9, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    scores = 3 * torch.randn(b, n_labels, generator=g, dtype=dtype)
    targets = torch.rand(b, n_labels, generator=g) < 0.3
    targets[:, 0] = True  # at least one positive
    targets[:, -1] = False  # at least one negative
    return scores, targets


def naive_losses(scores, targets):
    """Per-query multi-label softmax and decoupled softmax, term by term with python floats."""
    softmax, decoupled = [], []
    for row, pos in zip(scores.tolist(), targets.tolist()):
        every = math.log(sum(math.exp(v) for v in row))
        negatives = sum(math.exp(v) for v, p in zip(row, pos) if not p)
        positives = [v for v, p in zip(row, pos) if p]
        softmax.append(-sum(v - every for v in positives) / len(positives))
        decoupled.append(-sum(v - math.log(math.exp(v) + negatives) for v in positives) / len(positives))
    return torch.tensor(softmax, dtype=torch.float64), torch.tensor(decoupled, dtype=torch.float64)


def naive_soft_topk(row, k, alpha):
    """Soft top-k of one row with the threshold from a scalar root finder."""
    t = brentq(lambda t: sum(1 / (1 + math.exp(-alpha * (v + t))) for v in row) - k, -100, 100, xtol=1e-14)
    return [1 / (1 + math.exp(-alpha * (v + t))) for v in row]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_losses_match_naive_reference(seed):
    scores, targets = xmc_batch(seed=seed)
    softmax, decoupled = naive_losses(scores, targets)
    torch.testing.assert_close(multilabel_softmax_loss(scores, targets, reduction="none"), softmax)
    torch.testing.assert_close(decoupled_softmax_loss(scores, targets.long(), reduction="none"), decoupled)
    torch.testing.assert_close(DecoupledSoftmaxLoss()(scores, targets), decoupled.mean())
    torch.testing.assert_close(MultiLabelSoftmaxLoss("sum")(scores, targets), softmax.sum())


def test_single_positive_reduces_to_cross_entropy():
    scores, _ = xmc_batch()
    labels = torch.tensor([0, 3, 1, 2, 5, 4])
    one_hot = torch.nn.functional.one_hot(labels, scores.shape[1]).bool()
    expected = torch.nn.functional.cross_entropy(scores, labels)
    torch.testing.assert_close(decoupled_softmax_loss(scores, one_hot), expected)
    torch.testing.assert_close(multilabel_softmax_loss(scores, one_hot), expected)


def test_decoupled_optimum_ranks_all_positives_with_confidence():
    # Positives far above negatives: decoupled loss -> 0, multi-label softmax -> log |P| (they compete).
    targets = torch.tensor([[True, True, True, False, False]])
    scores = torch.where(targets, 30.0, 0.0).double()
    assert decoupled_softmax_loss(scores, targets).item() < 1e-10
    assert multilabel_softmax_loss(scores, targets).item() == pytest.approx(math.log(3), abs=1e-10)


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_soft_topk_matches_root_finder(alpha):
    scores, _ = xmc_batch()
    k = torch.tensor([1, 2, 3, 4, 2, 1])
    ours = soft_topk(scores, k, alpha)
    for row, kk, got in zip(scores.tolist(), k.tolist(), ours):
        torch.testing.assert_close(got, torch.tensor(naive_soft_topk(row, kk, alpha), dtype=torch.float64))
    torch.testing.assert_close(ours.sum(1), k.double())


def test_soft_topk_sharpens_to_hard_topk():
    scores, _ = xmc_batch()
    hard = torch.zeros_like(scores).scatter(1, scores.topk(3, dim=1).indices, 1.0)
    torch.testing.assert_close(soft_topk(scores, 3, alpha=200.0), hard, atol=1e-4, rtol=0)


def test_soft_topk_loss_matches_naive():
    scores, targets = xmc_batch()
    expected = []
    for row, pos in zip(scores.tolist(), targets.tolist()):
        p = naive_soft_topk(row, 2, 1.5)
        logs = [math.log(v) for v, is_pos in zip(p, pos) if is_pos]
        expected.append(-sum(logs) / len(logs))
    ours = soft_topk_loss(scores, targets, 2, alpha=1.5, reduction="none")
    torch.testing.assert_close(ours, torch.tensor(expected, dtype=torch.float64))
    torch.testing.assert_close(SoftTopKLoss(2, 1.5)(scores, targets), ours.mean())


def test_gradcheck_float64():
    scores, targets = xmc_batch(b=3, n_labels=6)
    scores.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda s: log_soft_topk(s, 2, 0.7), (scores,))
    assert torch.autograd.gradcheck(
        lambda s: soft_topk_loss(s, targets, torch.tensor([1, 2, 3]), 1.3), (scores,)
    )
    assert torch.autograd.gradcheck(lambda s: decoupled_softmax_loss(s, targets), (scores,))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_decoupled_is_below_softmax_and_ignores_positive_competition(seed):
    scores, targets = xmc_batch(seed=seed)
    decoupled = decoupled_softmax_loss(scores, targets, reduction="none")
    assert (decoupled <= multilabel_softmax_loss(scores, targets, reduction="none") + 1e-12).all()
    # Raising one positive's score never raises another positive's decoupled term.
    grad = torch.autograd.grad(decoupled_softmax_loss(scores.requires_grad_(), targets, "sum"), scores)[0]
    assert (grad[targets] <= 1e-12).all()
    assert (grad[~targets] >= -1e-12).all()


def test_bad_inputs():
    scores, targets = xmc_batch()
    with pytest.raises(ValueError, match="targets"):
        decoupled_softmax_loss(scores, targets[:, :4])
    with pytest.raises(ValueError, match="targets"):
        decoupled_softmax_loss(scores, torch.zeros_like(targets))
    with pytest.raises(ValueError, match="targets"):
        multilabel_softmax_loss(scores, torch.ones_like(targets))
    with pytest.raises(ValueError, match="targets"):
        multilabel_softmax_loss(scores, targets.long() * 2)
    with pytest.raises(ValueError, match="scores"):
        decoupled_softmax_loss(scores.clone().fill_(float("inf")), targets)
    with pytest.raises(ValueError, match="k"):
        soft_topk(scores, scores.shape[1])
    with pytest.raises(ValueError, match="k"):
        soft_topk(scores, torch.ones(3, dtype=torch.long))
    with pytest.raises(ValueError, match="alpha"):
        soft_topk_loss(scores, targets, 2, alpha=0.0)
    with pytest.raises(ValueError, match="reduction"):
        DecoupledSoftmaxLoss("max")

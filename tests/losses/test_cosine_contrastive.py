"""Tests for the cosine contrastive loss (CCL) and BPR against naive per-user references."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import BPRLoss, CosineContrastiveLoss, bpr_loss, cosine_contrastive_loss


def triples(b=7, k=5, d=4, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(*shape, generator=g, dtype=dtype) for shape in ((b, d), (b, d), (b, k, d)))


def cos(x, y):
    return float(x @ y) / (math.sqrt(float(x @ x)) * math.sqrt(float(y @ y)))


def naive_ccl(user, positive, negative, margin, weight):
    """The paper's formula, one user and one negative at a time."""
    losses = []
    for u, p, negs in zip(user, positive, negative):
        hinge = sum(max(0.0, cos(u, n) - margin) for n in negs)
        losses.append(1 - cos(u, p) + weight / len(negs) * hinge)
    return torch.tensor(losses, dtype=torch.float64)


def naive_bpr(user, positive, negative, similarity):
    score = (lambda x, y: float(x @ y)) if similarity == "dot" else cos
    losses = []
    for u, p, negs in zip(user, positive, negative):
        terms = [-math.log(1 / (1 + math.exp(-(score(u, p) - score(u, n))))) for n in negs]
        losses.append(sum(terms) / len(terms))
    return torch.tensor(losses, dtype=torch.float64)


@pytest.mark.parametrize("margin, weight", [(0.0, 1.0), (0.4, 10.0), (-0.5, 0.3)])
def test_ccl_matches_naive_formula(margin, weight):
    user, positive, negative = triples(b=9, k=6)
    ours = cosine_contrastive_loss(user, positive, negative, margin, weight, reduction="none")
    torch.testing.assert_close(ours, naive_ccl(user, positive, negative, margin, weight))


def test_ccl_default_weight_sums_the_negatives():
    user, positive, negative = triples(k=8)
    summed = cosine_contrastive_loss(user, positive, negative, 0.3, None)
    torch.testing.assert_close(summed, naive_ccl(user, positive, negative, 0.3, 8.0).mean())


def test_ccl_matches_the_authors_score_form():
    """Authors' form: relu(1 - pos) + w * mean(relu(neg - m)) on a (B, 1 + K) cosine matrix."""
    user, positive, negative = triples(b=11, k=4, d=6)
    items = torch.cat([positive[:, None], negative], dim=1)  # (B, 1 + K, D)
    y = torch.nn.functional.cosine_similarity(user[:, None], items, dim=-1)
    expected = (torch.relu(1 - y[:, 0]) + 3.0 * torch.relu(y[:, 1:] - 0.2).mean(-1)).mean()
    torch.testing.assert_close(cosine_contrastive_loss(user, positive, negative, 0.2, 3.0), expected)


@pytest.mark.parametrize("similarity", ["dot", "cosine"])
def test_bpr_matches_naive_formula(similarity):
    user, positive, negative = triples(b=6, k=3)
    ours = bpr_loss(user, positive, negative, similarity, reduction="none")
    torch.testing.assert_close(ours, naive_bpr(user, positive, negative, similarity))


def test_bpr_is_stable_for_huge_gaps():
    user, positive, negative = triples(b=3, k=2)
    loss = bpr_loss(1e3 * user, 1e3 * positive, 1e3 * negative, reduction="none")
    assert torch.isfinite(loss).all() and (loss >= 0).all()


def test_gradcheck_float64():
    user, positive, negative = (x.requires_grad_() for x in triples(b=4, k=3, d=3))
    assert torch.autograd.gradcheck(
        lambda u, p, n: cosine_contrastive_loss(u, p, n, -0.9, 2.0, reduction="none"),
        (user, positive, negative),
    )
    assert torch.autograd.gradcheck(
        lambda u, p, n: bpr_loss(u, p, n, "cosine", reduction="none"), (user, positive, negative)
    )


@settings(max_examples=25, deadline=None)
@given(b=st.integers(1, 6), k=st.integers(1, 6), scale=st.floats(0.01, 100.0), margin=st.floats(-1.0, 0.99))
def test_ccl_is_non_negative_and_scale_invariant(b, k, scale, margin):
    user, positive, negative = triples(b=b, k=k, d=3, seed=b * 7 + k)
    loss = cosine_contrastive_loss(user, positive, negative, margin, 2.0, reduction="none")
    scaled = cosine_contrastive_loss(scale * user, positive, scale * negative, margin, 2.0, reduction="none")
    assert (loss >= 0).all()
    torch.testing.assert_close(loss, scaled)


def test_ccl_is_zero_when_positive_aligned_and_negatives_below_margin():
    user = torch.tensor([[1.0, 0.0]])
    negative = torch.tensor([[[0.0, 1.0], [-1.0, 0.2]]])
    assert cosine_contrastive_loss(user, user.clone(), negative, margin=0.1).item() == pytest.approx(0.0)


def test_modules_match_functions():
    user, positive, negative = triples(dtype=torch.float32)
    torch.testing.assert_close(
        CosineContrastiveLoss(0.5, 4.0)(user, positive, negative),
        cosine_contrastive_loss(user, positive, negative, 0.5, 4.0),
    )
    torch.testing.assert_close(
        BPRLoss("cosine", "sum")(user, positive, negative),
        bpr_loss(user, positive, negative, "cosine", "sum"),
    )


def test_bad_inputs_raise_naming_the_argument():
    user, positive, negative = triples()
    with pytest.raises(ValueError, match="negative"):
        cosine_contrastive_loss(user, positive, negative[:, :, :2])
    with pytest.raises(ValueError, match="positive"):
        cosine_contrastive_loss(user, positive[:3], negative)
    with pytest.raises(ValueError, match="negative"):
        bpr_loss(user, positive, negative[0])
    with pytest.raises(ValueError, match="margin"):
        cosine_contrastive_loss(user, positive, negative, margin=1.0)
    with pytest.raises(ValueError, match="negative_weight"):
        cosine_contrastive_loss(user, positive, negative, negative_weight=0.0)
    with pytest.raises(ValueError, match="similarity"):
        bpr_loss(user, positive, negative, similarity="l2")
    with pytest.raises(ValueError, match="reduction"):
        bpr_loss(user, positive, negative, reduction="max")
    with pytest.raises(ValueError, match="user"):
        cosine_contrastive_loss(user.clone().fill_(float("nan")), positive, negative)
    with pytest.raises(ValueError, match="positive"):
        cosine_contrastive_loss(user, positive.float(), negative)
    with pytest.raises(TypeError, match="user"):
        bpr_loss(user.long(), positive, negative)

"""Tests for the bidirectional hardest-negative (VSE++) hinge loss."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import HardestNegativeTripletLoss, hardest_negative_triplet_loss


def naive_loss(scores, margin, hardest):
    """Per-pair losses, one negative at a time."""
    size = scores.shape[0]
    losses = []
    for i in range(size):
        to_candidates = [
            max(0.0, margin + scores[i, j].item() - scores[i, i].item()) for j in range(size) if j != i
        ]
        to_queries = [
            max(0.0, margin + scores[j, i].item() - scores[i, i].item()) for j in range(size) if j != i
        ]
        combine = max if hardest else sum
        losses.append(combine(to_candidates) + combine(to_queries))
    return torch.tensor(losses, dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(
    size=st.integers(2, 7),
    margin=st.floats(0.0, 1.0),
    hardest=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_matches_naive_loop(size, margin, hardest, seed):
    scores = torch.randn(size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    ours = hardest_negative_triplet_loss(scores, margin, hardest, reduction="none")
    torch.testing.assert_close(ours, naive_loss(scores, margin, hardest))
    torch.testing.assert_close(hardest_negative_triplet_loss(scores, margin, hardest), ours.mean())
    torch.testing.assert_close(hardest_negative_triplet_loss(scores, margin, hardest, "sum"), ours.sum())


def test_zero_when_every_positive_wins_by_the_margin():
    scores = torch.full((4, 4), 0.1, dtype=torch.float64).fill_diagonal_(0.35)
    assert hardest_negative_triplet_loss(scores, margin=0.2).item() == 0.0
    assert hardest_negative_triplet_loss(scores, margin=0.3).item() == pytest.approx(2 * 0.05)


def test_hardest_only_the_worst_negative_gets_gradient():
    scores = torch.tensor([[1.0, 0.9, 0.05], [0.0, 1.0, 0.1], [0.3, 0.0, 1.0]], dtype=torch.float64)
    scores.requires_grad_()
    hardest_negative_triplet_loss(scores, margin=0.8, reduction="sum").backward()
    # Query 0's hardest candidate is 1 (0.9); candidate 0's hardest query is 2 (0.3).
    assert (
        scores.grad[0, 1] > 0 and scores.grad[0, 2] == 0 and scores.grad[2, 0] > 0 and scores.grad[1, 0] == 0
    )


def test_gradcheck_float64():
    scores = torch.randn(
        5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3)
    ).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: hardest_negative_triplet_loss(s, 0.3, hardest=False), (scores,))
    assert torch.autograd.gradcheck(lambda s: hardest_negative_triplet_loss(s, 0.3), (scores,))


def test_module_matches_function():
    scores = torch.randn(6, 6)
    module = HardestNegativeTripletLoss(margin=0.1, hardest=False, reduction="sum")
    torch.testing.assert_close(module(scores), hardest_negative_triplet_loss(scores, 0.1, False, "sum"))


@pytest.mark.parametrize(
    "scores, kwargs, match",
    [
        (torch.randn(3, 4), {}, "square"),
        (torch.randn(1, 1), {}, "B >= 2"),
        (torch.randn(3), {}, "2 dimensions"),
        (torch.randn(3, 3), {"margin": -0.1}, "margin"),
        (torch.randn(3, 3), {"reduction": "max"}, "reduction"),
        (torch.full((3, 3), float("inf")), {}, "finite"),
    ],
)
def test_bad_inputs_raise(scores, kwargs, match):
    with pytest.raises(ValueError, match=match):
        hardest_negative_triplet_loss(scores, **kwargs)
    with pytest.raises(ValueError, match="margin"):
        HardestNegativeTripletLoss(margin=-1.0)

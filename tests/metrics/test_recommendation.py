"""Tests for Recall@K and NDCG@K of top-K recommendation against scikit-learn and a naive loop."""

import pytest
import torch
from sklearn.metrics import ndcg_score

from paperlab.metrics import recall_ndcg_at_k


def problem(n_users=20, n_items=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n_users, n_items, generator=g, dtype=torch.float64)
    test = (torch.rand(n_users, n_items, generator=g) < 0.15).double()
    test[0] = 0.0  # one user without held-out items is skipped
    return scores, test


@pytest.mark.parametrize("k", [1, 5, 12])
def test_ndcg_matches_sklearn(k):
    scores, test = problem()
    keep = test.sum(1) > 0
    expected = ndcg_score(test[keep].numpy(), scores[keep].numpy(), k=k)
    result = recall_ndcg_at_k(scores, test, k)
    assert result.ndcg == pytest.approx(expected, rel=1e-10)
    assert result.n_users == int(keep.sum())


@pytest.mark.parametrize("k", [1, 7])
def test_recall_matches_a_naive_loop(k):
    scores, test = problem(seed=3)
    recalls = []
    for s, t in zip(scores, test):
        if t.sum() > 0:
            top = sorted(range(len(s)), key=lambda i: -float(s[i]))[:k]
            recalls.append(sum(float(t[i]) for i in top) / float(t.sum()))
    assert recall_ndcg_at_k(scores, test, k).recall == pytest.approx(sum(recalls) / len(recalls))


def test_exclude_removes_training_items():
    scores, test = problem(seed=1)
    exclude = torch.zeros_like(test)
    exclude[:, scores.argmax(1)] = 0.0
    exclude[torch.arange(len(scores)), scores.argmax(1)] = 1.0
    exclude = exclude * (1 - test)
    lowered = scores.masked_fill(exclude.bool(), -1e9)
    assert recall_ndcg_at_k(scores, test, 5, exclude) == recall_ndcg_at_k(lowered, test, 5)


def test_perfect_scores_give_one():
    _, test = problem(seed=2)
    result = recall_ndcg_at_k(test + 0.0, test, k=30)
    assert result.recall == pytest.approx(1.0) and result.ndcg == pytest.approx(1.0)


def test_bad_inputs():
    scores, test = problem()
    with pytest.raises(ValueError, match="test"):
        recall_ndcg_at_k(scores, test[:3])
    with pytest.raises(ValueError, match="test"):
        recall_ndcg_at_k(scores, test * 2)
    with pytest.raises(ValueError, match="k"):
        recall_ndcg_at_k(scores, test, k=31)
    with pytest.raises(ValueError, match="exclude"):
        recall_ndcg_at_k(scores, test, exclude=test[:, :4])
    with pytest.raises(ValueError, match="scores"):
        recall_ndcg_at_k(scores.fill_(float("inf")), test)

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.models.synthetic_cross_encoder import SyntheticCrossEncoder
from paperlab.solvers.anncur import anncur_index, anncur_search, topk_recall


def low_rank_scores(n_queries, n_items, rank, seed):
    g = torch.Generator().manual_seed(seed)
    left = torch.randn(n_queries, rank, generator=g, dtype=torch.float64)
    return left @ torch.randn(rank, n_items, generator=g, dtype=torch.float64)  # (n_queries, n_items)


@settings(max_examples=25, deadline=None)
@given(rank=st.integers(1, 8), extra=st.integers(0, 4), seed=st.integers(0, 1000))
def test_exact_recovery_when_rank_at_most_anchors(rank, extra, seed):
    scores = low_rank_scores(30 + 10, 50, rank, seed)
    anchor_scores, test_scores = scores[:30], scores[30:]
    anchors = torch.randperm(50, generator=torch.Generator().manual_seed(seed))[: rank + extra]
    index = anncur_index(anchor_scores, anchors)
    approx = index.approximate(test_scores[:, anchors])
    torch.testing.assert_close(approx, test_scores, rtol=1e-7, atol=1e-7 * scores.abs().max().item())


def test_approximation_fails_when_rank_exceeds_anchors():
    scores = low_rank_scores(40, 50, 12, 0)
    index = anncur_index(scores[:30], torch.arange(5))
    error = (index.approximate(scores[30:, :5]) - scores[30:]).norm() / scores[30:].norm()
    assert error > 0.1


def test_matches_numpy_least_squares_reference():
    g = torch.Generator().manual_seed(3)
    R, c = (
        torch.randn(20, 60, generator=g, dtype=torch.float64),
        torch.randn(4, 8, generator=g, dtype=torch.float64),
    )
    anchors = torch.tensor([1, 5, 9, 13, 22, 30, 41, 59])
    ours = anncur_index(R, anchors).approximate(c)
    # minimum-norm z solving R[:, anchors]^T z = c^T, then s = z^T R  (same as c pinv(R_anc) R)
    z = np.linalg.lstsq(R[:, anchors].numpy().T, c.numpy().T, rcond=None)[0]
    np.testing.assert_allclose(ours.numpy(), z.T @ R.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("n_rounds", [1, 3])
def test_search_matches_brute_force_topk_on_low_rank_scores(n_rounds):
    scores = low_rank_scores(40 + 10, 80, 5, 1)
    anchor_scores, test_scores = scores[:40], scores[40:]
    anchors = torch.arange(0, 80, 8)  # 10 anchors
    score_fn = lambda items: test_scores.gather(1, items)  # noqa: E731
    result = anncur_search(score_fn, anchor_scores, anchors, test_scores[:, anchors], 25, 10, n_rounds)
    brute = test_scores.topk(10, dim=1)
    assert torch.equal(result.indices, brute.indices)
    torch.testing.assert_close(result.scores, brute.values)
    assert result.scored_items.shape == (10, 25) and result.n_score_calls == 25
    assert all(row.unique().numel() == 25 for row in result.scored_items)  # no item scored twice


def test_search_beats_random_on_cross_encoder():
    ce = SyntheticCrossEncoder(16, 32, interaction=1.0, seed=0)
    g = torch.Generator().manual_seed(0)
    items, anchor_q, test_q = (torch.randn(n, 16, generator=g) for n in (300, 60, 20))
    R, S = ce.score_all(anchor_q, items), ce.score_all(test_q, items)
    anchors = torch.randperm(300, generator=g)[:30]
    result = anncur_search(ce.scorer(test_q, items), R, anchors, S[:, anchors], 60, 10)
    torch.testing.assert_close(result.exact_scores, S.gather(1, result.scored_items))
    assert topk_recall(result.indices, S, 10).mean() > 2 * 60 / 300  # random retrieval recalls ~B/n


def test_topk_recall_closed_form():
    scores = torch.tensor([[5.0, 4.0, 3.0, 2.0, 1.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    retrieved = torch.tensor([[0, 3], [4, 3]])
    torch.testing.assert_close(topk_recall(retrieved, scores, 2), torch.tensor([0.5, 1.0]))


def test_bad_inputs():
    R = torch.randn(10, 20)
    with pytest.raises(ValueError, match="anchor_items"):
        anncur_index(R, torch.tensor([0, 20]))
    with pytest.raises(ValueError, match="anchor_items"):
        anncur_index(R, torch.tensor([1, 1]))
    with pytest.raises(TypeError, match="anchor_items"):
        anncur_index(R, torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="anchor_scores"):
        anncur_index(torch.full((10, 20), float("nan")), torch.tensor([0, 1]))
    index = anncur_index(R, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="query_anchor_scores"):
        index.approximate(torch.randn(4, 2))
    fn = lambda items: torch.zeros(items.shape)  # noqa: E731
    anchors, c = torch.tensor([0, 1, 2]), torch.randn(4, 3)
    with pytest.raises(ValueError, match="budget"):
        anncur_search(fn, R, anchors, c, 2, 1)
    with pytest.raises(ValueError, match="budget"):
        anncur_search(fn, R, anchors, c, 21, 1)
    with pytest.raises(ValueError, match="k must"):
        anncur_search(fn, R, anchors, c, 5, 6)
    with pytest.raises(ValueError, match="n_rounds"):
        anncur_search(fn, R, anchors, c, 5, 2, n_rounds=0)
    with pytest.raises(ValueError, match="score_fn"):
        anncur_search(lambda items: torch.zeros(1), R, anchors, c, 5, 2)
    with pytest.raises(ValueError, match="k must"):
        topk_recall(torch.zeros(2, 3, dtype=torch.long), torch.randn(2, 5), 6)

import pytest
import torch

from paperlab.models.synthetic_cross_encoder import SyntheticCrossEncoder


def test_matches_closed_form_and_score_all():
    ce = SyntheticCrossEncoder(4, 8, interaction=0.7, seed=0)
    g = torch.Generator().manual_seed(1)
    q, x = (
        torch.randn(3, 4, generator=g, dtype=torch.float64),
        torch.randn(5, 4, generator=g, dtype=torch.float64),
    )
    b = {k: v.double() for k, v in ce.named_buffers()}
    expected = torch.stack(
        [
            torch.stack(
                [
                    b["output_weight"]
                    @ torch.tanh(
                        b["query_weight"] @ qi
                        + b["item_weight"] @ xj
                        + 0.7 * b["product_weight"] @ (qi * xj)
                        + b["bias"]
                    )
                    for xj in x
                ]
            )
            for qi in q
        ]
    )
    torch.testing.assert_close(ce.score_all(q, x, chunk_size=2), expected)
    scores = ce.scorer(q, x)(torch.tensor([[4, 0], [1, 1], [2, 3]]))
    torch.testing.assert_close(scores, expected.gather(1, torch.tensor([[4, 0], [1, 1], [2, 3]])))


def test_not_factorizable_and_query_dependent():
    ce = SyntheticCrossEncoder(16, 64, interaction=1.0, seed=0)
    g = torch.Generator().manual_seed(0)
    S = ce.score_all(torch.randn(100, 16, generator=g), torch.randn(400, 16, generator=g))
    singular = torch.linalg.svdvals(S)
    assert singular[20] / singular[0] > 0.02  # far from a low-rank (dot-product) matrix
    top, shared = S.topk(10, dim=1).indices, S.mean(0).topk(10).indices
    assert (top.unsqueeze(2) == shared).any(2).float().mean() < 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="interaction"):
        SyntheticCrossEncoder(4, interaction=-1.0)
    ce = SyntheticCrossEncoder(4, 8, seed=0)
    with pytest.raises(ValueError, match="queries"):
        ce(torch.randn(2, 5), torch.randn(2, 3, 4))
    with pytest.raises(ValueError, match="items"):
        ce(torch.randn(2, 4), torch.randn(2, 4))

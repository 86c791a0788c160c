import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.metrics.neuron_strength import neuron_strength, top_k_features


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 8), st.integers(1, 8), st.integers(0, 1000))
def test_strength_matches_loop(n_out, n_in, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(n_out, n_in, generator=g, dtype=torch.float64)
    mask = torch.rand(n_out, n_in, generator=g) < 0.5
    got = neuron_strength(w, mask)
    for i in range(n_in):
        expected = sum(abs(w[j, i].item()) for j in range(n_out) if mask[j, i])
        assert got[i].item() == pytest.approx(expected)
    torch.testing.assert_close(neuron_strength(w), w.abs().sum(0))


def test_top_k_order_and_ties():
    scores = torch.tensor([0.1, 3.0, 2.0, 3.0, -1.0])
    assert top_k_features(scores, 3).tolist() == [1, 3, 2]
    assert top_k_features(scores, 2, largest=False).tolist() == [4, 0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="mask"):
        neuron_strength(torch.randn(3, 4), torch.ones(4, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="weight"):
        neuron_strength(torch.randn(3))
    with pytest.raises(ValueError, match="k must"):
        top_k_features(torch.randn(4), 5)
    with pytest.raises(ValueError, match="k"):
        top_k_features(torch.randn(4), 0)
    with pytest.raises(ValueError, match="finite"):
        top_k_features(torch.tensor([1.0, float("nan")]), 1)

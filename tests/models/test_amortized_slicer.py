"""Self-attention amortizer: permutation invariance and symmetry in float64, unit outputs, gradients, bad inputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.models import EfficientAttentionPooling, SelfAttentionAmortizer

f64 = torch.float64


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(2, 40), st.integers(2, 40), st.integers(0, 10_000))
def test_invariant_to_point_order_and_symmetric_in_the_two_clouds(B, n, m, seed):
    torch.manual_seed(seed)
    amortizer = SelfAttentionAmortizer(3, d_k=16).double()
    g = torch.Generator().manual_seed(seed)
    X, Y = torch.randn(B, n, 3, generator=g, dtype=f64), torch.randn(B, m, 3, generator=g, dtype=f64) * 2
    out = amortizer(X, Y)
    shuffled = amortizer(X[:, torch.randperm(n, generator=g)], Y[:, torch.randperm(m, generator=g)])
    assert (out - shuffled).abs().max().item() < 1e-9
    assert (out - amortizer(Y, X)).abs().max().item() < 1e-9
    torch.testing.assert_close(out.norm(dim=1), torch.ones(B, dtype=f64))


def test_pooling_matches_a_naive_attention_average():
    torch.manual_seed(0)
    pooling = EfficientAttentionPooling(3, d_k=8, d_out=5).double()
    X = torch.randn(2, 7, 3, dtype=f64)
    q = torch.softmax(pooling.queries(X), dim=-1)
    k = torch.softmax(pooling.keys(X), dim=1)
    v = pooling.values(X)
    naive = torch.stack([sum(q[b, i] @ k[b].T @ v[b] for i in range(7)) / 7 for b in range(2)])
    torch.testing.assert_close(pooling(X), naive)


def test_outputs_depend_on_the_clouds_and_train():
    torch.manual_seed(1)
    amortizer = SelfAttentionAmortizer(3).double()
    X = torch.randn(2, 20, 3, dtype=f64)
    assert (amortizer(X, X) - amortizer(X, 3 * X + 1)).abs().max() > 1e-6
    target = torch.tensor([0.0, 0.0, 1.0], dtype=f64)
    optimizer = torch.optim.Adam(amortizer.parameters(), lr=0.05)
    for _ in range(100):
        loss = -(amortizer(X, X) @ target).mean()  # learn to point along e3
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (amortizer(X, X) @ target).min() > 0.9


def test_bad_inputs():
    amortizer = SelfAttentionAmortizer(3)
    with pytest.raises(ValueError, match="must have shape"):
        amortizer(torch.randn(10, 3), torch.randn(10, 3))
    with pytest.raises(ValueError, match="same feature dimension"):
        amortizer(torch.randn(1, 10, 3), torch.randn(1, 10, 2))
    with pytest.raises(ValueError, match="d_k must be > 0"):
        SelfAttentionAmortizer(3, d_k=0)

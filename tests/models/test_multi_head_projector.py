"""Tests for the batched multi-head projector against one nn.Sequential per head."""

import pytest
import torch
from torch import nn

from paperlab.models import MultiHeadProjector


def test_each_head_is_an_independent_mlp():
    projector = MultiHeadProjector(5, 3, n_heads=4, hidden=6, generator=0).double()
    h = torch.randn(7, 5, dtype=torch.float64)
    out = projector(h)
    assert out.shape == (7, 4, 3)
    for c in range(4):
        head = nn.Sequential(nn.Linear(5, 6), nn.ReLU(), nn.Linear(6, 3)).double()
        with torch.no_grad():
            head[0].weight.copy_(projector.w1[c].T), head[0].bias.copy_(projector.b1[c, 0])
            head[2].weight.copy_(projector.w2[c].T), head[2].bias.copy_(projector.b2[c, 0])
        torch.testing.assert_close(out[:, c], head(h))
    assert not torch.allclose(out[:, 0], out[:, 1])


def test_seeded_init_and_bad_inputs():
    assert torch.equal(MultiHeadProjector(4, 2, generator=3).w1, MultiHeadProjector(4, 2, generator=3).w1)
    with pytest.raises(ValueError, match="h must have 4 columns"):
        MultiHeadProjector(4, 2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match="n_heads"):
        MultiHeadProjector(4, 2, n_heads=0)

"""EmbeddingMLP: shapes, normalization, the layer composition and bad arguments."""

from __future__ import annotations

import pytest
import torch

from paperlab.models import EmbeddingMLP


def test_shapes_and_composition_of_linear_relu_blocks():
    torch.manual_seed(0)
    model = EmbeddingMLP(6, 3, hidden=(5, 4)).double()
    x = torch.randn(7, 6, dtype=torch.float64)
    a, b, c = model.layers
    expected = c(torch.relu(b(torch.relu(a(x)))))
    torch.testing.assert_close(model(x), expected)
    assert model(x).shape == (7, 3)


def test_normalized_embeddings_have_unit_norm_and_gradients_flow():
    model = EmbeddingMLP(4, 8, hidden=(), normalize=True)
    out = model(torch.randn(5, 4))
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="out_features"):
        EmbeddingMLP(4, 0)
    with pytest.raises(TypeError, match="hidden"):
        EmbeddingMLP(4, 2, hidden=(3.5,))
    with pytest.raises(ValueError, match="4 columns"):
        EmbeddingMLP(4, 2)(torch.randn(3, 5))

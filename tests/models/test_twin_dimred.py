"""Tests for the TLDR linear encoder + projector."""

import pytest
import torch

from paperlab.models import LinearEncoderProjector


def test_shapes_and_linear_encoder():
    torch.manual_seed(0)
    model = LinearEncoderProjector(64, 8, hidden=(32, 32), projection_dim=16).double()
    x = torch.randn(10, 64, dtype=torch.float64)
    assert model(x).shape == (10, 16)
    y = model.encode(x)
    assert y.shape == (10, 8)
    # the kept reduction is affine: f(a x1 + (1 - a) x2) = a f(x1) + (1 - a) f(x2)
    torch.testing.assert_close(model.encode(0.3 * x[:1] + 0.7 * x[1:2]), 0.3 * y[:1] + 0.7 * y[1:2])
    torch.testing.assert_close(y, x @ model.encoder.weight.T + model.encoder.bias)


def test_no_hidden_layer_is_linear_projector():
    model = LinearEncoderProjector(5, 2, hidden=(), projection_dim=3)
    assert len(model.projector) == 1 and isinstance(model.projector[0], torch.nn.Linear)


def test_gradient_reaches_encoder():
    model = LinearEncoderProjector(6, 2, hidden=(8,), projection_dim=4)
    model(torch.randn(5, 6)).pow(2).sum().backward()
    assert model.encoder.weight.grad is not None and model.encoder.weight.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"in_features": 0, "out_features": 2}, "in_features"),
        ({"in_features": 4, "out_features": 2, "hidden": (0,)}, "hidden"),
        ({"in_features": 4, "out_features": 2, "projection_dim": -1}, "projection_dim"),
    ],
)
def test_bad_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LinearEncoderProjector(**kwargs)


def test_bad_input_width():
    with pytest.raises(ValueError, match="columns"):
        LinearEncoderProjector(4, 2).encode(torch.randn(3, 5))

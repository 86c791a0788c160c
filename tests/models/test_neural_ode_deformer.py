"""Neural ODE deformer: identity at start, the flow is invertible, RK4 agrees with a fine reference, bad inputs."""

import pytest
import torch

from paperlab.models import NeuralODEDeformer, VelocityField
from paperlab.solvers import rk4

f64 = torch.float64


def trained_like(seed=0):
    torch.manual_seed(seed)
    model = NeuralODEDeformer(3, (16, 16), n_steps=8).double()
    torch.nn.init.normal_(model.velocity.output.weight, std=0.5)  # a non-trivial field
    return model


def test_starts_as_the_identity():
    x = torch.randn(20, 3, dtype=f64)
    torch.testing.assert_close(NeuralODEDeformer().double()(x), x)


def test_integrating_back_inverts_the_flow():
    model = trained_like()
    x = torch.randn(50, 3, dtype=f64)
    y = model(x)
    assert (y - x).norm(dim=1).mean() > 0.05
    back = rk4(model.velocity, y, 1.0, 0.0, 8).y
    torch.testing.assert_close(back, x, rtol=0, atol=1e-5)


def test_few_steps_agree_with_a_fine_integration_and_trajectory_shape():
    model = trained_like(1)
    x = torch.randn(30, 3, dtype=f64)
    fine = rk4(model.velocity, x, 0.0, 1.0, 256).y
    torch.testing.assert_close(model(x), fine, rtol=0, atol=1e-5)
    assert model(x, keep_trajectory=True).shape == (9, 30, 3)


def test_gradients_reach_parameters_and_points():
    model = trained_like(2)
    x = torch.randn(10, 3, dtype=f64, requires_grad=True)
    torch.autograd.gradcheck(lambda p: model(p).pow(2).sum(), (x,))
    model(x).sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def test_bad_inputs():
    with pytest.raises(ValueError, match="x must have shape"):
        NeuralODEDeformer(3)(torch.randn(5, 2))
    with pytest.raises(ValueError, match="n_steps must be > 0"):
        NeuralODEDeformer(3, n_steps=0)
    with pytest.raises(ValueError, match="hidden width must be > 0"):
        VelocityField(3, (0,))

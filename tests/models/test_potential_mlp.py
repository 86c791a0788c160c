"""PotentialMLP: shapes, smooth input gradients, bad inputs."""

import pytest
import torch

from paperlab.models import PotentialMLP


def test_shapes_and_smooth_gradient():
    torch.manual_seed(0)
    f = PotentialMLP(3, hidden=(16, 16)).double()
    y = torch.randn(7, 3, dtype=torch.float64, requires_grad=True)
    assert f(y).shape == (7,)
    torch.autograd.gradcheck(lambda v: f(v), (y,))
    (grad,) = torch.autograd.grad(f(y).sum(), y, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), y)
    assert second.abs().sum() > 0  # SiLU has curvature, unlike ReLU


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="hidden"):
        PotentialMLP(2, hidden=(0,))
    with pytest.raises(ValueError, match=r"y must have shape \(n, 2\)"):
        PotentialMLP(2)(torch.zeros(4, 3))
    with pytest.raises(TypeError):
        PotentialMLP(2)(torch.zeros(4, 2, dtype=torch.long))

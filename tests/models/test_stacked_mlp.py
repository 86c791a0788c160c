"""Tests for StackedMLP: each slice is an ordinary MLP, and the networks do not interact."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from paperlab.models import StackedMLP


def reference_mlp(stack: StackedMLP, s: int) -> nn.Sequential:
    """The s-th network of the stack rebuilt from nn.Linear layers."""
    layers = []
    for weight, bias in zip(stack.weights, stack.biases):
        linear = nn.Linear(weight.shape[1], weight.shape[2])
        with torch.no_grad():
            linear.weight.copy_(weight[s].T)
            linear.bias.copy_(bias[s, 0])
        layers += [linear, nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def test_each_slice_is_an_mlp():
    stack = StackedMLP(3, 5, 2, hidden=(7, 4), generator=0)
    x = torch.randn(3, 11, 5, generator=torch.Generator().manual_seed(1))
    out = stack(x)
    assert out.shape == (3, 11, 2)
    for s in range(3):
        torch.testing.assert_close(out[s], reference_mlp(stack, s)(x[s]))


def test_networks_are_independent_and_initialization_is_seeded():
    stack = StackedMLP(2, 3, 2, hidden=(4,), generator=0)
    stack(torch.randn(2, 6, 3))[0].sum().backward()
    assert all(p.grad[1].abs().sum() == 0 and p.grad[0].abs().sum() > 0 for p in stack.parameters())
    again = StackedMLP(2, 3, 2, hidden=(4,), generator=0)
    assert all(torch.equal(a, b) for a, b in zip(stack.parameters(), again.parameters()))
    bound = 3**-0.5
    assert stack.weights[0].abs().max() <= bound


def test_bad_inputs():
    stack = StackedMLP(2, 3, 2)
    with pytest.raises(ValueError, match="shape"):
        stack(torch.randn(3, 4, 3))
    with pytest.raises(ValueError, match="dimensions"):
        stack(torch.randn(4, 3))
    with pytest.raises(ValueError, match="n_models"):
        StackedMLP(0, 3, 2)
    with pytest.raises(TypeError, match="hidden"):
        StackedMLP(2, 3, 2, hidden=(2.5,))

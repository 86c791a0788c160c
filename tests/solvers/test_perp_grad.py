"""Tests for the perpendicular-gradient projection and its optimizer wrapper."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers.perp_grad import PerpGrad, project_out_weight_direction_


def parameter(shape, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    param = torch.nn.Parameter(torch.randn(shape, generator=g, dtype=torch.float64) * scale)
    param.grad = torch.randn(shape, generator=g, dtype=torch.float64)
    return param


def naive_projection(weight, grad):
    """g - (<w, g> / <w, w>) w on the flattened tensors, in float64."""
    w, g = weight.reshape(-1), grad.reshape(-1)
    return (g - (w @ g) / (w @ w) * w).reshape(grad.shape)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
    scale=st.floats(1e-3, 1e3),
)
def test_projected_gradient_is_orthogonal_to_weight_and_matches_formula(shape, seed, scale):
    param = parameter(shape, seed, scale)
    original_norm = param.grad.norm()
    expected = naive_projection(param.detach(), param.grad)
    project_out_weight_direction_([param])
    torch.testing.assert_close(param.grad, expected)
    # <w, g_perp> vanishes relative to |w| |g| (a size-1 tensor leaves g_perp itself at rounding level)
    inner = (param.grad * param).sum().abs() / (param.norm() * original_norm)
    assert inner.item() < 1e-12


def test_projection_is_idempotent_and_keeps_orthogonal_gradients():
    param = parameter((4, 5), seed=1)
    project_out_weight_direction_([param])
    once = param.grad.clone()
    project_out_weight_direction_([param])
    torch.testing.assert_close(param.grad, once, rtol=0, atol=1e-14)
    # a gradient built orthogonal to the weight is unchanged
    other = parameter((4, 5), seed=2)
    orthogonal = naive_projection(other.detach(), other.grad)
    other.grad = orthogonal.clone()
    project_out_weight_direction_([other])
    torch.testing.assert_close(other.grad, orthogonal, rtol=0, atol=1e-14)


def test_parallel_gradient_is_removed_completely_per_tensor():
    first, second = parameter((3, 3), seed=3), parameter((7,), seed=4)
    first.grad = 2.5 * first.detach().clone()
    second_grad = second.grad.clone()
    project_out_weight_direction_([first, second])
    torch.testing.assert_close(first.grad, torch.zeros_like(first), rtol=0, atol=1e-14)
    # each tensor is projected on its own direction, not the concatenation of all parameters
    torch.testing.assert_close(second.grad, naive_projection(second.detach(), second_grad))


def test_preserve_norm_rescales_to_the_original_norm():
    param = parameter((6,), seed=5)
    original_norm = param.grad.norm()
    expected_direction = naive_projection(param.detach(), param.grad)
    project_out_weight_direction_(param, preserve_norm=True)
    torch.testing.assert_close(param.grad.norm(), original_norm)
    torch.testing.assert_close(param.grad, expected_direction * original_norm / expected_direction.norm())


def test_zero_weight_and_missing_gradient_are_left_alone():
    zero = torch.nn.Parameter(torch.zeros(4))
    zero.grad = torch.ones(4)
    no_grad = torch.nn.Parameter(torch.ones(3))
    project_out_weight_direction_([zero, no_grad])
    torch.testing.assert_close(zero.grad, torch.ones(4))
    assert no_grad.grad is None


def test_wrapper_steps_with_the_projected_gradient():
    model = torch.nn.Linear(5, 3).double()
    reference = torch.nn.Linear(5, 3).double()
    reference.load_state_dict(model.state_dict())
    x = torch.randn(8, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    wrapped = PerpGrad(torch.optim.SGD(model.parameters(), lr=0.1))
    plain = torch.optim.SGD(reference.parameters(), lr=0.1)

    def closure():
        wrapped.zero_grad()
        loss = model(x).pow(2).sum()
        loss.backward()
        return loss

    loss = wrapped.step(closure)
    reference(x).pow(2).sum().backward()
    project_out_weight_direction_(reference.parameters())
    plain.step()
    assert torch.isfinite(loss)
    for ours, expected in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(ours, expected)
    assert len(wrapped.param_groups) == 1 and "state" in wrapped.state_dict()


def test_bad_arguments_raise():
    with pytest.raises(TypeError, match="optimizer"):
        PerpGrad([torch.nn.Parameter(torch.ones(2))])
    with pytest.raises(TypeError, match="params"):
        project_out_weight_direction_([1.0])
    with pytest.raises(TypeError, match="preserve_norm"):
        project_out_weight_direction_([], preserve_norm=1)

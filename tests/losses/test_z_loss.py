"""Tests for the Z-loss against its formula, its invariances and bad inputs."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.z_loss import ZLoss, z_loss, z_loss_from_sums


def make_problem(n=20, n_classes=9, extra=(), seed=0, ignore_every=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=dtype) * 3).requires_grad_()
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    if ignore_every:
        target.view(-1)[::ignore_every] = -100
    return input, target


def naive_z_loss(input, target, a, b, reduction="mean", ignore_index=-100):
    """The formula term by term, with explicit sums over the classes (class dim 1) and log1p(exp)."""
    n_classes = input.shape[1]
    valid = target != ignore_index
    mean = input.sum(1, keepdim=True) / n_classes
    sigma = ((input - mean) ** 2).sum(1, keepdim=True).div(n_classes).sqrt()
    z = (input - mean) / sigma
    z_target = z.gather(1, (target * valid).unsqueeze(1)).squeeze(1)
    losses = torch.log1p(torch.exp(a * (b - z_target))) / a
    losses = torch.where(valid, losses, torch.zeros_like(losses))
    if reduction == "mean":
        return losses.sum() / valid.sum()
    return losses.sum() if reduction == "sum" else losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("extra", "ignore_every"), [((), 0), ((), 3), ((4,), 5)])
@pytest.mark.parametrize(("a", "b"), [(0.1, 10.0), (1.0, 2.0), (3.0, -0.5)])
def test_matches_naive_formula_and_gradient(reduction, extra, ignore_every, a, b):
    input, target = make_problem(extra=extra, ignore_every=ignore_every)
    ours = z_loss(input, target, a, b, reduction=reduction)
    expected = naive_z_loss(input, target, a, b, reduction=reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


def test_from_sums_matches_logits_form():
    input, target = make_problem(n=15, n_classes=40)
    sums = input.sum(1), input.square().sum(1), input.gather(1, target.unsqueeze(1)).squeeze(1)
    from_sums = z_loss_from_sums(*sums, n_classes=40, a=0.5, b=3.0)
    torch.testing.assert_close(from_sums, z_loss(input, target, 0.5, 3.0, reduction="none"))


def test_large_a_tends_to_the_hinge():
    input, target = make_problem()
    input = input.detach()
    z = (input - input.mean(1, keepdim=True)) / input.std(1, correction=0, keepdim=True)
    z_target = z.gather(1, target.unsqueeze(1)).squeeze(1)
    hinge_like = z_loss(input, target, a=1e4, b=1.0, reduction="none")
    torch.testing.assert_close(hinge_like, (1.0 - z_target).clamp_min(0), atol=1e-3, rtol=0)


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(1e-3, 1e3),
    shift=st.floats(-1e3, 1e3),
    seed=st.integers(0, 10_000),
    n_classes=st.integers(2, 30),
)
def test_invariant_to_positive_scale_and_shift(scale, shift, seed, n_classes):
    input, target = make_problem(n=12, n_classes=n_classes, seed=seed)
    input = input.detach()
    base = z_loss(input, target, a=0.5, b=2.0, reduction="none")
    moved = z_loss(scale * input + shift, target, a=0.5, b=2.0, reduction="none")
    assert (moved - base).abs().max() < 1e-9


def test_negative_scale_is_not_an_invariance():
    input, target = make_problem(n=50, n_classes=10)
    input = input.detach()
    base = z_loss(input, target, a=0.5, b=2.0, reduction="none")
    flipped = z_loss(-2.0 * input + 1.0, target, a=0.5, b=2.0, reduction="none")
    assert (flipped - base).abs().max() > 0.1
    # and the flip is exactly z -> -z
    torch.testing.assert_close(flipped, naive_z_loss(-input, target, 0.5, 2.0, "none"))


def test_cross_entropy_is_not_scale_invariant():
    """The contrast the paper draws: log-softmax changes under o -> 2 o, the Z-loss does not."""
    input, target = make_problem()
    input = input.detach()
    ce = torch.nn.functional.cross_entropy
    assert abs(ce(2 * input, target) - ce(input, target)) > 0.1
    assert abs(z_loss(2 * input, target) - z_loss(input, target)) < 1e-12


def test_constant_scores_give_finite_loss():
    input = torch.zeros(3, 5, dtype=torch.float64)
    losses = z_loss(input, torch.tensor([0, 1, 2]), a=0.5, b=2.0, reduction="none")
    torch.testing.assert_close(losses, torch.full((3,), math.log1p(math.exp(1.0)) / 0.5, dtype=torch.float64))


def test_gradcheck():
    input, target = make_problem(n=6, n_classes=5)
    assert torch.autograd.gradcheck(lambda x: z_loss(x, target, a=0.7, b=1.5), (input,))


def test_module_matches_function_and_float32():
    input, target = make_problem(dtype=torch.float32)
    module = ZLoss(a=0.2, b=4.0, reduction="sum")
    torch.testing.assert_close(module(input, target), z_loss(input, target, 0.2, 4.0, "sum"))
    assert module(input, target).dtype == torch.float32


def test_all_ignored_mean_is_nan_like_torch():
    input, target = make_problem()
    assert torch.isnan(z_loss(input, torch.full_like(target, -100)))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (dict(a=0.0), ValueError),
        (dict(a=-1.0), ValueError),
        (dict(a=float("inf")), ValueError),
        (dict(b=float("nan")), ValueError),
        (dict(b="1"), ValueError),
        (dict(reduction="avg"), ValueError),
    ],
)
def test_bad_hyperparameters(kwargs, error):
    input, target = make_problem()
    with pytest.raises(error):
        z_loss(input, target, **kwargs)


def test_bad_inputs():
    input, target = make_problem()
    with pytest.raises(ValueError, match="target"):
        z_loss(input, target.clamp(min=0) + 9)  # out of range
    with pytest.raises(ValueError, match="int64"):
        z_loss(input, target.int())
    with pytest.raises(ValueError, match="shape"):
        z_loss(input, target[:-1])
    with pytest.raises(ValueError, match="finite"):
        z_loss(input.detach().clone().fill_(float("nan")), target)
    with pytest.raises(TypeError):
        z_loss(input.detach().long(), target)
    with pytest.raises(ValueError, match="at least 2 classes"):
        z_loss(input[:, :1], target.clamp(max=0))

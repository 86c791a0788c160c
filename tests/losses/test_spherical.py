"""Tests for the spherical baselines (squared error, Taylor softmax) against one-hot references."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.spherical import (
    SphericalSquaredError,
    TaylorSoftmaxCrossEntropy,
    spherical_squared_error,
    squared_error_from_sums,
    taylor_softmax_cross_entropy,
    taylor_softmax_from_sums,
)


def make_problem(n=20, n_classes=9, extra=(), seed=0, ignore_every=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=dtype) * 2).requires_grad_()
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    if ignore_every:
        target.view(-1)[::ignore_every] = -100
    return input, target


def one_hot(target, n_classes, dtype):
    return F.one_hot(target.clamp(min=0), n_classes).movedim(-1, 1).to(dtype)


def reduce_valid(losses, valid, reduction):
    losses = torch.where(valid, losses, torch.zeros_like(losses))
    if reduction == "mean":
        return losses.sum() / valid.sum()
    return losses.sum() if reduction == "sum" else losses


def naive_squared_error(input, target, reduction="mean"):
    y = one_hot(target, input.shape[1], input.dtype)
    losses = F.mse_loss(input, y, reduction="none").sum(1)  # torch's own squared error, summed over classes
    return reduce_valid(losses, target != -100, reduction)


def naive_taylor_softmax(input, target, reduction="mean"):
    numerators = 1 + input + input**2 / 2
    probabilities = numerators / numerators.sum(1, keepdim=True)
    y = one_hot(target, input.shape[1], input.dtype)
    losses = -(y * torch.log(probabilities)).sum(1)
    return reduce_valid(losses, target != -100, reduction)


PAIRS = [
    (spherical_squared_error, naive_squared_error),
    (taylor_softmax_cross_entropy, naive_taylor_softmax),
]


@pytest.mark.parametrize(("ours_fn", "naive_fn"), PAIRS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("extra", "ignore_every"), [((), 0), ((), 4), ((3,), 5)])
def test_matches_one_hot_reference(ours_fn, naive_fn, reduction, extra, ignore_every):
    input, target = make_problem(extra=extra, ignore_every=ignore_every)
    ours = ours_fn(input, target, reduction=reduction)
    expected = naive_fn(input, target, reduction=reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


def test_squared_error_is_zero_at_the_one_hot_target():
    target = torch.tensor([2, 0, 1])
    input = one_hot(target, 4, torch.float64)
    assert spherical_squared_error(input, target).abs() < 1e-15


def test_taylor_softmax_is_minimised_by_a_large_target_score():
    target = torch.tensor([1])
    losses = [taylor_softmax_cross_entropy(torch.tensor([[0.0, s, 0.0]]), target) for s in (0.0, 2.0, 20.0)]
    assert losses[0] > losses[1] > losses[2] > 0


@pytest.mark.parametrize(
    ("from_sums", "ours_fn"),
    [
        (squared_error_from_sums, spherical_squared_error),
        (taylor_softmax_from_sums, taylor_softmax_cross_entropy),
    ],
)
def test_from_sums_matches_logits_form(from_sums, ours_fn):
    input, target = make_problem(n=15, n_classes=30)
    sums = input.sum(1), input.square().sum(1), input.gather(1, target.unsqueeze(1)).squeeze(1)
    torch.testing.assert_close(from_sums(*sums, 30), ours_fn(input, target, reduction="none"))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shift=st.floats(0.5, 10.0))
def test_spherical_baselines_are_not_shift_invariant(seed, shift):
    """Unlike the Z-loss, neither baseline is shift invariant (one reason the paper prefers the Z-loss)."""
    input, target = make_problem(n=10, seed=seed)
    input = input.detach()
    for loss in (spherical_squared_error, taylor_softmax_cross_entropy):
        assert (
            loss(input + shift, target, reduction="none") - loss(input, target, reduction="none")
        ).abs().max() > 1e-3


@pytest.mark.parametrize("loss", [spherical_squared_error, taylor_softmax_cross_entropy])
def test_gradcheck(loss):
    input, target = make_problem(n=5, n_classes=4)
    assert torch.autograd.gradcheck(lambda x: loss(x, target), (input,))


def test_modules_match_functions():
    input, target = make_problem(dtype=torch.float32, ignore_every=3)
    torch.testing.assert_close(
        SphericalSquaredError("sum")(input, target), spherical_squared_error(input, target, "sum")
    )
    torch.testing.assert_close(
        TaylorSoftmaxCrossEntropy()(input, target), taylor_softmax_cross_entropy(input, target)
    )


@pytest.mark.parametrize("loss", [spherical_squared_error, taylor_softmax_cross_entropy])
def test_bad_inputs(loss):
    input, target = make_problem()
    with pytest.raises(ValueError, match="target"):
        loss(input, torch.full_like(target, 9))
    with pytest.raises(ValueError, match="int64"):
        loss(input, target.float())
    with pytest.raises(ValueError, match="shape"):
        loss(input, target[:, None])
    with pytest.raises(ValueError, match="finite"):
        loss(input.detach().clone().fill_(float("inf")), target)
    with pytest.raises(ValueError, match="reduction"):
        loss(input, target, reduction="max")

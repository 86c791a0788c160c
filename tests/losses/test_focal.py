"""Tests for the softmax focal loss and its Poly-1 form."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.focal import FocalLoss, Poly1FocalLoss, focal_loss, poly1_focal_loss


def make_problem(n=30, n_classes=5, extra=(), seed=0, ignore_every=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=torch.float64) * scale).requires_grad_()
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    if ignore_every:
        target.view(-1)[::ignore_every] = -100
    return input, target


def naive_poly1_focal(input, target, epsilon, gamma, alpha=None, reduction="mean", ignore_index=-100):
    """alpha_t [-(1 - p_t)^gamma log p_t + epsilon (1 - p_t)^(gamma + 1)], from probabilities directly."""
    valid = target != ignore_index
    safe = torch.where(valid, target, torch.zeros_like(target))
    pt = torch.softmax(input, dim=1).gather(1, safe.unsqueeze(1)).squeeze(1)
    losses = -((1 - pt) ** gamma) * torch.log(pt) + epsilon * (1 - pt) ** (gamma + 1)
    weights = valid.double() if alpha is None else alpha[safe] * valid
    losses = losses * weights
    if reduction == "mean":
        return losses.sum() / weights.sum()
    return losses.sum() if reduction == "sum" else losses


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_alpha", [False, True])
@pytest.mark.parametrize(("extra", "ignore_every"), [((), 0), ((), 3), ((4,), 5)])
def test_zero_gamma_is_weighted_cross_entropy(reduction, use_alpha, extra, ignore_every):
    input, target = make_problem(extra=extra, ignore_every=ignore_every)
    alpha = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0], dtype=torch.float64) if use_alpha else None
    ours = focal_loss(input, target, gamma=0.0, alpha=alpha, reduction=reduction)
    expected = F.cross_entropy(input, target, weight=alpha, reduction=reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.0])
@pytest.mark.parametrize("epsilon", [0.0, -1.0, 2.0])
def test_matches_naive_formula(reduction, gamma, epsilon):
    input, target = make_problem(extra=(2,), ignore_every=4)
    alpha = torch.tensor([0.25, 1.0, 0.75, 0.5, 2.0], dtype=torch.float64)
    ours = poly1_focal_loss(input, target, epsilon, gamma, alpha, reduction)
    expected = naive_poly1_focal(input, target, epsilon, gamma, alpha, reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])
    if epsilon == 0.0:
        torch.testing.assert_close(ours, focal_loss(input, target, gamma, alpha, reduction))


def test_gradient_is_finite_when_target_is_certain():
    input = torch.tensor(
        [[60.0, 0.0, 0.0], [0.0, 1.0, 2.0]], requires_grad=True
    )  # p_t rounds to 1 in float32
    loss = focal_loss(input, torch.tensor([0, 2]), gamma=0.5)
    (grad,) = torch.autograd.grad(loss, input)
    assert torch.isfinite(loss) and torch.isfinite(grad).all()


def test_modules_match_functions():
    input, target = make_problem(ignore_every=4)
    alpha = torch.rand(5, dtype=torch.float64)
    torch.testing.assert_close(FocalLoss(1.5, alpha)(input, target), focal_loss(input, target, 1.5, alpha))
    torch.testing.assert_close(
        Poly1FocalLoss(0.5, 1.5, reduction="none")(input, target),
        poly1_focal_loss(input, target, 0.5, 1.5, reduction="none"),
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    n_classes=st.integers(2, 8),
    gamma=st.floats(0.0, 5.0),
    seed=st.integers(0, 10_000),
)
def test_property_focal_is_below_cross_entropy_and_decreases_in_gamma(n, n_classes, gamma, seed):
    input, target = make_problem(n=n, n_classes=n_classes, seed=seed, scale=3.0)
    input = input.detach()
    cross_entropy = F.cross_entropy(input, target, reduction="none")
    focal = focal_loss(input, target, gamma, reduction="none")
    more_focal = focal_loss(input, target, gamma + 1.0, reduction="none")
    assert bool((focal >= 0).all())
    assert bool((focal <= cross_entropy + 1e-12).all())
    assert bool((more_focal <= focal + 1e-12).all())


LOSSES = [lambda i, t: focal_loss(i, t), lambda i, t: poly1_focal_loss(i, t)]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    ("make_target", "message"),
    [
        (lambda t: t.clone().fill_(5), "target must be in"),
        (lambda t: t.clone().fill_(-3), "target must be in"),
        (lambda t: t.float(), "int64"),
        (lambda t: t[:-2], "shape"),
    ],
)
def test_bad_targets_raise(loss, make_target, message):
    input, target = make_problem()
    with pytest.raises(ValueError, match=message):
        loss(input, make_target(target))


def test_bad_arguments_raise():
    input, target = make_problem()
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(input, target, gamma=-1.0)
    with pytest.raises(ValueError, match="alpha must have shape"):
        focal_loss(input, target, alpha=torch.ones(4, dtype=torch.float64))
    with pytest.raises(ValueError, match="alpha must be non-negative"):
        focal_loss(input, target, alpha=-torch.ones(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="epsilon"):
        poly1_focal_loss(input, target, epsilon=-2.0)
    with pytest.raises(ValueError, match="reduction"):
        focal_loss(input, target, reduction="batchmean")

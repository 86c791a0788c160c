"""Tests for Poly-1, Poly-N and the general PolyLoss against cross-entropy and naive formulas."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.polyloss import (
    Poly1CrossEntropyLoss,
    PolyNCrossEntropyLoss,
    poly1_cross_entropy,
    poly_loss,
    polyn_cross_entropy,
)


def make_problem(n=30, n_classes=7, extra=(), seed=0, ignore_every=0, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=torch.float64) * scale).requires_grad_()
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    if ignore_every:
        target.view(-1)[::ignore_every] = -100
    return input, target


def naive_polyn(input, target, epsilons, reduction="mean", ignore_index=-100, label_smoothing=0.0):
    """Poly-N written directly from the formula with explicit smoothed one-hot targets (class dim 1)."""
    n_classes = input.shape[1]
    valid = target != ignore_index
    onehot = F.one_hot(target.clamp(min=0) * valid, n_classes).movedim(-1, 1).to(input.dtype)
    smoothed = (1 - label_smoothing) * onehot + label_smoothing / n_classes
    probs = torch.softmax(input, dim=1)
    cross_entropy = -(smoothed * torch.log(probs)).sum(1)
    pt = (smoothed * probs).sum(1)
    losses = cross_entropy + sum(eps * (1 - pt) ** (j + 1) for j, eps in enumerate(epsilons))
    losses = torch.where(valid, losses, torch.zeros_like(losses))
    if reduction == "mean":
        return losses.sum() / valid.sum()
    return losses.sum() if reduction == "sum" else losses


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize(("extra", "ignore_every"), [((), 0), ((), 4), ((3,), 5)])
def test_poly1_with_zero_epsilon_is_cross_entropy(reduction, label_smoothing, extra, ignore_every):
    input, target = make_problem(extra=extra, ignore_every=ignore_every)
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    ours = poly1_cross_entropy(input, target, epsilon=0.0, **kwargs)
    expected = F.cross_entropy(input, target, **kwargs)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("label_smoothing", [0.0, 0.3])
@pytest.mark.parametrize("epsilon", [-1.0, 1.0, 2.5])
def test_poly1_matches_naive_formula(reduction, label_smoothing, epsilon):
    input, target = make_problem(extra=(2,), ignore_every=3)
    kwargs = dict(reduction=reduction, label_smoothing=label_smoothing)
    ours = poly1_cross_entropy(input, target, epsilon, **kwargs)
    expected = naive_polyn(input, target, [epsilon], **kwargs)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_polyn_matches_naive_formula_and_poly1(reduction):
    input, target = make_problem(ignore_every=6)
    epsilons = (0.5, -0.3, 2.0, 1.0)
    ours = polyn_cross_entropy(input, target, epsilons, reduction=reduction, label_smoothing=0.1)
    expected = naive_polyn(input, target, epsilons, reduction=reduction, label_smoothing=0.1)
    torch.testing.assert_close(ours, expected)
    torch.testing.assert_close(
        polyn_cross_entropy(input, target, [1.5], reduction=reduction),
        poly1_cross_entropy(input, target, 1.5, reduction=reduction),
    )


def test_poly1_gradient_in_pt_is_minus_one_over_pt_minus_epsilon():
    # dL/dp_t = -1/p_t - eps, the paper's statement of how Poly-1 shifts the gradient.
    pt = torch.tensor([0.05, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
    logits = torch.stack([torch.log(pt), torch.log1p(-pt)], dim=1)  # (3, 2) with softmax = (pt, 1 - pt)
    loss = poly1_cross_entropy(logits, torch.zeros(3, dtype=torch.long), epsilon=2.0, reduction="sum")
    (grad,) = torch.autograd.grad(loss, pt)
    torch.testing.assert_close(grad, -1 / pt - 2.0)


def test_truncated_series_with_inverse_coefficients_approaches_cross_entropy():
    input, target = make_problem(n=300, scale=4.0, seed=3)
    alphas = [1.0 / j for j in range(1, 201)]
    gap = poly_loss(input, target, alphas, reduction="none") - F.cross_entropy(
        input, target, reduction="none"
    )
    pt = torch.softmax(input, 1).gather(1, target.unsqueeze(1)).squeeze(1)
    confident, hopeless = pt >= 0.1, pt < 1e-3
    assert confident.any() and hopeless.any()
    assert gap[confident].abs().max() < 1e-4
    assert (gap <= 1e-12).all()  # the missing tail is positive
    assert (gap[hopeless] < -0.1).all()  # 200 terms cannot follow -log p_t near p_t = 0


def test_poly_loss_matches_naive_formula():
    input, target = make_problem(extra=(2,), ignore_every=5)
    alphas = (1.0, 0.0, -0.5)
    probs = torch.softmax(input, 1).gather(1, target.clamp(min=0).unsqueeze(1)).squeeze(1)
    valid = target != -100
    expected = sum(a * (1 - probs) ** (j + 1) for j, a in enumerate(alphas)) * valid
    torch.testing.assert_close(poly_loss(input, target, alphas, reduction="none"), expected)
    torch.testing.assert_close(poly_loss(input, target, alphas), expected.sum() / valid.sum())


def test_modules_match_functions():
    input, target = make_problem(ignore_every=4)
    module = Poly1CrossEntropyLoss(epsilon=0.7, reduction="sum", label_smoothing=0.1)
    torch.testing.assert_close(
        module(input, target), poly1_cross_entropy(input, target, 0.7, "sum", label_smoothing=0.1)
    )
    module = PolyNCrossEntropyLoss(epsilons=[0.7, 0.2], reduction="none")
    torch.testing.assert_close(module(input, target), polyn_cross_entropy(input, target, (0.7, 0.2), "none"))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 12),
    n_classes=st.integers(2, 9),
    epsilon=st.floats(-1.0, 5.0),
    label_smoothing=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 10_000),
)
def test_property_class_permutation_invariance_and_bounds(n, n_classes, epsilon, label_smoothing, seed):
    input, target = make_problem(n=n, n_classes=n_classes, seed=seed, scale=4.0)
    input = input.detach()
    losses = poly1_cross_entropy(input, target, epsilon, "none", label_smoothing=label_smoothing)
    permutation = torch.randperm(n_classes, generator=torch.Generator().manual_seed(seed))
    inverse = torch.argsort(permutation)
    permuted = poly1_cross_entropy(
        input[:, permutation], inverse[target], epsilon, "none", label_smoothing=label_smoothing
    )
    torch.testing.assert_close(losses, permuted)
    cross_entropy = F.cross_entropy(input, target, reduction="none", label_smoothing=label_smoothing)
    gap = losses - cross_entropy  # = epsilon * (1 - p_t), and 0 <= 1 - p_t <= 1
    assert bool((gap.abs() <= abs(epsilon) + 1e-12).all())
    assert bool((gap * epsilon >= -1e-12).all())


LOSSES = [
    lambda i, t: poly1_cross_entropy(i, t),
    lambda i, t: polyn_cross_entropy(i, t, (1.0, 2.0)),
    lambda i, t: poly_loss(i, t, (1.0,)),
]


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize(
    ("make_target", "message"),
    [
        (lambda t: t.clone().fill_(7), "target must be in"),
        (lambda t: t.clone().fill_(-2), "target must be in"),
        (lambda t: t.double(), "int64"),
        (lambda t: t.int(), "int64"),
        (lambda t: t[:-1], "shape"),
        (lambda t: t[:, None], "shape"),
    ],
)
def test_bad_targets_raise(loss, make_target, message):
    input, target = make_problem()
    with pytest.raises(ValueError, match=message):
        loss(input, make_target(target))


def test_bad_arguments_raise():
    input, target = make_problem()
    with pytest.raises(ValueError, match="epsilon"):
        poly1_cross_entropy(input, target, epsilon=-1.5)
    with pytest.raises(ValueError, match="epsilons"):
        polyn_cross_entropy(input, target, epsilons=())
    with pytest.raises(ValueError, match="epsilons"):
        polyn_cross_entropy(input, target, epsilons=(1.0, float("nan")))
    with pytest.raises(ValueError, match="alphas"):
        poly_loss(input, target, alphas=[float("inf")])
    with pytest.raises(ValueError, match="reduction"):
        poly1_cross_entropy(input, target, reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        poly1_cross_entropy(input, target, label_smoothing=2.0)
    with pytest.raises(ValueError, match="input must have at least 2"):
        poly1_cross_entropy(input[0], target[0])
    with pytest.raises(ValueError, match="finite"):
        poly1_cross_entropy(input.detach().clone().fill_(float("inf")), target)

"""Tests for the normalized and Active-Passive losses, against naive formulas written from probabilities."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import focal_loss
from paperlab.losses.noisy_labels import (
    ActivePassiveLoss,
    MAELoss,
    NormalizedCrossEntropyLoss,
    NormalizedFocalLoss,
    ReverseCrossEntropyLoss,
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
    reverse_cross_entropy,
)


def make_problem(n=23, n_classes=7, extra=(), seed=0, scale=2.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=dtype) * scale).requires_grad_()
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    return input, target


def one_hot(target, n_classes, like):
    """One-hot labels with the class on dim 1, like the logits."""
    return torch.nn.functional.one_hot(target, n_classes).movedim(-1, 1).to(like.dtype)


# Naive per-item formulas, as the paper writes them, from probabilities and one-hot labels.
def naive_nce(input, target):
    p = torch.softmax(input, dim=1)
    q = one_hot(target, input.shape[1], p)
    return (q * -torch.log(p)).sum(1) / (-torch.log(p)).sum(1)


def naive_rce(input, target, log_zero=-4.0):
    p = torch.softmax(input, dim=1)
    q = one_hot(target, input.shape[1], p)
    log_q = torch.where(q > 0, torch.log(q), torch.full_like(q, log_zero))  # log 0 := A
    return -(p * log_q).sum(1)


def naive_mae(input, target):
    p = torch.softmax(input, dim=1)
    return (p - one_hot(target, input.shape[1], p)).abs().sum(1)


def naive_nfl(input, target, gamma):
    p = torch.softmax(input, dim=1)
    focal = -((1 - p) ** gamma) * torch.log(p)  # (N, C, ...)
    return (one_hot(target, input.shape[1], p) * focal).sum(1) / focal.sum(1)


def reduced(values, reduction):
    return {"mean": values.mean, "sum": values.sum, "none": lambda: values}[reduction]()


CASES = {
    "nce": (normalized_cross_entropy, naive_nce),
    "rce": (reverse_cross_entropy, naive_rce),
    "mae": (mae_loss, naive_mae),
    "nfl": (
        lambda i, t, reduction="mean": normalized_focal_loss(i, t, 0.5, reduction),
        lambda i, t: naive_nfl(i, t, 0.5),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extra", [(), (3,)])
def test_matches_naive_formula_and_its_gradient(name, reduction, extra):
    ours_fn, naive_fn = CASES[name]
    input, target = make_problem(extra=extra)
    ours = ours_fn(input, target, reduction=reduction)
    expected = reduced(naive_fn(input, target), reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.5])
def test_nfl_matches_naive_formula_and_focal_numerator(gamma):
    input, target = make_problem()
    ours = normalized_focal_loss(input, target, gamma, reduction="none")
    torch.testing.assert_close(ours, naive_nfl(input, target, gamma))
    denominator = sum(
        focal_loss(input, torch.full_like(target, k), gamma, reduction="none") for k in range(input.shape[1])
    )
    torch.testing.assert_close(ours, focal_loss(input, target, gamma, reduction="none") / denominator)
    if gamma == 0.0:
        torch.testing.assert_close(ours, normalized_cross_entropy(input, target, reduction="none"))


def test_rce_log_zero_is_a_scale_and_matches_the_clamped_one_hot_of_the_authors():
    input, target = make_problem()
    log_zero = math.log(1e-4)
    ours = reverse_cross_entropy(input, target, reduction="none", log_zero=log_zero)
    torch.testing.assert_close(ours, naive_rce(input, target, log_zero))
    torch.testing.assert_close(ours, reverse_cross_entropy(input, target, reduction="none") * log_zero / -4.0)
    torch.testing.assert_close(mae_loss(input, target), reverse_cross_entropy(input, target, log_zero=-2.0))


def all_labels_sum(loss, input):
    """sum_k L(f(x), k) for every item, by scoring each item against every class."""
    n_classes = input.shape[1]
    target_shape = input.shape[:1] + input.shape[2:]
    return sum(loss(input, torch.full(target_shape, k, dtype=torch.long)) for k in range(n_classes))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 10),
    n_classes=st.integers(2, 12),
    scale=st.floats(0.01, 20.0),
    gamma=st.floats(0.0, 4.0),
    seed=st.integers(0, 10_000),
)
def test_property_normalized_and_symmetric_losses_have_constant_sum_over_labels(
    n, n_classes, scale, gamma, seed
):
    input, _ = make_problem(n=n, n_classes=n_classes, scale=scale, seed=seed)
    input = input.detach()
    ones = torch.ones(n, dtype=input.dtype)

    def nce(i, t):
        return normalized_cross_entropy(i, t, "none")

    def nfl(i, t):
        return normalized_focal_loss(i, t, gamma, "none")

    def rce(i, t):
        return reverse_cross_entropy(i, t, "none")

    def mae(i, t):
        return mae_loss(i, t, "none")

    torch.testing.assert_close(all_labels_sum(nce, input), ones)
    torch.testing.assert_close(all_labels_sum(nfl, input), ones)
    torch.testing.assert_close(all_labels_sum(rce, input), 4.0 * (n_classes - 1) * ones)
    torch.testing.assert_close(all_labels_sum(mae, input), 2.0 * (n_classes - 1) * ones)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 10),
    n_classes=st.integers(2, 12),
    scale=st.floats(0.01, 50.0),
    gamma=st.floats(0.0, 4.0),
    seed=st.integers(0, 10_000),
)
def test_property_bounds(n, n_classes, scale, gamma, seed):
    input, target = make_problem(n=n, n_classes=n_classes, scale=scale, seed=seed, dtype=torch.float32)
    input = input.detach()
    for values in (
        normalized_cross_entropy(input, target, "none"),
        normalized_focal_loss(input, target, gamma, "none"),
    ):
        assert bool(torch.isfinite(values).all())
        assert bool(((values >= 0) & (values <= 1)).all())
    assert bool(
        (
            (reverse_cross_entropy(input, target, "none") >= 0)
            & (reverse_cross_entropy(input, target, "none") <= 4)
        ).all()
    )
    assert bool(((mae_loss(input, target, "none") >= 0) & (mae_loss(input, target, "none") <= 2)).all())


def test_nce_is_one_over_k_for_uniform_predictions_and_small_when_confident():
    uniform = torch.zeros(4, 5, dtype=torch.float64)
    torch.testing.assert_close(
        normalized_cross_entropy(uniform, torch.arange(4), "none"), torch.full((4,), 0.2, dtype=torch.float64)
    )
    confident = torch.tensor([[8.0, 0.0, 0.0]])
    assert normalized_cross_entropy(confident, torch.tensor([0])) < 0.01
    assert normalized_cross_entropy(confident, torch.tensor([1])) > 0.49


@pytest.mark.parametrize("active", ["nce", "nfl"])
@pytest.mark.parametrize("passive", ["rce", "mae"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_apl_is_the_weighted_sum(active, passive, reduction):
    input, target = make_problem(extra=(2,))
    alpha, beta, gamma = 0.7, 3.0, 1.5
    active_part = {
        "nce": normalized_cross_entropy(input, target, reduction),
        "nfl": normalized_focal_loss(input, target, gamma, reduction),
    }[active]
    passive_part = {
        "rce": reverse_cross_entropy(input, target, reduction),
        "mae": mae_loss(input, target, reduction),
    }[passive]
    ours = active_passive_loss(input, target, active, passive, alpha, beta, gamma, reduction)
    torch.testing.assert_close(ours, alpha * active_part + beta * passive_part)
    module = ActivePassiveLoss(active, passive, alpha, beta, gamma, reduction)
    torch.testing.assert_close(module(input, target), ours)


def test_modules_match_functions():
    input, target = make_problem()
    torch.testing.assert_close(
        NormalizedCrossEntropyLoss()(input, target), normalized_cross_entropy(input, target)
    )
    torch.testing.assert_close(
        NormalizedFocalLoss(2.0, "sum")(input, target), normalized_focal_loss(input, target, 2.0, "sum")
    )
    torch.testing.assert_close(
        ReverseCrossEntropyLoss("none", -2.0)(input, target),
        reverse_cross_entropy(input, target, "none", -2.0),
    )
    torch.testing.assert_close(MAELoss("sum")(input, target), mae_loss(input, target, "sum"))


@pytest.mark.parametrize("name", ["nce", "nfl", "rce", "mae", "apl"])
def test_gradcheck_float64(name):
    input, target = make_problem(n=5, n_classes=4, extra=(2,), seed=3)
    loss = {
        "nce": lambda x: normalized_cross_entropy(x, target, "none"),
        "nfl": lambda x: normalized_focal_loss(x, target, 0.5, "none"),
        "rce": lambda x: reverse_cross_entropy(x, target, "none"),
        "mae": lambda x: mae_loss(x, target, "none"),
        "apl": lambda x: active_passive_loss(x, target, "nfl", "rce", 1.0, 2.0),
    }[name]
    assert torch.autograd.gradcheck(loss, (input,))


def test_large_logits_give_finite_losses_and_gradients():
    input = torch.tensor([[80.0, 0.0, -80.0], [0.0, 1.0, 2.0]], requires_grad=True)
    target = torch.tensor([0, 2])
    for loss in (
        normalized_cross_entropy,
        reverse_cross_entropy,
        mae_loss,
        normalized_focal_loss,
        active_passive_loss,
    ):
        value = loss(input, target)
        (grad,) = torch.autograd.grad(value, input)
        assert torch.isfinite(value) and torch.isfinite(grad).all(), loss.__name__


ALL_LOSSES = [
    normalized_cross_entropy,
    reverse_cross_entropy,
    mae_loss,
    normalized_focal_loss,
    active_passive_loss,
]


@pytest.mark.parametrize("loss", ALL_LOSSES)
@pytest.mark.parametrize(
    ("make_target", "error", "message"),
    [
        (lambda t: t.clone().fill_(7), ValueError, "target must be in"),
        (lambda t: t.clone().fill_(-1), ValueError, "target must be in"),
        (lambda t: t.float(), ValueError, "int64"),
        (lambda t: t.int(), ValueError, "int64"),
        (lambda t: t[:-2], ValueError, "shape"),
        (lambda t: t.tolist(), TypeError, "torch.Tensor"),
    ],
)
def test_bad_targets_raise(loss, make_target, error, message):
    input, target = make_problem()
    with pytest.raises(error, match=message):
        loss(input, make_target(target))


@pytest.mark.parametrize("loss", ALL_LOSSES)
def test_bad_inputs_raise(loss):
    input, target = make_problem()
    with pytest.raises(ValueError, match="finite"):
        loss(input.detach().index_fill(0, torch.tensor([1]), float("nan")), target)
    with pytest.raises(ValueError, match="at least 2 classes"):
        loss(input[:, :1], torch.zeros_like(target))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        loss(input[:, 0], target)
    with pytest.raises(TypeError, match="floating"):
        loss(input.detach().long(), target)
    with pytest.raises(ValueError, match="reduction"):
        loss(input, target, reduction="avg")


def test_bad_arguments_raise():
    input, target = make_problem()
    with pytest.raises(ValueError, match="active"):
        active_passive_loss(input, target, active="ce")
    with pytest.raises(ValueError, match="passive"):
        active_passive_loss(input, target, passive="nce")
    with pytest.raises(ValueError, match="alpha"):
        active_passive_loss(input, target, alpha=-1.0)
    with pytest.raises(ValueError, match="beta"):
        ActivePassiveLoss(beta=-0.5)
    with pytest.raises(ValueError, match="gamma"):
        normalized_focal_loss(input, target, gamma=-1.0)
    for log_zero in (0.0, 1.0, float("-inf"), True):
        with pytest.raises(ValueError, match="log_zero"):
            reverse_cross_entropy(input, target, log_zero=log_zero)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.5])
@pytest.mark.parametrize("extra", [(), (3, 2)])
def test_nfl_hand_written_gradient_matches_autograd_of_the_naive_formula(gamma, extra):
    input, target = make_problem(n=11, n_classes=6, extra=extra, seed=4)
    upstream = torch.randn(target.shape, generator=torch.Generator().manual_seed(1), dtype=input.dtype)
    ours = (normalized_focal_loss(input, target, gamma, reduction="none") * upstream).sum()
    naive = (naive_nfl(input, target, gamma) * upstream).sum()
    grad_ours, grad_naive = (torch.autograd.grad(value, input)[0] for value in (ours, naive))
    torch.testing.assert_close(grad_ours, grad_naive)
    assert torch.autograd.gradcheck(lambda x: normalized_focal_loss(x, target, gamma, "none"), (input,))


def test_nfl_gradient_of_confident_float32_predictions_matches_float64():
    """Targets predicted with p_y close to 1: the float32 gradient agrees with the float64 one."""
    input, target = make_problem(n=16, n_classes=5, scale=1.0, dtype=torch.float64, seed=7)
    input = input.detach()
    input[torch.arange(16), target] += torch.linspace(3.0, 25.0, 16, dtype=torch.float64)
    grads = []
    for dtype in (torch.float32, torch.float64):
        x = input.to(dtype).requires_grad_()
        grads.append(torch.autograd.grad(normalized_focal_loss(x, target, 0.5, "sum"), x)[0])
    assert bool(torch.isfinite(grads[0]).all())
    torch.testing.assert_close(grads[0].double(), grads[1], rtol=1e-3, atol=1e-6)

"""Tests for StableMax and its cross-entropy against a naive reference written from the formula."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.stablemax import (
    StableMaxCrossEntropyLoss,
    log_stablemax,
    stablemax,
    stablemax_cross_entropy,
)


def naive_s(x):
    """s(x) written piecewise with a Python loop over entries, in float64."""
    flat = [v + 1.0 if v >= 0 else 1.0 / (1.0 - v) for v in x.double().reshape(-1).tolist()]
    return torch.tensor(flat, dtype=torch.float64).reshape(x.shape)


def naive_stablemax_ce(input, target, reduction="mean", ignore_index=-100):
    """-log(s(x_y) / sum_c s(x_c)) from the formula, with explicit probabilities (class dim 1)."""
    s = torch.where(input < 0, 1 / (1 - input.clamp_max(0)), input + 1)
    probs = s / s.sum(1, keepdim=True)
    valid = target != ignore_index
    picked = probs.gather(1, (target * valid).unsqueeze(1)).squeeze(1)
    losses = torch.where(valid, -torch.log(picked), torch.zeros_like(picked))
    if reduction == "mean":
        return losses.sum() / valid.sum()
    return losses.sum() if reduction == "sum" else losses


def make_problem(n=30, n_classes=7, extra=(), seed=0, ignore_every=0, scale=3.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    input = (torch.randn((n, n_classes, *extra), generator=g, dtype=torch.float64) * scale).to(dtype)
    target = torch.randint(0, n_classes, (n, *extra), generator=g)
    if ignore_every:
        target.view(-1)[::ignore_every] = -100
    return input.requires_grad_(), target


def test_stablemax_matches_piecewise_definition():
    x, _ = make_problem(n=12, n_classes=9)
    s = naive_s(x.detach())
    torch.testing.assert_close(stablemax(x), s / s.sum(-1, keepdim=True))
    torch.testing.assert_close(stablemax(x, dim=0), s / s.sum(0, keepdim=True))
    torch.testing.assert_close(log_stablemax(x, dim=1), torch.log(s / s.sum(1, keepdim=True)))


def test_stablemax_is_not_softmax_and_is_shift_sensitive():
    x = torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(stablemax(x), torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64) / 6)
    # unlike softmax, adding a constant changes StableMax
    assert not torch.allclose(stablemax(x), stablemax(x + 5))


@settings(max_examples=25, deadline=None)
@given(
    n_classes=st.integers(2, 40),
    scale=st.floats(0.01, 1e3),
    seed=st.integers(0, 10_000),
)
def test_probabilities_sum_to_one_and_are_monotone(n_classes, scale, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, n_classes, generator=g, dtype=torch.float64) * scale
    probs = stablemax(x)
    assert bool((probs > 0).all())
    torch.testing.assert_close(probs.sum(-1), torch.ones(4, dtype=torch.float64))
    order = x.argsort(-1)
    sorted_probs = probs.gather(-1, order)
    assert bool((sorted_probs.diff(dim=-1) >= 0).all())  # larger logit, larger probability
    torch.testing.assert_close(log_stablemax(x).exp(), probs)


def test_s_is_continuous_with_unit_slope_at_zero():
    x = torch.tensor([-1e-6, 0.0, 1e-6], dtype=torch.float64, requires_grad=True)
    values = stablemax(torch.stack([x, torch.zeros_like(x)], dim=1))[:, 0]  # s(x) / (s(x) + 1)
    torch.testing.assert_close(values, torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64), atol=1e-6, rtol=0)
    (grad,) = torch.autograd.grad(values.sum(), x)
    # d/dx s/(s+1) = s' / (s+1)^2 = 1/4 at x = 0, from either side and at 0 itself
    torch.testing.assert_close(grad, torch.full((3,), 0.25, dtype=torch.float64), atol=1e-5, rtol=0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(("extra", "ignore_every"), [((), 0), ((), 4), ((3,), 5)])
def test_cross_entropy_matches_naive_reference(reduction, extra, ignore_every):
    input, target = make_problem(extra=extra, ignore_every=ignore_every)
    ours = stablemax_cross_entropy(input, target, reduction=reduction)
    expected = naive_stablemax_ce(input, target, reduction=reduction)
    torch.testing.assert_close(ours, expected)
    upstream = torch.randn_like(expected)
    grad = torch.autograd.grad((ours * upstream).sum(), input)[0]
    torch.testing.assert_close(grad, torch.autograd.grad((expected * upstream).sum(), input)[0])


def test_cross_entropy_equals_minus_log_stablemax_and_module():
    input, target = make_problem(n=17, n_classes=5)
    expected = -log_stablemax(input, dim=1).gather(1, target[:, None]).squeeze(1)
    torch.testing.assert_close(stablemax_cross_entropy(input, target, reduction="none"), expected)
    module = StableMaxCrossEntropyLoss(reduction="sum")
    torch.testing.assert_close(module(input, target), expected.sum())


def test_ignore_index_items_get_no_loss_and_no_gradient():
    input, target = make_problem(n=10, ignore_every=2)
    losses = stablemax_cross_entropy(input, target, reduction="none")
    assert bool((losses[target == -100] == 0).all()) and bool((losses[target != -100] > 0).all())
    stablemax_cross_entropy(input, target).backward()
    assert bool((input.grad[target == -100] == 0).all())
    custom = target.masked_fill(target == -100, 3)
    torch.testing.assert_close(
        stablemax_cross_entropy(input, custom.masked_fill(target == -100, -1), ignore_index=-1),
        stablemax_cross_entropy(input, target),
    )


def test_gradcheck_float64():
    input, target = make_problem(n=6, n_classes=5, extra=(2,), ignore_every=4, scale=2.0)
    assert torch.autograd.gradcheck(lambda z: stablemax_cross_entropy(z, target), (input,))
    assert torch.autograd.gradcheck(lambda z: log_stablemax(z, dim=1), (input,))
    with torch.no_grad():
        input[0, :2] = 0.0  # the kink of s(x) between its two branches
    assert torch.autograd.gradcheck(lambda z: stablemax(z, dim=0), (input,))


def test_float16_has_no_nan_gradient_at_awkward_logits():
    # x = 1 makes the unclamped negative branch 1/(1-x) infinite; large |x| stresses the squares
    input = torch.tensor(
        [[1.0, -1.0, 0.0, 300.0], [1.0, 1.0, -6e4, 6e4], [0.0, 0.0, 0.0, 0.0]], dtype=torch.float16
    )
    input.requires_grad_()
    target = torch.tensor([0, 3, 2])
    loss = stablemax_cross_entropy(input, target)
    loss.backward()
    assert bool(torch.isfinite(loss)) and bool(torch.isfinite(input.grad).all())
    probs = stablemax(input.detach())
    assert bool(torch.isfinite(probs).all())
    # close to the float64 value
    reference = naive_stablemax_ce(input.detach().double(), target)
    torch.testing.assert_close(loss.double(), reference, rtol=5e-3, atol=5e-3)


def test_does_not_collapse_where_softmax_does_in_float16():
    # the correct logit leads by 40: softmax CE rounds to exactly 0 in float16, StableMax CE does not
    input = torch.zeros(3, 10, dtype=torch.float16)
    input[:, 0] = 40.0
    target = torch.zeros(3, dtype=torch.long)
    assert bool((torch.nn.functional.cross_entropy(input, target, reduction="none") == 0).all())
    assert bool((stablemax_cross_entropy(input, target, reduction="none") > 0).all())


@pytest.mark.parametrize(
    ("target", "error"),
    [
        (torch.tensor([0, 1, 7]), "target must be in"),
        (torch.tensor([0, -2, 1]), "target must be in"),
        (torch.tensor([0.0, 1.0, 2.0]), "int64"),
        (torch.tensor([0, 1]), "shape"),
    ],
)
def test_bad_targets_raise(target, error):
    input = torch.randn(3, 7)
    with pytest.raises(ValueError, match=error):
        stablemax_cross_entropy(input, target)


def test_bad_inputs_raise():
    target = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="finite"):
        stablemax_cross_entropy(torch.tensor([[0.0, float("nan")], [1.0, 2.0]]), target)
    with pytest.raises(TypeError, match="floating"):
        stablemax_cross_entropy(torch.ones(2, 3, dtype=torch.long), target)
    with pytest.raises(ValueError, match="reduction"):
        stablemax_cross_entropy(torch.randn(2, 3), target, reduction="avg")
    with pytest.raises(ValueError, match="dim"):
        stablemax(torch.randn(2, 3), dim=2)
    with pytest.raises(ValueError, match="finite"):
        log_stablemax(torch.tensor([1.0, float("inf")]))

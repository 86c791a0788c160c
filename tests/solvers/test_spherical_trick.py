"""Tests for the spherical trick: exact loss, hidden gradient and factored updates vs a dense layer."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.spherical import spherical_squared_error, taylor_softmax_cross_entropy
from paperlab.losses.z_loss import z_loss
from paperlab.solvers.spherical_trick import SphericalOutputLayer, StepCost, step_cost

DENSE_LOSSES = {
    "z_loss": lambda o, t, r: z_loss(o, t, a=0.5, b=2.0, reduction=r),
    "squared_error": lambda o, t, r: spherical_squared_error(o, t, reduction=r),
    "taylor_softmax": lambda o, t, r: taylor_softmax_cross_entropy(o, t, reduction=r),
}
LOSS_KWARGS = {"z_loss": dict(a=0.5, b=2.0), "squared_error": {}, "taylor_softmax": {}}


def make_problem(n_classes=300, d=8, m=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(n_classes, d, generator=g, dtype=torch.float64) / d**0.5
    batches = [
        (torch.randn(m, d, generator=g, dtype=torch.float64), torch.randint(0, n_classes, (m,), generator=g))
        for _ in range(5)
    ]
    batches[1][1][:-1] = batches[1][1][-1]  # a batch whose items all share one class
    return weight, batches


def rel_err(x, y):
    return ((x - y).norm() / y.norm()).item()


def dense_step(weight, hidden, target, loss_name, lr, reduction):
    """The naive reference: full scores, autograd through the logits-form loss, dense SGD update."""
    weight = weight.clone().requires_grad_()
    hidden = hidden.clone().requires_grad_()
    loss = DENSE_LOSSES[loss_name](hidden @ weight.T, target, reduction)
    grad_w, grad_h = torch.autograd.grad(loss, (weight, hidden))
    return loss.detach(), grad_h, (weight - lr * grad_w).detach()


@pytest.mark.parametrize("loss_name", sorted(DENSE_LOSSES))
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_matches_dense_layer_over_several_updates(loss_name, reduction):
    weight, batches = make_problem()
    layer = SphericalOutputLayer(weight, loss_name, **LOSS_KWARGS[loss_name])
    lr = 0.05 if loss_name == "squared_error" else 0.5
    for hidden, target in batches:
        loss, grad_h, weight = dense_step(weight, hidden, target, loss_name, lr, reduction)
        result = layer.step(hidden, target, lr=lr, reduction=reduction)
        assert rel_err(result.loss, loss) < 1e-8
        assert rel_err(result.hidden_grad, grad_h) < 1e-8
        assert rel_err(layer.weight(), weight) < 1e-8
        assert rel_err(layer.gram, weight.T @ weight) < 1e-8
        assert rel_err(layer.column_sum, weight.sum(0)) < 1e-8
        assert rel_err(layer.U @ layer.U_inv, torch.eye(8, dtype=torch.float64)) < 1e-8
    assert rel_err(weight, make_problem()[0]) > 1e-3  # the updates did move the weight


def test_refactor_keeps_the_weight_and_resets_the_factors():
    weight, batches = make_problem(n_classes=60, d=5, m=4)
    layer = SphericalOutputLayer(weight, "z_loss", a=0.5, b=2.0)
    for hidden, target in batches:
        layer.step(hidden, target, lr=0.5)
    before = layer.weight()
    assert rel_err(layer.U, torch.eye(5, dtype=torch.float64)) > 1e-3
    layer.refactor()
    torch.testing.assert_close(layer.weight(), before)
    torch.testing.assert_close(layer.U, torch.eye(5, dtype=torch.float64))
    torch.testing.assert_close(layer.gram, before.T @ before)
    hidden, target = batches[0]
    _, grad_h, _ = dense_step(before, hidden, target, "z_loss", 0.5, "mean")
    assert rel_err(layer.loss_and_hidden_grad(hidden, target).hidden_grad, grad_h) < 1e-8


def test_loss_is_differentiable_in_hidden_and_equals_dense():
    weight, batches = make_problem(n_classes=40, d=5, m=4)
    layer = SphericalOutputLayer(weight, "z_loss", a=0.5, b=2.0)
    hidden, target = batches[0]
    hidden = hidden.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda h: layer.loss(h, target), (hidden,))
    torch.testing.assert_close(
        layer.loss(hidden, target), DENSE_LOSSES["z_loss"](hidden @ weight.T, target, "mean")
    )
    torch.testing.assert_close(layer.scores(hidden), hidden @ weight.T)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), lr=st.floats(1e-3, 0.3))
def test_one_step_matches_dense_for_random_problems(seed, lr):
    weight, batches = make_problem(n_classes=50, d=4, m=3, seed=seed)
    layer = SphericalOutputLayer(weight, "taylor_softmax")
    hidden, target = batches[seed % 2]  # batch 1 repeats one class
    _, grad_h, new_weight = dense_step(weight, hidden, target, "taylor_softmax", lr, "mean")
    assert rel_err(layer.step(hidden, target, lr).hidden_grad, grad_h) < 1e-8
    assert rel_err(layer.weight(), new_weight) < 1e-8


def test_callable_loss():
    weight, batches = make_problem(n_classes=30, d=4, m=3)

    def hinge_on_score(sum_o, sum_sq, o_target, n_classes, margin=1.0):
        return torch.nn.functional.softplus(margin - o_target) + 1e-3 * sum_sq

    layer = SphericalOutputLayer(weight, hinge_on_score, margin=2.0)
    hidden, target = batches[0]
    scores = hidden @ weight.T
    expected = torch.nn.functional.softplus(2.0 - scores.gather(1, target[:, None])[:, 0]) + 1e-3 * (
        scores**2
    ).sum(1)
    torch.testing.assert_close(layer.loss(hidden, target, reduction="none"), expected)


def test_device_and_dtype_follow_the_weight():
    weight, batches = make_problem(n_classes=20, d=4, m=3)
    layer = SphericalOutputLayer(weight.float(), "squared_error")
    hidden, target = batches[0]
    result = layer.step(hidden.float(), target, lr=0.1)
    assert result.hidden_grad.dtype == torch.float32 and layer.gram.dtype == torch.float32


def test_step_cost_is_independent_of_classes():
    small, large = step_cost(2_000, 64, 64), step_cost(20_000, 64, 64)
    assert isinstance(small, StepCost)
    assert small.spherical == large.spherical
    assert large.naive > 9 * small.naive
    assert large.speedup > 10 * small.speedup / 1.1


def test_bad_inputs():
    weight, batches = make_problem(n_classes=20, d=4, m=3)
    hidden, target = batches[0]
    with pytest.raises(ValueError, match="loss"):
        SphericalOutputLayer(weight, "hinge")
    with pytest.raises(ValueError, match="weight"):
        SphericalOutputLayer(weight[:1])
    with pytest.raises(TypeError, match="weight"):
        SphericalOutputLayer(weight.long())
    layer = SphericalOutputLayer(weight)
    with pytest.raises(ValueError, match="hidden"):
        layer.loss(hidden[:, :3], target)
    with pytest.raises(ValueError, match="hidden"):
        layer.loss(hidden.float(), target)
    with pytest.raises(ValueError, match="target"):
        layer.loss(hidden, target + 20)
    with pytest.raises(ValueError, match="target"):
        layer.loss(hidden, target.int())
    with pytest.raises(ValueError, match="target"):
        layer.loss(hidden, target[:2])
    with pytest.raises(ValueError, match="finite"):
        layer.loss(hidden * float("nan"), target)
    with pytest.raises(ValueError, match="lr"):
        layer.step(hidden, target, lr=-0.1)
    with pytest.raises(ValueError, match="reduction"):
        layer.step(hidden, target, lr=0.1, reduction="none")
    with pytest.raises(ValueError, match="n_classes"):
        step_cost(0, 4, 4)

"""Alignment and uniformity losses: naive references, closed forms, gradients and bad inputs."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import i0

from paperlab.losses import AlignmentLoss, UniformityLoss, alignment_loss, uniformity_loss


def naive_alignment(x, y, alpha):
    """The authors' formula: mean of the pair distances to the power alpha."""
    return (x - y).norm(p=2, dim=1).pow(alpha).mean()


def naive_uniformity(x, t):
    """Mean of exp(-t d^2) over the pairs i < j by a double loop, then its log."""
    n = x.shape[0]
    total, count = 0.0, 0
    for i in range(n):
        for j in range(i + 1, n):
            total += math.exp(-t * float(((x[i] - x[j]) ** 2).sum()))
            count += 1
    return math.log(total / count)


def unit_rows(n, d, seed):
    return F.normalize(
        torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), dim=1
    )


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 12),
    d=st.integers(1, 6),
    alpha=st.sampled_from([0.5, 1.0, 2.0, 3.0]),
    seed=st.integers(0, 2**16),
)
def test_alignment_matches_naive_formula(n, d, alpha, seed):
    x, y = unit_rows(n, d, seed), unit_rows(n, d, seed + 1)
    assert torch.allclose(alignment_loss(x, y, alpha), naive_alignment(x, y, alpha), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), d=st.integers(1, 6), t=st.floats(0.1, 5.0), seed=st.integers(0, 2**16))
def test_uniformity_matches_naive_double_loop(n, d, t, seed):
    x = unit_rows(n, d, seed)
    assert uniformity_loss(x, t).item() == pytest.approx(naive_uniformity(x, t), abs=1e-9)


def test_uniformity_matches_the_authors_pdist_form_on_unnormalized_float32():
    x = torch.randn(50, 8, generator=torch.Generator().manual_seed(0))
    reference = torch.pdist(x, p=2).pow(2).mul(-0.3).exp().mean().log()
    assert torch.allclose(uniformity_loss(x, 0.3), reference, atol=1e-4)


def test_alignment_closed_form_on_the_circle():
    theta = torch.tensor([0.0, 0.5, 1.0, 2.0, math.pi], dtype=torch.float64)
    x = torch.stack([torch.ones_like(theta), torch.zeros_like(theta)], dim=1)
    y = torch.stack([theta.cos(), theta.sin()], dim=1)
    expected = (2 - 2 * theta.cos()).pow(1.5)  # ||x - y||^3 = (2 - 2 cos theta)^(3/2)
    assert torch.allclose(alignment_loss(x, y, alpha=3, reduction="none"), expected, atol=1e-12)
    assert alignment_loss(x, y, reduction="sum").item() == pytest.approx(float((2 - 2 * theta.cos()).sum()))


@pytest.mark.parametrize("t", [0.5, 2.0, 50.0])
def test_uniformity_of_antipodal_pair_and_coincident_points(t):
    x = torch.tensor([[0.6, 0.8], [-0.6, -0.8]], dtype=torch.float64)
    assert uniformity_loss(x, t).item() == pytest.approx(-4 * t)  # d^2 = 4, no underflow at t = 50
    same = x[:1].repeat(5, 1)
    assert uniformity_loss(same, t).item() == pytest.approx(0.0, abs=1e-12)


def test_uniformity_of_regular_simplex():
    n = 6  # the n standard basis vectors, centred and normalized: all pairs at d^2 = 2n / (n - 1)
    x = F.normalize(torch.eye(n, dtype=torch.float64) - 1.0 / n, dim=1)
    assert uniformity_loss(x, 2.0).item() == pytest.approx(-2.0 * 2 * n / (n - 1))


@pytest.mark.parametrize("t", [0.5, 2.0])
def test_uniformity_of_evenly_spaced_circle_points_matches_bessel_limit(t):
    """E exp(-t||x-y||^2) on the uniform circle is e^{-2t} I0(2t); equal spacing reaches it to ~1e-15."""
    n = 64
    angle = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    x = torch.stack([angle.cos(), angle.sin()], dim=1)
    mean_with_self_pairs = math.exp(-2 * t) * i0(2 * t)
    expected = math.log((n * mean_with_self_pairs - 1) / (n - 1))  # drop the n self-pairs (value 1)
    assert uniformity_loss(x, t).item() == pytest.approx(expected, abs=1e-10)


def test_uniform_spread_beats_clustered_features():
    spread = unit_rows(200, 3, 0)
    clustered = F.normalize(spread * 0.1 + torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64), dim=1)
    assert uniformity_loss(spread) < uniformity_loss(clustered)


def test_gradcheck_float64():
    x, y = unit_rows(6, 3, 1).requires_grad_(), unit_rows(6, 3, 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: alignment_loss(a, b, alpha=1.5), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: alignment_loss(a, b), (x, y))
    assert torch.autograd.gradcheck(lambda a: uniformity_loss(a, t=2.0), (x,))


def test_gradient_matches_authors_pdist_form():
    x = unit_rows(10, 4, 3).requires_grad_()
    (ours,) = torch.autograd.grad(uniformity_loss(x, 2.0), x)
    (reference,) = torch.autograd.grad(torch.pdist(x).pow(2).mul(-2.0).exp().mean().log(), x)
    assert torch.allclose(ours, reference, atol=1e-10)


def test_modules_match_functions():
    x, y = unit_rows(8, 4, 4), unit_rows(8, 4, 5)
    assert torch.equal(AlignmentLoss(alpha=1)(x, y), alignment_loss(x, y, alpha=1))
    assert torch.equal(UniformityLoss(t=3)(x), uniformity_loss(x, t=3))


def test_dtype_is_kept():
    x = unit_rows(5, 3, 6)
    assert uniformity_loss(x).dtype == torch.float64
    assert alignment_loss(x.float(), x.float()).dtype == torch.float32


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda x: alignment_loss(x, x[:3]), ValueError, "same shape"),
        (lambda x: alignment_loss(x, x, alpha=0), ValueError, "alpha"),
        (lambda x: alignment_loss(x, x, alpha=-1.0), ValueError, "alpha"),
        (lambda x: alignment_loss(x, x, reduction="max"), ValueError, "reduction"),
        (lambda x: alignment_loss(x[0], x[0]), ValueError, "x must have 2 dimensions"),
        (lambda x: alignment_loss(x.long(), x.long()), TypeError, "floating"),
        (lambda x: uniformity_loss(x[:1]), ValueError, "at least 2 rows"),
        (lambda x: uniformity_loss(x, t=0), ValueError, "t must be"),
        (lambda x: uniformity_loss(x, t="2"), TypeError, "t must be"),
        (lambda x: uniformity_loss(x.clone().fill_(float("nan"))), ValueError, "finite"),
        (lambda x: uniformity_loss(x[:, :0]), ValueError, "empty"),
        (lambda x: AlignmentLoss(alpha=0), ValueError, "alpha"),
        (lambda x: UniformityLoss(t=-1), ValueError, "t must be"),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call(unit_rows(5, 3, 0))


def test_gradient_is_finite_and_zero_for_coincident_points():
    x = unit_rows(1, 3, 7).repeat(4, 1).requires_grad_()
    (gradient,) = torch.autograd.grad(uniformity_loss(x), x)
    assert torch.equal(gradient, torch.zeros_like(gradient))

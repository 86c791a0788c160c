"""Tests for the Barlow Twins loss: naive loop, batch-norm reference, properties, gradients, bad inputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import BarlowTwinsLoss, barlow_twins_cross_correlation, barlow_twins_loss


def naive_barlow_twins(z_a, z_b, lambd, eps):
    """Loop over features and samples, with Python floats."""
    n, d = z_a.shape

    def standardize(z):
        columns = []
        for j in range(d):
            values = [float(z[b, j]) for b in range(n)]
            mean = sum(values) / n
            var = sum((v - mean) ** 2 for v in values) / n
            columns.append([(v - mean) / (var + eps) ** 0.5 for v in values])
        return columns

    a, b = standardize(z_a), standardize(z_b)
    loss = 0.0
    for i in range(d):
        for j in range(d):
            c = sum(a[i][s] * b[j][s] for s in range(n)) / n
            loss += (1 - c) ** 2 if i == j else lambd * c**2
    return loss


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 9),
    d=st.integers(1, 5),
    lambd=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**16),
)
def test_matches_naive_loop(n, d, lambd, seed):
    g = torch.Generator().manual_seed(seed)
    z_a = torch.randn(n, d, generator=g, dtype=torch.float64) * 3 + 1
    z_b = torch.randn(n, d, generator=g, dtype=torch.float64)
    expected = naive_barlow_twins(z_a, z_b, lambd, 1e-5)
    assert barlow_twins_loss(z_a, z_b, lambd=lambd).item() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_matches_batchnorm_reference():
    """The authors' formulation: batch norm without affine parameters, then c = bn(z1).T @ bn(z2) / N."""
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(2, 32, 6, generator=g, dtype=torch.float64)
    bn = torch.nn.BatchNorm1d(6, affine=False).double()
    c = bn(z_a).T @ bn(z_b) / 32
    torch.testing.assert_close(barlow_twins_cross_correlation(z_a, z_b), c)
    off = c - torch.diag(torch.diagonal(c))
    expected = (1 - torch.diagonal(c)).pow(2).sum() + 0.3 * off.pow(2).sum()
    torch.testing.assert_close(barlow_twins_loss(z_a, z_b, lambd=0.3), expected)


def test_identical_decorrelated_views_give_zero_loss():
    # orthogonal columns with zero mean and unit variance: C = I exactly
    q, _ = torch.linalg.qr(
        torch.randn(16, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    )
    ones = torch.ones(16, 1, dtype=torch.float64) / 4
    basis, _ = torch.linalg.qr(torch.cat([ones, q], dim=1))
    z = basis[:, 1:] * 4  # (16, 4): zero-mean, orthogonal, variance 1
    assert barlow_twins_loss(z, z, lambd=1.0, eps=0.0).item() == pytest.approx(0.0, abs=1e-12)
    # a redundant copy of a feature costs lambda times the squared correlations it creates
    redundant = torch.cat([z[:, :1], z[:, :1]], dim=1)
    assert barlow_twins_loss(redundant, redundant, lambd=0.5, eps=0.0).item() == pytest.approx(1.0)


def test_invariant_to_feature_affine_maps_and_symmetric_in_transpose():
    g = torch.Generator().manual_seed(2)
    z_a, z_b = torch.randn(2, 20, 5, generator=g, dtype=torch.float64)
    scaled = z_a * torch.tensor([2.0, 0.5, 3.0, 1.0, 7.0], dtype=torch.float64) - 4
    loss = barlow_twins_loss(z_a, z_b, eps=0.0)
    torch.testing.assert_close(barlow_twins_loss(scaled, z_b, eps=0.0), loss)
    torch.testing.assert_close(barlow_twins_loss(z_b, z_a, eps=0.0), loss)


def test_gradcheck_and_module():
    g = torch.Generator().manual_seed(3)
    z_a = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    z_b = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: barlow_twins_loss(a, b, lambd=0.2), (z_a, z_b))
    module = BarlowTwinsLoss(lambd=0.2)
    torch.testing.assert_close(module(z_a, z_b), barlow_twins_loss(z_a, z_b, lambd=0.2))
    assert "lambd=0.2" in repr(module)


def test_dtype_preserved():
    z = torch.randn(8, 3)
    assert barlow_twins_loss(z, z.flip(0)).dtype == torch.float32


@pytest.mark.parametrize(
    "z_a, z_b, kwargs, error, match",
    [
        (torch.randn(4, 3), torch.randn(4, 2), {}, ValueError, "same shape"),
        (torch.randn(4), torch.randn(4), {}, ValueError, "z_a"),
        (torch.randn(1, 3), torch.randn(1, 3), {}, ValueError, "at least 2 rows"),
        (torch.ones(4, 3, dtype=torch.long), torch.ones(4, 3, dtype=torch.long), {}, TypeError, "floating"),
        (torch.full((4, 3), float("nan")), torch.randn(4, 3), {}, ValueError, "finite"),
        (torch.randn(4, 3), torch.randn(4, 3, dtype=torch.float64), {}, ValueError, "dtype"),
        (torch.randn(4, 3), torch.randn(4, 3), {"lambd": -1.0}, ValueError, "lambd"),
        (torch.randn(4, 3), torch.randn(4, 3), {"eps": -1e-3}, ValueError, "eps"),
        ([[1.0]], torch.randn(1, 1), {}, TypeError, "z_a"),
    ],
)
def test_bad_inputs(z_a, z_b, kwargs, error, match):
    with pytest.raises(error, match=match):
        barlow_twins_loss(z_a, z_b, **kwargs)


def test_module_rejects_bad_lambda():
    with pytest.raises(ValueError, match="lambd"):
        BarlowTwinsLoss(lambd=-0.1)

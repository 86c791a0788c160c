"""Newton inverse square root, IterNorm and the INTL loss: SciPy, scalar recursions, naive loops, inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import (
    INTLLoss,
    SpectralTransformation,
    default_trade_off,
    intl_loss,
    newton_inverse_sqrt,
    spectral_transformation,
    trace_loss,
)


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def correlated(n, d, seed=0):
    return randn(n, d, seed=seed) @ randn(d, d, seed=seed + 1) + randn(d, seed=seed + 2)


def spd(d, condition, seed=0):
    q, _ = torch.linalg.qr(randn(d, d, seed=seed))
    return q @ torch.diag(torch.logspace(0, math.log10(condition), d, dtype=torch.float64)) @ q.T


def naive_iternorm(x, n_iter):
    """The authors' recipe spelled out: covariance, trace scaling, matrix powers, one step at a time."""
    centred = x - x.mean(dim=0)
    cov = centred.T @ centred / (x.shape[0] - 1)
    trace = torch.trace(cov)
    p = torch.eye(x.shape[1], dtype=x.dtype)
    for _ in range(n_iter):
        p = 1.5 * p - 0.5 * torch.matrix_power(p, 3) @ (cov / trace)
    return centred @ (p / trace.sqrt())


def naive_trace_loss(z):
    return sum((np.var(z[:, j], ddof=1) - 1) ** 2 for j in range(z.shape[1]))


def test_newton_converges_to_scipy_inverse_square_root():
    a = spd(6, condition=20.0)
    reference = np.linalg.inv(scipy.linalg.sqrtm(a.numpy()).real)
    result = newton_inverse_sqrt(a, n_iter=10)
    assert np.allclose(result.value.numpy(), reference, atol=1e-8)
    assert result.residual.item() < 1e-8
    assert result.n_iter == 10


def test_newton_residual_decreases_with_more_steps():
    a = spd(5, condition=1e3, seed=3)
    residuals = [newton_inverse_sqrt(a, n_iter=t).residual.item() for t in range(0, 12)]
    assert all(later < earlier for earlier, later in zip(residuals, residuals[1:]))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_iter=st.integers(0, 8))
def test_newton_acts_on_each_eigenvalue_by_the_scalar_recursion(seed, n_iter):
    """Spectral transformation: W_T = Q diag(phi_T(lambda)) Q^T with p <- (3p - p^3 lambda/tr)/2."""
    d = 4
    eigenvalues = torch.rand(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) + 0.01
    q, _ = torch.linalg.qr(randn(d, d, seed=seed))
    a = q @ torch.diag(eigenvalues) @ q.T
    trace = eigenvalues.sum().item()
    phi = []
    for lam in eigenvalues.tolist():
        p = 1.0
        for _ in range(n_iter):
            p = 1.5 * p - 0.5 * p**3 * lam / trace
        phi.append(p / math.sqrt(trace))
    expected = q @ torch.diag(torch.tensor(phi, dtype=torch.float64)) @ q.T
    assert torch.allclose(newton_inverse_sqrt(a, n_iter).value, expected, atol=1e-10)


def test_spectral_transformation_matches_naive_recipe_and_whitens_in_the_limit():
    x = correlated(200, 5)
    for n_iter in (0, 1, 4, 7):
        assert torch.allclose(spectral_transformation(x, n_iter), naive_iternorm(x, n_iter), atol=1e-12)
    x = randn(400, 5, seed=1) @ (torch.eye(5, dtype=x.dtype) + 0.2 * randn(5, 5, seed=2))  # well conditioned
    white = spectral_transformation(x, n_iter=12)
    assert torch.allclose(torch.cov(white.T), torch.eye(5, dtype=x.dtype), atol=1e-8)
    # the limit is ZCA whitening, the symmetric inverse root of SciPy
    centred = (x - x.mean(dim=0)).numpy()
    zca = centred @ np.linalg.inv(scipy.linalg.sqrtm(np.cov(centred, rowvar=False)).real)
    assert np.allclose(white.numpy(), zca, atol=1e-8)


def test_few_steps_shrink_the_spread_of_the_spectrum_without_whitening():
    x = correlated(300, 6, seed=4)
    before = torch.linalg.eigvalsh(torch.cov(x.T))
    after = torch.linalg.eigvalsh(torch.cov(spectral_transformation(x, n_iter=4).T))
    assert (after.max() / after.min()) < (before.max() / before.min())
    assert not torch.allclose(after, torch.ones_like(after), atol=1e-3)


def test_samples_axis_is_the_features_axis_on_the_transpose():
    x = correlated(6, 20)
    ours = spectral_transformation(x, n_iter=3, axis="samples")
    assert torch.allclose(ours, spectral_transformation(x.T, n_iter=3).T, atol=1e-12)
    assert torch.allclose(SpectralTransformation(3, axis="samples")(x), ours)


def test_trace_loss_matches_naive_and_vanishes_on_unit_variances():
    z = correlated(50, 4)
    assert trace_loss(z).item() == pytest.approx(naive_trace_loss(z.numpy()), rel=1e-12)
    assert trace_loss(z, axis="samples").item() == pytest.approx(naive_trace_loss(z.T.numpy()), rel=1e-12)
    standardized = (z - z.mean(0)) / z.std(0)
    assert trace_loss(standardized).item() == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("k", [2, 3])
def test_intl_loss_matches_naive_composition(k):
    base = correlated(64, 8)
    views = [base + 0.5 * randn(64, 8, seed=20 + i) for i in range(k)]
    beta = default_trade_off(64, 8)
    t = [naive_iternorm(v, 4) for v in views]
    expected = 0.0
    for i in range(1, k):
        cosine = (F.normalize(t[i], dim=1) * F.normalize(t[0], dim=1)).sum(dim=1).mean()
        tl = naive_trace_loss(t[i].numpy()) + naive_trace_loss(t[0].numpy())
        expected += (2 - 2 * cosine.item()) + beta * tl
    expected /= k - 1
    assert intl_loss(*views).item() == pytest.approx(expected, rel=1e-10)
    assert intl_loss(*views, trade_off=0.0).item() < intl_loss(*views, trade_off=1.0).item()
    assert torch.allclose(INTLLoss()(*views), intl_loss(*views))


def test_default_trade_off_follows_the_log_rule():
    assert default_trade_off(256, 32) == pytest.approx(0.02)
    assert default_trade_off(256, 32, axis="samples") == pytest.approx(0.05)


def test_gradcheck_float64():
    a = correlated(10, 3).requires_grad_()
    b = correlated(10, 3, seed=6).requires_grad_()
    assert torch.autograd.gradcheck(lambda u, v: intl_loss(u, v, n_iter=3), (a, b))
    m = spd(3, 5.0).requires_grad_()
    assert torch.autograd.gradcheck(lambda s: newton_inverse_sqrt(s, 4).value, (m,))


def test_bad_inputs():
    x = correlated(16, 4)
    with pytest.raises(ValueError, match="views"):
        intl_loss(x)
    with pytest.raises(ValueError, match=r"views\[1\]"):
        intl_loss(x, x[:, :3])
    with pytest.raises(ValueError, match="trade_off"):
        intl_loss(x, x, trade_off=-1.0)
    with pytest.raises(ValueError, match="axis"):
        intl_loss(x, x, axis="channels")
    with pytest.raises(ValueError, match="n_iter"):
        spectral_transformation(x, n_iter=-1)
    with pytest.raises(TypeError, match="n_iter"):
        spectral_transformation(x, n_iter=2.5)
    with pytest.raises(ValueError, match="eps"):
        spectral_transformation(x, eps=1.5)
    with pytest.raises(ValueError, match="variance"):
        spectral_transformation(torch.ones(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="finite"):
        trace_loss(torch.full((4, 2), float("inf")))
    with pytest.raises(ValueError, match="square"):
        newton_inverse_sqrt(torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="trace"):
        newton_inverse_sqrt(torch.zeros(3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="axis"):
        INTLLoss(axis="rows")

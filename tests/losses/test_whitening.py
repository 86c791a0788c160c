"""Cholesky whitening and W-MSE: identity covariance, triangular structure, a naive loop reference, inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses import WMSELoss, w_mse_loss, whiten


def randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def correlated(n, d, seed=0):
    return randn(n, d, seed=seed) @ randn(d, d, seed=seed + 1) + randn(d, seed=seed + 2)


def naive_whiten(x, eps=0.0):
    """numpy: centre, shrink the covariance, Cholesky, multiply by the explicit inverse transposed factor."""
    x = x.detach().numpy()
    centred = x - x.mean(axis=0)
    cov = (1 - eps) * np.cov(centred, rowvar=False) + eps * np.eye(x.shape[1])
    return centred @ np.linalg.inv(np.linalg.cholesky(cov)).T


def naive_w_mse(views, w_size, w_iter, eps, seed):
    """Loops over repetitions, sub-batches, views and pairs, as the paper describes W-MSE."""
    generator = torch.Generator().manual_seed(seed)
    n = views[0].shape[0]
    total = 0.0
    for _ in range(w_iter):
        order = torch.randperm(n, generator=generator).numpy()
        white = [np.empty((n, views[0].shape[1])) for _ in views]
        for start in range(0, n, w_size):
            idx = order[start : start + w_size]
            for view, out in zip(views, white):
                out[idx] = naive_whiten(view[idx], eps)
        pair_losses = []
        for i in range(len(views)):
            for j in range(i + 1, len(views)):
                a = white[i] / np.linalg.norm(white[i], axis=1, keepdims=True)
                b = white[j] / np.linalg.norm(white[j], axis=1, keepdims=True)
                pair_losses.append(np.mean(np.sum((a - b) ** 2, axis=1)))
        total += np.mean(pair_losses)
    return total / w_iter


def test_whitened_batch_has_identity_covariance():
    z = whiten(correlated(300, 6))
    assert torch.allclose(torch.cov(z.T), torch.eye(6, dtype=z.dtype), atol=1e-10)
    assert torch.allclose(z.mean(dim=0), torch.zeros(6, dtype=z.dtype), atol=1e-10)


def test_whiten_matches_explicit_inverse_and_batches():
    x = correlated(40, 5)
    assert np.allclose(whiten(x).numpy(), naive_whiten(x), atol=1e-10)
    stack = torch.stack([correlated(40, 5, seed=s) for s in range(3)])  # (3, 40, 5)
    for s in range(3):
        assert torch.allclose(whiten(stack)[s], whiten(stack[s]), atol=1e-12)


def test_first_whitened_coordinate_is_the_standardized_first_feature():
    """L^{-T} is upper triangular: the first output only sees the first input (closed form)."""
    x = correlated(50, 4)
    first = (x[:, 0] - x[:, 0].mean()) / x[:, 0].std()
    assert torch.allclose(whiten(x)[:, 0], first, atol=1e-12)


def test_shrinkage_makes_a_wide_batch_whitenable():
    x = correlated(5, 8)
    z = whiten(x, eps=0.1)
    assert torch.isfinite(z).all()
    assert np.allclose(z.numpy(), naive_whiten(x, eps=0.1), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 5))
def test_whiten_is_invariant_to_upper_triangular_maps(seed, d):
    """X -> X B + c with B upper triangular (positive diagonal) keeps the Cholesky whitening unchanged."""
    x = correlated(30, d, seed=seed)
    b = torch.triu(randn(d, d, seed=seed + 7), diagonal=1)
    b = b + torch.diag(randn(d, seed=seed + 8).abs() + 0.5)  # positive diagonal, well conditioned
    assert torch.allclose(whiten(x @ b + 3.0), whiten(x), atol=1e-7)


@pytest.mark.parametrize("k, w_size, w_iter", [(2, 64, 1), (2, 16, 3), (3, 32, 2)])
def test_w_mse_matches_naive_loops(k, w_size, w_iter):
    base = correlated(64, 4)
    views = [base + 0.3 * randn(64, 4, seed=10 + i) for i in range(k)]
    ours = w_mse_loss(*views, w_size=w_size, w_iter=w_iter, generator=5)
    assert ours.item() == pytest.approx(naive_w_mse(views, w_size, w_iter, 0.0, seed=5), abs=1e-10)
    module = WMSELoss(w_size=w_size, w_iter=w_iter)
    assert torch.allclose(module(*views, generator=5), ours)


def test_w_mse_unnormalized_is_elementwise_mse_of_whitened_views():
    a, b = correlated(30, 3), correlated(30, 3, seed=4)
    expected = torch.nn.functional.mse_loss(whiten(a), whiten(b))
    assert torch.allclose(w_mse_loss(a, b, normalize=False, generator=0), expected, atol=1e-12)


def test_w_mse_is_zero_for_identical_views_and_positive_otherwise():
    x = correlated(40, 3)
    assert w_mse_loss(x, x.clone(), w_size=20, generator=0).item() == pytest.approx(0.0, abs=1e-12)
    assert w_mse_loss(x, correlated(40, 3, seed=9), generator=0).item() > 0.1


def test_w_mse_cannot_be_lowered_by_collapsing_the_views():
    """Scaling both views towards one point changes nothing: the whitening removes the scale."""
    a, b = correlated(40, 3), correlated(40, 3, seed=3)
    assert torch.allclose(w_mse_loss(a, b, generator=0), w_mse_loss(1e-3 * a, 1e-3 * b, generator=0))


def test_gradcheck_float64():
    a = correlated(12, 3).requires_grad_()
    b = correlated(12, 3, seed=5).requires_grad_()
    assert torch.autograd.gradcheck(lambda u, v: w_mse_loss(u, v, w_size=6, generator=1), (a, b))
    assert torch.autograd.gradcheck(lambda u: whiten(u, eps=0.05), (a,))


def test_float32_runs_and_agrees():
    a, b = correlated(64, 4), correlated(64, 4, seed=2)
    ours32 = w_mse_loss(a.float(), b.float(), generator=0)
    assert ours32.dtype == torch.float32
    assert ours32.item() == pytest.approx(w_mse_loss(a, b, generator=0).item(), abs=1e-4)


def test_bad_inputs():
    x = correlated(16, 4)
    with pytest.raises(ValueError, match="views"):
        w_mse_loss(x)
    with pytest.raises(ValueError, match=r"views\[1\]"):
        w_mse_loss(x, x[:8])
    with pytest.raises(ValueError, match="w_size"):
        w_mse_loss(x, x, w_size=5)
    with pytest.raises(ValueError, match="w_size"):
        w_mse_loss(x, x, w_size=4)
    with pytest.raises(ValueError, match="w_iter"):
        w_mse_loss(x, x, w_iter=0)
    with pytest.raises(ValueError, match="eps"):
        whiten(x, eps=1.0)
    with pytest.raises(ValueError, match="eps"):
        whiten(x, eps=-0.1)
    with pytest.raises(ValueError, match="N > D"):
        whiten(x[:4])
    with pytest.raises(ValueError, match="singular"):
        whiten(torch.cat([x[:, :1], x[:, :1]], dim=1))
    with pytest.raises(ValueError, match="finite"):
        whiten(torch.full((8, 2), float("nan"), dtype=torch.float64))
    with pytest.raises(TypeError, match="x"):
        whiten(torch.ones(8, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="x"):
        whiten(torch.ones(8, dtype=torch.float64))

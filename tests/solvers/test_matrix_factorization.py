"""Truncated and randomized SVD against NumPy's SVD; CUR exactness on low-rank matrices."""

import numpy as np
import pytest
import torch

from paperlab.solvers import cur, randomized_svd, truncated_svd


def low_rank(m, n, rank, seed, decay=None):
    g = torch.Generator().manual_seed(seed)
    u = torch.linalg.qr(torch.randn(m, rank, generator=g, dtype=torch.float64)).Q
    v = torch.linalg.qr(torch.randn(n, rank, generator=g, dtype=torch.float64)).Q
    s = torch.logspace(0, -decay, rank, dtype=torch.float64) if decay else torch.linspace(3, 1, rank).double()
    return u * s @ v.T


def test_truncated_svd_is_the_best_rank_k_approximation():
    a = torch.randn(30, 20, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, s, vh = truncated_svd(a, 5)
    _, s_ref, _ = np.linalg.svd(a.numpy())
    np.testing.assert_allclose(s.numpy(), s_ref[:5], rtol=1e-12)
    error = torch.linalg.matrix_norm(a - u * s @ vh)
    assert abs(float(error) - np.sqrt((s_ref[5:] ** 2).sum())) < 1e-10


def test_randomized_svd_recovers_a_low_rank_matrix():
    a = low_rank(120, 80, 6, seed=1)
    u, s, vh = randomized_svd(a, 6, seed=0)
    np.testing.assert_allclose(s.numpy(), np.linalg.svd(a.numpy(), compute_uv=False)[:6], rtol=1e-10)
    torch.testing.assert_close(u * s @ vh, a)
    torch.testing.assert_close(u.T @ u, torch.eye(6, dtype=torch.float64))


def test_randomized_svd_with_power_iterations_on_a_noisy_spectrum():
    g = torch.Generator().manual_seed(2)
    a = low_rank(200, 150, 10, seed=2) + 1e-3 * torch.randn(200, 150, generator=g, dtype=torch.float64)
    s_ref = np.linalg.svd(a.numpy(), compute_uv=False)[:10]
    _, s, _ = randomized_svd(a, 10, n_iter=4, seed=0)
    np.testing.assert_allclose(s.numpy(), s_ref, rtol=1e-6)
    _, s_again, _ = randomized_svd(a, 10, n_iter=4, seed=0)
    assert torch.equal(s, s_again)


@pytest.mark.parametrize("method", ["leverage", "top"])
def test_cur_is_exact_on_a_low_rank_matrix(method):
    a = low_rank(40, 30, 4, seed=3)
    result = cur(a, 4, method=method, seed=0)
    assert result.C.shape == (40, 8) and result.R.shape == (8, 30)
    assert torch.equal(result.C, a[:, result.column_indices]) and torch.equal(result.R, a[result.row_indices])
    assert len(set(result.column_indices.tolist())) == 8
    torch.testing.assert_close(result.to_matrix(), a)


def test_cur_middle_factor_is_least_squares_optimal():
    """U = C^+ A R^+ makes the residual orthogonal to C's columns and R's rows."""
    a = torch.randn(25, 20, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    result = cur(a, 3, n_columns=6, n_rows=7, seed=1)
    residual = a - result.to_matrix()
    torch.testing.assert_close(result.C.T @ residual @ result.R.T, torch.zeros(6, 7, dtype=torch.float64))


def test_bad_inputs_raise():
    a = torch.randn(6, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="rank"):
        truncated_svd(a, 0)
    with pytest.raises(ValueError, match="rank"):
        randomized_svd(a, 6)
    with pytest.raises(ValueError, match="n_iter"):
        randomized_svd(a, 2, n_iter=-1)
    with pytest.raises(ValueError, match="n_columns"):
        cur(a, 3, n_columns=2)
    with pytest.raises(ValueError, match="method"):
        cur(a, 2, method="uniform")
    with pytest.raises(ValueError, match="A"):
        truncated_svd(torch.full((3, 3), float("nan")), 1)

"""Tests of the dense-sparse factorization A ~ D S with n non-zeros per column of S."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import dense_sparse_factorize, dense_sparse_sizes, sparse_code_columns, truncated_svd


def _matrix(m, n, seed):
    return torch.randn(m, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _best_sparse_code(dense, column, n_nonzero):
    """Brute force: the least-squares code over every support of size n_nonzero."""
    best = np.inf
    for support in itertools.combinations(range(dense.shape[1]), n_nonzero):
        atoms = dense[:, list(support)]
        residual = column - atoms @ np.linalg.lstsq(atoms, column, rcond=None)[0]
        best = min(best, np.linalg.norm(residual))
    return best


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(4, 8),
    n=st.integers(2, 6),
    k=st.integers(2, 4),
    n_nonzero=st.integers(1, 2),
    seed=st.integers(0, 999),
)
def test_codes_over_an_orthonormal_basis_are_the_brute_force_optimum(m, n, k, n_nonzero, seed):
    basis = torch.linalg.qr(_matrix(m, k, seed)).Q  # (m, k) orthonormal columns
    weight = _matrix(m, n, seed + 1)
    sparse, mask = sparse_code_columns(weight, basis, n_nonzero)
    assert torch.equal(mask.sum(dim=0), torch.full((n,), n_nonzero))
    assert torch.count_nonzero(sparse[~mask]) == 0
    errors = torch.linalg.vector_norm(weight - basis @ sparse, dim=0).numpy()
    expected = [_best_sparse_code(basis.numpy(), weight[:, j].numpy(), n_nonzero) for j in range(n)]
    np.testing.assert_allclose(errors, expected, atol=1e-10)


def test_exactly_sparse_data_is_recovered_with_the_true_basis():
    g = torch.Generator().manual_seed(0)
    basis = torch.randn(20, 6, generator=g, dtype=torch.float64)
    codes = torch.zeros(6, 30, dtype=torch.float64)
    for j in range(30):
        codes[torch.randperm(6, generator=g)[:2], j] = torch.randn(2, generator=g, dtype=torch.float64) + 3
    sparse, _ = sparse_code_columns(basis @ codes, basis, 2)
    torch.testing.assert_close(sparse, codes)


@settings(max_examples=15, deadline=None)
@given(m=st.integers(4, 9), n=st.integers(4, 9), seed=st.integers(0, 999), frac=st.floats(0.0, 1.0))
def test_dense_codes_reach_the_eckart_young_error_and_sparse_codes_never_beat_it(m, n, seed, frac):
    weight = _matrix(m, n, seed)
    k = 1 + int(frac * (min(m, n) - 1))
    singular_values = torch.linalg.svdvals(weight)
    eckart_young = (singular_values[k:].square().sum() / singular_values.square().sum()).sqrt()
    full = dense_sparse_factorize(weight, k, k, n_iter=2)
    torch.testing.assert_close(full.error, eckart_young, atol=1e-10, rtol=1e-8)
    lowrank = truncated_svd(weight, k)
    torch.testing.assert_close(full.to_matrix(), lowrank.U * lowrank.S @ lowrank.Vh)
    sparse = dense_sparse_factorize(weight, k, max(1, k // 2), n_iter=3)
    assert sparse.error >= eckart_young - 1e-12  # rank(D S) <= k
    assert torch.equal(sparse.mask.sum(dim=0), torch.full((n,), max(1, k // 2)))
    torch.testing.assert_close(
        sparse.error, torch.linalg.matrix_norm(weight - sparse.to_matrix()) / torch.linalg.matrix_norm(weight)
    )


def test_more_atoms_at_the_same_budget_beat_the_svd_on_a_flat_spectrum():
    weight = _matrix(64, 64, 0)  # Gaussian: flat spectrum, the hard case for low rank
    budget = 64 * 64 // 4
    rank = budget // 128
    k, n_nonzero = dense_sparse_sizes(64, 64, budget, density=0.25)
    assert 64 * k + 64 * n_nonzero <= budget and k > rank
    singular_values = torch.linalg.svdvals(weight)
    svd_error = (singular_values[rank:].square().sum() / singular_values.square().sum()).sqrt()
    assert dense_sparse_factorize(weight, k, n_nonzero).error < svd_error


def test_warm_start_and_best_iterate():
    weight = _matrix(12, 10, 3)
    first = dense_sparse_factorize(weight, 4, 2, n_iter=5)
    again = dense_sparse_factorize(weight, 4, 2, n_iter=1, dense_init=first.dense)
    assert again.error <= first.error + 1e-12
    errors = [dense_sparse_factorize(weight, 4, 2, n_iter=t).error for t in (1, 3, 6)]
    assert errors[0] >= errors[1] >= errors[2]


@pytest.mark.parametrize(
    "args, error",
    [
        ((64, 64, 100), ValueError),
        ((64, 64, 1000, 0.0), ValueError),
        ((64, 64, 1000, 1.5), ValueError),
        ((64, 64.0, 1000), TypeError),
    ],
)
def test_dense_sparse_sizes_bad_inputs(args, error):
    with pytest.raises(error):
        dense_sparse_sizes(*args)


def test_bad_inputs():
    weight = _matrix(6, 5, 0)
    with pytest.raises(ValueError, match="n_atoms"):
        dense_sparse_factorize(weight, 6, 2)
    with pytest.raises(ValueError, match="n_nonzero"):
        dense_sparse_factorize(weight, 3, 4)
    with pytest.raises(ValueError, match="dense_init"):
        dense_sparse_factorize(weight, 3, 2, dense_init=torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="weight"):
        dense_sparse_factorize(weight[0], 3, 2)
    with pytest.raises(ValueError, match="finite"):
        dense_sparse_factorize(weight * float("nan"), 3, 2)
    with pytest.raises(ValueError, match="dense"):
        sparse_code_columns(weight, torch.zeros(4, 3, dtype=torch.float64), 2)

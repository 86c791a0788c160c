"""CP-ALS: recovery of planted tensors, agreement with TensorLy's parafac, bad inputs."""

import numpy as np
import pytest
import tensorly as tl
import torch
from tensorly.decomposition import parafac

from paperlab.solvers import cp_als, cp_to_tensor


def planted_cp(shape, rank, seed, noise=0.0):
    g = torch.Generator().manual_seed(seed)
    factors = [torch.randn(n, rank, generator=g, dtype=torch.float64) for n in shape]
    tensor = cp_to_tensor(None, factors)
    if noise:
        tensor = tensor + noise * tensor.std() * torch.randn(shape, generator=g, dtype=torch.float64)
    return tensor


def relative_error(x, y):
    return float(torch.linalg.vector_norm(x - y) / torch.linalg.vector_norm(x))


@pytest.mark.parametrize("shape", [(10, 11, 12), (6, 7, 5, 8)])
def test_recovers_planted_low_rank_tensor(shape):
    tensor = planted_cp(shape, rank=3, seed=0)
    result = cp_als(tensor, 3, n_iter_max=1000, tol=1e-14, seed=0)
    assert relative_error(tensor, result.to_tensor()) < 1e-6
    norms = torch.stack([torch.linalg.vector_norm(f, dim=0) for f in result.factors])
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_same_iterates_as_tensorly_from_identical_factors():
    tensor = planted_cp((9, 10, 11), rank=4, seed=1, noise=0.2)
    init = [np.random.default_rng(2).random((n, 4)) for n in tensor.shape]
    reference, reference_errors = parafac(
        tensor.numpy(),
        4,
        n_iter_max=25,
        init=tl.cp_tensor.CPTensor((np.ones(4), init)),
        tol=0,
        return_errors=True,
    )
    ours = cp_als(tensor, 4, n_iter_max=25, tol=0, init=[torch.from_numpy(f) for f in init])
    assert ours.n_iter == 25 and not ours.converged
    np.testing.assert_allclose(ours.errors, reference_errors, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ours.to_tensor().numpy(), tl.cp_to_tensor(reference), rtol=1e-6, atol=1e-8)


def test_final_error_matches_tensorly_with_svd_init():
    tensor = planted_cp((12, 10, 9), rank=3, seed=3, noise=0.05)
    _, reference_errors = parafac(
        tensor.numpy(), 3, n_iter_max=200, init="svd", tol=1e-12, return_errors=True
    )
    ours = cp_als(tensor, 3, n_iter_max=200, tol=1e-12, init="svd")
    assert abs(ours.errors[-1] - reference_errors[-1]) < 1e-6


def test_reported_errors_are_reconstruction_errors():
    tensor = planted_cp((8, 9, 10), rank=3, seed=4, noise=0.3)
    result = cp_als(tensor, 2, n_iter_max=5, tol=0, init="random", seed=0)
    assert len(result.errors) == 5
    assert abs(result.errors[-1] - relative_error(tensor, result.to_tensor())) < 1e-9
    assert result.errors == sorted(result.errors, reverse=True)  # ALS never increases the error


def test_stops_when_error_stalls_and_is_reproducible():
    tensor = planted_cp((8, 9, 10), rank=2, seed=5, noise=0.1)
    result = cp_als(tensor, 2, n_iter_max=500, tol=1e-6, init="random", seed=7)
    assert result.converged and result.n_iter < 500
    again = cp_als(tensor, 2, n_iter_max=500, tol=1e-6, init="random", seed=7)
    assert again.errors == result.errors


def test_float32_stays_float32():
    tensor = planted_cp((6, 7, 8), rank=2, seed=6).float()
    result = cp_als(tensor, 2, n_iter_max=50)
    assert result.weights.dtype == torch.float32 and all(f.dtype == torch.float32 for f in result.factors)
    assert relative_error(tensor, result.to_tensor()) < 1e-3


def test_bad_inputs_raise():
    tensor = planted_cp((4, 5, 6), rank=2, seed=0)
    with pytest.raises(ValueError, match="rank"):
        cp_als(tensor, 0)
    bad = tensor.clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="tensor"):
        cp_als(bad, 2)
    with pytest.raises(ValueError, match="init"):
        cp_als(tensor, 2, init="nope")
    with pytest.raises(ValueError, match=r"init\[1\]"):
        cp_als(tensor, 2, init=[torch.rand(4, 2, dtype=torch.float64)] * 3)
    with pytest.raises(ValueError, match="tensor"):
        cp_als(torch.randn(5, dtype=torch.float64), 2)
    with pytest.raises(ValueError, match="zeros"):
        cp_als(torch.zeros(3, 4, 5), 2)
    with pytest.raises(TypeError, match="tensor"):
        cp_als(torch.ones(3, 4, 5, dtype=torch.int64), 2)


# The MTTKRP schedules and the Gram solve, against the naive definitions.
import sys  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from paperlab.solvers import khatri_rao, unfold  # noqa: E402

cp_module = sys.modules["paperlab.solvers.cp_als"]  # the module, which the package's cp_als function shadows


def naive_mttkrp(tensor, factors, mode):
    others = [f for m, f in enumerate(factors) if m != mode]
    return unfold(tensor, mode) @ khatri_rao(others)  # (I_mode, R)


def check_schedule(tensor, factors, sweep_of, n_sweeps, generator):
    """Each yielded MTTKRP must use the factors as they are when it is yielded; replace each after use."""
    seen_modes = []
    for _ in range(n_sweeps):
        for mode, mttkrp in sweep_of(factors):
            torch.testing.assert_close(mttkrp, naive_mttkrp(tensor, factors, mode), rtol=1e-10, atol=1e-10)
            factors[mode] = torch.randn(factors[mode].shape, generator=generator, dtype=tensor.dtype)
            seen_modes.append(mode)
    assert seen_modes == list(range(tensor.dim())) * n_sweeps


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 6)] * 3),
    rank=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_paired_third_order_mttkrp_matches_unfolding_times_khatri_rao(shape, rank, seed):
    g = torch.Generator().manual_seed(seed)
    tensor = torch.randn(shape, generator=g, dtype=torch.float64)
    factors = [torch.randn(n, rank, generator=g, dtype=torch.float64) for n in shape]
    paired = cp_module._PairedThirdOrderMTTKRP(tensor)
    check_schedule(tensor, factors, paired.sweep, n_sweeps=4, generator=g)  # contracts modes 2, 1, 0, 2, ...


@pytest.mark.parametrize("shape", [(5, 7), (3, 4, 5, 6), (2, 3, 4, 3, 2)])
def test_dimension_tree_mttkrp_matches_unfolding_times_khatri_rao(shape):
    g = torch.Generator().manual_seed(len(shape))
    tensor = torch.randn(shape, generator=g, dtype=torch.float64)
    factors = [torch.randn(n, 3, generator=g, dtype=torch.float64) for n in shape]
    check_schedule(tensor, factors, lambda f: cp_module._tree_sweep(tensor, f), n_sweeps=2, generator=g)


def test_gram_solve_by_cholesky_matches_general_solve():
    g = torch.Generator().manual_seed(0)
    a, b = (torch.randn(9, 4, generator=g, dtype=torch.float64) for _ in range(2))
    gram = (a.T @ a) * (b.T @ b)  # (4, 4), positive definite
    rhs = torch.randn(7, 4, generator=g, dtype=torch.float64)
    expected = torch.linalg.solve(gram, rhs.T).T
    torch.testing.assert_close(cp_module._solve_gram(gram, rhs), expected, rtol=1e-10, atol=1e-12)


def test_gram_solve_falls_back_to_pseudo_inverse_when_singular():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 3, generator=g, dtype=torch.float64)
    a = torch.cat([a, a[:, :1]], dim=1)  # a repeated column: the Gram matrix is singular
    gram = a.T @ a
    rhs = torch.randn(5, 4, generator=g, dtype=torch.float64)
    solution = cp_module._solve_gram(gram, rhs)
    torch.testing.assert_close(solution, rhs @ torch.linalg.pinv(gram), rtol=1e-8, atol=1e-10)


def test_collinear_initial_columns_give_finite_results():
    tensor = planted_cp((6, 7, 8), rank=3, seed=8, noise=0.1)
    init = [
        torch.rand(n, 3, generator=torch.Generator().manual_seed(n), dtype=torch.float64) for n in (6, 7, 8)
    ]
    init = [torch.cat([f[:, :2], f[:, :1]], dim=1) for f in init]  # third column repeats the first
    result = cp_als(tensor, 3, n_iter_max=10, tol=0, init=init)
    assert all(np.isfinite(result.errors)) and all(torch.isfinite(f).all() for f in result.factors)
    assert abs(result.errors[-1] - relative_error(tensor, result.to_tensor())) < 1e-6


@pytest.mark.parametrize("n_iter_max", [1, 2, 3, 7])
def test_third_order_schedule_agrees_with_tensorly_for_odd_and_even_sweep_counts(n_iter_max):
    tensor = planted_cp((7, 5, 6), rank=3, seed=9, noise=0.2)
    init = [np.random.default_rng(3).random((n, 3)) for n in tensor.shape]
    _, reference_errors = parafac(
        tensor.numpy(),
        3,
        n_iter_max=n_iter_max,
        init=tl.cp_tensor.CPTensor((np.ones(3), init)),
        tol=0,
        return_errors=True,
    )
    ours = cp_als(tensor, 3, n_iter_max=n_iter_max, tol=0, init=[torch.from_numpy(f) for f in init])
    np.testing.assert_allclose(ours.errors, reference_errors, rtol=1e-9, atol=1e-12)

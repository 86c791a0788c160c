"""Tensor ring: contraction against TensorLy and closed forms, parameter counts, TR-ALS fitting."""

import numpy as np
import pytest
import tensorly as tl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.decomposition import tensor_ring_als

from paperlab.solvers import (
    random_tr_cores,
    tr_als,
    tr_parameter_count,
    tr_ranks,
    tr_to_tensor,
    tt_svd,
    tt_to_tensor,
)


def relative_error(x, y):
    return float(torch.linalg.vector_norm(x - y) / torch.linalg.vector_norm(x))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    data=st.data(),
    seed=st.integers(0, 1000),
)
def test_contraction_matches_tensorly(shape, data, seed):
    ranks = data.draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape)))
    cores = random_tr_cores(shape, ranks, seed=seed)
    expected = tl.tr_to_tensor([c.numpy() for c in cores])
    np.testing.assert_allclose(tr_to_tensor(cores).numpy(), expected, rtol=1e-10, atol=1e-12)
    assert tr_ranks(cores) == tuple(ranks)
    assert tr_parameter_count(shape, ranks) == sum(c.numel() for c in cores)


def test_ranks_all_one_is_the_outer_product():
    g = torch.Generator().manual_seed(0)
    vectors = [torch.randn(n, generator=g, dtype=torch.float64) for n in (3, 4, 5)]
    cores = [v.reshape(1, -1, 1) for v in vectors]
    outer = torch.einsum("i,j,k->ijk", *vectors)
    torch.testing.assert_close(tr_to_tensor(cores), outer)


def test_trace_closes_the_ring():
    """Order 2: X = G_0 G_1 summed over the ring, i.e. X[i, j] = tr(A_i B_j) for the slices."""
    g = torch.Generator().manual_seed(1)
    first = torch.randn(2, 4, 3, generator=g, dtype=torch.float64)
    second = torch.randn(3, 5, 2, generator=g, dtype=torch.float64)
    expected = torch.stack(
        [torch.stack([torch.trace(first[:, i] @ second[:, j]) for j in range(5)]) for i in range(4)]
    )
    torch.testing.assert_close(tr_to_tensor([first, second]), expected)


def test_tensor_train_is_a_ring_with_boundary_rank_one():
    g = torch.Generator().manual_seed(2)
    tensor = torch.randn(4, 5, 3, 4, generator=g, dtype=torch.float64)
    cores = tt_svd(tensor, max_rank=3)
    torch.testing.assert_close(tr_to_tensor(cores), tt_to_tensor(cores))
    assert tr_ranks(cores)[0] == 1
    fitted = tr_als(tensor, tr_ranks(cores), init=cores, n_iter_max=5, tol=0.0)
    assert fitted.rse <= relative_error(tensor, tt_to_tensor(cores)) + 1e-12  # ALS never increases the error


def test_recovers_a_planted_ring():
    planted = random_tr_cores((6, 5, 6, 4), (2, 3, 4, 2), seed=3)
    tensor = tr_to_tensor(planted)
    best = min(
        (tr_als(tensor, (2, 3, 4, 2), n_iter_max=60, target_rse=1e-9, seed=s) for s in range(3)),
        key=lambda r: r.rse,
    )
    assert best.rse < 1e-7
    assert relative_error(tensor, best.to_tensor()) < 1e-7
    assert best.converged


def test_too_small_ranks_cannot_fit():
    tensor = tr_to_tensor(random_tr_cores((6, 6, 6), (3, 3, 3), seed=4))
    assert tr_als(tensor, (1, 1, 1), n_iter_max=30, seed=0).rse > 0.1


def test_one_sweep_matches_tensorly_from_the_same_start():
    rng = np.random.default_rng(5)
    tensor = rng.standard_normal((4, 5, 6))
    tl.set_backend("numpy")
    starts = []
    expected = tensor_ring_als(
        tensor,
        [2, 3, 2, 2],
        n_iter_max=2,
        tol=0.0,
        random_state=0,
        callback=lambda d, e: starts.append(d[:]) or None,
    )
    init = [torch.from_numpy(np.array(c)) for c in starts[0]]
    ours = tr_als(torch.from_numpy(tensor), (2, 3, 2), init=init, n_iter_max=2, tol=0.0)
    for mine, theirs in zip(ours.cores, expected.factors):
        np.testing.assert_allclose(mine.numpy(), theirs, rtol=1e-6, atol=1e-8)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_errors_never_increase(seed):
    g = torch.Generator().manual_seed(seed)
    tensor = torch.randn(4, 4, 4, 4, generator=g, dtype=torch.float64)
    result = tr_als(tensor, (2, 2, 3, 2), n_iter_max=10, tol=0.0, seed=seed)
    assert all(b <= a + 1e-10 for a, b in zip(result.errors, result.errors[1:]))
    assert abs(result.rse - relative_error(tensor, result.to_tensor())) < 1e-9


def test_bad_inputs_raise():
    tensor = torch.randn(3, 4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="ranks"):
        tr_als(tensor, (2, 2))
    with pytest.raises(ValueError, match="ranks\\[1\\]"):
        tr_als(tensor, (2, 0, 2))
    with pytest.raises(ValueError, match="all zeros"):
        tr_als(torch.zeros(3, 4, 5, dtype=torch.float64), (2, 2, 2))
    with pytest.raises(ValueError, match="finite|NaN"):
        tr_als(torch.full((3, 4, 5), float("nan")), (2, 2, 2))
    with pytest.raises(ValueError, match="init"):
        tr_als(tensor, (2, 2, 2), init=random_tr_cores((3, 4, 5), (2, 2, 3)))
    with pytest.raises(ValueError, match="starts with rank"):
        tr_to_tensor([torch.ones(2, 3, 2), torch.ones(3, 3, 2)])
    with pytest.raises(TypeError, match="cores"):
        tr_to_tensor(torch.ones(2, 3, 2))
    with pytest.raises(TypeError, match="n_iter_max"):
        tr_als(tensor, (2, 2, 2), n_iter_max=2.5)

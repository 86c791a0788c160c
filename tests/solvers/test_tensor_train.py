"""TT-SVD: the error bound, exact recovery of planted TT ranks, agreement with TensorLy."""

import math

import numpy as np
import pytest
import tensorly as tl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.decomposition import tensor_train

from paperlab.solvers import tt_svd, tt_to_tensor


def relative_error(x, y):
    return float(torch.linalg.vector_norm(x - y) / torch.linalg.vector_norm(x))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(2, 6), min_size=2, max_size=5),
    eps=st.floats(0.01, 0.9),
    seed=st.integers(0, 1000),
)
def test_error_bound_holds(shape, eps, seed):
    g = torch.Generator().manual_seed(seed)
    tensor = torch.randn(shape, generator=g, dtype=torch.float64)
    cores = tt_svd(tensor, eps=eps)
    assert relative_error(tensor, tt_to_tensor(cores)) <= eps * (1 + 1e-9)
    for left, right in zip(cores[:-1], cores[1:]):
        assert left.shape[2] == right.shape[0]


@pytest.mark.parametrize(("budget", "expected_rank"), [(0.5, 3), (2.0, 2), (0.001, 4)])
def test_keeps_the_smallest_rank_within_budget(budget, expected_rank):
    """A matrix (one split) with singular values 10, 5, 1, 0.1: the discarded energy must fit eps^2 ||X||^2."""
    g = torch.Generator().manual_seed(0)
    u = torch.linalg.qr(torch.randn(8, 4, generator=g, dtype=torch.float64)).Q
    v = torch.linalg.qr(torch.randn(9, 4, generator=g, dtype=torch.float64)).Q
    s = torch.tensor([10.0, 5.0, 1.0, 0.1], dtype=torch.float64)
    matrix = u * s @ v.T
    eps = math.sqrt(budget / float((s**2).sum()))
    cores = tt_svd(matrix, eps=eps)
    assert cores[0].shape[2] == expected_rank
    discarded = float(s[expected_rank:].norm())
    assert abs(float(torch.linalg.vector_norm(matrix - tt_to_tensor(cores))) - discarded) < 1e-10


def test_recovers_planted_tt_ranks():
    g = torch.Generator().manual_seed(1)
    ranks = [1, 2, 3, 2, 1]
    planted = [
        torch.randn(ranks[i], n, ranks[i + 1], generator=g, dtype=torch.float64)
        for i, n in enumerate((5, 6, 7, 4))
    ]
    tensor = tt_to_tensor(planted)
    cores = tt_svd(tensor, eps=1e-10)
    assert [core.shape[2] for core in cores] == ranks[1:]
    assert relative_error(tensor, tt_to_tensor(cores)) < 1e-10


def test_matches_tensorly_at_fixed_ranks():
    tensor = np.random.default_rng(2).standard_normal((5, 6, 7, 4))
    reference = tl.tt_to_tensor(tensor_train(tensor, rank=[1, 3, 4, 3, 1]))
    cores = tt_svd(torch.from_numpy(tensor), max_rank=[3, 4, 3])
    assert [core.shape[2] for core in cores] == [3, 4, 3, 1]
    np.testing.assert_allclose(tt_to_tensor(cores).numpy(), reference, atol=1e-10)


def test_one_dimensional_tensor_is_one_core():
    x = torch.randn(7, dtype=torch.float64)
    cores = tt_svd(x, eps=0.1)
    assert len(cores) == 1 and torch.equal(tt_to_tensor(cores), x)


def test_bad_inputs_raise():
    x = torch.randn(3, 4, 5)
    with pytest.raises(ValueError, match="eps"):
        tt_svd(x, eps=-0.1)
    with pytest.raises(ValueError, match="max_rank"):
        tt_svd(x, max_rank=[2, 2, 2])
    with pytest.raises(ValueError, match="max_rank"):
        tt_svd(x, max_rank=0)
    with pytest.raises(ValueError, match="tensor"):
        tt_svd(torch.full((3, 4), float("nan")))

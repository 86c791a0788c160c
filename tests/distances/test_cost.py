"""Tests for paperlab.distances.cost_matrix against POT's ot.dist and a naive double loop."""

import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.distances import cost_matrix


def naive_cost(x, y, p):
    return torch.stack([torch.stack([(xi - yj).norm() ** p for yj in y]) for xi in x])


def test_squared_euclidean_matches_pot_dist():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=torch.float64)
    y = torch.randn(5, 3, generator=g, dtype=torch.float64)
    expected = torch.as_tensor(ot.dist(x.numpy(), y.numpy()))
    torch.testing.assert_close(cost_matrix(x, y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("p", [1, 1.5, 3])
def test_other_powers_match_naive_loop(p):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 4, generator=g, dtype=torch.float64)
    y = torch.randn(3, 4, generator=g, dtype=torch.float64)
    torch.testing.assert_close(cost_matrix(x, y, p=p), naive_cost(x, y, p))


def test_batch_dims_equal_a_loop():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 3, 5, 2, generator=g, dtype=torch.float64)
    y = torch.randn(2, 3, 4, 2, generator=g, dtype=torch.float64)
    batched = cost_matrix(x, y)
    assert batched.shape == (2, 3, 5, 4)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(batched[i, j], naive_cost(x[i, j], y[i, j], 2))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 4), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_nonnegative_and_zero_on_the_diagonal(n, d, scale, seed):
    x = scale * torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    M = cost_matrix(x, x)
    assert bool((M >= 0).all())
    torch.testing.assert_close(M, M.T)
    assert M.diagonal().abs().max().item() <= 1e-10 * scale**2


def test_bad_inputs_raise_naming_the_argument():
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match="x"):
        cost_matrix(torch.randn(4), x)
    with pytest.raises(ValueError, match="d"):
        cost_matrix(x, torch.randn(4, 3))
    with pytest.raises(ValueError, match="batch"):
        cost_matrix(torch.randn(2, 4, 2), torch.randn(3, 4, 2))
    with pytest.raises(ValueError, match="y"):
        cost_matrix(x, torch.full((3, 2), float("nan")))
    with pytest.raises(ValueError, match="p"):
        cost_matrix(x, x, p=-1)
    with pytest.raises(TypeError, match="dtype"):
        cost_matrix(x, x.double())

"""TT-matrices: dense reconstruction against tensorly, TT-SVD round trip, counts, init scale, bad inputs."""

import math

import pytest
import tensorly as tl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.tt_matrix import tt_matrix_to_matrix as tensorly_tt_matrix_to_matrix

from paperlab.models import TTMatrix, balanced_factors, tt_matrix_to_matrix


@settings(max_examples=25, deadline=None)
@given(
    shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=3),
    rank=st.integers(1, 3),
    seed=st.integers(0, 1000),
)
def test_dense_matrix_matches_tensorly(shapes, rank, seed):
    out_shape = [m for m, _ in shapes]
    in_shape = [n for _, n in shapes]
    layer = TTMatrix(out_shape, in_shape, rank, init_std=1.0, generator=seed, dtype=torch.float64)
    cores = [core.detach().numpy() for core in layer.cores]
    expected = tensorly_tt_matrix_to_matrix([tl.tensor(core) for core in cores])
    torch.testing.assert_close(layer.matrix(), torch.as_tensor(expected))
    x = torch.randn(
        5, math.prod(in_shape), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    torch.testing.assert_close(layer(x), x @ torch.as_tensor(expected).T)


def test_from_matrix_is_exact_at_full_rank_and_truncates_below():
    generator = torch.Generator().manual_seed(0)
    matrix = torch.randn(12, 8, generator=generator, dtype=torch.float64)
    full = TTMatrix.from_matrix(matrix, (3, 4), (2, 4))
    torch.testing.assert_close(full.matrix(), matrix)
    low = TTMatrix.from_matrix(matrix, (3, 4), (2, 4), max_rank=1)
    assert low.ranks == (1, 1, 1)
    # rank 1 keeps the best Kronecker-product approximation: error equals the discarded singular values
    paired = matrix.reshape(3, 4, 2, 4).permute(0, 2, 1, 3).reshape(6, 16)
    s = torch.linalg.svdvals(paired)
    torch.testing.assert_close(torch.linalg.norm(low.matrix() - matrix), s[1:].norm())


def test_parameter_count_and_initial_scale():
    layer = TTMatrix((4, 8, 2), (2, 4, 4), rank=[3, 2], init_std=0.5, generator=0, dtype=torch.float64)
    assert layer.parameter_count() == 1 * 4 * 2 * 3 + 3 * 8 * 4 * 2 + 2 * 2 * 4 * 1
    assert layer.ranks == (1, 3, 2, 1)
    stds = [
        TTMatrix((8, 8), (8, 8), 4, init_std=0.5, generator=s, dtype=torch.float64).matrix().detach().std()
        for s in range(20)
    ]
    assert abs(float(torch.stack(stds).mean()) - 0.5) < 0.05


def test_zero_last_gives_a_zero_matrix_with_a_gradient_on_the_last_core():
    layer = TTMatrix((2, 3), (4, 2), 2, zero_last=True, generator=0, dtype=torch.float64)
    assert torch.equal(layer.matrix(), torch.zeros(6, 8, dtype=torch.float64))
    layer.matrix().sum().backward()
    assert layer.cores[1].grad.abs().sum() > 0 and layer.cores[0].grad.abs().sum() == 0


def test_gradcheck_of_the_reconstruction():
    cores = [torch.randn(1, 2, 3, 2, dtype=torch.float64, requires_grad=True),
             torch.randn(2, 2, 2, 1, dtype=torch.float64, requires_grad=True)]  # fmt: skip
    assert torch.autograd.gradcheck(lambda a, b: tt_matrix_to_matrix([a, b]), cores)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5000), n_factors=st.integers(1, 4))
def test_balanced_factors_multiply_back(n, n_factors):
    factors = balanced_factors(n, n_factors)
    assert len(factors) == n_factors and math.prod(factors) == n
    assert list(factors) == sorted(factors, reverse=True)


def test_balanced_factors_examples():
    assert balanced_factors(32, 2) == (8, 4)
    assert balanced_factors(96, 3) == (6, 4, 4)
    assert balanced_factors(7, 2) == (7, 1)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="same length"):
        TTMatrix((2, 2), (4,), 1)
    with pytest.raises(ValueError, match="rank"):
        TTMatrix((2, 2, 2), (2, 2, 2), [1])
    with pytest.raises(ValueError, match="out_shape"):
        TTMatrix(4, (4,), 1)
    with pytest.raises(ValueError, match="init_std"):
        TTMatrix((2,), (2,), 1, init_std=0.0)
    with pytest.raises(ValueError, match="x must have shape"):
        TTMatrix((2, 2), (2, 3), 1)(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="does not match"):
        TTMatrix.from_matrix(torch.zeros(4, 6), (2, 2), (2, 2))
    with pytest.raises(TypeError, match="cores"):
        tt_matrix_to_matrix(torch.zeros(1, 2, 2, 1))
    with pytest.raises(ValueError, match="n_factors"):
        balanced_factors(4, 0)


def test_mismatched_core_ranks_raise():
    with pytest.raises(ValueError, match="cores\\[1\\] must start with rank 2"):
        tt_matrix_to_matrix([torch.zeros(1, 2, 2, 2), torch.zeros(3, 2, 2, 1)])
    with pytest.raises(ValueError, match="rank 1"):
        tt_matrix_to_matrix([torch.zeros(2, 2, 2, 1)])

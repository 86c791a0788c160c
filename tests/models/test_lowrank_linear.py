"""Tests of the factorized linear layer W = U V^T."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import LowRankLinear


def _linear(in_features, out_features, seed, bias=True):
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features, bias=bias, dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(
    in_features=st.integers(2, 9),
    out_features=st.integers(2, 9),
    rank_fraction=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_from_linear_is_the_eckart_young_optimum(in_features, out_features, rank_fraction, seed):
    linear = _linear(in_features, out_features, seed)
    rank = 1 + int(rank_fraction * (min(in_features, out_features) - 1))
    layer = LowRankLinear.from_linear(linear, rank)
    weight = linear.weight.detach().numpy()
    singular_values = np.linalg.svd(weight, compute_uv=False)
    error = np.linalg.norm(layer.weight.detach().numpy() - weight)
    # Eckart-Young: the best rank-r Frobenius error is the norm of the discarded singular values.
    np.testing.assert_allclose(error, np.linalg.norm(singular_values[rank:]), atol=1e-10)
    assert np.linalg.matrix_rank(layer.weight.detach().numpy(), tol=1e-9) == rank


def test_full_rank_copy_reproduces_the_layer_outputs():
    linear = _linear(6, 4, seed=3)
    layer = LowRankLinear.from_linear(linear, 4)
    x = torch.randn(5, 2, 6, dtype=torch.float64)
    torch.testing.assert_close(layer(x), linear(x))
    assert layer.U.shape == (4, 4) and layer.V.shape == (6, 4)


def test_forward_matches_dense_weight_and_counts_parameters():
    layer = LowRankLinear(7, 5, rank=2, generator=0, dtype=torch.float64)
    x = torch.randn(3, 7, dtype=torch.float64)
    torch.testing.assert_close(layer(x), x @ layer.weight.T + layer.bias)
    assert layer.parameter_count() == 2 * (7 + 5) + 5
    assert LowRankLinear(7, 5, rank=2, bias=False).parameter_count() == 2 * (7 + 5)


def test_bias_free_linear_and_dtype_are_kept():
    layer = LowRankLinear.from_linear(_linear(5, 3, seed=1, bias=False), 2)
    assert layer.bias is None and layer.U.dtype == torch.float64


def test_initialization_is_seeded_and_gradients_reach_both_factors():
    first, second = LowRankLinear(6, 4, 3, generator=11), LowRankLinear(6, 4, 3, generator=11)
    torch.testing.assert_close(first.U, second.U)
    first(torch.randn(2, 6)).sum().backward()
    assert first.U.grad.abs().sum() > 0 and first.V.grad.abs().sum() > 0


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(in_features=0, out_features=3, rank=1), ValueError),
        (dict(in_features=4, out_features=3, rank=4), ValueError),
        (dict(in_features=4, out_features=3, rank=1.5), TypeError),
        (dict(in_features=4, out_features=3, rank=2, bias=1), TypeError),
    ],
)
def test_bad_constructor_arguments(kwargs, error):
    with pytest.raises(error):
        LowRankLinear(**kwargs)


def test_bad_inputs():
    with pytest.raises(TypeError, match="linear"):
        LowRankLinear.from_linear(nn.Conv1d(2, 2, 1), 1)
    with pytest.raises(ValueError, match="rank"):
        LowRankLinear.from_linear(nn.Linear(3, 2), 3)
    with pytest.raises(ValueError, match="x must have shape"):
        LowRankLinear(4, 3, 2)(torch.randn(2, 5))

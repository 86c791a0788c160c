"""Tests of the dense-sparse layer W = (S * M) D and of its straight-through factorizer."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import DenseSparseLinear, STFLinear
from paperlab.solvers import dense_sparse_factorize


def _linear(in_features, out_features, seed):
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features, dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(in_features=st.integers(3, 8), out_features=st.integers(3, 8), seed=st.integers(0, 999))
def test_forward_and_backward_match_the_dense_product(in_features, out_features, seed):
    k = min(in_features, out_features) - 1
    layer = DenseSparseLinear.from_linear(_linear(in_features, out_features, seed), k, 2)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, in_features, generator=g, dtype=torch.float64)
    probe = torch.randn(2, 3, out_features, generator=g, dtype=torch.float64)
    out = layer(x)
    torch.testing.assert_close(out, x @ layer.weight.T + layer.bias)
    (probe * out).sum().backward()
    G = torch.einsum("...o,...i->oi", probe, x)  # dL/dW, (out, in)
    masked = layer.sparse.detach() * layer.mask
    torch.testing.assert_close(layer.dense.grad, masked.T @ G)
    torch.testing.assert_close(layer.sparse.grad, (G @ layer.dense.detach().T) * layer.mask)
    assert torch.equal(layer.mask.sum(dim=1), torch.full((out_features,), 2))


def test_from_linear_factorizes_the_transposed_weight_and_counts_parameters():
    linear = _linear(16, 24, 0)
    layer = DenseSparseLinear.from_linear(linear, 8, 3)
    fit = dense_sparse_factorize(linear.weight.detach().T, 8, 3)
    torch.testing.assert_close(layer.weight, fit.to_matrix().T)
    torch.testing.assert_close(layer.bias, linear.bias)
    assert layer.parameter_count() == 8 * 16 + 24 * 3 + 24
    assert layer.dense.shape == (8, 16) and layer.sparse.shape == (24, 8)


def test_stf_forward_uses_the_factorization_and_passes_the_gradient_straight_through():
    linear = _linear(10, 12, 1)
    layer = STFLinear(linear, 5, 2)
    x = torch.randn(7, 10, dtype=torch.float64)
    probe = torch.randn(7, 12, dtype=torch.float64)
    out = layer(x)  # training mode: refreshes the factors from W first
    factorized = layer.factorized_weight
    assert not torch.allclose(factorized, layer.weight)
    torch.testing.assert_close(out, x @ factorized.T + layer.bias)
    (probe * out).sum().backward()
    torch.testing.assert_close(layer.weight.grad, probe.T @ x)  # dL/dW_hat handed to W unchanged
    assert torch.equal(layer.mask.sum(dim=1), torch.full((12,), 2))
    torch.testing.assert_close(layer.sparse * ~layer.mask, torch.zeros_like(layer.sparse))


def test_stf_refresh_follows_the_latent_weight_and_eval_mode_freezes_the_factors():
    layer = STFLinear(_linear(10, 12, 2), 5, 2)
    x = torch.randn(4, 10, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(12, 5, dtype=torch.float64) @ torch.randn(5, 10, dtype=torch.float64))
    layer.eval()
    frozen = layer(x)
    torch.testing.assert_close(layer(x), frozen)
    layer.train()
    for _ in range(30):
        layer(x)
    relative = torch.linalg.matrix_norm(layer.factorized_weight - layer.weight) / torch.linalg.matrix_norm(
        layer.weight
    )
    assert relative < 0.9  # a rank-5 latent weight is approximated by 5 atoms with 2 codes per row
    compressed = layer.eval().to_dense_sparse()
    torch.testing.assert_close(compressed(x), layer(x))


def test_bad_inputs():
    dense, sparse = torch.zeros(3, 4), torch.zeros(5, 3)
    mask = torch.zeros(5, 3, dtype=torch.bool)
    mask[:, 0] = True
    DenseSparseLinear(sparse, mask, dense)  # valid
    with pytest.raises(ValueError, match="agree"):
        DenseSparseLinear(sparse, mask, torch.zeros(2, 4))
    with pytest.raises(TypeError, match="mask"):
        DenseSparseLinear(sparse, mask.float(), dense)
    uneven = mask.clone()
    uneven[0, 1] = True
    with pytest.raises(ValueError, match="every row"):
        DenseSparseLinear(sparse, uneven, dense)
    with pytest.raises(ValueError, match="bias"):
        DenseSparseLinear(sparse, mask, dense, bias=torch.zeros(4))
    with pytest.raises(TypeError, match="linear"):
        DenseSparseLinear.from_linear(nn.Conv1d(2, 2, 1), 1, 1)
    with pytest.raises(TypeError, match="linear"):
        STFLinear("linear", 2, 1)
    with pytest.raises(ValueError, match="n_atoms"):
        STFLinear(nn.Linear(4, 3), 4, 1)
    with pytest.raises(ValueError, match="x must have shape"):
        DenseSparseLinear(sparse, mask, dense)(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="x must have shape"):
        STFLinear(nn.Linear(4, 3), 2, 1)(torch.zeros(2, 3))

"""DSEE layer: support from the low-rank residual, equals its dense update, zero start, counts, bad inputs."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import SparseLowRankLinear, count_trainable_parameters, residual_support


def _base(in_features=10, out_features=7):
    torch.manual_seed(0)
    return nn.Linear(in_features, out_features).double()


def _x(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("decomposition_rank", [0, 1, 3])
def test_support_is_the_largest_residual_of_the_truncated_svd(decomposition_rank):
    weight = torch.randn(9, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    index = residual_support(weight, 6, decomposition_rank=decomposition_rank)
    u, s, vt = np.linalg.svd(weight.numpy())  # numpy oracle for the rank-k part
    k = decomposition_rank
    residual = weight.numpy() - (u[:, :k] * s[:k]) @ vt[:k]
    expected = np.sort(np.argsort(-np.abs(residual).reshape(-1))[:6])
    assert index.tolist() == expected.tolist()


def test_zero_initialised_update_leaves_the_base_output_unchanged():
    base = _base()
    x = _x(3, 10)
    expected = base(x)
    layer = SparseLowRankLinear(base, rank=2, n_sparse=5, generator=0)
    assert torch.equal(layer(x), expected)


@settings(max_examples=25, deadline=None)
@given(rank=st.integers(1, 4), n_sparse=st.integers(1, 70), seed=st.integers(0, 999))
def test_forward_and_backward_equal_the_dense_update(rank, n_sparse, seed):
    base = _base()
    layer = SparseLowRankLinear(base, rank=rank, n_sparse=n_sparse, generator=seed)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in (layer.lora_A, layer.lora_B, layer.sparse_values):
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    S = torch.zeros(7 * 10, dtype=torch.float64)
    S[layer.sparse_index] = layer.sparse_values.detach()
    S = S.reshape(7, 10)
    assert int((S != 0).sum()) <= n_sparse
    x = _x(6, 10, seed=seed)
    out = layer(x)
    dense = F.linear(x, base.weight + layer.lora_B @ layer.lora_A + S, base.bias)
    torch.testing.assert_close(out, dense)
    torch.testing.assert_close(layer.merged()(x), dense)
    upstream = _x(6, 7, seed=seed + 1)
    grads = torch.autograd.grad((out * upstream).sum(), [layer.sparse_values, layer.lora_A, layer.lora_B])
    full_gradient = upstream.T @ x  # dL/dW of a dense layer, (out, in)
    torch.testing.assert_close(grads[0], full_gradient.reshape(-1)[layer.sparse_index])
    torch.testing.assert_close(grads[1], layer.lora_B.T @ full_gradient)
    torch.testing.assert_close(grads[2], full_gradient @ layer.lora_A.T)


def test_parameter_count_matches_the_formula():
    layer = SparseLowRankLinear(_base(10, 7), rank=3, n_sparse=11)
    assert count_trainable_parameters(layer) == 3 * (10 + 7) + 11
    assert layer.sparse_index.numel() == 11 and layer.sparse_index.unique().numel() == 11


def test_bad_inputs_raise():
    weight = torch.randn(4, 5)
    with pytest.raises(ValueError, match="n_sparse"):
        residual_support(weight, 21, 1)
    with pytest.raises(ValueError, match="n_sparse"):
        residual_support(weight, 0, 1)
    with pytest.raises(ValueError, match="decomposition_rank"):
        residual_support(weight, 3, 5)
    with pytest.raises(ValueError, match="weight"):
        residual_support(torch.full((3, 3), float("nan")), 2, 1)
    with pytest.raises(ValueError, match="x must have shape"):
        SparseLowRankLinear(_base(), 2, 3)(torch.zeros(2, 9, dtype=torch.float64))


def test_prune_masks_the_adapted_weight_and_keeps_forward_consistent():
    base = _base(10, 8)
    layer = SparseLowRankLinear(base, rank=2, n_sparse=6, generator=0)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for parameter in (layer.lora_B, layer.sparse_values):
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=torch.float64))
    full = (base.weight + layer.delta_weight()).detach()
    assert layer.prune_(0.5) == 0.5
    kept = layer.weight_mask.bool()
    assert full[~kept].abs().max() <= full[kept].abs().min()
    x = _x(4, 10)
    out = layer(x)
    torch.testing.assert_close(out, F.linear(x, full * kept, base.bias))
    merged = layer.merged()
    assert float((merged.weight == 0).double().mean()) == 0.5
    torch.testing.assert_close(merged(x), out)
    # the mask stays fixed while U, V, S keep training: gradients flow only through kept entries
    grad_S = torch.autograd.grad((out * _x(4, 8, seed=9)).sum(), layer.sparse_values)[0]
    dropped = ~kept.reshape(-1)[layer.sparse_index]
    assert torch.all(grad_S[dropped] == 0)
    assert layer.prune_(0.25, structured="rows") == 0.25
    assert int(layer.weight_mask.all(dim=1).sum()) == 6
    with pytest.raises(ValueError, match="structured"):
        layer.prune_(0.5, structured="heads")
    with pytest.raises(ValueError, match="sparsity"):
        layer.prune_(1.5)

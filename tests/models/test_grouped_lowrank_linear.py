"""Tests of the channel-grouped low-rank layer W = [U_1 V_1^T, ..., U_k V_k^T]."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import GroupedLowRankLinear, LowRankLinear
from paperlab.solvers import grouped_svd_errors


def _linear(in_features, out_features, seed):
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features, dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(
    in_features=st.integers(3, 9),
    out_features=st.integers(2, 7),
    k=st.integers(1, 3),
    seed=st.integers(0, 999),
)
def test_forward_and_backward_match_the_dense_product(in_features, out_features, k, seed):
    layer = GroupedLowRankLinear.from_linear(_linear(in_features, out_features, seed), k, 1)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, in_features, generator=g, dtype=torch.float64)
    probe = torch.randn(2, 3, out_features, generator=g, dtype=torch.float64)
    out = layer(x)
    torch.testing.assert_close(out, x @ layer.weight.T + layer.bias)
    (probe * out).sum().backward()
    G = torch.einsum("...o,...i->oi", probe, x)  # dL/dW, (out, in)
    start = 0
    for u, v, size in zip(layer.U, layer.V, layer.group_sizes):
        G_g = G[:, start : start + size]  # (out, in_g)
        torch.testing.assert_close(u.grad, G_g @ v.detach())
        torch.testing.assert_close(v.grad, G_g.T @ u.detach())
        start += size


def test_one_group_is_the_truncated_svd_and_full_rank_groups_are_exact():
    linear = _linear(12, 9, 0)
    torch.testing.assert_close(
        GroupedLowRankLinear.from_linear(linear, 1, 4).weight, LowRankLinear.from_linear(linear, 4).weight
    )
    exact = GroupedLowRankLinear.from_linear(linear, 3, 4)  # groups of 4 columns at rank 4
    torch.testing.assert_close(exact.weight, linear.weight)
    assert exact.parameter_count() == 4 * (3 * 9 + 12) + 9


def test_spectral_error_is_within_the_alds_bound():
    linear = _linear(16, 10, 1)
    bounds = grouped_svd_errors(linear.weight.detach(), 4)
    for rank in (1, 2, 3):
        layer = GroupedLowRankLinear.from_linear(linear, 4, rank)
        error = torch.linalg.matrix_norm(layer.weight - linear.weight, ord=2) / torch.linalg.matrix_norm(
            linear.weight, ord=2
        )
        assert error <= bounds[rank - 1] + 1e-10


def test_bad_inputs():
    with pytest.raises(TypeError, match="linear"):
        GroupedLowRankLinear.from_linear("linear", 1, 1)
    with pytest.raises(ValueError, match="n_groups"):
        GroupedLowRankLinear.from_linear(nn.Linear(3, 4), 4, 1)
    with pytest.raises(ValueError, match="rank"):
        GroupedLowRankLinear.from_linear(nn.Linear(6, 4), 2, 4)
    with pytest.raises(ValueError, match="equal length"):
        GroupedLowRankLinear([torch.zeros(4, 2)], [])
    with pytest.raises(ValueError, match="group 1"):
        GroupedLowRankLinear([torch.zeros(4, 2), torch.zeros(4, 3)], [torch.zeros(3, 2), torch.zeros(3, 3)])
    with pytest.raises(ValueError, match="x must have shape"):
        GroupedLowRankLinear.from_linear(nn.Linear(6, 4), 2, 1)(torch.zeros(2, 5))

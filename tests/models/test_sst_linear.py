"""Tests of the sparse-spectral-training layer W = U diag(s) V^T with sampled trained vectors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.models import SSTLinear, reset_optimizer_state_, sst_linear


def _layer(in_features, out_features, rank, seed, **kwargs):
    return SSTLinear(in_features, out_features, rank, generator=seed, dtype=torch.float64, **kwargs)


def _dense_weight_gradient(layer, x, probe):
    """dL/dW of L = <probe, x W^T + b> computed on a plain dense weight (the independent reference)."""
    weight = layer.weight.detach().clone().requires_grad_(True)
    (probe * (x @ weight.T + layer.bias.detach())).sum().backward()
    return weight.grad


@settings(max_examples=25, deadline=None)
@given(
    in_features=st.integers(2, 9),
    out_features=st.integers(2, 9),
    rank_fraction=st.floats(0.0, 1.0),
    enhanced=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_forward_and_backward_match_the_dense_product(
    in_features, out_features, rank_fraction, enhanced, seed
):
    rank = 1 + int(rank_fraction * (min(in_features, out_features) - 1))
    layer = _layer(in_features, out_features, rank, seed, enhanced_gradient=enhanced)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 2, in_features, generator=g, dtype=torch.float64)
    probe = torch.randn(3, 2, out_features, generator=g, dtype=torch.float64)
    out = layer(x)
    torch.testing.assert_close(out, x @ layer.weight.T + layer.bias)
    (probe * out).sum().backward()
    G = _dense_weight_gradient(layer, x, probe)  # (out, in)
    U, S, V, active = layer.U.detach(), layer.S.detach(), layer.V.detach(), layer.active
    torch.testing.assert_close(layer.S.grad, torch.einsum("oi,om,im->m", G, U, V))
    scale = torch.ones(rank, dtype=torch.float64) if enhanced else S[active]
    expected_U, expected_V = torch.zeros_like(U), torch.zeros_like(V)
    expected_U[:, active] = (G @ V[:, active]) * scale
    expected_V[:, active] = (G.T @ U[:, active]) * scale
    torch.testing.assert_close(layer.U.grad, expected_U)
    torch.testing.assert_close(layer.V.grad, expected_V)
    torch.testing.assert_close(layer.bias.grad, probe.sum(dim=(0, 1)))


def test_gradcheck_of_the_true_gradient_when_every_pair_is_active():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    U = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    S = torch.rand(3, generator=g, dtype=torch.float64, requires_grad=True)
    V = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    active = torch.arange(3)

    def f(x, U, S, V, bias):
        return sst_linear(x, U, S, V, active, bias, enhanced_gradient=False)

    assert torch.autograd.gradcheck(f, (x, U, S, V, bias))


def test_resvd_keeps_the_weight_and_restores_orthonormal_factors():
    layer = _layer(7, 5, 2, seed=3)
    with torch.no_grad():
        layer.U.add_(0.1 * torch.randn_like(layer.U))
        layer.S.mul_(-1.0)
    before = layer.weight.detach().clone()
    layer.resvd_()
    torch.testing.assert_close(layer.weight, before)
    torch.testing.assert_close(layer.U.T @ layer.U, torch.eye(5, dtype=torch.float64))
    torch.testing.assert_close(layer.V.T @ layer.V, torch.eye(5, dtype=torch.float64))
    assert (layer.S >= 0).all() and (layer.S[:-1] >= layer.S[1:]).all()


def test_initial_factors_are_the_svd_of_a_linear_scaled_weight():
    layer = _layer(16, 8, 3, seed=0)
    singular_values = np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)
    np.testing.assert_allclose(layer.S.detach().numpy(), singular_values, atol=1e-12)
    assert layer.weight.abs().max() <= 1 / 4 + 1e-12  # nn.Linear's U(-1/sqrt(in), 1/sqrt(in))


def test_resample_draws_distinct_indices_with_probability_proportional_to_s():
    layer = _layer(4, 4, 1, seed=0)
    with torch.no_grad():
        layer.S.copy_(torch.tensor([4.0, 3.0, -2.0, 1.0], dtype=torch.float64))
    g = torch.Generator().manual_seed(5)
    counts = torch.bincount(torch.cat([layer.resample_(g).clone() for _ in range(4000)]), minlength=4)
    np.testing.assert_allclose(counts.numpy() / 4000, [0.4, 0.3, 0.2, 0.1], atol=0.03)
    wide = _layer(9, 9, 6, seed=1)
    for _ in range(20):
        chosen = wide.resample_(g)
        assert len(set(chosen.tolist())) == 6 and torch.equal(chosen, chosen.sort().values)


def test_inactive_vectors_do_not_move_under_adam_after_a_state_reset():
    layer = _layer(6, 6, 2, seed=2)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    x = torch.randn(8, 6, dtype=torch.float64)
    for round_ in range(3):
        reset_optimizer_state_(optimizer, [layer.U, layer.V, layer.S])
        layer.resample_(round_)
        inactive = [i for i in range(6) if i not in layer.active.tolist()]
        frozen_U, frozen_V = layer.U[:, inactive].detach().clone(), layer.V[:, inactive].detach().clone()
        S_before = layer.S.detach().clone()
        for _ in range(2):
            optimizer.zero_grad()
            layer(x).square().sum().backward()
            optimizer.step()
        torch.testing.assert_close(layer.U[:, inactive], frozen_U, rtol=0, atol=0)
        torch.testing.assert_close(layer.V[:, inactive], frozen_V, rtol=0, atol=0)
        assert not torch.equal(layer.S, S_before)  # every singular value is trained


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(in_features=0, out_features=3, rank=1), ValueError),
        (dict(in_features=4, out_features=3, rank=4), ValueError),
        (dict(in_features=4, out_features=3, rank=2.0), TypeError),
        (dict(in_features=4, out_features=3, rank=2, bias="yes"), TypeError),
        (dict(in_features=4, out_features=3, rank=2, enhanced_gradient=1), TypeError),
        (dict(in_features=4, out_features=3, rank=2, generator=-1), ValueError),
    ],
)
def test_bad_constructor_arguments(kwargs, error):
    with pytest.raises(error):
        SSTLinear(**kwargs)


def test_bad_inputs():
    layer = SSTLinear(4, 3, 2)
    with pytest.raises(ValueError, match="x must have shape"):
        layer(torch.randn(2, 5))
    with pytest.raises(ValueError, match="x must have shape"):
        layer([1.0, 2.0])
    with pytest.raises(TypeError, match="active"):
        sst_linear(torch.randn(2, 4), layer.U, layer.S, layer.V, [0, 1])

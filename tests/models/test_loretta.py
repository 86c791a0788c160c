"""LoRETTA layers: TT-LoRA equals its dense update, the TT adapter equals a dense adapter, zero start."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import TTAdapter, TTLoRALinear, TTMatrix, count_trainable_parameters


def _x(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _randomize_(module, seed=3):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            if parameter.requires_grad:
                parameter.copy_(
                    torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * 0.5
                )


def _base(in_features=12, out_features=8):
    torch.manual_seed(0)
    return nn.Linear(in_features, out_features).double()


def test_tt_lora_starts_as_the_base_layer_with_a_nonzero_gradient():
    base = _base()
    x = _x(4, 12)
    expected = base(x)
    layer = TTLoRALinear(base, rank=4, tt_rank=2, n_modes=2, generator=0)
    out = layer(x)
    assert torch.equal(out, expected)
    out.sum().backward()
    assert layer.lora_B.cores[-1].grad.abs().sum() > 0


@settings(max_examples=25, deadline=None)
@given(
    rank=st.sampled_from([2, 4, 6]),
    tt_rank=st.integers(1, 3),
    n_modes=st.integers(1, 3),
    seed=st.integers(0, 999),
)
def test_tt_lora_forward_and_backward_equal_the_dense_update(rank, tt_rank, n_modes, seed):
    base = _base()
    layer = TTLoRALinear(base, rank=rank, tt_rank=tt_rank, n_modes=n_modes, alpha=2.0, generator=seed)
    _randomize_(layer, seed)
    x = _x(5, 12, seed=seed)
    out = layer(x)
    A, B = layer.lora_A.matrix(), layer.lora_B.matrix()
    assert A.shape == (rank, 12) and B.shape == (8, rank)
    dense = F.linear(x, base.weight + 2.0 / rank * B @ A, base.bias)
    torch.testing.assert_close(out, dense)
    torch.testing.assert_close(layer.delta_weight(), 2.0 / rank * B @ A)
    cores = [*layer.lora_A.cores, *layer.lora_B.cores]
    upstream = _x(5, 8, seed=seed + 1)
    for got, expected in zip(
        torch.autograd.grad((out * upstream).sum(), cores),
        torch.autograd.grad((dense * upstream).sum(), cores),
    ):
        torch.testing.assert_close(got, expected)


def test_tt_lora_parameter_count_matches_the_formula():
    layer = TTLoRALinear(_base(32, 96), rank=4, tt_rank=2, n_modes=3)
    # A: (2, 2, 1) x (4, 4, 2); B: (6, 4, 4) x (2, 2, 1); sum_k r_{k-1} m_k n_k r_k
    a_count = 1 * 2 * 4 * 2 + 2 * 2 * 4 * 2 + 2 * 1 * 2 * 1
    b_count = 1 * 6 * 2 * 2 + 2 * 4 * 2 * 2 + 2 * 4 * 1 * 1
    assert count_trainable_parameters(layer) == a_count + b_count
    assert a_count + b_count < 4 * (32 + 96)


def test_tt_adapter_starts_as_identity_and_equals_a_dense_bottleneck():
    h = _x(3, 5, 12)
    adapter = TTAdapter(12, 6, tt_rank=2, n_modes=2, generator=0, dtype=torch.float64)
    assert torch.equal(adapter(h), h)
    _randomize_(adapter)
    D, U = adapter.down.matrix(), adapter.up.matrix()
    dense = h + F.gelu(h @ D.T + adapter.down_bias) @ U.T + adapter.up_bias
    torch.testing.assert_close(adapter(h), dense)
    count = adapter.down.parameter_count() + adapter.up.parameter_count() + 6 + 12
    assert count_trainable_parameters(adapter) == count


def test_tt_adapter_gradcheck_in_float64():
    adapter = TTAdapter(6, 4, tt_rank=2, n_modes=2, bias=False, generator=0, dtype=torch.float64)
    _randomize_(adapter)
    h = _x(2, 6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda h, *cores: adapter(h), (h, *adapter.down.cores, *adapter.up.cores))


def test_tt_matrix_equals_lora_factor_shapes():
    layer = TTLoRALinear(_base(), rank=4, tt_rank=1, n_modes=2)
    assert isinstance(layer.lora_A, TTMatrix) and layer.lora_A.out_shape == (2, 2)


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="base"):
        TTLoRALinear(nn.Identity(), 2, 1)
    with pytest.raises(ValueError, match="rank"):
        TTLoRALinear(_base(), 9, 1)
    with pytest.raises(ValueError, match="tt_rank"):
        TTLoRALinear(_base(), 2, 0)
    with pytest.raises(ValueError, match="n_modes"):
        TTAdapter(8, 4, 1, n_modes=0)
    with pytest.raises(TypeError, match="bias"):
        TTAdapter(8, 4, 1, bias=1)
    with pytest.raises(ValueError, match="h must have shape"):
        TTAdapter(8, 4, 1)(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="x must have shape"):
        TTLoRALinear(_base(), 2, 1)(torch.zeros(2, 7, dtype=torch.float64))

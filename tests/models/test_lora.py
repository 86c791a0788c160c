"""LoRA: equals its dense update in forward and backward, starts as the base layer, counts, bad inputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.models import LoRALinear, count_trainable_parameters, merged_linear, replace_linear_layers


def _base(in_features=6, out_features=5, seed=0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features).double()


def _x(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _randomize_(layer, seed=2):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in layer.parameters():
            if parameter.requires_grad:
                parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))


def test_zero_initialised_update_leaves_the_base_output_unchanged():
    base = _base()
    x = _x(3, 4, 6)
    expected = base(x)
    layer = LoRALinear(base, rank=2, generator=0)
    assert torch.equal(layer(x), expected)
    assert torch.equal(layer.delta_weight(), torch.zeros(5, 6, dtype=torch.float64))


@settings(max_examples=25, deadline=None)
@given(rank=st.integers(1, 5), alpha=st.floats(0.5, 8.0), seed=st.integers(0, 1000))
def test_forward_and_backward_equal_the_dense_update(rank, alpha, seed):
    base = _base()
    layer = LoRALinear(base, rank=rank, alpha=alpha, generator=seed)
    _randomize_(layer, seed)
    x = _x(7, 6, seed=seed + 1)
    out = layer(x)
    dense = x @ (base.weight + alpha / rank * layer.lora_B @ layer.lora_A).T + base.bias
    torch.testing.assert_close(out, dense)
    upstream = _x(7, 5, seed=seed + 2)
    grads = torch.autograd.grad((out * upstream).sum(), [layer.lora_A, layer.lora_B])
    dense_grads = torch.autograd.grad((dense * upstream).sum(), [layer.lora_A, layer.lora_B])
    for got, expected in zip(grads, dense_grads):
        torch.testing.assert_close(got, expected)
    # closed form: dL/dB = s G^T x A^T, dL/dA = s B^T G^T x with G the upstream gradient
    s = alpha / rank
    torch.testing.assert_close(grads[1], s * upstream.T @ x @ layer.lora_A.T)
    torch.testing.assert_close(grads[0], s * layer.lora_B.T @ upstream.T @ x)


def test_gradcheck_in_float64():
    layer = LoRALinear(_base(), rank=2, generator=0)
    _randomize_(layer)
    x = _x(3, 6).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x, a, b: layer(x), (x, layer.lora_A, layer.lora_B))


def test_base_is_frozen_and_parameter_count_matches_the_formula():
    layer = LoRALinear(_base(6, 5), rank=3)
    assert count_trainable_parameters(layer) == 3 * (6 + 5)
    assert not layer.base.weight.requires_grad and not layer.base.bias.requires_grad


def test_merged_layer_equals_the_adapted_layer():
    layer = LoRALinear(_base(), rank=2, generator=0)
    _randomize_(layer)
    x = _x(4, 6)
    merged = layer.merged()
    assert isinstance(merged, nn.Linear)
    torch.testing.assert_close(merged(x), layer(x))


def test_replace_linear_layers_adapts_only_the_matching_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 3)))
    x = torch.randn(5, 4)
    expected = model(x)
    names = replace_linear_layers(model, lambda lin: LoRALinear(lin, 2), include=lambda n: n.startswith("2."))
    assert names == ["2.0", "2.1"]
    assert isinstance(model[0], nn.Linear) and isinstance(model[2][1], LoRALinear)
    torch.testing.assert_close(model(x), expected)
    model[0].requires_grad_(False)
    assert count_trainable_parameters(model) == 2 * (8 + 8) + 2 * (8 + 3)


def test_bad_inputs_raise():
    base = _base(6, 5)
    with pytest.raises(TypeError, match="base"):
        LoRALinear(nn.Conv1d(1, 1, 1), 1)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(base, 6)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(base, 0)
    with pytest.raises(ValueError, match="alpha"):
        LoRALinear(base, 2, alpha=-1.0)
    with pytest.raises(ValueError, match="x must have shape"):
        LoRALinear(base, 2)(torch.zeros(3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="include matched no"):
        replace_linear_layers(nn.Sequential(nn.Linear(2, 2)), nn.Identity, include=lambda n: False)
    with pytest.raises(ValueError, match="delta_weight"):
        merged_linear(base, torch.zeros(6, 5))

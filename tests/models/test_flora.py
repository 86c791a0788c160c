"""FLoRA and the reshaped-LoRA baseline: dense-update equality (forward and backward), zero init, counts, bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.tucker_tensor import tucker_to_tensor as tl_tucker_to_tensor
from torch import nn

from paperlab.models import (
    FLoRA,
    ReshapedLoRA,
    adapt_layers,
    count_trainable_parameters,
    flora_parameter_count,
    reshaped_lora_parameter_count,
)


def conv(seed=0, c_in=3, c_out=5, k=3):
    torch.manual_seed(seed)
    return nn.Conv2d(c_in, c_out, k, padding=1).double()


def randomize_(layer, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype))


def images(seed=2, c=3):
    return torch.randn(4, c, 6, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(
    "adapter", [lambda b: FLoRA(b, (2, 2, 3, 2), generator=0), lambda b: ReshapedLoRA(b, 2, generator=0)]
)
def test_zero_init_leaves_the_base_output_unchanged(adapter):
    base = conv()
    x = images()
    expected = base(x)
    layer = adapter(base)
    assert torch.equal(layer(x), expected)
    assert not base.weight.requires_grad and not base.bias.requires_grad


@settings(max_examples=25, deadline=None)
@given(
    ranks=st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
    scale=st.floats(0.1, 4.0),
    seed=st.integers(0, 1000),
)
def test_flora_update_equals_the_dense_tucker_product(ranks, scale, seed):
    layer = FLoRA(conv(), ranks, scale=scale, generator=seed)
    randomize_(layer, seed)
    core, factors = layer.core, list(layer.factors)
    expected_delta = tl_tucker_to_tensor((core.detach().numpy(), [f.detach().numpy() for f in factors]))
    assert torch.allclose(layer.delta_weight().detach(), torch.from_numpy(expected_delta), atol=1e-12)
    x = images(seed)
    out = layer(x)
    dense_weight = layer.base.weight + scale * torch.einsum("abcd,ia,jb,kc,ld->ijkl", core, *factors)
    dense = F.conv2d(x, dense_weight, layer.base.bias, padding=1)
    torch.testing.assert_close(out, dense)
    upstream = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    params = [core, *factors]
    grads = torch.autograd.grad((out * upstream).sum(), params)
    dense_grads = torch.autograd.grad((dense * upstream).sum(), params)
    for got, expected in zip(grads, dense_grads):
        torch.testing.assert_close(got, expected)


def test_reshaped_lora_update_is_a_reshaped_matrix_product_and_matches_peft_style_convs():
    layer = ReshapedLoRA(conv(), 2, scale=0.5, generator=0)
    randomize_(layer)
    x = images()
    torch.testing.assert_close(layer.delta_weight(), (layer.B @ layer.A).reshape(5, 3, 3, 3))
    # peft writes conv LoRA as a k x k convolution with A followed by a 1 x 1 convolution with B
    low = F.conv2d(x, layer.A.reshape(2, 3, 3, 3), padding=1)
    expected = layer.base(x) + 0.5 * F.conv2d(low, layer.B[:, :, None, None])
    torch.testing.assert_close(layer(x), expected)


def test_gradcheck_float64():
    layer = FLoRA(nn.Linear(4, 3).double(), (2, 2), generator=0)
    randomize_(layer)
    x = torch.randn(5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, g, a, b: layer(x), (x, layer.core, *layer.factors))


def test_parameter_counts_match_the_formulas():
    base = conv(c_in=16, c_out=32)
    flora = FLoRA(base, (4, 4, 3, 3))
    assert count_trainable_parameters(flora) == flora_parameter_count((32, 16, 3, 3), (4, 4, 3, 3))
    assert flora_parameter_count((32, 16, 3, 3), (4, 4, 3, 3)) == 4 * 4 * 3 * 3 + 32 * 4 + 16 * 4 + 9 + 9
    lora = ReshapedLoRA(conv(c_in=16, c_out=32), 2)
    assert (
        count_trainable_parameters(lora) == reshaped_lora_parameter_count((32, 16, 3, 3), 2) == 2 * (32 + 144)
    )
    assert flora_parameter_count((7, 5), 2) == 4 + 2 * 12


def test_factors_start_orthonormal_and_the_core_at_zero():
    layer = FLoRA(conv(c_in=6, c_out=8), (3, 2, 2, 2), generator=4)
    for f in layer.factors:
        torch.testing.assert_close(f.T @ f, torch.eye(f.shape[1], dtype=f.dtype))
    assert torch.count_nonzero(layer.core) == 0


def test_adapt_layers_replaces_named_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)).double()
    x = torch.randn(2, 1, 6, 6, dtype=torch.float64)
    expected = model(x)
    adapt_layers(model, ["0", "3"], lambda layer: FLoRA(layer, 1))
    assert isinstance(model[0], FLoRA) and isinstance(model[3], FLoRA)
    torch.testing.assert_close(model(x), expected)
    with pytest.raises(ValueError, match="names"):
        adapt_layers(model, ["9"], lambda layer: layer)


def test_bad_inputs():
    with pytest.raises(TypeError, match="base"):
        FLoRA(nn.ReLU(), 1)
    with pytest.raises(ValueError, match="ranks"):
        FLoRA(conv(), (2, 2, 3))
    with pytest.raises(ValueError, match="ranks"):
        FLoRA(conv(), (2, 2, 4, 3))
    with pytest.raises(ValueError, match="ranks"):
        FLoRA(conv(), 0)
    with pytest.raises(ValueError, match="scale"):
        FLoRA(conv(), 1, scale=0.0)
    with pytest.raises(ValueError, match="rank"):
        ReshapedLoRA(conv(), 6)
    with pytest.raises(TypeError, match="rank"):
        ReshapedLoRA(conv(), 1.5)

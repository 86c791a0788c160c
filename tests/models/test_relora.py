"""Tests of the ReLoRA restart on top of LoRALinear and of the optimizer-state reset."""

import pytest
import torch
from torch import nn

from paperlab.models import LoRALinear, relora_restart_, reset_optimizer_state_


def _lora(in_features, out_features, rank, seed=0):
    torch.manual_seed(seed)
    return LoRALinear(nn.Linear(in_features, out_features, dtype=torch.float64), rank, generator=seed)


def test_a_restart_keeps_the_function_and_forgets_the_adapter_state():
    layer = _lora(6, 5, 2)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.1)
    x = torch.randn(7, 6, dtype=torch.float64)
    for _ in range(3):
        optimizer.zero_grad()
        layer(x).square().sum().backward()
        optimizer.step()
    before, old_A = layer(x).detach(), layer.lora_A.detach().clone()
    assert layer.lora_A in optimizer.state
    relora_restart_(layer, optimizer, generator=1)
    torch.testing.assert_close(layer(x), before)
    assert torch.count_nonzero(layer.lora_B) == 0 and not torch.equal(layer.lora_A, old_A)
    assert layer.lora_A not in optimizer.state and layer.lora_B not in optimizer.state
    assert layer.lora_A.abs().max() <= 1 / 6**0.5


def test_restarts_let_the_sum_of_rank_one_updates_exceed_rank_one():
    layer = _lora(5, 5, 1)
    start = layer.base.weight.detach().clone()
    for restart in range(3):
        with torch.no_grad():
            layer.lora_B.normal_()
        relora_restart_(layer, generator=restart + 1)
    assert torch.linalg.matrix_rank(layer.base.weight.detach() - start) == 3
    without = _lora(5, 5, 1)  # plain LoRA: one adapter, rank at most 1
    with torch.no_grad():
        without.lora_B.normal_()
    assert torch.linalg.matrix_rank(without.delta_weight().detach()) == 1


def test_reset_optimizer_state_forgets_only_the_given_parameters():
    layer = _lora(4, 3, 2)
    layer.base.bias.requires_grad_(True)
    optimizer = torch.optim.Adam([layer.lora_A, layer.lora_B, layer.base.bias], lr=0.1)
    layer(torch.randn(2, 4, dtype=torch.float64)).sum().backward()
    layer.lora_B.grad += 1.0  # B starts at zero: give A a gradient on the next step too
    optimizer.step()
    assert reset_optimizer_state_(optimizer, [layer.lora_A, layer.lora_B]) == 2
    assert layer.lora_A not in optimizer.state and layer.base.bias in optimizer.state
    assert reset_optimizer_state_(optimizer, [layer.lora_A]) == 0


def test_bad_inputs():
    with pytest.raises(TypeError, match="optimizer"):
        reset_optimizer_state_("adam", [])
    with pytest.raises(TypeError, match="layer"):
        relora_restart_(nn.Linear(3, 3))

"""Tests for the SimpleX user/item towers."""

import pytest
import torch

from paperlab.models import SimpleXModel


def history():
    return torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])


def test_user_is_gated_sum_of_own_and_mean_pooled_items():
    model = SimpleXModel(history(), dim=3, gate=0.3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.history_map.weight.copy_(torch.randn(3, 3, generator=torch.Generator().manual_seed(1)))
    e_u, e_i, v = model.user_embedding, model.item_embedding, model.history_map.weight
    expected = 0.3 * e_u[0] + 0.7 * v @ ((e_i[0] + e_i[2]) / 2)
    torch.testing.assert_close(model.users(torch.tensor([0]))[0], expected)
    torch.testing.assert_close(model.users()[2], 0.3 * e_u[2] + 0.7 * v @ e_i.mean(0))


def test_gate_one_is_matrix_factorisation_and_shapes():
    model = SimpleXModel(history(), dim=5, gate=1.0)
    torch.testing.assert_close(model.users(), model.user_embedding)
    users, items = model(torch.tensor([0, 2]), torch.tensor([[1, 3, 0]] * 2))
    assert users.shape == (2, 5) and items.shape == (2, 3, 5)


def test_gradients_reach_every_parameter_and_dtype_follows_history():
    model = SimpleXModel(history().double(), dim=4)
    users, items = model(torch.tensor([0, 1]), torch.tensor([2, 3]))
    (users * items).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    assert users.dtype == torch.float64


def test_bad_arguments():
    with pytest.raises(ValueError, match="history"):
        SimpleXModel(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="history"):
        SimpleXModel(2 * history())
    with pytest.raises(ValueError, match="gate"):
        SimpleXModel(history(), gate=1.5)
    with pytest.raises(ValueError, match="dropout"):
        SimpleXModel(history(), dropout=1.0)

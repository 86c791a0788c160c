"""Magnitude pruning: numpy oracle for the masks, exact counts, in-place layer pruning, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from paperlab.solvers import magnitude_mask, prune_linear_layers_, row_norm_mask


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 8), cols=st.integers(1, 8), sparsity=st.floats(0.0, 0.95), seed=st.integers(0, 999)
)
def test_magnitude_mask_keeps_the_largest_entries(rows, cols, sparsity, seed):
    weight = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    mask = magnitude_mask(weight, sparsity)
    n_keep = round((1 - sparsity) * weight.numel())
    assert int(mask.sum()) == n_keep
    order = np.argsort(-np.abs(weight.numpy()).reshape(-1), kind="stable")  # distinct values a.s.
    expected = np.zeros(weight.numel(), dtype=bool)
    expected[order[:n_keep]] = True
    assert np.array_equal(mask.reshape(-1).numpy(), expected)


def test_row_norm_mask_drops_the_rows_of_smallest_l1_norm():
    weight = torch.tensor([[3.0, -3.0], [0.1, 0.2], [-5.0, 0.0], [1.0, 1.5]])  # l1 norms 6, .3, 5, 2.5
    mask = row_norm_mask(weight, 0.5)
    assert mask.tolist() == [[True, True], [False, False], [True, True], [False, False]]


def test_prune_linear_layers_zeroes_the_requested_share_in_place():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 4))
    before = model[0].weight.detach().clone()
    achieved = prune_linear_layers_(model, 0.5)
    assert achieved == {"0": 0.5, "2": 0.5}
    kept = model[0].weight != 0
    assert torch.equal(model[0].weight[kept], before[kept])
    assert before[~kept].abs().max() <= before[kept].abs().min()
    rows = prune_linear_layers_(model, 0.25, structured="rows", include=lambda name: name == "0")
    assert list(rows) == ["0"]
    dead = (model[0].weight == 0).all(dim=1)
    assert int(dead.sum()) >= 5 and torch.all(model[0].bias[dead] == 0)


def test_bad_inputs_raise():
    weight = torch.randn(3, 3)
    with pytest.raises(ValueError, match="sparsity"):
        magnitude_mask(weight, 1.0)
    with pytest.raises(ValueError, match="sparsity"):
        row_norm_mask(weight, -0.1)
    with pytest.raises(ValueError, match="weight"):
        row_norm_mask(torch.randn(3), 0.5)
    with pytest.raises(ValueError, match="structured"):
        prune_linear_layers_(nn.Linear(2, 2), 0.5, structured="heads")
    with pytest.raises(ValueError, match="include matched no"):
        prune_linear_layers_(nn.Linear(2, 2), 0.5, include=lambda name: False)

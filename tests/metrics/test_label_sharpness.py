"""Label sharpness against a brute-force SciPy reference, its closed forms, invariances and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from paperlab.metrics import label_sharpness


def brute_force(x: np.ndarray, y: np.ndarray) -> float:
    distances = cdist(x, x)
    changes = np.abs(y[:, None] - y[None, :])
    mask = changes > 0
    return float((changes[mask] / distances[mask]).max()) if mask.any() else 0.0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), dim=st.integers(1, 6), block=st.integers(1, 50), seed=st.integers(0, 1000))
def test_matches_scipy_brute_force_for_any_block_size(n, dim, block, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=g, dtype=torch.float64)
    y = torch.randint(0, 3, (n,), generator=g)
    expected = brute_force(x.numpy(), y.numpy().astype(float))
    assert label_sharpness(x, y, block_size=block).item() == pytest.approx(expected, rel=1e-12)


def test_real_labels_images_and_closed_form():
    # binary labels: one over the smallest distance between differently labelled points
    x = torch.tensor([[0.0], [1.0], [1.5], [4.0]], dtype=torch.float64)
    assert label_sharpness(x, torch.tensor([0, 0, 1, 1])).item() == pytest.approx(1 / 0.5)
    assert label_sharpness(
        x, torch.tensor([0.0, 3.0, 3.0, 3.5], dtype=torch.float64)
    ).item() == pytest.approx(3.0)
    images = torch.randn(10, 1, 3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    labels = torch.arange(10) % 2
    assert label_sharpness(images, labels).item() == pytest.approx(
        label_sharpness(images.flatten(1), labels).item()
    )


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.1, 10.0), seed=st.integers(0, 1000))
def test_scales_inversely_with_the_inputs_and_ignores_order_and_shifts(scale, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(20, 4, generator=g, dtype=torch.float64)
    y = torch.randint(0, 2, (20,), generator=g)
    base = label_sharpness(x, y).item()
    perm = torch.randperm(20, generator=g)
    assert label_sharpness(scale * x + 3.0, y).item() == pytest.approx(base / scale, rel=1e-9)
    assert label_sharpness(x[perm], y[perm]).item() == pytest.approx(base, rel=1e-12)


def test_constant_labels_give_zero_and_conflicting_duplicates_give_inf():
    x = torch.randn(6, 2, dtype=torch.float64)
    assert label_sharpness(x, torch.ones(6, dtype=torch.long)).item() == 0.0
    x[1] = x[0]
    assert label_sharpness(x, torch.tensor([0, 0, 1, 1, 1, 1])).item() < float("inf")  # equal labels: fine
    assert label_sharpness(x, torch.tensor([0, 1, 1, 1, 1, 1])).item() == float("inf")


def test_bad_inputs():
    x = torch.randn(5, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="y"):
        label_sharpness(x, torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="X"):
        label_sharpness(x[:1], torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match="X"):
        label_sharpness(torch.zeros(5), torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError, match="X"):
        label_sharpness(torch.zeros(5, 2, dtype=torch.long), torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="block_size"):
        label_sharpness(x, torch.zeros(5, dtype=torch.long), block_size=0)

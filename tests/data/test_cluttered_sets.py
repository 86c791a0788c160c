"""Tests of the cluttered-set generator: one whole image per set, fragments with two erased quadrants."""

from __future__ import annotations

import pytest
import torch

from paperlab.data import cluttered_sets


def _pool():
    g = torch.Generator().manual_seed(0)
    return torch.rand(30, 4, 4, generator=g) + 0.1, torch.arange(30) % 5  # no zero pixels


def test_one_whole_image_and_fragments_with_two_quadrants_erased():
    images, labels = _pool()
    data = cluttered_sets(images, labels, n_sets=20, n_items=6, generator=1)
    assert data.sets.shape == (20, 6, 16) and data.labels.shape == (20,)
    flat = images.flatten(1)
    for s in range(20):
        whole = data.sets[s, data.position[s]]
        match = (flat == whole).all(1)
        assert bool(match.any()) and bool((labels[match] == data.labels[s]).all())
        zero_counts = (data.sets[s] == 0).sum(1)  # a fragment has 2 of 4 quadrants (8 of 16 pixels) at 0
        others = torch.arange(6) != data.position[s]
        assert bool((zero_counts[others] == 8).all()) and int(zero_counts[data.position[s]]) == 0


def test_reproducible_and_positions_vary():
    images, labels = _pool()
    first = cluttered_sets(images, labels, 50, 8, generator=3)
    second = cluttered_sets(images, labels, 50, 8, generator=3)
    torch.testing.assert_close(first.sets, second.sets)
    assert len(first.position.unique()) > 1


def test_bad_inputs():
    images, labels = _pool()
    with pytest.raises(ValueError, match="labels"):
        cluttered_sets(images, labels[:3], 4)
    with pytest.raises(ValueError, match="images"):
        cluttered_sets(torch.rand(30, 3, 4), labels, 4)
    with pytest.raises(ValueError, match="n_items"):
        cluttered_sets(images, labels, 4, n_items=0)

"""Tests of the multi-factor pair generator: shared classes per tile, different images, independence."""

from __future__ import annotations

import pytest
import torch

from paperlab.data import multi_factor_pairs


def _pool():
    images = torch.arange(40 * 4, dtype=torch.float64).view(40, 2, 2)  # every image distinct
    return images, torch.arange(40) % 4


def test_tiles_share_classes_and_differ():
    images, labels = _pool()
    data = multi_factor_pairs(images, labels, n_pairs=200, k=3, generator=0)
    assert data.x.shape == (200, 12) and data.factors.shape == (200, 3)
    index_of = {tuple(img.flatten().tolist()): i for i, img in enumerate(images)}
    for tiles_x, tiles_y, classes in zip(data.x.view(200, 3, 4), data.y.view(200, 3, 4), data.factors):
        ix = torch.tensor([index_of[tuple(t.tolist())] for t in tiles_x])
        iy = torch.tensor([index_of[tuple(t.tolist())] for t in tiles_y])
        assert bool((labels[ix] == classes).all()) and bool((labels[iy] == classes).all())
        assert bool((ix != iy).all())


def test_factors_are_roughly_uniform_and_reproducible():
    images, labels = _pool()
    data = multi_factor_pairs(images, labels, 4000, 2, generator=1)
    freq = torch.bincount(data.factors.flatten(), minlength=4).double() / 8000
    assert bool(((freq - 0.25).abs() < 0.03).all())
    again = multi_factor_pairs(images, labels, 4000, 2, generator=1)
    torch.testing.assert_close(data.x, again.x)


def test_bad_inputs():
    images, labels = _pool()
    with pytest.raises(ValueError, match="labels"):
        multi_factor_pairs(images, labels[:5], 3, 2)
    with pytest.raises(ValueError, match="k"):
        multi_factor_pairs(images, labels, 3, 0)

"""Synthetic curvilinear images: deterministic, binary masks, the intended topology."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from paperlab.data import curvilinear_images, ring_mask, segment_mask


def test_same_generator_same_images():
    a, b = curvilinear_images(4, 24, generator=3), curvilinear_images(4, 24, generator=3)
    torch.testing.assert_close(a.images, b.images)
    torch.testing.assert_close(a.masks, b.masks)
    assert not torch.equal(a.masks, curvilinear_images(4, 24, generator=4).masks)


def test_shapes_dtype_and_binary_masks():
    data = curvilinear_images(5, 32, kind="mixed", dtype=torch.float64, generator=0)
    assert data.images.shape == data.masks.shape == (5, 32, 32)
    assert data.images.dtype == torch.float64
    assert set(data.masks.unique().tolist()) <= {0.0, 1.0}
    assert (data.masks.sum((1, 2)) > 0).all()


def test_noise_free_image_is_the_faded_mask():
    data = curvilinear_images(3, 16, noise=0.0, fade=0.0, generator=1)
    torch.testing.assert_close(data.images, data.masks)


def test_ring_is_one_component_around_one_hole():
    mask = ring_mask(24, (12.0, 12.0), 6.0, 1.6).numpy()
    _, components = ndimage.label(mask, structure=np.ones((3, 3)))
    _, background = ndimage.label(np.pad(1 - mask, 1, constant_values=1))
    assert components == 1 and background == 2


def test_networks_have_holes():
    masks = curvilinear_images(6, 32, kind="network", generator=2).masks.numpy()
    for mask in masks:
        _, background = ndimage.label(np.pad(1 - mask, 1, constant_values=1))
        assert background - 1 >= 1


def test_segment_mask_distance():
    mask = segment_mask(10, (4.5, 0.0), (4.5, 10.0), 1.0)
    assert (
        mask.sum().item() == 10 and mask[4].sum().item() == 10
    )  # only the row whose centres lie on the segment


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"n": 2, "size": 4},
        {"n": 2, "kind": "trees"},
        {"n": 2, "noise": -1.0},
        {"n": 2, "fade": 2.0},
    ],
)
def test_bad_inputs(kwargs):
    with pytest.raises((ValueError, TypeError)):
        curvilinear_images(**kwargs)

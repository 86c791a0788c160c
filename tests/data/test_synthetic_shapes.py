"""Tests for the synthetic shape segmentation data."""

import pytest
import torch

from paperlab.data.synthetic_shapes import SHAPE_CLASSES, synthetic_shapes


def test_shapes_dtypes_and_classes():
    images, masks = synthetic_shapes(20, size=24, generator=0, dtype=torch.float64)
    assert images.shape == (20, 1, 24, 24) and images.dtype == torch.float64
    assert masks.shape == (20, 24, 24) and masks.dtype == torch.long
    assert set(masks.unique().tolist()) == set(range(len(SHAPE_CLASSES)))  # 20 images hold every class
    assert bool((masks != 0).flatten(1).any(1).all())  # every image has at least one shape pixel


def test_same_seed_same_data_and_different_seed_different_data():
    a, b, c = (synthetic_shapes(4, generator=s) for s in (3, 3, 4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_noise_free_images_are_the_painted_shapes():
    images, masks = synthetic_shapes(10, noise=0.0, generator=1)
    background = masks == 0
    assert bool((images[:, 0][background] == 0).all())
    assert bool((images[:, 0][~background] >= 0.4).all()) and bool((images[:, 0] <= 1).all())


def test_class_contrast_orders_the_mean_brightness_by_class():
    images, masks = synthetic_shapes(200, noise=0.0, class_contrast=0.3, generator=5)
    means = [images[:, 0][masks == k].mean().item() for k in (1, 2, 3)]
    # brightness U(0.4, 1) + 0.3 (k - 1): means 0.7, 1.0, 1.3 up to sampling error
    assert means == pytest.approx([0.7, 1.0, 1.3], abs=0.05)
    plain_images, plain_masks = synthetic_shapes(200, noise=0.0, generator=5)
    plain = [plain_images[:, 0][plain_masks == k].mean().item() for k in (1, 2, 3)]
    assert plain == pytest.approx([0.7, 0.7, 0.7], abs=0.05)


def test_shape_geometry():
    """Rectangles fill their bounding box; ellipses cover about pi/4 of it, triangles at most half."""
    _, masks = synthetic_shapes(300, size=48, max_shapes=1, noise=0.0, generator=2)
    fill = {1: [], 2: [], 3: []}
    for mask in masks:
        kind = int(mask.max())
        rows, cols = torch.nonzero(mask == kind, as_tuple=True)
        touches_border = rows.min() == 0 or cols.min() == 0 or rows.max() == 47 or cols.max() == 47
        if kind and not touches_border:
            box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
            fill[kind].append(len(rows) / float(box))
    assert min(fill[2]) == 1.0
    assert 0.65 < sum(fill[1]) / len(fill[1]) < 0.9
    assert max(fill[3]) < 0.62


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_images"):
        synthetic_shapes(0)
    with pytest.raises(ValueError, match="size"):
        synthetic_shapes(2, size=4)
    with pytest.raises(ValueError, match="noise"):
        synthetic_shapes(2, noise=-0.1)
    with pytest.raises(ValueError, match="class_contrast"):
        synthetic_shapes(2, class_contrast=-1.0)
    with pytest.raises(TypeError, match="dtype"):
        synthetic_shapes(2, dtype=torch.int64)

"""Shape clouds: sizes, centring, scales within bounds, seeding, labels, bad inputs."""

import pytest
import torch

from paperlab.data import shape_clouds


def test_sizes_centring_labels_and_seed():
    data = shape_clouds(12, 100, seed=0, dtype=torch.float64)
    assert data.points.shape == (12, 100, 3) and data.labels.shape == (12,)
    torch.testing.assert_close(data.points.mean(dim=1), torch.zeros(12, 3, dtype=torch.float64))
    assert set(data.labels.tolist()) <= {0, 1, 2} and len(set(data.labels.tolist())) > 1
    torch.testing.assert_close(data.points, shape_clouds(12, 100, seed=0, dtype=torch.float64).points)
    assert not torch.equal(data.points, shape_clouds(12, 100, seed=1, dtype=torch.float64).points)


def test_spheres_are_stretched_within_the_scale_bounds():
    data = shape_clouds(6, 400, shapes=("sphere",), min_scale=0.5, seed=2, dtype=torch.float64)
    for cloud in data.points:
        singular = torch.linalg.svdvals(cloud - cloud.mean(0))
        extent = cloud.norm(dim=1)
        assert extent.max() <= 1 + 1e-12 and extent.min() >= 0.5 - 1e-12
        assert singular.max() / singular.min() < 2.5  # axis scales within [0.5, 1], up to sampling noise


def test_bad_inputs():
    with pytest.raises(ValueError, match="shapes entry must be one of"):
        shape_clouds(2, 10, shapes=("cube",))
    with pytest.raises(ValueError, match="min_scale must be <= 1"):
        shape_clouds(2, 10, min_scale=2.0)
    with pytest.raises(ValueError, match="n_clouds must be > 0"):
        shape_clouds(0, 10)

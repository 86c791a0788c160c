"""Procedural point clouds: shapes, determinism, the surfaces they lie on, rigid motions."""

import pytest
import torch

from paperlab.data import point_cloud, random_rigid_motion, random_rotation
from paperlab.data.point_clouds import SHAPES


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_dtype_and_determinism(shape):
    a = point_cloud(shape, 50, seed=3, dtype=torch.float64)
    assert a.shape == (50, 3) and a.dtype == torch.float64
    torch.testing.assert_close(a, point_cloud(shape, 50, seed=3, dtype=torch.float64))
    assert not torch.equal(a, point_cloud(shape, 50, seed=4, dtype=torch.float64))


def test_points_lie_on_their_surfaces():
    radii = point_cloud("sphere", 100, seed=0, dtype=torch.float64).norm(dim=1)
    assert torch.allclose(radii, torch.ones_like(radii))
    t = point_cloud("torus", 100, seed=0, dtype=torch.float64)
    ring_distance = (t[:, :2].norm(dim=1) - 1.0).pow(2) + t[:, 2].pow(2)
    assert torch.allclose(ring_distance, torch.tensor(0.35**2, dtype=torch.float64))
    b = point_cloud("box", 100, seed=0, dtype=torch.float64)
    assert torch.allclose(b.abs().max(dim=1).values, torch.tensor(0.5, dtype=torch.float64))


def test_rigid_motion_preserves_distances_and_rotation_is_proper():
    x = point_cloud("swiss_roll", 40, seed=0, dtype=torch.float64)
    y = random_rigid_motion(x, seed=1)
    torch.testing.assert_close(torch.cdist(x, x), torch.cdist(y, y))
    r = random_rotation(seed=2)
    torch.testing.assert_close(r @ r.T, torch.eye(3, dtype=torch.float64))
    assert torch.det(r).item() == pytest.approx(1.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="shape must be one of"):
        point_cloud("cube", 10)
    with pytest.raises(ValueError, match="n must be > 0"):
        point_cloud("sphere", 0)
    with pytest.raises(ValueError, match="3 coordinates"):
        random_rigid_motion(torch.randn(5, 2))

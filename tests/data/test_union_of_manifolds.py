"""union_of_manifolds: shapes, determinism, intrinsic dimension of each piece, bad arguments."""

from __future__ import annotations

import pytest
import torch

from paperlab.data import union_of_manifolds
from paperlab.metrics import twonn


def test_shapes_labels_and_determinism():
    sample = union_of_manifolds(50, intrinsic_dims=(1, 2, 1), ambient_dim=10, seed=3)
    assert sample.points.shape == (150, 10) and sample.latents.shape == (150, 2)
    assert torch.equal(sample.labels, torch.arange(3).repeat_interleave(50))
    assert torch.equal(sample.latents[:50, 1], torch.zeros(50))  # 1-D pieces are zero-padded
    again = union_of_manifolds(50, intrinsic_dims=(1, 2, 1), ambient_dim=10, seed=3)
    assert torch.equal(sample.points, again.points)
    assert not torch.equal(sample.points, union_of_manifolds(50, (1, 2, 1), 10, seed=4).points)


def test_noiseless_pieces_have_their_intrinsic_dimension():
    sample = union_of_manifolds(
        400, intrinsic_dims=(1, 2), ambient_dim=16, noise=0.0, seed=0, dtype=torch.float64
    )
    curve, sheet = sample.points[sample.labels == 0], sample.points[sample.labels == 1]
    assert twonn(curve) == pytest.approx(1.0, abs=0.35)
    assert twonn(sheet) == pytest.approx(2.0, abs=0.6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="intrinsic_dims"):
        union_of_manifolds(10, intrinsic_dims=())
    with pytest.raises(ValueError, match="intrinsic_dims"):
        union_of_manifolds(10, intrinsic_dims=(1, 0))
    with pytest.raises(ValueError, match="noise"):
        union_of_manifolds(10, noise=-0.1)
    with pytest.raises(TypeError, match="n_per_manifold"):
        union_of_manifolds(2.5)

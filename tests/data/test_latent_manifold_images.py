"""latent_manifold_images: shapes, determinism, intrinsic dimension tracks d, rule sharpness, bad arguments."""

from __future__ import annotations

import pytest
import torch
from sklearn.linear_model import LogisticRegression

from paperlab.data import latent_manifold_images
from paperlab.metrics import label_sharpness, twonn


def test_shapes_range_and_determinism():
    sample = latent_manifold_images(30, 3, "sharp", image_size=6, seed=1)
    assert sample.images.shape == (30, 1, 6, 6) and sample.latents.shape == (30, 3)
    assert sample.labels.dtype == torch.int64 and set(sample.labels.tolist()) <= {0, 1}
    assert bool((sample.images > 0).all() and (sample.images < 1).all())
    assert torch.equal(sample.images, latent_manifold_images(30, 3, "sharp", image_size=6, seed=1).images)
    # the same latents give the same images under both rules: only the labels differ
    smooth = latent_manifold_images(30, 3, "smooth", image_size=6, seed=1)
    assert torch.equal(smooth.images, sample.images)


def test_smooth_rule_is_a_halfspace_of_the_latents():
    sample = latent_manifold_images(300, 4, "smooth", seed=0, dtype=torch.float64)
    # a linear rule of the latents: a nearly hard-margin linear classifier separates the labels exactly
    classifier = LogisticRegression(C=1e6, max_iter=10_000).fit(sample.latents.numpy(), sample.labels.numpy())
    assert classifier.score(sample.latents.numpy(), sample.labels.numpy()) == 1.0
    sharp = latent_manifold_images(300, 4, "sharp", frequency=3.0, seed=0, dtype=torch.float64)
    classifier = LogisticRegression(C=1e6, max_iter=10_000).fit(sharp.latents.numpy(), sharp.labels.numpy())
    assert classifier.score(sharp.latents.numpy(), sharp.labels.numpy()) < 0.9


@pytest.mark.parametrize("d", [2, 5])
def test_intrinsic_dimension_follows_the_number_of_factors(d):
    sample = latent_manifold_images(1500, d, seed=0, dtype=torch.float64)
    assert twonn(sample.images.flatten(1)).item() == pytest.approx(d, abs=0.2 * d + 0.3)


def test_sharp_rule_has_more_boundaries():
    smooth = latent_manifold_images(800, 2, "smooth", frequency=3.0, seed=0, dtype=torch.float64)
    sharp = latent_manifold_images(800, 2, "sharp", frequency=3.0, seed=0, dtype=torch.float64)
    order = torch.argsort(smooth.latents @ torch.randn(2, dtype=torch.float64))
    assert label_sharpness(sharp.images, sharp.labels) >= label_sharpness(smooth.images, smooth.labels)
    flips = lambda labels: int((labels[1:] != labels[:-1]).sum())  # noqa: E731
    assert flips(sharp.labels[order]) > flips(smooth.labels[order])


def test_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        latent_manifold_images(10, 2, "wavy")
    with pytest.raises(ValueError, match="latent_dim"):
        latent_manifold_images(10, 64, image_size=8)
    with pytest.raises(ValueError, match="frequency"):
        latent_manifold_images(10, 2, "sharp", frequency=0.0)
    with pytest.raises(TypeError, match="n"):
        latent_manifold_images(10.0, 2)

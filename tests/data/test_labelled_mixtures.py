"""Labelled mixture pairs: geometry of the centres, moved labels, component statistics, bad inputs."""

import math

import pytest
import torch

from paperlab.data import labelled_gaussian_mixtures

f64 = torch.float64


def test_centres_and_labels():
    pair = labelled_gaussian_mixtures(
        4000, n_classes=4, radius=2.0, std=0.1, label_shift=2, seed=0, dtype=f64
    )
    torch.testing.assert_close(pair.source_means.norm(dim=1), torch.full((4,), 2.0, dtype=f64))
    torch.testing.assert_close(pair.target_means.norm(dim=1), torch.full((4,), 2.0, dtype=f64))
    for k in range(4):
        gaps = (pair.target_means - pair.source_means[k]).norm(dim=1)
        nearest_two = gaps.argsort()[:2]
        assert k not in nearest_two.tolist()  # neither neighbouring target component carries class k
        torch.testing.assert_close(gaps.min(), torch.tensor(2 * 2.0 * math.sin(math.pi / 8), dtype=f64))
    for sample, means in [(pair.source, pair.source_means), (pair.target, pair.target_means)]:
        assert sample.points.shape == (4000, 2)
        for k in range(4):
            component = sample.points[sample.labels == k]
            torch.testing.assert_close(component.mean(0), means[k], atol=0.02, rtol=0)


def test_zero_shift_keeps_labels_next_to_their_source():
    pair = labelled_gaussian_mixtures(10, n_classes=6, label_shift=0, seed=0)
    for k in range(6):
        assert (pair.target_means - pair.source_means[k]).norm(dim=1).argmin().item() in {k, (k - 1) % 6}


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="n_classes"):
        labelled_gaussian_mixtures(10, n_classes=1)
    with pytest.raises(TypeError, match="label_shift"):
        labelled_gaussian_mixtures(10, label_shift=1.5)
    with pytest.raises(ValueError, match="radius"):
        labelled_gaussian_mixtures(10, radius=-1.0)

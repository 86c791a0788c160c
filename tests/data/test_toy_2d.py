"""Toy 2-D distributions: component statistics, exact curves, reproducibility, bad inputs."""

import math

import pytest
import torch

from paperlab.data import eight_gaussians, gaussian_mixture, two_moons

f64 = torch.float64


def test_gaussian_mixture_components_have_their_weights_means_and_stds():
    means = torch.tensor([[0.0, 0.0], [5.0, 1.0], [-3.0, 4.0]], dtype=f64)
    std = torch.tensor([0.5, 1.0, 2.0], dtype=f64)
    weights = torch.tensor([0.2, 0.3, 0.5], dtype=f64)
    sample = gaussian_mixture(30_000, means, std, weights, seed=0, dtype=f64)
    assert sample.points.shape == (30_000, 2) and sample.points.dtype == f64
    frequencies = torch.bincount(sample.labels, minlength=3) / 30_000
    torch.testing.assert_close(frequencies.double(), weights, atol=0.015, rtol=0)
    for k in range(3):
        component = sample.points[sample.labels == k]
        torch.testing.assert_close(component.mean(0), means[k], atol=0.06, rtol=0)
        torch.testing.assert_close(component.std(0), std[k].expand(2), atol=0.06, rtol=0)


def test_same_seed_same_sample_and_generators_advance():
    first = gaussian_mixture(10, torch.zeros(2, 3), seed=3)
    second = gaussian_mixture(10, torch.zeros(2, 3), seed=3)
    torch.testing.assert_close(first.points, second.points)
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(two_moons(10, seed=g).points, two_moons(10, seed=g).points)


def test_eight_gaussians_sit_on_the_circle():
    sample = eight_gaussians(4000, radius=2.0, std=0.01, seed=0, dtype=f64)
    angles = sample.labels.double() * math.pi / 4
    centres = 2.0 * torch.stack([angles.cos(), angles.sin()], dim=1)
    assert (sample.points - centres).norm(dim=1).max() < 0.06
    assert set(sample.labels.tolist()) == set(range(8))


def test_noiseless_moons_lie_on_their_half_circles():
    sample = two_moons(500, noise=0.0, seed=0, dtype=f64)
    shifted = sample.points + torch.tensor([0.5, 0.25], dtype=f64)
    upper, lower = shifted[sample.labels == 0], shifted[sample.labels == 1]
    torch.testing.assert_close(upper.norm(dim=1), torch.ones(len(upper), dtype=f64))
    assert (upper[:, 1] >= 0).all()
    centred_lower = lower - torch.tensor([1.0, 0.5], dtype=f64)
    torch.testing.assert_close(centred_lower.norm(dim=1), torch.ones(len(lower), dtype=f64))
    assert (centred_lower[:, 1] <= 1e-12).all()
    assert sample.points.mean(0).abs().max() < 0.1  # centred


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="n"):
        gaussian_mixture(0, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="means"):
        gaussian_mixture(5, torch.zeros(2))
    with pytest.raises(ValueError, match="std"):
        gaussian_mixture(5, torch.zeros(2, 2), std=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="weights"):
        gaussian_mixture(5, torch.zeros(2, 2), weights=torch.tensor([-1.0, 2.0]))
    with pytest.raises(ValueError, match="noise"):
        two_moons(5, noise=-0.1)
    with pytest.raises(ValueError, match="radius"):
        eight_gaussians(5, radius=0.0)

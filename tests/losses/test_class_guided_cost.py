"""Class-guided cost: a weighted sum of per-class energy distances, zero for matching classes, bad inputs."""

import numpy as np
import pytest
import torch

from paperlab.losses import class_guided_cost

f64 = torch.float64


def naive_energy(p, q):
    mean = lambda a, b: np.mean([np.linalg.norm(u - v) for u in a for v in b])  # noqa: E731
    return 2 * mean(p, q) - mean(p, p) - mean(q, q)


def test_matches_a_naive_weighted_sum():
    rng = np.random.default_rng(0)
    mapped, labels = rng.normal(size=(12, 2)), np.array([0] * 5 + [2] * 7)
    target, target_labels = rng.normal(size=(9, 2)), np.array([0, 1, 2] * 3)
    expected = sum(
        (labels == k).mean() * naive_energy(mapped[labels == k], target[target_labels == k]) for k in (0, 2)
    )
    value = class_guided_cost(
        torch.tensor(mapped), torch.tensor(labels), torch.tensor(target), torch.tensor(target_labels), 3
    )
    assert value.item() == pytest.approx(expected, rel=1e-10)


def test_zero_when_every_class_lands_on_its_targets_and_positive_when_swapped():
    target = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [6.0, 5.0]], dtype=f64)
    target_labels = torch.tensor([0, 0, 1, 1])
    assert class_guided_cost(target.clone(), target_labels, target, target_labels, 2).abs().item() < 1e-12
    swapped = class_guided_cost(target.clone(), 1 - target_labels, target, target_labels, 2)
    assert swapped.item() > 1.0


def test_gradient_flows_to_the_mapped_points():
    mapped = torch.randn(6, 2, dtype=f64, requires_grad=True)
    labels = torch.tensor([0, 0, 0, 1, 1, 1])
    class_guided_cost(mapped, labels, torch.randn(4, 2, dtype=f64), torch.tensor([0, 1, 0, 1]), 2).backward()
    assert torch.isfinite(mapped.grad).all() and mapped.grad.abs().sum() > 0


def test_bad_inputs_raise():
    x, labels = torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])
    with pytest.raises(ValueError, match="no labelled target point"):
        class_guided_cost(x, labels, torch.zeros(2, 2), torch.tensor([0, 0]), 2)
    with pytest.raises(ValueError, match="labels must lie"):
        class_guided_cost(x, torch.tensor([0, 1, 0, 5]), x, labels, 2)
    with pytest.raises(TypeError, match="integer"):
        class_guided_cost(x, labels.float(), x, labels, 2)
    with pytest.raises(ValueError, match="mapped_labels must have shape"):
        class_guided_cost(x, labels[:3], x, labels, 2)
    with pytest.raises(ValueError, match="same d"):
        class_guided_cost(x, labels, torch.zeros(4, 3), labels, 2)

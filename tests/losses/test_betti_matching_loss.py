"""Betti matching loss: the paper's formula on known pairs, gradients at the right pixels, batching."""

import numpy as np
import pytest
import torch

from paperlab.data import ring_mask
from paperlab.losses import BettiMatchingLoss, betti_matching_loss
from paperlab.metrics import betti_matching, betti_number_error


def naive_loss(pred: torch.Tensor, target: torch.Tensor, include_unmatched_target=True) -> float:
    """The formula written out bar by bar from the matching's barcodes (values, not pixels)."""
    result, total = betti_matching(pred, target), 0.0
    for dim in (0, 1):
        p, t = result.prediction[dim], result.target[dim]
        for i, j in result.matches[dim]:
            if not p.essential[i]:
                total += 2 * ((p.birth[i] - t.birth[j]) ** 2 + (p.death[i] - t.death[j]) ** 2)
        total += sum((p.birth[i] - p.death[i]) ** 2 for i in result.unmatched_prediction[dim])
        if include_unmatched_target:
            total += sum((t.birth[j] - t.death[j]) ** 2 for j in result.unmatched_target[dim])
    return total


def ring(center, size=24):
    return ring_mask(size, center, 4.5, 2.0, torch.float64)


def test_shifted_ring_pays_for_both_holes():
    """Prediction 0.1 + 0.8 * ring at the wrong place: its hole (0.9, 0.1) and the target's (1, 0) are unmatched."""
    target, pred = ring((7.0, 7.0)), 0.1 + 0.8 * ring((16.0, 16.0))
    loss = betti_matching_loss(pred[None], target[None])
    assert loss.item() == pytest.approx(0.8**2 + 1.0)
    assert betti_matching_loss(
        pred[None], target[None], include_unmatched_target=False
    ).item() == pytest.approx(0.64)


def test_matched_ring_is_pulled_to_its_target():
    """Same place, fainter: hole (0.9, 0.1) matched to (1, 0): 2 * (0.1^2 + 0.1^2); component births not in the loss."""
    target = ring((10.0, 10.0))
    loss = betti_matching_loss((0.1 + 0.8 * target)[None], target[None])
    assert loss.item() == pytest.approx(2 * (0.01 + 0.01))


@pytest.mark.parametrize("seed", range(3))
def test_agrees_with_the_formula_on_random_images(seed):
    generator = torch.Generator().manual_seed(seed)
    pred = torch.rand(3, 12, 12, generator=generator, dtype=torch.float64)
    target = (torch.rand(3, 12, 12, generator=generator) > 0.55).double()
    losses = betti_matching_loss(pred, target, reduction="none")
    expected = [naive_loss(p, t) for p, t in zip(pred, target)]
    np.testing.assert_allclose(losses.numpy(), expected, rtol=1e-12)
    assert betti_matching_loss(pred, target, reduction="sum").item() == pytest.approx(sum(expected))
    assert BettiMatchingLoss()(pred, target).item() == pytest.approx(np.mean(expected))


def test_gradient_reaches_only_the_birth_and_death_pixels():
    generator = torch.Generator().manual_seed(4)
    pred = torch.rand(14, 14, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand(14, 14, generator=generator) > 0.5).double()
    betti_matching_loss(pred[None], target[None]).backward()
    result = betti_matching(pred.detach(), target)
    ends = set()
    for barcode in result.prediction:
        finite = ~barcode.essential
        ends |= {tuple(p) for p in barcode.birth_pixel[finite]} | {
            tuple(p) for p in barcode.death_pixel[finite]
        }
    touched = {tuple(p) for p in torch.nonzero(pred.grad).tolist()}
    assert touched and touched <= ends


def test_gradient_of_an_unmatched_hole():
    """d/db (b - d)^2 = 2 (b - d) at the birth pixel, the negative at the death pixel."""
    target, pred = ring((7.0, 7.0)), (0.1 + 0.8 * ring((16.0, 16.0))).requires_grad_(True)
    betti_matching_loss(pred[None], target[None]).backward()
    hole = betti_matching(pred.detach(), target).prediction[1]
    assert pred.grad[tuple(hole.birth_pixel[0])].item() == pytest.approx(2 * 0.8)
    assert pred.grad[tuple(hole.death_pixel[0])].item() == pytest.approx(-2 * 0.8)


def test_gradcheck_float64():
    generator = torch.Generator().manual_seed(5)
    pred = torch.rand(2, 6, 6, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand(2, 6, 6, generator=generator) > 0.5).double()
    assert torch.autograd.gradcheck(lambda x: betti_matching_loss(x, target), (pred,), eps=1e-7, atol=1e-6)


def test_gradient_descent_removes_a_spurious_component():
    """Pixel values trained by the loss alone lose a false peak and keep the ring: Betti number error -> 0.

    The loss moves only the birth and death pixels of a bar, one pixel per bar and step, so a one-pixel
    false component is removed in a few steps (a wide plateau would take one step per pixel)."""
    target = ring((8.0, 8.0))
    pred = 0.1 + 0.8 * target
    pred[19, 19] = 0.7  # a component the target does not have
    pred = pred.clone().requires_grad_(True)
    assert betti_number_error(pred.detach(), target).item() == 1
    optimizer = torch.optim.SGD([pred], lr=0.2)
    for _ in range(5):
        optimizer.zero_grad()
        betti_matching_loss(pred[None], target[None]).backward()
        optimizer.step()
    assert betti_number_error(pred.detach(), target).item() == 0
    assert betti_matching(pred.detach(), target).error(1) == 0


def test_float32_and_identical_inputs():
    target = ring((10.0, 10.0)).float()
    assert betti_matching_loss(target[None], target[None]).item() == 0
    assert betti_matching_loss(target[None], target[None]).dtype == torch.float32


@pytest.mark.parametrize(
    "pred, target, kwargs",
    [
        (torch.rand(2, 8, 8), torch.rand(2, 8, 9), {}),
        (torch.rand(8, 8), torch.rand(8, 8), {}),
        (torch.rand(2, 8, 8), torch.rand(2, 8, 8) + 1.5, {}),
        (torch.rand(2, 8, 8), torch.ones(2, 8, 8, dtype=torch.int64), {}),
        (torch.rand(2, 8, 8), torch.rand(2, 8, 8), {"reduction": "max"}),
        (torch.full((1, 8, 8), float("nan")), torch.rand(1, 8, 8), {}),
    ],
)
def test_bad_inputs(pred, target, kwargs):
    with pytest.raises((ValueError, TypeError)):
        betti_matching_loss(pred, target, **kwargs)

"""Soft Dice loss against its formula and against 1 - F1 on binary masks."""

import pytest
import torch
from sklearn.metrics import f1_score

from paperlab.losses import DiceLoss, soft_dice_loss


def test_binary_masks_give_one_minus_f1():
    generator = torch.Generator().manual_seed(0)
    pred = (torch.rand(4, 10, 10, generator=generator) > 0.5).double()
    target = (torch.rand(4, 10, 10, generator=generator) > 0.4).double()
    losses = soft_dice_loss(pred, target, smooth=1e-12, reduction="none")
    expected = [1 - f1_score(t.flatten().numpy(), p.flatten().numpy()) for p, t in zip(pred, target)]
    torch.testing.assert_close(losses, torch.tensor(expected, dtype=torch.float64))


def test_soft_values_and_reductions():
    generator = torch.Generator().manual_seed(1)
    pred = torch.rand(3, 1, 7, 5, generator=generator, dtype=torch.float64)
    target = torch.rand(3, 1, 7, 5, generator=generator, dtype=torch.float64)
    naive = [1 - (2 * (p * t).sum() + 1.0) / (p.sum() + t.sum() + 1.0) for p, t in zip(pred, target)]
    torch.testing.assert_close(soft_dice_loss(pred, target, smooth=1.0, reduction="none"), torch.stack(naive))
    torch.testing.assert_close(DiceLoss(smooth=1.0)(pred, target), torch.stack(naive).mean())
    torch.testing.assert_close(soft_dice_loss(pred, target, 1.0, "sum"), torch.stack(naive).sum())


def test_perfect_and_empty_predictions():
    target = torch.zeros(2, 6, 6)
    target[:, 2:4, 2:4] = 1
    assert soft_dice_loss(target, target).item() == pytest.approx(0, abs=1e-6)
    assert soft_dice_loss(torch.zeros_like(target), target).item() == pytest.approx(1, abs=1e-4)
    assert soft_dice_loss(torch.zeros_like(target), torch.zeros_like(target)).item() == pytest.approx(0)


def test_gradcheck():
    generator = torch.Generator().manual_seed(2)
    pred = torch.rand(2, 5, 5, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand(2, 5, 5, generator=generator) > 0.5).double()
    assert torch.autograd.gradcheck(lambda x: soft_dice_loss(x, target), (pred,))


@pytest.mark.parametrize(
    "pred, target, kwargs",
    [
        (torch.rand(2, 4), torch.rand(2, 5), {}),
        (torch.rand(4), torch.rand(4), {}),
        (torch.rand(2, 4), torch.rand(2, 4) * 3, {}),
        (torch.rand(2, 4), torch.rand(2, 4), {"smooth": 0.0}),
        (torch.rand(2, 4), torch.rand(2, 4), {"reduction": "avg"}),
        (torch.rand(2, 4), torch.ones(2, 4, dtype=torch.int64), {}),
    ],
)
def test_bad_inputs(pred, target, kwargs):
    with pytest.raises((ValueError, TypeError)):
        soft_dice_loss(pred, target, **kwargs)

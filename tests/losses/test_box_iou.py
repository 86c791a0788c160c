"""Tests for the IoU-family box losses: IoU, GIoU, DIoU and CIoU."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.losses.box_iou import (
    CIoULoss,
    DIoULoss,
    GIoULoss,
    IoULoss,
    box_iou,
    ciou_loss,
    diou_loss,
    giou_loss,
    iou_loss,
)

LOSSES = [iou_loss, giou_loss, diou_loss, ciou_loss]
# 1 - IoU <= 1; GIoU and DIoU add a term < 1; CIoU adds alpha v = v^2 / (1 - IoU + v) <= v <= 1 on top of DIoU
UPPER_BOUNDS = {iou_loss: 1.0, giou_loss: 2.0, diou_loss: 2.0, ciou_loss: 3.0}


def naive_terms(a, b):
    """IoU, GIoU, DIoU and CIoU losses of one box pair, from plain Python floats (no eps)."""
    (ax1, ay1, ax2, ay2), (bx1, by1, bx2, by2) = a, b
    inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(0.0, min(ay2, by2) - max(ay1, by1))
    union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
    iou = inter / union
    cw, ch = max(ax2, bx2) - min(ax1, bx1), max(ay2, by2) - min(ay1, by1)
    giou = 1 - iou + (cw * ch - union) / (cw * ch)
    rho2 = ((ax1 + ax2) / 2 - (bx1 + bx2) / 2) ** 2 + ((ay1 + ay2) / 2 - (by1 + by2) / 2) ** 2
    diou = 1 - iou + rho2 / (cw**2 + ch**2)
    v = 4 / math.pi**2 * (math.atan((bx2 - bx1) / (by2 - by1)) - math.atan((ax2 - ax1) / (ay2 - ay1))) ** 2
    alpha = v / ((1 - iou) + v) if v > 0 else 0.0
    return {"iou": 1 - iou, "giou": giou, "diou": diou, "ciou": diou + alpha * v}


def random_boxes(n, seed, dtype=torch.float64, spread=3.0):
    g = torch.Generator().manual_seed(seed)
    corner = torch.rand(n, 2, generator=g, dtype=dtype) * 2 * spread - spread
    size = torch.rand(n, 2, generator=g, dtype=dtype) * 2 + 0.2
    return torch.cat([corner, corner + size], dim=1)  # (n, 4)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_matches_naive_per_box_formulas(reduction):
    input, target = random_boxes(60, 0), random_boxes(60, 1)
    target[:10] = input[:10] + 0.1  # some overlapping pairs for sure
    naive = [naive_terms(a.tolist(), b.tolist()) for a, b in zip(input, target)]
    for loss, key in zip(LOSSES, ["iou", "giou", "diou", "ciou"]):
        expected = torch.tensor([row[key] for row in naive], dtype=torch.float64)
        expected = {"none": expected, "mean": expected.mean(), "sum": expected.sum()}[reduction]
        torch.testing.assert_close(loss(input, target, reduction=reduction), expected, rtol=1e-6, atol=1e-6)
    expected_iou = torch.tensor([1 - row["iou"] for row in naive], dtype=torch.float64)
    torch.testing.assert_close(box_iou(input, target), expected_iou, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_identical_boxes_give_zero(loss):
    boxes = random_boxes(20, 2)
    zeros = torch.zeros(20, dtype=torch.float64)
    torch.testing.assert_close(loss(boxes, boxes.clone(), reduction="none", eps=0.0), zeros)
    torch.testing.assert_close(loss(boxes, boxes.clone(), reduction="none"), zeros, atol=1e-6, rtol=0)


def test_disjoint_boxes_closed_form():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    b = torch.tensor([[2.0, 0.0, 3.0, 1.0]], dtype=torch.float64)
    # union 2, enclosing box [0, 3] x [0, 1]: area 3, squared diagonal 10; centres 2 apart.
    assert iou_loss(a, b).item() == pytest.approx(1.0)
    assert giou_loss(a, b).item() == pytest.approx(1 + 1 / 3)
    assert diou_loss(a, b).item() == pytest.approx(1 + 4 / 10)
    assert ciou_loss(a, b).item() == pytest.approx(1 + 4 / 10)  # same aspect ratio: v = 0


def test_nested_boxes_closed_form():
    outer = torch.tensor([[0.0, 0.0, 2.0, 2.0]], dtype=torch.float64)
    inner = torch.tensor([[0.5, 0.5, 1.5, 1.5]], dtype=torch.float64)
    for loss in LOSSES:  # concentric, same shape: every penalty vanishes, 1 - IoU = 3/4
        assert loss(inner, outer).item() == pytest.approx(0.75)
    shifted = inner + torch.tensor([0.5, 0.0, 0.5, 0.0], dtype=torch.float64)
    assert giou_loss(shifted, outer).item() == pytest.approx(0.75)  # enclosed: GIoU is IoU
    assert diou_loss(shifted, outer).item() == pytest.approx(0.75 + 0.25 / 8)  # rho^2 = 1/4, c^2 = 8


def test_ciou_aspect_term_closed_form():
    wide = torch.tensor([[0.0, 0.0, 2.0, 1.0]], dtype=torch.float64)
    tall = torch.tensor([[0.5, -0.5, 1.5, 1.5]], dtype=torch.float64)  # same centre, 1 x 2
    iou = 1 / 3  # intersection 1, union 3
    v = 4 / math.pi**2 * (math.atan(0.5) - math.atan(2.0)) ** 2
    expected = 1 - iou + v * v / ((1 - iou) + v)
    assert ciou_loss(wide, tall).item() == pytest.approx(expected)
    assert diou_loss(wide, tall).item() == pytest.approx(1 - iou)


def test_ciou_equals_diou_when_aspect_ratios_match():
    input = random_boxes(30, 3)
    scale = torch.rand(30, 1, generator=torch.Generator().manual_seed(4), dtype=torch.float64) + 0.5
    target = input * scale + 0.7  # same aspect ratio, other size and place
    torch.testing.assert_close(
        ciou_loss(input, target, reduction="none"), diou_loss(input, target, reduction="none")
    )
    other = random_boxes(30, 5)
    assert bool((ciou_loss(input, other, reduction="none") > diou_loss(input, other, reduction="none")).all())


def test_iou_loss_has_no_gradient_on_disjoint_boxes_unlike_the_others():
    a = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([[2.0, 0.5, 3.0, 2.0]], dtype=torch.float64)
    for loss in LOSSES:
        (grad,) = torch.autograd.grad(loss(a, b), a)
        moved = bool(grad.abs().sum() > 0)
        assert moved == (loss is not iou_loss)


@pytest.mark.parametrize("loss", [iou_loss, giou_loss, diou_loss])
def test_gradcheck_float64(loss):
    input, target = random_boxes(8, 6, spread=1.0), random_boxes(8, 7, spread=1.0)
    input.requires_grad_()
    assert torch.autograd.gradcheck(lambda x: loss(x, target, reduction="none"), (input,))


def test_ciou_gradient_holds_alpha_constant():
    input, target = random_boxes(8, 8, spread=1.0), random_boxes(8, 9, spread=1.0)
    terms = [naive_terms(a.tolist(), b.tolist()) for a, b in zip(input, target)]
    frozen_alpha = torch.tensor(
        [(t["ciou"] - t["diou"]) / max(v, 1e-300) for t, v in zip(terms, aspect_v(input, target).tolist())],
        dtype=torch.float64,
    )

    def frozen(x):
        return diou_loss(x, target, reduction="none") + frozen_alpha * aspect_v(x, target)

    x = input.clone().requires_grad_()
    (ours,) = torch.autograd.grad(ciou_loss(x, target), x)
    (expected,) = torch.autograd.grad(frozen(x).mean(), x)
    torch.testing.assert_close(ours, expected)
    assert torch.autograd.gradcheck(frozen, (x,))  # and that reference gradient is the true one
    (through_alpha,) = torch.autograd.grad(full_alpha_ciou(x, target), x)
    assert not torch.allclose(ours, through_alpha, atol=1e-6)  # detaching alpha is a real choice


def aspect_v(x, target):
    w, h = x[:, 2] - x[:, 0], x[:, 3] - x[:, 1]
    w_gt, h_gt = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
    return 4 / math.pi**2 * (torch.atan(w_gt / h_gt) - torch.atan(w / h)) ** 2


def full_alpha_ciou(x, target):
    iou, v = box_iou(x, target), aspect_v(x, target)
    return (diou_loss(x, target, reduction="none") + v * v / ((1 - iou) + v)).mean()


box_strategy = st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.05, 4), st.floats(0.05, 4)).map(
    lambda t: [t[0], t[1], t[0] + t[2], t[1] + t[3]]
)


@settings(max_examples=25, deadline=None)
@given(
    pairs=st.lists(st.tuples(box_strategy, box_strategy), min_size=1, max_size=6),
    scale=st.floats(0.01, 100),
    shift=st.tuples(st.floats(-50, 50), st.floats(-50, 50)),
)
def test_scale_and_translation_invariance_symmetry_and_bounds(pairs, scale, shift):
    a = torch.tensor([p[0] for p in pairs], dtype=torch.float64)
    b = torch.tensor([p[1] for p in pairs], dtype=torch.float64)
    offset = torch.tensor([*shift, *shift], dtype=torch.float64)
    for loss in LOSSES:
        values = loss(a, b, reduction="none", eps=0.0)
        torch.testing.assert_close(
            loss(a * scale + offset, b * scale + offset, reduction="none", eps=0.0), values
        )
        torch.testing.assert_close(loss(b, a, reduction="none", eps=0.0), values)
        assert bool((values >= -1e-12).all()) and bool((values <= UPPER_BOUNDS[loss] + 1e-12).all())
    iou = iou_loss(a, b, reduction="none")
    assert bool((giou_loss(a, b, reduction="none") >= iou - 1e-12).all())
    assert bool((ciou_loss(a, b, reduction="none") >= diou_loss(a, b, reduction="none") - 1e-12).all())


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_batched_shapes_and_dtypes(dtype):
    input = random_boxes(24, 10, dtype=dtype).reshape(2, 3, 4, 4)
    target = random_boxes(24, 11, dtype=dtype).reshape(2, 3, 4, 4)
    for loss in LOSSES:
        values = loss(input, target, reduction="none")
        assert values.shape == (2, 3, 4) and values.dtype == dtype
        flat = loss(input.reshape(-1, 4), target.reshape(-1, 4), reduction="none")
        torch.testing.assert_close(values.reshape(-1), flat)
    assert box_iou(input, target).shape == (2, 3, 4)


def test_degenerate_boxes_stay_finite():
    flat = torch.tensor([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]], requires_grad=True)
    target = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    for loss in LOSSES:
        (grad,) = torch.autograd.grad(loss(flat, target), flat)
        assert torch.isfinite(grad).all()


@pytest.mark.parametrize("loss", [*LOSSES, box_iou])
def test_bad_inputs(loss):
    good = random_boxes(4, 12)
    with pytest.raises(ValueError, match="shape"):
        loss(good[:, :3], good[:, :3])
    with pytest.raises(ValueError, match="same shape"):
        loss(good, good[:3])
    inverted = good.clone()
    inverted[1, 2] = inverted[1, 0] - 1
    with pytest.raises(ValueError, match="x2 >= x1"):
        loss(inverted, good)
    with pytest.raises(ValueError, match="x2 >= x1"):
        loss(good, inverted)
    with pytest.raises(ValueError, match="finite"):
        loss(good, torch.full_like(good, float("nan")))
    with pytest.raises(TypeError, match="floating"):
        loss(good.long(), good.long())
    with pytest.raises(TypeError, match="dtype"):
        loss(good, good.float())
    with pytest.raises(TypeError, match="torch.Tensor"):
        loss(good.tolist(), good)
    with pytest.raises(ValueError, match="empty"):
        loss(good[:0], good[:0])


@pytest.mark.parametrize("loss", LOSSES)
def test_bad_reduction(loss):
    boxes = random_boxes(3, 13)
    with pytest.raises(ValueError, match="reduction"):
        loss(boxes, boxes, reduction="average")
    with pytest.raises(ValueError, match="eps"):
        loss(boxes, boxes, eps=-1e-7)


@pytest.mark.parametrize(
    "module, loss", [(IoULoss, iou_loss), (GIoULoss, giou_loss), (DIoULoss, diou_loss), (CIoULoss, ciou_loss)]
)
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_modules_match_functions(module, loss, reduction):
    input, target = random_boxes(15, 5), random_boxes(15, 6)
    torch.testing.assert_close(
        module(reduction, 1e-3)(input, target), loss(input, target, reduction=reduction, eps=1e-3)
    )
    assert module()(input, target).shape == ()
    with pytest.raises(ValueError, match="reduction"):
        module(reduction="avg")
    with pytest.raises(ValueError, match="eps"):
        module(eps=-1.0)

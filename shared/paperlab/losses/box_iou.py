r"""IoU-family losses for axis-aligned bounding boxes: IoU, GIoU, DIoU and CIoU.

Boxes are ``(x1, y1, x2, y2)`` with ``x2 >= x1`` and ``y2 >= y1``, in tensors of shape ``(..., 4)``;
prediction and target are compared elementwise (same shape, nothing broadcast). Every loss is
:math:`1 - \mathrm{IoU}` plus a penalty :math:`\mathcal{R}(B, B^{gt})`:

- IoU: none; the gradient vanishes when the boxes do not overlap.
- GIoU: :math:`|C \setminus (B \cup B^{gt})| / |C|`, with :math:`C` the smallest enclosing box.
- DIoU: :math:`\rho^2(b, b^{gt}) / c^2`, the squared distance of the centres over the squared
  diagonal of :math:`C` ("Distance-IoU Loss: Faster and Better Learning for Bounding Box
  Regression" (2019)).
- CIoU: the DIoU penalty plus :math:`\alpha v`, an aspect-ratio term (same paper).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce


class _Boxes(NamedTuple):
    """Columns of a ``(..., 4)`` box tensor, each of shape ``(...,)``, and the widths and heights."""

    x1: torch.Tensor
    y1: torch.Tensor
    x2: torch.Tensor
    y2: torch.Tensor
    w: torch.Tensor
    h: torch.Tensor


def _columns(name: str, boxes: torch.Tensor) -> _Boxes:
    """Unbind the coordinates once (one cheap backward node) and check that no box is inverted."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    w, h = x2 - x1, y2 - y1
    if bool(torch.minimum(w.detach(), h.detach()).amin() < 0):
        inverted = (w.detach() < 0) | (h.detach() < 0)
        first = tuple(boxes.detach()[inverted][0].tolist())
        raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1 in every box, got {first}")
    return _Boxes(x1, y1, x2, y2, w, h)


def check_boxes(name: str, boxes) -> torch.Tensor:
    """Return ``boxes`` if it is a finite float tensor of ``(x1, y1, x2, y2)`` boxes, else raise."""
    _check_box_tensor(name, boxes)
    _columns(name, boxes)
    return boxes


def _check_box_tensor(name: str, boxes) -> None:
    check_tensor(name, boxes, min_dim=1, floating=True)
    if boxes.shape[-1] != 4:
        raise ValueError(
            f"{name} must have shape (..., 4) of (x1, y1, x2, y2) boxes, got {tuple(boxes.shape)}"
        )


def _check_pair(input, target, eps, names=("input", "target")) -> tuple[_Boxes, _Boxes]:
    """Validate a pair of box tensors and return their columns."""
    check_positive("eps", eps, allow_zero=True)
    _check_box_tensor(names[0], input)
    _check_box_tensor(names[1], target)
    if input.shape != target.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(input.shape)} and "
            f"{tuple(target.shape)}"
        )
    if input.dtype != target.dtype:
        raise TypeError(
            f"{names[0]} and {names[1]} must have the same dtype, got {input.dtype} and {target.dtype}"
        )
    return _columns(names[0], input), _columns(names[1], target)


def _iou_and_union(b: _Boxes, g: _Boxes, eps: float):
    """IoU and union area of elementwise box pairs, each of shape ``(...,)``."""
    overlap_w = (torch.minimum(b.x2, g.x2) - torch.maximum(b.x1, g.x1)).clamp_min(0)
    overlap_h = (torch.minimum(b.y2, g.y2) - torch.maximum(b.y1, g.y1)).clamp_min(0)
    intersection = overlap_w * overlap_h
    union = b.w * b.h + g.w * g.h - intersection
    return intersection / (union + eps), union


def _enclosing_size(b: _Boxes, g: _Boxes) -> tuple[torch.Tensor, torch.Tensor]:
    """Width and height of the smallest box enclosing both boxes, each of shape ``(...,)``."""
    return (
        torch.maximum(b.x2, g.x2) - torch.minimum(b.x1, g.x1),
        torch.maximum(b.y2, g.y2) - torch.minimum(b.y1, g.y1),
    )


def _distance_penalty(b: _Boxes, g: _Boxes, eps: float) -> torch.Tensor:
    r""":math:`\rho^2(b, b^{gt}) / c^2`: squared centre distance over the enclosing box's squared diagonal."""
    offset_x, offset_y = (b.x1 + b.x2 - g.x1 - g.x2) / 2, (b.y1 + b.y2 - g.y1 - g.y2) / 2
    enclosing_w, enclosing_h = _enclosing_size(b, g)
    return (offset_x.square() + offset_y.square()) / (enclosing_w.square() + enclosing_h.square() + eps)


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    r"""Intersection over union of box pairs, elementwise.

    .. math:: \mathrm{IoU} = \frac{|B_1 \cap B_2|}{|B_1 \cup B_2| + \epsilon}

    Args:
        boxes1: boxes ``(x1, y1, x2, y2)``, shape ``(..., 4)``.
        boxes2: boxes of the same shape and dtype.
        eps: added to the union so that two empty boxes give 0, not NaN.

    Returns:
        IoU in ``[0, 1]``, shape ``(...,)``.
    """
    return _iou_and_union(*_check_pair(boxes1, boxes2, eps, names=("boxes1", "boxes2")), eps)[0]


def iou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""IoU loss, :math:`1 - \mathrm{IoU}(B, B^{gt})`.

    Its gradient is zero whenever the boxes do not overlap, which is the failure the GIoU and DIoU
    penalties repair ("Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression" (2019)).

    Args:
        input: predicted boxes ``(x1, y1, x2, y2)``, shape ``(..., 4)``.
        target: target boxes, same shape and dtype.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        eps: non-negative, added to the union to avoid dividing by zero.

    Returns:
        A scalar, or per-box losses of shape ``(...,)`` for ``reduction="none"``.
    """
    check_reduction(reduction)
    b, g = _check_pair(input, target, eps)
    iou, _ = _iou_and_union(b, g, eps)
    return reduce(1 - iou, reduction)


def giou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""Generalized IoU loss.

    .. math:: \mathcal{L}_{GIoU} = 1 - \mathrm{IoU} + \frac{|C| - |B \cup B^{gt}|}{|C|}

    with :math:`C` the smallest box enclosing both; in ``[0, 2)``, above 1 for disjoint boxes.
    Arguments and returns as in :func:`iou_loss`.
    """
    check_reduction(reduction)
    b, g = _check_pair(input, target, eps)
    iou, union = _iou_and_union(b, g, eps)
    enclosing_w, enclosing_h = _enclosing_size(b, g)
    enclosing_area = enclosing_w * enclosing_h
    return reduce(1 - iou + (enclosing_area - union) / (enclosing_area + eps), reduction)


def diou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""Distance-IoU loss.

    .. math:: \mathcal{L}_{DIoU} = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2}

    :math:`\rho` is the distance between the box centres :math:`b, b^{gt}` and :math:`c` the diagonal
    of the smallest box enclosing both; in ``[0, 2)``. From "Distance-IoU Loss: Faster and Better
    Learning for Bounding Box Regression" (2019). Arguments and returns as in :func:`iou_loss`.
    """
    check_reduction(reduction)
    b, g = _check_pair(input, target, eps)
    iou, _ = _iou_and_union(b, g, eps)
    return reduce(1 - iou + _distance_penalty(b, g, eps), reduction)


def ciou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""Complete-IoU loss: DIoU plus an aspect-ratio consistency term.

    .. math::
        \mathcal{L}_{CIoU} = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2} + \alpha v, \quad
        v = \frac{4}{\pi^2}\Big(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\Big)^2, \quad
        \alpha = \frac{v}{(1 - \mathrm{IoU}) + v}

    As in the authors' code, :math:`\alpha` is a trade-off weight held constant in the backward pass
    (no gradient flows through it); the gradient of :math:`v` is exact. Heights get ``eps`` added
    inside the arctangent so that flat boxes stay finite. From "Distance-IoU Loss: Faster and Better
    Learning for Bounding Box Regression" (2019). Arguments and returns as in :func:`iou_loss`.
    """
    check_reduction(reduction)
    b, g = _check_pair(input, target, eps)
    iou, _ = _iou_and_union(b, g, eps)
    v = (4 / math.pi**2) * (torch.atan(g.w / (g.h + eps)) - torch.atan(b.w / (b.h + eps))).square()
    with torch.no_grad():
        alpha = torch.where(v > 0, v / ((1 - iou) + v + eps), 0.0)  # 0 when the shapes agree
    return reduce(1 - iou + _distance_penalty(b, g, eps) + alpha * v, reduction)


class _BoxLoss(nn.Module):
    """Shared body of the box-loss modules: the functional loss with fixed ``reduction`` and ``eps``."""

    loss = staticmethod(iou_loss)

    def __init__(self, reduction="mean", eps=1e-7):
        super().__init__()
        self.reduction, self.eps = check_reduction(reduction), check_positive("eps", eps, allow_zero=True)

    def forward(self, input, target):
        return self.loss(input, target, self.reduction, self.eps)


class IoULoss(_BoxLoss):
    """Module form of :func:`iou_loss`."""


class GIoULoss(_BoxLoss):
    """Module form of :func:`giou_loss`."""

    loss = staticmethod(giou_loss)


class DIoULoss(_BoxLoss):
    """Module form of :func:`diou_loss`."""

    loss = staticmethod(diou_loss)


class CIoULoss(_BoxLoss):
    """Module form of :func:`ciou_loss`."""

    loss = staticmethod(ciou_loss)

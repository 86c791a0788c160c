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

import torch

from paperlab._checks import check_positive, check_reduction, check_tensor, reduce


def check_boxes(name: str, boxes) -> torch.Tensor:
    """Return ``boxes`` if it is a finite float tensor of ``(x1, y1, x2, y2)`` boxes, else raise."""
    check_tensor(name, boxes, min_dim=1, floating=True)
    if boxes.shape[-1] != 4:
        raise ValueError(
            f"{name} must have shape (..., 4) of (x1, y1, x2, y2) boxes, got {tuple(boxes.shape)}"
        )
    inverted = (boxes[..., 2] < boxes[..., 0]) | (boxes[..., 3] < boxes[..., 1])
    if bool(inverted.any()):
        first = tuple(boxes[inverted][0].tolist())
        raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1 in every box, got {first}")
    return boxes


def _check_pair(input: torch.Tensor, target: torch.Tensor, eps, names=("input", "target")) -> None:
    check_positive("eps", eps, allow_zero=True)
    check_boxes(names[0], input)
    check_boxes(names[1], target)
    if input.shape != target.shape:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, got {tuple(input.shape)} and "
            f"{tuple(target.shape)}"
        )
    if input.dtype != target.dtype:
        raise TypeError(
            f"{names[0]} and {names[1]} must have the same dtype, got {input.dtype} and {target.dtype}"
        )


def _widths_heights(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]


def _iou_and_union(input: torch.Tensor, target: torch.Tensor, eps: float):
    """IoU and union area of elementwise box pairs, each of shape ``(...,)``."""
    w1, h1 = _widths_heights(input)
    w2, h2 = _widths_heights(target)
    top_left = torch.maximum(input[..., :2], target[..., :2])  # (..., 2)
    bottom_right = torch.minimum(input[..., 2:], target[..., 2:])  # (..., 2)
    overlap = (bottom_right - top_left).clamp_min(0)  # (..., 2)
    intersection = overlap[..., 0] * overlap[..., 1]
    union = w1 * h1 + w2 * h2 - intersection
    return intersection / (union + eps), union


def _enclosing_size(input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Width and height of the smallest box enclosing both boxes, shape ``(..., 2)``."""
    return torch.maximum(input[..., 2:], target[..., 2:]) - torch.minimum(input[..., :2], target[..., :2])


def _distance_penalty(input: torch.Tensor, target: torch.Tensor, eps: float) -> torch.Tensor:
    r""":math:`\rho^2(b, b^{gt}) / c^2`: squared centre distance over the enclosing box's squared diagonal."""
    centre_offset = (input[..., :2] + input[..., 2:] - target[..., :2] - target[..., 2:]) / 2  # (..., 2)
    enclosing = _enclosing_size(input, target)  # (..., 2)
    return centre_offset.pow(2).sum(-1) / (enclosing.pow(2).sum(-1) + eps)


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
    _check_pair(boxes1, boxes2, eps, names=("boxes1", "boxes2"))
    return _iou_and_union(boxes1, boxes2, eps)[0]


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
    _check_pair(input, target, eps)
    iou, _ = _iou_and_union(input, target, eps)
    return reduce(1 - iou, reduction)


def giou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""Generalized IoU loss.

    .. math:: \mathcal{L}_{GIoU} = 1 - \mathrm{IoU} + \frac{|C| - |B \cup B^{gt}|}{|C|}

    with :math:`C` the smallest box enclosing both; in ``[0, 2)``, above 1 for disjoint boxes.
    Arguments and returns as in :func:`iou_loss`.
    """
    check_reduction(reduction)
    _check_pair(input, target, eps)
    iou, union = _iou_and_union(input, target, eps)
    enclosing = _enclosing_size(input, target)  # (..., 2)
    enclosing_area = enclosing[..., 0] * enclosing[..., 1]
    return reduce(1 - iou + (enclosing_area - union) / (enclosing_area + eps), reduction)


def diou_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", eps: float = 1e-7):
    r"""Distance-IoU loss.

    .. math:: \mathcal{L}_{DIoU} = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2}

    :math:`\rho` is the distance between the box centres :math:`b, b^{gt}` and :math:`c` the diagonal
    of the smallest box enclosing both; in ``[0, 2)``. From "Distance-IoU Loss: Faster and Better
    Learning for Bounding Box Regression" (2019). Arguments and returns as in :func:`iou_loss`.
    """
    check_reduction(reduction)
    _check_pair(input, target, eps)
    iou, _ = _iou_and_union(input, target, eps)
    return reduce(1 - iou + _distance_penalty(input, target, eps), reduction)


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
    _check_pair(input, target, eps)
    iou, _ = _iou_and_union(input, target, eps)
    w, h = _widths_heights(input)
    w_gt, h_gt = _widths_heights(target)
    v = (4 / math.pi**2) * (torch.atan(w_gt / (h_gt + eps)) - torch.atan(w / (h + eps))).pow(2)
    with torch.no_grad():
        alpha = torch.where(v > 0, v / ((1 - iou) + v + eps), 0.0)  # 0 when the shapes agree
    return reduce(1 - iou + _distance_penalty(input, target, eps) + alpha * v, reduction)

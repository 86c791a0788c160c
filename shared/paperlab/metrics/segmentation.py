r"""Mean intersection over union (mIoU), the standard score of semantic segmentation.

The Jaccard index that "Jaccard Metric Losses: Optimizing the Jaccard Index with Soft Labels" (2023)
optimizes, computed on hard predictions from the dataset-level confusion counts.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor


def confusion_matrix(pred_labels: torch.Tensor, target_labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Counts ``M[t, p]`` of pixels with target class ``t`` predicted as ``p``, shape ``(C, C)``, int64.

    Args:
        pred_labels: int64 predicted classes in ``[0, C)``, any shape.
        target_labels: int64 target classes of the same shape.
        n_classes: the number of classes ``C``.
    """
    check_positive("n_classes", n_classes, integer=True)
    for name, labels in (("pred_labels", pred_labels), ("target_labels", target_labels)):
        check_tensor(name, labels)
        if labels.dtype != torch.long:
            raise ValueError(f"{name} must be int64 class indices, got dtype {labels.dtype}")
        if bool(((labels < 0) | (labels >= n_classes)).any()):
            raise ValueError(f"{name} must be in [0, {n_classes}), got values outside")
    if pred_labels.shape != target_labels.shape:
        raise ValueError(
            f"pred_labels and target_labels must have the same shape, got {tuple(pred_labels.shape)} "
            f"and {tuple(target_labels.shape)}"
        )
    if pred_labels.device != target_labels.device:
        raise ValueError("pred_labels and target_labels must be on the same device")
    flat = target_labels.reshape(-1) * n_classes + pred_labels.reshape(-1)  # (n_pixels,)
    return torch.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def mean_iou(pred_labels: torch.Tensor, target_labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    r"""Mean over classes of :math:`\mathrm{IoU}_c = TP_c / (TP_c + FP_c + FN_c)`, from counts over all pixels.

    Classes absent from both prediction and target (union 0) have no IoU and are left out of the mean.

    Args:
        pred_labels: int64 predicted classes in ``[0, C)``, any shape, e.g. ``(N, H, W)``.
        target_labels: int64 target classes of the same shape.
        n_classes: the number of classes ``C``.

    Returns:
        The mIoU in ``[0, 1]``, a float64 scalar tensor.
    """
    counts = confusion_matrix(pred_labels, target_labels, n_classes).double()  # (C, C)
    true_positives = counts.diagonal()
    union = counts.sum(0) + counts.sum(1) - true_positives  # (C,)
    seen = union > 0
    return (true_positives[seen] / union[seen]).mean()

r"""The soft Jaccard loss and the Jaccard metric losses (JML1, JML2) for segmentation.

From "Jaccard Metric Losses: Optimizing the Jaccard Index with Soft Labels" (2023). The classic soft
Jaccard loss relaxes :math:`|x \cap y|` to :math:`\langle x, y \rangle`, which is only right when the
label :math:`y` is one-hot: with a soft label it is not minimized at :math:`x = y`. The paper rewrites
intersection and union with the :math:`L^1` norm of the difference, which is the same on hard labels
and gives a metric on :math:`[0, 1]^p`:

.. math::
    \Delta_{\text{JML1}}(x, y) = 1 - \frac{\|x\|_1 + \|y\|_1 - \|x - y\|_1}{\|x\|_1 + \|y\|_1 + \|x - y\|_1},
    \qquad
    \Delta_{\text{JML2}}(x, y) = 1 - \frac{\langle x, y \rangle}{\langle x, y \rangle + \|x - y\|_1}.

Every function takes probability maps ``input`` of shape ``(N, C, d1, ...)`` (softmax outputs) and a
``target`` that is either soft labels of the same shape or int64 class indices of shape ``(N, d1, ...)``.
The loss of one class compares the class's maps over all pixels of the batch (``per_image=False``) or
of one image (``per_image=True``); it is averaged over the classes (``classes="all"``) or over the
classes present in the target, i.e. the argmax of some pixel (``classes="present"``, the default).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_reduction, check_tensor

VARIANTS = ("jml1", "jml2")
CLASS_MODES = ("all", "present")


def soft_jaccard_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    reduction: str = "mean",
    per_image: bool = False,
    classes: str = "present",
    smooth: float = 1.0,
    ignore_index: int | None = None,
) -> torch.Tensor:
    r"""Classic soft Jaccard loss, the baseline: exact for hard labels, biased for soft ones.

    .. math:: L = 1 - \frac{\langle x, y \rangle + s}{\|x\|_1 + \|y\|_1 - \langle x, y \rangle + s}

    per class (and per image when ``per_image``), with :math:`s` the ``smooth`` term.

    Args:
        input: probabilities, shape ``(N, C, d1, ...)``, values in ``[0, 1]``.
        target: soft labels of ``input``'s shape in ``[0, 1]``, or int64 classes of shape ``(N, d1, ...)``.
        reduction: ``"mean"`` (over images, then the selected classes), ``"sum"`` (of the selected
            classes' losses) or ``"none"`` (every class's loss, selected or not).
        per_image: compare the maps of each image separately instead of over the whole batch.
        classes: ``"present"`` (classes that are the target's argmax somewhere) or ``"all"``.
        smooth: :math:`s \ge 0`, added to numerator and denominator.
        ignore_index: with integer targets, pixels of this class are left out.

    Returns:
        A scalar, or the losses of shape ``(C,)`` (``(N, C)`` when ``per_image``) for ``"none"``.
    """
    return _region_loss("soft", input, target, reduction, per_image, classes, smooth, ignore_index)


def jaccard_metric_loss(
    input: torch.Tensor,
    target: torch.Tensor,
    variant: str = "jml1",
    reduction: str = "mean",
    per_image: bool = False,
    classes: str = "present",
    smooth: float = 1.0,
    ignore_index: int | None = None,
) -> torch.Tensor:
    r"""Jaccard metric loss (JML1 or JML2): a soft-label-compatible Jaccard loss.

    .. math::
        L_{\text{JML1}} = 1 - \frac{\|x\|_1 + \|y\|_1 - \|x - y\|_1 + s}{\|x\|_1 + \|y\|_1 + \|x - y\|_1 + s},
        \qquad
        L_{\text{JML2}} = 1 - \frac{\langle x, y \rangle + s}{\langle x, y \rangle + \|x - y\|_1 + s}

    per class (and per image when ``per_image``). With one-hot labels both equal
    :func:`soft_jaccard_loss` (JML1 counts intersection and union twice, so its :math:`s` acts as
    :math:`s / 2`, as in the authors' code); with ``smooth = 0`` both are metrics on :math:`[0, 1]^p`,
    so :math:`x = y` is the unique minimizer for any soft label :math:`y`.

    Args:
        input, target, reduction, per_image, classes, smooth, ignore_index: as in :func:`soft_jaccard_loss`.
        variant: ``"jml1"`` or ``"jml2"``.

    Returns:
        A scalar, or the losses of shape ``(C,)`` (``(N, C)`` when ``per_image``) for ``"none"``.
    """
    check_choice("variant", variant, VARIANTS)
    return _region_loss(variant, input, target, reduction, per_image, classes, smooth, ignore_index)


class SoftJaccardLoss(nn.Module):
    """Module form of :func:`soft_jaccard_loss`."""

    def __init__(self, reduction="mean", per_image=False, classes="present", smooth=1.0, ignore_index=None):
        super().__init__()
        self.reduction, self.per_image = check_reduction(reduction), per_image
        self.classes, self.smooth = check_choice("classes", classes, CLASS_MODES), smooth
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return soft_jaccard_loss(
            input, target, self.reduction, self.per_image, self.classes, self.smooth, self.ignore_index
        )


class JaccardMetricLoss(nn.Module):
    """Module form of :func:`jaccard_metric_loss`."""

    def __init__(
        self,
        variant="jml1",
        reduction="mean",
        per_image=False,
        classes="present",
        smooth=1.0,
        ignore_index=None,
    ):
        super().__init__()
        self.variant = check_choice("variant", variant, VARIANTS)
        self.reduction, self.per_image = check_reduction(reduction), per_image
        self.classes, self.smooth = check_choice("classes", classes, CLASS_MODES), smooth
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return jaccard_metric_loss(
            input,
            target,
            self.variant,
            self.reduction,
            self.per_image,
            self.classes,
            self.smooth,
            self.ignore_index,
        )


def _region_loss(kind, input, target, reduction, per_image, classes, smooth, ignore_index):
    """Per-class (per-image) Jaccard-type losses of ``kind`` in soft / jml1 / jml2, then the reduction."""
    check_reduction(reduction)
    check_choice("classes", classes, CLASS_MODES)
    check_positive("smooth", smooth, allow_zero=True)
    if not isinstance(per_image, bool):
        raise TypeError(f"per_image must be a bool, got {per_image!r}")
    labels, keep, present = _as_soft_labels(input, target, ignore_index)  # (N, C, P), (N, 1, P), (N, C)
    probs = input.flatten(2)  # (N, C, P)
    if keep is not None:
        probs = probs * keep
    dims = (2,) if per_image else (0, 2)
    if kind == "jml1":
        total = (probs + labels).sum(dims)  # ||x||_1 + ||y||_1, (N, C) or (C,)
        difference = (probs - labels).abs().sum(dims)  # ||x - y||_1
        intersection, union = total - difference, total + difference
    else:
        intersection = (probs * labels).sum(dims)  # <x, y>
        if kind == "jml2":
            union = intersection + (probs - labels).abs().sum(dims)
        else:
            union = (probs + labels).sum(dims) - intersection
    numerator, denominator = intersection + smooth, union + smooth
    # 0 / 0 (both maps empty, no smoothing) counts as a perfect match; the where keeps gradients finite.
    empty = denominator <= 0
    losses = 1 - torch.where(empty, 1.0, numerator / torch.where(empty, 1.0, denominator))
    if reduction == "none":
        return losses
    if classes == "all":
        present = torch.ones_like(present)
    selected = present if per_image else present.any(0)  # bool, like losses
    if reduction == "sum":
        return (losses * selected).sum()
    per_group = (losses * selected).sum(-1) / selected.sum(-1).clamp_min(1)  # (N,) or ()
    if per_image:
        has_class = selected.any(-1)  # images with no selected class do not count
        return (per_group * has_class).sum() / has_class.sum().clamp_min(1)
    return per_group


def _as_soft_labels(input, target, ignore_index):
    """Labels as ``(N, C, P)`` floats in ``input``'s dtype, the ``(N, 1, P)`` mask of kept pixels (or None)
    and the ``(N, C)`` mask of the classes present in each image (the argmax of some kept pixel)."""
    check_tensor("input", input, min_dim=3, floating=True, finite=False)
    _check_unit_interval("input", input, "probabilities")
    if not isinstance(target, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor, got {type(target).__name__}")
    if target.device != input.device:
        raise ValueError(f"target must be on input's device {input.device}, got {target.device}")
    n, c = input.shape[:2]
    if target.is_floating_point():
        if ignore_index is not None:
            raise ValueError(f"ignore_index applies to integer targets only, got {ignore_index!r}")
        if target.shape != input.shape:
            raise ValueError(
                f"soft target must have input's shape {tuple(input.shape)}, got {tuple(target.shape)}"
            )
        _check_unit_interval("target", target, "soft labels")
        labels = target.to(input.dtype).flatten(2)  # (N, C, P)
        return labels, None, _present(labels.argmax(1), c)
    if target.dtype != torch.long:
        raise ValueError(f"target must be float soft labels or int64 classes, got dtype {target.dtype}")
    expected = input.shape[:1] + input.shape[2:]
    if target.shape != expected:
        raise ValueError(
            f"target must have shape {tuple(expected)} for input of shape {tuple(input.shape)}, "
            f"got {tuple(target.shape)}"
        )
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, int)):
        raise TypeError(f"ignore_index must be an integer or None, got {ignore_index!r}")
    out_of_range = (target < 0) | (target >= c)
    if ignore_index is not None:
        keep = target != ignore_index
        out_of_range &= keep
    if bool(out_of_range.any()):
        raise ValueError(f"target must be in [0, {c}), got {target[out_of_range][0].item()}")
    if ignore_index is None:
        flat = target.reshape(n, -1)  # (N, P)
        return F.one_hot(flat, c).movedim(-1, 1).to(input.dtype), None, _present(flat, c)  # (N, C, P)
    keep = keep.reshape(n, 1, -1)  # (N, 1, P)
    flat = target.reshape(n, -1).masked_fill(~keep[:, 0], 0)  # (N, P)
    labels = F.one_hot(flat, c).movedim(-1, 1).to(input.dtype) * keep  # (N, C, P)
    return labels, keep.to(input.dtype), _present(flat.masked_fill(~keep[:, 0], c), c)


def _check_unit_interval(name: str, x: torch.Tensor, what: str) -> None:
    """Raise unless every entry is finite and in [0, 1]; one pass over ``x`` (NaN propagates to min / max)."""
    low, high = torch.aminmax(x.detach())
    if not bool(torch.isfinite(low)) or not bool(torch.isfinite(high)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    if low < 0 or high > 1:
        raise ValueError(
            f"{name} must hold {what} in [0, 1], got values in [{low.item():.3g}, {high.item():.3g}]"
        )


def _present(classes: torch.Tensor, n_classes: int) -> torch.Tensor:
    """``(N, C)`` mask of the classes that occur in each row of ``(N, P)`` indices (``n_classes`` is skipped)."""
    n = classes.shape[0]
    offsets = torch.arange(n, device=classes.device).unsqueeze(1) * (n_classes + 1)  # (N, 1)
    counts = torch.bincount((classes + offsets).flatten(), minlength=n * (n_classes + 1))
    return counts.reshape(n, n_classes + 1)[:, :n_classes] > 0

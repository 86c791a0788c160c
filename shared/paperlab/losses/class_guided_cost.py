r"""The class-guided cost functional: transported classes should land on the target's samples of the same class."""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor


def _check_labelled(name: str, points: torch.Tensor, labels: torch.Tensor) -> None:
    check_tensor(name, points, dim=2, floating=True)
    check_tensor(f"{name}_labels", labels, dim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"{name}_labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != points.shape[0]:
        raise ValueError(f"{name}_labels must have shape ({points.shape[0]},), got {tuple(labels.shape)}")


def class_guided_cost(
    mapped: torch.Tensor,
    labels: torch.Tensor,
    target: torch.Tensor,
    target_labels: torch.Tensor,
    n_classes: int,
) -> torch.Tensor:
    r"""Weighted sum over classes of the energy distance between mapped source points and target points.

    .. math:: \mathcal F_G(T) = \sum_k \alpha_k\, \mathcal E\big(T_\#P_k,\ Q_k\big), \qquad
              \alpha_k = \frac{|\{i : \text{labels}_i = k\}|}{n}

    where :math:`T_\#P_k` are the mapped points of source class k and :math:`Q_k` the (few) labelled target
    points of class k. Classes absent from the batch do not count; a class in the batch must have
    labelled target points. From "Neural Optimal Transport with General Cost Functionals".

    Args:
        mapped: transported source points T(x, z) (n, d).
        labels: classes of the source points (n,), integers in [0, n_classes).
        target: labelled target points (m, d).
        target_labels: their classes (m,).
        n_classes: number of classes K.

    Returns:
        Scalar cost, differentiable in ``mapped``.
    """
    from paperlab.distances.energy_distance import energy_distance

    _check_labelled("mapped", mapped, labels)
    _check_labelled("target", target, target_labels)
    check_positive("n_classes", n_classes, integer=True)
    if mapped.shape[1] != target.shape[1]:
        raise ValueError(
            f"mapped and target must have the same d, got {mapped.shape[1]} and {target.shape[1]}"
        )
    for name, values in [("labels", labels), ("target_labels", target_labels)]:
        if bool((values < 0).any()) or bool((values >= n_classes).any()):
            raise ValueError(
                f"{name} must lie in [0, {n_classes}), got range [{values.min()}, {values.max()}]"
            )
    total = mapped.new_zeros(())
    for k in labels.unique().tolist():
        in_class, target_in_class = labels == k, target_labels == k
        if not bool(target_in_class.any()):
            raise ValueError(f"class {k} appears in labels but has no labelled target point")
        weight = in_class.sum().to(mapped.dtype) / len(labels)
        total = total + weight * energy_distance(mapped[in_class], target[target_in_class])
    return total

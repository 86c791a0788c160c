r"""Tolerance of an embedding: how close features of the same class stay on the hypersphere.

From "Understanding the Behaviour of Contrastive Loss" (2021), which pairs it with the uniformity
metric (:func:`paperlab.losses.uniformity_loss`): a small temperature spreads features uniformly but
also pushes apart semantically similar samples, lowering the tolerance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_tensor


def tolerance(embeddings: torch.Tensor, labels: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    r"""Mean cosine similarity over all ordered pairs of distinct items that share a class.

    .. math:: T = \frac{1}{\sum_c n_c (n_c - 1)} \sum_{i \ne j,\ y_i = y_j} z_i^\top z_j
              = \frac{\sum_c \big(\lVert S_c \rVert^2 - \sum_{i \in c} \lVert z_i \rVert^2\big)}
                     {\sum_c n_c (n_c - 1)}

    with ``z`` the (normalized) embeddings and :math:`S_c` the sum of class ``c``'s embeddings, so
    the cost is O(B D), no B x B matrix. Lies in [-1, 1] for unit features; 1 means every class
    collapsed to a point.

    Args:
        embeddings: (B, D) features.
        labels: (B,) integer labels; at least one class must have two members.
        normalize: l2-normalize the rows first (the paper's definition is on the unit sphere).

    Returns:
        A scalar tensor.

    From "Understanding the Behaviour of Contrastive Loss" (2021).
    """
    check_tensor("embeddings", embeddings, dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels must have one entry per row of embeddings ({embeddings.shape[0]}), "
            f"got shape {tuple(labels.shape)}"
        )
    z = F.normalize(embeddings, dim=1) if normalize else embeddings
    classes, class_of, counts = torch.unique(labels.to(z.device), return_inverse=True, return_counts=True)
    n_pairs = (counts * (counts - 1)).sum()
    if int(n_pairs) == 0:
        raise ValueError("labels must give at least one class two members, got all labels distinct")
    class_sums = z.new_zeros(len(classes), z.shape[1]).index_add(0, class_of, z)  # (C, D)
    return (class_sums.pow(2).sum() - z.pow(2).sum()) / n_pairs.to(z.dtype)

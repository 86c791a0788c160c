"""Shared plumbing of the metric-learning losses: input checks, label masks and pair distances.

Every loss of ``pair_losses``, ``circle`` and ``contrastive`` takes a batch of ``embeddings`` (B, D)
with integer ``labels`` (B,); two items form a positive pair when they share a label (an item is
never its own positive) and a negative pair otherwise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_choice, check_tensor

DISTANCES = ("euclidean", "squared_euclidean", "cosine")
REDUCTIONS = ("mean", "sum", "none")


def check_labelled_batch(embeddings: torch.Tensor, labels: torch.Tensor, min_size: int = 2) -> None:
    """Raise unless ``embeddings`` is a finite (B, D) float tensor and ``labels`` a (B,) integer tensor."""
    check_tensor("embeddings", embeddings, dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"labels must have one entry per row of embeddings ({embeddings.shape[0]}), "
            f"got shape {tuple(labels.shape)}"
        )
    if labels.device != embeddings.device:
        raise ValueError(f"labels must live on embeddings' device {embeddings.device}, got {labels.device}")
    if embeddings.shape[0] < min_size:
        raise ValueError(
            f"embeddings must hold at least {min_size} rows, got shape {tuple(embeddings.shape)}"
        )


def check_reduction_of(reduction: str, choices=REDUCTIONS) -> str:
    """Return ``reduction`` if it is one of ``choices``, else raise ValueError."""
    return check_choice("reduction", reduction, set(choices))


def pair_masks(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Boolean (B, B) masks of positive pairs (same label, i != j) and negative pairs (other label)."""
    same = labels[:, None] == labels[None, :]  # (B, B)
    eye = torch.eye(labels.shape[0], dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def cosine_similarity_matrix(embeddings: torch.Tensor) -> torch.Tensor:
    """All cosine similarities ``s_ij = <x_i, x_j> / (|x_i| |x_j|)`` of a batch; returns (B, B)."""
    unit = F.normalize(embeddings, dim=1)
    return unit @ unit.T


def pairwise_distance(embeddings: torch.Tensor, distance: str, normalize: bool) -> torch.Tensor:
    """All pairwise distances of a batch, (B, B).

    ``"euclidean"`` is ``|x_i - x_j|``, ``"squared_euclidean"`` its square and ``"cosine"`` is
    ``1 - cos(x_i, x_j)`` (always on unit vectors). ``normalize=True`` first scales every row to
    unit length, as pytorch-metric-learning's default ``LpDistance`` does.
    """
    check_choice("distance", distance, set(DISTANCES))
    if distance == "cosine":
        return 1.0 - cosine_similarity_matrix(embeddings)
    x = F.normalize(embeddings, dim=1) if normalize else embeddings
    euclidean = torch.cdist(x, x)
    return euclidean if distance == "euclidean" else euclidean.square()


def zero_loss(embeddings: torch.Tensor) -> torch.Tensor:
    """A zero scalar that stays connected to the graph (a batch with nothing to learn from)."""
    return embeddings.sum() * 0.0

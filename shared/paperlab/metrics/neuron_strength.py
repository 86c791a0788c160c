"""Input-neuron strength of a (sparse) layer as a feature importance, and top-k selection.

From "Quick and Robust Feature Selection: the Strength of Energy-efficient Sparse Training for
Autoencoders (2020)": after sparse training, an input feature whose neuron keeps many strong connections
matters for the reconstruction, so features are ranked by the sum of their absolute weights.
"""

from __future__ import annotations

import torch

from .._checks import check_positive, check_tensor


def neuron_strength(weight: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Strength $s_i = \sum_j |W_{ji}|$ of every input neuron $i$ of a linear layer.

    Args:
        weight: layer weight (out_features, in_features), as in ``nn.Linear``.
        mask: optional boolean or 0/1 mask of the same shape; inactive entries do not count.

    Returns:
        Tensor (in_features,) of non-negative strengths, on weight's device and dtype.
    """
    check_tensor("weight", weight, dim=2, floating=True)
    if mask is not None:
        check_tensor("mask", mask, dim=2)
        if mask.shape != weight.shape:
            raise ValueError(f"mask must have shape {tuple(weight.shape)}, got {tuple(mask.shape)}")
        weight = weight * mask.to(weight.dtype)
    return weight.abs().sum(dim=0)


def top_k_features(scores: torch.Tensor, k: int, largest: bool = True) -> torch.Tensor:
    """Indices of the ``k`` best features, best first (ties broken by the lower index).

    Args:
        scores: importance per feature (n_features,).
        k: number of features to keep, 1 <= k <= n_features.
        largest: True when a larger score is better (strength), False when smaller is (Laplacian score).

    Returns:
        Long tensor (k,) of feature indices.
    """
    check_tensor("scores", scores, dim=1, floating=True)
    check_positive("k", k, integer=True)
    if k > scores.numel():
        raise ValueError(f"k must be <= the number of features {scores.numel()}, got {k}")
    keys = -scores if largest else scores
    return torch.argsort(keys, stable=True)[:k]

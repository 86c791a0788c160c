"""The intrinsic dimension of an objective landscape read off a sweep of random-subspace runs."""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive


def intrinsic_dim_90(dims, scores, baseline: float, fraction: float = 0.9) -> float:
    """Smallest subspace dimension d whose run reaches ``fraction`` of the full-parameter score.

    $$d_{\\mathrm{int}90} = \\min \\{ d : \\mathrm{score}(d) \\ge 0.9\\, \\mathrm{score}_{\\mathrm{full}} \\}$$
    read on the swept grid (no interpolation), for a score where higher is better (e.g. accuracy).

    Args:
        dims: (m,) swept dimensions, positive integers in any order.
        scores: (m,) score of the run at each dimension (e.g. test accuracy, averaged over seeds).
        baseline: score of the model trained with all its parameters, > 0.
        fraction: the threshold as a fraction of ``baseline``, in (0, 1].

    Returns:
        the smallest such d as a float, or ``math.inf`` when no swept d reaches the threshold.

    Paper: Measuring the Intrinsic Dimension of Objective Landscapes (2018).
    """
    dims = torch.as_tensor(dims)
    scores = torch.as_tensor(scores, dtype=torch.float64)
    if dims.dim() != 1 or scores.dim() != 1 or dims.numel() != scores.numel() or dims.numel() == 0:
        raise ValueError(
            f"dims and scores must be non-empty 1-D and of equal length, got {tuple(dims.shape)} "
            f"and {tuple(scores.shape)}"
        )
    if dims.is_floating_point() or bool((dims <= 0).any()):
        raise ValueError(f"dims must be positive integers, got {dims.tolist()}")
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores must be finite")
    check_positive("baseline", baseline)
    check_positive("fraction", fraction)
    if fraction > 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    reached = dims[scores >= fraction * baseline]
    return float(reached.min()) if reached.numel() else math.inf

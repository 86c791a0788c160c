"""ALDS: per-layer (channel groups, rank) chosen to minimise the largest relative error under a global budget.

A layer's weight W (out, in) is split into k column groups :math:`W = [W_1, \\dots, W_k]` (the
multiple-subspace decomposition: each group of input channels gets its own basis) and every group is
replaced by its rank-j truncated SVD. That costs :math:`j (k\\,\\text{out} + \\text{in})` values and has
the relative spectral error bound

.. math:: \\varepsilon(k, j) = \\frac{\\sqrt{\\sum_i \\sigma_{j+1}(W_i)^2}}{\\|W\\|_2}
          \\ \\ge\\ \\frac{\\|W - \\hat W\\|_2}{\\|W\\|_2},

exact for k = 1 (Eckart-Young). Given every layer's options, the allocation minimising
:math:`\\max_\\ell \\varepsilon_\\ell` subject to :math:`\\sum_\\ell \\text{size}_\\ell \\le B` is found exactly: for a
threshold t each layer independently takes its cheapest option with error :math:`\\le t`, and the smallest
feasible t among the option errors is found by bisection. Left-over budget then lowers the other layers'
errors greedily. From "Compressing Neural Networks: Towards Determining the Optimal Layer-wise
Decomposition".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .._checks import check_positive, check_tensor
from .trained_rank_pruning import energy_rank


@dataclass
class LayerOptions:
    """The decompositions considered for one layer, as parallel 1-D tensors."""

    n_groups: torch.Tensor  # (m,) int64 k
    ranks: torch.Tensor  # (m,) int64 j
    sizes: torch.Tensor  # (m,) int64 j (k out + in)
    errors: torch.Tensor  # (m,) float64 relative spectral error bound


@dataclass
class Allocation:
    """One (n_groups, rank) per layer and what it costs."""

    n_groups: list[int]
    ranks: list[int]
    sizes: list[int]
    errors: list[float]
    total_size: int
    max_error: float


def grouped_svd_errors(weight: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Relative spectral error bound :math:`\\varepsilon(k, j)` of the k-group rank-j SVD, for j = 1..max.

    Args:
        weight: (out, in) matrix.
        n_groups: k column groups, ``1 <= k <= in`` (split as evenly as ``torch.tensor_split`` does).
    Returns:
        (max_rank,) float64 errors for ranks 1..max_rank, max_rank = the smallest group's full rank.
    """
    check_tensor("weight", weight, dim=2, floating=True)
    check_positive("n_groups", n_groups, integer=True)
    if n_groups > weight.shape[1]:
        raise ValueError(f"n_groups must be <= in_features = {weight.shape[1]}, got {n_groups}")
    groups = torch.tensor_split(weight.detach().double(), n_groups, dim=1)
    max_rank = min(min(group.shape) for group in groups)
    tails = torch.zeros(len(groups), max_rank, dtype=torch.float64, device=weight.device)  # sigma_{j+1}(W_i)
    for i, group in enumerate(groups):
        following = torch.linalg.svdvals(group)[1 : max_rank + 1]  # a full-rank group has sigma_{j+1} = 0
        tails[i, : len(following)] = following
    norm = torch.linalg.matrix_norm(weight.detach().double(), ord=2).clamp_min(
        torch.finfo(torch.float64).tiny
    )
    return tails.square().sum(dim=0).sqrt() / norm


def layer_options(weight: torch.Tensor, group_choices: Sequence[int] = (1,)) -> LayerOptions:
    """Every (k, j) with k in ``group_choices`` (those <= in) and 1 <= j <= the smallest group's rank."""
    check_tensor("weight", weight, dim=2, floating=True)
    if not group_choices:
        raise ValueError("group_choices must not be empty")
    out_features, in_features = weight.shape
    n_groups, ranks, sizes, errors = [], [], [], []
    for k in sorted(set(group_choices)):
        check_positive("group_choices", k, integer=True)
        if k > in_features:
            continue
        errors_k = grouped_svd_errors(weight, k).cpu()  # the allocation is bookkeeping on the CPU
        j = torch.arange(1, len(errors_k) + 1)
        n_groups.append(torch.full_like(j, k))
        ranks.append(j)
        sizes.append(j * (k * out_features + in_features))
        errors.append(errors_k)
    return LayerOptions(torch.cat(n_groups), torch.cat(ranks), torch.cat(sizes), torch.cat(errors))


def _cheapest_within(options: LayerOptions, threshold: float) -> int | None:
    allowed = (options.errors <= threshold).nonzero().flatten()
    if len(allowed) == 0:
        return None
    return int(allowed[torch.argmin(options.sizes[allowed])])


def min_max_allocation(options: Sequence[LayerOptions], budget: int) -> Allocation:
    """The choice per layer minimising the largest error with total size <= ``budget`` (exact).

    Ties at the optimal maximum are broken towards the cheapest choices; the budget left over is then
    spent greedily, one layer at a time from the largest error down, on that layer's lowest-error
    option that still fits, which can only lower errors.
    """
    if not options or not all(isinstance(o, LayerOptions) for o in options):
        raise TypeError("options must be a non-empty sequence of LayerOptions")
    check_positive("budget", budget, integer=True)
    thresholds = torch.unique(torch.cat([o.errors for o in options]))  # sorted ascending

    def choices_at(threshold):
        picks = [_cheapest_within(o, threshold) for o in options]
        if any(p is None for p in picks):
            return None
        return picks if sum(int(o.sizes[p]) for o, p in zip(options, picks)) <= budget else None

    if choices_at(float(thresholds[-1])) is None:
        smallest = sum(int(o.sizes.min()) for o in options)
        raise ValueError(f"budget must be >= {smallest} (every layer at its cheapest option), got {budget}")
    low, high = 0, len(thresholds) - 1  # the answer lies in thresholds[low..high]
    while low < high:
        middle = (low + high) // 2
        if choices_at(float(thresholds[middle])) is not None:
            high = middle
        else:
            low = middle + 1
    picks = choices_at(float(thresholds[low]))
    left = budget - sum(int(o.sizes[p]) for o, p in zip(options, picks))
    for layer in sorted(range(len(options)), key=lambda i: -float(options[i].errors[picks[i]])):
        o, current = options[layer], picks[layer]
        fits = (o.sizes <= o.sizes[current] + left).nonzero().flatten()
        best = int(fits[torch.argmin(o.errors[fits])])
        if o.errors[best] < o.errors[current]:
            left -= int(o.sizes[best] - o.sizes[current])
            picks[layer] = best
    return _allocation(options, picks)


def _allocation(options: Sequence[LayerOptions], picks: Sequence[int]) -> Allocation:
    sizes = [int(o.sizes[p]) for o, p in zip(options, picks)]
    errors = [float(o.errors[p]) for o, p in zip(options, picks)]
    return Allocation(
        n_groups=[int(o.n_groups[p]) for o, p in zip(options, picks)],
        ranks=[int(o.ranks[p]) for o, p in zip(options, picks)],
        sizes=sizes,
        errors=errors,
        total_size=sum(sizes),
        max_error=max(errors),
    )


def alds(
    weights: Sequence[torch.Tensor], budget: int, group_choices: Sequence[int] = (1, 2, 4, 8)
) -> Allocation:
    """ALDS allocation of (channel groups, rank) to every layer within ``budget`` stored weight values.

    Args:
        weights: the (out, in) weight of every layer to compress.
        budget: total number of values the factors may store.
        group_choices: numbers of column groups k to consider (k = 1 is plain truncated SVD).
    Returns:
        :class:`Allocation`.
    """
    _check_weights(weights)
    return min_max_allocation([layer_options(w, group_choices) for w in weights], budget)


def _check_weights(weights) -> None:
    if isinstance(weights, torch.Tensor) or not weights:
        raise TypeError("weights must be a non-empty sequence of 2-D tensors")
    for i, w in enumerate(weights):
        check_tensor(f"weights[{i}]", w, dim=2, floating=True)


def _largest_fitting(options: Sequence[LayerOptions], budget: int, rank_at) -> Allocation:
    """Bisect a scalar knob x in [0, 1] whose rank_at(layer, options, x) grows with x, to fill ``budget``."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        picks = [rank_at(i, o, middle) for i, o in enumerate(options)]
        if sum(int(o.sizes[p]) for o, p in zip(options, picks)) <= budget:
            low = middle
        else:
            high = middle
    picks = [rank_at(i, o, low) for i, o in enumerate(options)]
    if sum(int(o.sizes[p]) for o, p in zip(options, picks)) > budget:
        smallest = sum(int(o.sizes[0]) for o in options)
        raise ValueError(f"budget must be >= {smallest} (rank 1 everywhere), got {budget}")
    return _allocation(options, picks)


def uniform_rank_allocation(weights: Sequence[torch.Tensor], budget: int) -> Allocation:
    """Baseline: one group and the same rank r in every layer (capped at the layer's full rank).

    r is the largest that fits ``budget``.
    """
    _check_weights(weights)
    check_positive("budget", budget, integer=True)
    options = [layer_options(w, (1,)) for w in weights]
    largest = max(len(o.ranks) for o in options)
    return _largest_fitting(options, budget, lambda i, o, x: min(len(o.ranks), max(1, int(x * largest))) - 1)


def energy_allocation(weights: Sequence[torch.Tensor], budget: int) -> Allocation:
    """Baseline: one group and the smallest rank keeping a common energy fraction in every layer.

    The fraction of squared singular values (:func:`~paperlab.solvers.energy_rank`) is the largest that
    fits ``budget``.
    """
    _check_weights(weights)
    check_positive("budget", budget, integer=True)
    options = [layer_options(w, (1,)) for w in weights]
    spectra = [torch.linalg.svdvals(w.detach().double()) for w in weights]

    def rank_at(i, o, x):
        return min(int(energy_rank(spectra[i], max(x, 1e-12))) - 1, len(o.ranks) - 1)

    return _largest_fitting(options, budget, rank_at)

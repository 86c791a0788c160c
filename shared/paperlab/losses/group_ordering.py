r"""Differentiable sorting networks and the group-ordering (GroCo) contrastive loss.

From "Learning by Sorting: Self-supervised Learning with Group Ordering Constraints", built on
the relaxed sorting networks of "Differentiable Sorting Networks for Scalable Sorting and Ranking
Supervision" (2021). A sorting network is a fixed sequence of compare-and-swap layers; relaxing each
swap to a mix with weight :math:`\alpha = \sigma(s\,(b - a))` (``s`` the steepness) makes the sorted
values, and the permutation that produces them, differentiable. Every relaxed layer is a doubly
stochastic matrix, so their product, the relaxed permutation, is doubly stochastic too.

GroCo sorts, for every anchor, the cosine similarities to its P positives and its hardest N negatives,
and asks that the positives all land in the P highest ranks, in any order among themselves: a
binary cross-entropy between the probability that each item ends in the top group and whether it is a
positive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_choice, check_positive, check_tensor, reduce
from paperlab.losses._labelled_batch import check_labelled_batch, check_reduction_of, pair_masks

RELAXATIONS = ("logistic", "logistic_phi", "cauchy")


@dataclass
class RelaxedSort:
    """Output of :func:`differentiable_sort`.

    Attributes:
        values: (B, n) relaxed sorted values, ascending.
        permutation: (B, n, n) doubly stochastic; ``permutation[b, i, r]`` is the share of input i that
            lands at rank r, so that ``values[b] = x[b] @ permutation[b]``.
    """

    values: torch.Tensor
    permutation: torch.Tensor


def swap_weight(
    difference: torch.Tensor, steepness: float, relaxation: str = "logistic", art_lambda: float = 0.25
) -> torch.Tensor:
    r"""Weight :math:`\alpha \in (0, 1)` of keeping a pair in place, from :math:`d = b - a` (upper - lower).

    .. math:: \text{logistic: } \sigma(s d), \quad \text{logistic\_phi: } \sigma\big(s d / (|d| +
              10^{-10})^{\lambda}\big), \quad \text{cauchy: } \tfrac{1}{\pi} \arctan(s d) + \tfrac12
    """
    if relaxation == "logistic":
        return torch.sigmoid(steepness * difference)
    if relaxation == "logistic_phi":
        return torch.sigmoid(steepness * difference / (difference.abs() + 1e-10).pow(art_lambda))
    return torch.atan(steepness * difference) / math.pi + 0.5


def pair_partners(n: int, start: int, device=None) -> torch.Tensor:
    """Index of the position each of n positions is compared with when pairs begin at ``start`` (0 or 1).

    Pairs are (start, start + 1), (start + 2, start + 3), ...; a position left out is its own partner.
    """
    partner = torch.arange(n, device=device)
    lower = torch.arange(start, n - 1, 2, device=device)
    partner[lower], partner[lower + 1] = lower + 1, lower
    return partner


def _check_sort_arguments(x, steepness, relaxation, art_lambda) -> None:
    check_tensor("x", x, dim=2, floating=True)
    if x.shape[1] < 2:
        raise ValueError(f"x must have at least 2 columns to sort, got shape {tuple(x.shape)}")
    check_positive("steepness", steepness)
    check_choice("relaxation", relaxation, set(RELAXATIONS))
    check_positive("art_lambda", art_lambda, allow_zero=True)
    if art_lambda > 1:
        raise ValueError(f"art_lambda must be in [0, 1], got {art_lambda!r}")


def _run_network(x, steepness, relaxation, art_lambda):
    """Relaxed sorted values, and each layer's (partner index, (B, n) weight of moving to the partner)."""
    n = x.shape[1]
    partners = [pair_partners(n, start, x.device) for start in (0, 1)]
    values, layers = x, []
    for layer in range(n):
        start = layer % 2  # layer t compares the pairs (i, i + 1) for i = t mod 2, t mod 2 + 2, ...
        n_pairs = (n - start) // 2
        a = values[:, start : start + 2 * n_pairs : 2]  # (B, m) lower items of the pairs
        b = values[:, start + 1 : start + 2 * n_pairs : 2]  # (B, m) upper items
        alpha = swap_weight(b - a, steepness, relaxation, art_lambda)  # (B, m)
        # Weight of moving to the partner: 1 - alpha on both members of a pair, 0 elsewhere.
        move = F.pad(1 - alpha.repeat_interleave(2, dim=1), (start, n - start - 2 * n_pairs))  # (B, n)
        values = values + move * (values.index_select(1, partners[start]) - values)
        layers.append((partners[start], move))
    return values, layers


def differentiable_sort(
    x: torch.Tensor, steepness: float = 10.0, relaxation: str = "logistic", art_lambda: float = 0.25
) -> RelaxedSort:
    r"""Sort every row of ``x`` ascending with a relaxed odd-even transposition network.

    Each of the n layers compares positions (i, i+1) for every even (then odd) i and replaces them by

    .. math:: \min \approx \alpha a + (1 - \alpha) b, \quad \max \approx (1 - \alpha) a + \alpha b,

    with :math:`\alpha` from :func:`swap_weight`; the permutation's columns mix the same way. As the
    steepness grows the result tends to the hard sort and to its permutation matrix.

    Args:
        x: (B, n) scores, n >= 2.
        steepness: s > 0, the inverse temperature of the relaxed swaps.
        relaxation: ``"logistic"``, ``"logistic_phi"`` or ``"cauchy"``.
        art_lambda: :math:`\lambda \in [0, 1]` of ``"logistic_phi"``.

    Returns:
        A :class:`RelaxedSort` with (B, n) values and the (B, n, n) doubly stochastic permutation.
    """
    _check_sort_arguments(x, steepness, relaxation, art_lambda)
    batch, n = x.shape
    values, layers = _run_network(x, steepness, relaxation, art_lambda)
    # Kept as ranks x inputs, so that a layer mixes rows (a fast index_select) rather than columns.
    by_rank = torch.eye(n, dtype=x.dtype, device=x.device).expand(batch, n, n)
    for partner, move in layers:
        by_rank = by_rank + move[:, :, None] * (by_rank.index_select(1, partner) - by_rank)
    return RelaxedSort(values, by_rank.transpose(1, 2))  # permutation: (B, n inputs, n ranks)


def top_rank_mass(
    x: torch.Tensor,
    n_top: int,
    steepness: float = 10.0,
    relaxation: str = "logistic",
    art_lambda: float = 0.25,
) -> torch.Tensor:
    r"""Probability that each input lands among the ``n_top`` highest ranks of the relaxed sort.

    .. math:: q_i = \sum_{r > n - n_{top}} \Pi_{ir} = \big(L_1 \cdots L_T\, \mathbb{1}_{top}\big)_i

    Equal to ``differentiable_sort(x, ...).permutation[:, :, -n_top:].sum(2)``, but computed without the
    (B, n, n) permutation: each relaxed layer :math:`L_t` is a symmetric matrix, so the indicator of the top
    ranks is pulled back through the layers in reverse order, at O(B n) per layer instead of O(B n^2).

    Args:
        x: (B, n) scores; steepness, relaxation, art_lambda: as in :func:`differentiable_sort`.
        n_top: size of the top group, 1 <= n_top <= n.

    Returns:
        (B, n) probabilities in [0, 1].
    """
    _check_sort_arguments(x, steepness, relaxation, art_lambda)
    check_positive("n_top", n_top, integer=True)
    if n_top > x.shape[1]:
        raise ValueError(f"n_top must be at most the {x.shape[1]} columns of x, got {n_top}")
    _, layers = _run_network(x, steepness, relaxation, art_lambda)
    mass = torch.zeros_like(x)
    mass[:, x.shape[1] - n_top :] = 1.0
    for partner, move in reversed(layers):
        mass = mass + move * (mass.index_select(1, partner) - mass)
    return mass


def _group_sizes(labels: torch.Tensor, n_negatives: int) -> int:
    """Return P, the positives per anchor; raise unless every label has P + 1 items and N fits."""
    _, counts = torch.unique(labels, return_counts=True)
    if bool((counts != counts[0]).any()) or int(counts[0]) < 2:
        raise ValueError(
            f"labels must give every item the same number (>= 1) of positives, got group sizes {counts.tolist()}"
        )
    n_positives = int(counts[0]) - 1
    available = labels.shape[0] - n_positives - 1
    if n_negatives > available:
        raise ValueError(
            f"n_negatives must be at most the {available} negatives per anchor, got {n_negatives}"
        )
    return n_positives


def group_ordering_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    n_negatives: int = 10,
    steepness: float = 1.0,
    relaxation: str = "cauchy",
    stop_grad: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""GroCo loss: the P positives of each anchor must be sorted above its N hardest negatives.

    For anchor i, the similarities :math:`s = (n_{(1)}, \dots, n_{(N)}, p_{(1)}, \dots, p_{(P)})` (hardest
    negatives then positives, each ascending) are sorted by :func:`differentiable_sort` into
    :math:`\Pi`; :math:`q_j = \sum_{r > N} \Pi_{jr}` is the probability that item j lands in the top P
    ranks, and

    .. math:: \ell_i = \frac{1}{N + P} \sum_{j} \mathrm{BCE}(q_j, \mathbb{1}[j \text{ is a positive}]).

    The authors average this with the same BCE for the bottom group, which is equal. As in their code,
    ``stop_grad`` lets the gradient flow through the anchor side of each similarity only. Every label
    must occur equally often (the P + 1 views of one image); unlike pytorch-metric-learning, positives
    and negatives come from all rows of the batch.

    Args:
        embeddings: (B, D) embeddings.
        labels: (B,) integer labels; items sharing a label are positives.
        n_negatives: N >= 1, hardest negatives kept per anchor (the authors' default is 10).
        steepness: s > 0 of the relaxed swaps (the authors' default is 1, Cauchy relaxation).
        relaxation: see :func:`swap_weight`.
        stop_grad: detach the non-anchor side of every similarity.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-anchor losses.
    """
    check_labelled_batch(embeddings, labels)
    check_positive("n_negatives", n_negatives, integer=True)
    check_positive("steepness", steepness)
    check_choice("relaxation", relaxation, set(RELAXATIONS))
    check_reduction_of(reduction)
    n_positives = _group_sizes(labels, n_negatives)
    unit = F.normalize(embeddings, dim=1)
    similarity = unit @ (unit.detach() if stop_grad else unit).T  # (B, B)
    positive, negative = pair_masks(labels)
    positives = similarity[positive].reshape(-1, n_positives).sort(dim=1).values  # (B, P)
    hardest = similarity.masked_fill(~negative, -math.inf).topk(n_negatives, dim=1).values  # (B, N)
    scores = torch.cat([hardest.flip(1), positives], dim=1)  # (B, N + P), ascending within groups
    in_top_group = top_rank_mass(scores, n_positives, steepness, relaxation).clamp(0.0, 1.0)  # (B, N + P)
    target = torch.zeros_like(in_top_group)
    target[:, n_negatives:] = 1.0
    losses = F.binary_cross_entropy(in_top_group, target, reduction="none").mean(dim=1)  # (B,)
    return reduce(losses, reduction)


class GroupOrderingLoss(nn.Module):
    """Module form of :func:`group_ordering_loss`; call as ``loss(embeddings, labels)``."""

    def __init__(
        self,
        n_negatives: int = 10,
        steepness: float = 1.0,
        relaxation: str = "cauchy",
        stop_grad: bool = True,
        reduction: str = "mean",
    ):
        super().__init__()
        self.n_negatives = check_positive("n_negatives", n_negatives, integer=True)
        self.steepness = check_positive("steepness", steepness)
        self.relaxation = check_choice("relaxation", relaxation, set(RELAXATIONS))
        self.stop_grad = bool(stop_grad)
        self.reduction = check_reduction_of(reduction)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return group_ordering_loss(
            embeddings,
            labels,
            self.n_negatives,
            self.steepness,
            self.relaxation,
            self.stop_grad,
            self.reduction,
        )

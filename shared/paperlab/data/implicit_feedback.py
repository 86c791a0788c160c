r"""Synthetic implicit feedback: users pick items from a low-rank preference model with popularity skew.

A stand-in for click or purchase logs in collaborative filtering, as used for "SimpleX: A Simple and
Strong Baseline for Collaborative Filtering" (2021). User and item factors :math:`p_u, q_i \sim
\mathcal{N}(0, I_r)` and a Zipf-like popularity :math:`b_i = -\alpha \log(\mathrm{rank}_i)` give the
preference logits

.. math:: x_{ui} = \frac{\langle p_u, q_i \rangle}{\sqrt{r}} \cdot \frac{1}{T} + b_i ,

and each user draws ``interactions_per_user`` distinct items from :math:`\mathrm{softmax}_i(x_{ui})`
(Gumbel top-k sampling without replacement). A fraction of each user's items is held out for testing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


@dataclass
class ImplicitFeedback:
    """Train and test interactions as 0/1 float64 matrices of shape (n_users, n_items).

    ``train`` and ``test`` never share an entry; every user has at least one of each.
    ``user_factors`` (n_users, rank) and ``item_factors`` (n_items, rank) are the hidden truth.
    """

    train: torch.Tensor
    test: torch.Tensor
    user_factors: torch.Tensor
    item_factors: torch.Tensor


def synthetic_implicit_feedback(
    n_users: int = 500,
    n_items: int = 400,
    rank: int = 8,
    interactions_per_user: int = 20,
    test_fraction: float = 0.2,
    temperature: float = 0.5,
    popularity: float = 0.5,
    seed=None,
) -> ImplicitFeedback:
    """Draw a low-rank implicit-feedback data set and split each user's items into train and test.

    Args:
        n_users, n_items: matrix size.
        rank: latent dimension r of the preference model.
        interactions_per_user: distinct items each user interacts with, 2 <= it <= n_items.
        test_fraction: share of each user's items held out, in (0, 1); at least one item on each side.
        temperature: T > 0; lower is more predictable from the factors.
        popularity: Zipf exponent alpha >= 0 of the item-popularity bias (0: none).
        seed: None, an int or a ``torch.Generator``.

    Returns:
        :class:`ImplicitFeedback` with float64 CPU tensors.
    """
    for name, value in (("n_users", n_users), ("n_items", n_items), ("rank", rank)):
        check_positive(name, value, integer=True)
    check_positive("interactions_per_user", interactions_per_user, integer=True)
    if not 2 <= interactions_per_user <= n_items:
        raise ValueError(
            f"interactions_per_user must be in [2, n_items={n_items}], got {interactions_per_user}"
        )
    check_positive("test_fraction", test_fraction)
    if not test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    check_positive("temperature", temperature)
    check_positive("popularity", popularity, allow_zero=True)
    generator = as_generator(seed)
    user_factors = torch.randn(n_users, rank, generator=generator, dtype=torch.float64)
    item_factors = torch.randn(n_items, rank, generator=generator, dtype=torch.float64)
    popularity_rank = torch.randperm(n_items, generator=generator).to(torch.float64) + 1.0
    bias = -popularity * popularity_rank.log()  # (n_items,)
    logits = user_factors @ item_factors.T / (math.sqrt(rank) * temperature) + bias  # (n_users, n_items)
    uniform = torch.rand(n_users, n_items, generator=generator, dtype=torch.float64)
    gumbel = -(-uniform.clamp_min(1e-300).log()).log()
    chosen = (logits + gumbel).topk(interactions_per_user, dim=1).indices  # (n_users, k), random order
    n_test = min(max(1, round(test_fraction * interactions_per_user)), interactions_per_user - 1)
    train = torch.zeros(n_users, n_items, dtype=torch.float64)
    test = torch.zeros(n_users, n_items, dtype=torch.float64)
    # top-k of perturbed logits is sorted by perturbed value; shuffle before the split
    order = torch.rand(n_users, interactions_per_user, generator=generator).argsort(dim=1)
    chosen = chosen.gather(1, order)
    test.scatter_(1, chosen[:, :n_test], 1.0)
    train.scatter_(1, chosen[:, n_test:], 1.0)
    return ImplicitFeedback(train, test, user_factors, item_factors)


@dataclass
class TripleBatch:
    """A batch of (user, positive item, K negative items) indices: shapes (B,), (B,), (B, K)."""

    users: torch.Tensor
    positives: torch.Tensor
    negatives: torch.Tensor


def sample_triples(train: torch.Tensor, batch_size: int, n_negatives: int, seed=None) -> TripleBatch:
    """Draw training interactions uniformly and K negatives per interaction uniformly over the items.

    Negatives are drawn from all items, as in the paper; one may be an item the user interacted with,
    which at a few dozen interactions over hundreds of items is rare noise.

    Args:
        train: (n_users, n_items) 0/1 interactions.
        batch_size: number B of (user, positive) pairs, drawn with replacement.
        n_negatives: K >= 1 negatives per pair.
        seed: None, an int or a ``torch.Generator`` (draws happen on the CPU).

    Returns:
        :class:`TripleBatch` of int64 indices on ``train``'s device.
    """
    if not isinstance(train, torch.Tensor) or train.dim() != 2 or train.numel() == 0:
        raise ValueError(f"train must be a non-empty 2-D tensor, got {getattr(train, 'shape', type(train))}")
    check_positive("batch_size", batch_size, integer=True)
    check_positive("n_negatives", n_negatives, integer=True)
    generator = as_generator(seed)
    pairs = train.nonzero().cpu()  # (n_interactions, 2)
    if len(pairs) == 0:
        raise ValueError("train must hold at least one interaction")
    pick = torch.randint(len(pairs), (batch_size,), generator=generator)
    negatives = torch.randint(train.shape[1], (batch_size, n_negatives), generator=generator)
    device = train.device
    return TripleBatch(pairs[pick, 0].to(device), pairs[pick, 1].to(device), negatives.to(device))

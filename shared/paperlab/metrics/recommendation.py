r"""Top-K recommendation metrics: Recall@K and NDCG@K against held-out interactions.

The usual protocol of collaborative filtering, as in "SimpleX: A Simple and Strong Baseline for
Collaborative Filtering" (2021): every user ranks all items, items seen in training are excluded, and
the top K are compared with the user's held-out items :math:`T_u`:

.. math:: \mathrm{Recall@K}_u = \frac{|\mathrm{top}_K(u) \cap T_u|}{|T_u|}, \qquad
          \mathrm{NDCG@K}_u = \frac{\sum_{r=1}^{K} \mathbb{1}[\mathrm{item}_r \in T_u] / \log_2(r + 1)}
                                   {\sum_{r=1}^{\min(K, |T_u|)} 1 / \log_2(r + 1)} ,

averaged over users with at least one held-out item.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor


@dataclass
class TopKMetrics:
    """Mean Recall@K and NDCG@K over the evaluated users, and how many users were evaluated."""

    recall: float
    ndcg: float
    n_users: int


def _check_binary(name: str, x: torch.Tensor, shape) -> None:
    check_tensor(name, x, dim=2)
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have the shape of scores {tuple(shape)}, got {tuple(x.shape)}")
    if bool(((x != 0) & (x != 1)).any()):
        raise ValueError(f"{name} must hold only 0/1 (or bool) entries")


def recall_ndcg_at_k(
    scores: torch.Tensor, test: torch.Tensor, k: int = 20, exclude: torch.Tensor | None = None
) -> TopKMetrics:
    """Recall@K and NDCG@K of per-user item scores against held-out 0/1 interactions.

    Args:
        scores: (n_users, n_items) scores, higher ranks first.
        test: (n_users, n_items) 0/1 held-out interactions.
        k: list length, 1 <= k <= n_items.
        exclude: optional (n_users, n_items) 0/1 mask of items never to recommend (training items).

    Returns:
        :class:`TopKMetrics`; recall and ndcg are NaN when no user has a held-out item.
    """
    check_tensor("scores", scores, dim=2, floating=True)
    _check_binary("test", test, scores.shape)
    check_positive("k", k, integer=True)
    if k > scores.shape[1]:
        raise ValueError(f"k must be at most the number of items {scores.shape[1]}, got {k}")
    if exclude is not None:
        _check_binary("exclude", exclude, scores.shape)
        scores = scores.masked_fill(exclude.to(device=scores.device, dtype=torch.bool), float("-inf"))
    relevant = test.to(device=scores.device, dtype=torch.float64)
    top = scores.topk(k, dim=1).indices  # (n_users, k)
    hits = relevant.gather(1, top)  # (n_users, k)
    n_relevant = relevant.sum(dim=1)  # (n_users,)
    discount = 1.0 / torch.arange(2, k + 2, dtype=torch.float64, device=scores.device).log2()  # (k,)
    ideal = discount.cumsum(0)[(n_relevant.clamp(1, k) - 1).long()]  # (n_users,)
    evaluated = n_relevant > 0
    if not bool(evaluated.any()):
        return TopKMetrics(float("nan"), float("nan"), 0)
    recall = hits.sum(dim=1)[evaluated] / n_relevant[evaluated]
    ndcg = (hits @ discount)[evaluated] / ideal[evaluated]
    return TopKMetrics(float(recall.mean()), float(ndcg.mean()), int(evaluated.sum()))

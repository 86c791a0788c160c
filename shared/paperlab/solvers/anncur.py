"""ANNCUR: nearest-neighbour search for a cross-encoder through a CUR-style matrix factorization.

From "Efficient Nearest Neighbor Search for Cross-Encoder Models using Matrix Factorization". Offline, a
cross-encoder f scores k_q anchor queries against all n items, :math:`R \\in \\mathbb{R}^{k_q \\times n}`.
At test time a query q is scored exactly on k_i anchor items only, :math:`c_q = f(q, I_{anc})`, and its
scores on every item are approximated by the CUR rule with the pseudo-inverse of the intersection block:

.. math::  \\hat s_q = c_q \\, (R_{:, I_{anc}})^{+} \\, R .

The items with the highest :math:`\\hat s_q` are then scored exactly, within a budget B of cross-encoder
calls. In the adaptive variant the budget is spent over several rounds, and every item scored so far
joins the anchor items of the next approximation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .._checks import check_positive, check_tensor


@dataclass
class ANNCURIndex:
    """Offline part of ANNCUR: item embeddings :math:`E = (R_{:, I_{anc}})^{+} R`."""

    anchor_scores: torch.Tensor  # (k_q, n) = R, exact scores of the anchor queries
    anchor_items: torch.Tensor  # (k_i,) item indices I_anc
    item_embeddings: torch.Tensor  # (k_i, n) = pinv(R[:, I_anc]) @ R

    def approximate(self, query_anchor_scores: torch.Tensor) -> torch.Tensor:
        """Approximate scores :math:`\\hat s = c\\,E` for all items.

        Args:
            query_anchor_scores: (b, k_i) exact scores of b queries on the anchor items, in their order.
        Returns:
            (b, n) approximate scores.
        """
        check_tensor("query_anchor_scores", query_anchor_scores, dim=2, floating=True)
        if query_anchor_scores.shape[1] != self.anchor_items.numel():
            raise ValueError(
                f"query_anchor_scores must have {self.anchor_items.numel()} columns (one per anchor item), "
                f"got shape {tuple(query_anchor_scores.shape)}"
            )
        return query_anchor_scores.to(self.item_embeddings.dtype) @ self.item_embeddings


@dataclass
class ANNCURResult:
    """Outcome of :func:`anncur_search` for a batch of b queries."""

    indices: torch.Tensor  # (b, k) retrieved items, best exact score first
    scores: torch.Tensor  # (b, k) their exact scores
    scored_items: torch.Tensor  # (b, budget) every item scored exactly (anchors first)
    exact_scores: torch.Tensor  # (b, budget) the exact scores of scored_items
    approximate_scores: torch.Tensor  # (b, n) the last round's approximation
    n_score_calls: int  # cross-encoder calls per query (= budget)


def _check_anchor_items(anchor_items: torch.Tensor, n_items: int) -> None:
    check_tensor("anchor_items", anchor_items, dim=1)
    if anchor_items.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"anchor_items must be an integer tensor, got dtype {anchor_items.dtype}")
    if anchor_items.numel() == 0:
        raise ValueError("anchor_items must not be empty")
    if anchor_items.min() < 0 or anchor_items.max() >= n_items:
        raise ValueError(
            f"anchor_items must lie in [0, {n_items}), got range "
            f"[{int(anchor_items.min())}, {int(anchor_items.max())}]"
        )
    if anchor_items.unique().numel() != anchor_items.numel():
        raise ValueError("anchor_items must not repeat an item")


def _check_anchor_scores(anchor_scores: torch.Tensor) -> None:
    check_tensor("anchor_scores", anchor_scores, dim=2, floating=True, finite=True)
    if 0 in anchor_scores.shape:
        raise ValueError(f"anchor_scores must be non-empty, got shape {tuple(anchor_scores.shape)}")


def anncur_index(
    anchor_scores: torch.Tensor, anchor_items: torch.Tensor, rtol: float | None = None
) -> ANNCURIndex:
    """Build the ANNCUR item embeddings :math:`E = (R_{:, I_{anc}})^{+} R`.

    The approximation is exact for every query whose score row lies in the row space of R when
    :math:`R_{:, I_{anc}}` has the rank of R (e.g. a score matrix of rank <= k_i with generic anchors).

    Args:
        anchor_scores: (k_q, n) exact scores R of the anchor queries on all items.
        anchor_items: (k_i,) distinct item indices.
        rtol: relative cut-off of small singular values in the pseudo-inverse (torch's default if None).
    Returns:
        :class:`ANNCURIndex`.
    """
    _check_anchor_scores(anchor_scores)
    _check_anchor_items(anchor_items, anchor_scores.shape[1])
    if rtol is not None:
        check_positive("rtol", rtol, allow_zero=True)
    anchor_items = anchor_items.to(device=anchor_scores.device, dtype=torch.int64)
    intersection = anchor_scores[:, anchor_items]  # (k_q, k_i)
    embeddings = torch.linalg.pinv(intersection, rtol=rtol) @ anchor_scores  # (k_i, n)
    return ANNCURIndex(anchor_scores=anchor_scores, anchor_items=anchor_items, item_embeddings=embeddings)


def _round_sizes(n_new: int, n_rounds: int) -> list[int]:
    base, extra = divmod(n_new, n_rounds)
    return [size for size in (base + (r < extra) for r in range(n_rounds)) if size > 0]


def _call_scorer(score_fn, items: torch.Tensor) -> torch.Tensor:
    scores = score_fn(items)
    if not isinstance(scores, torch.Tensor) or scores.shape != items.shape:
        got = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"score_fn must return a tensor of shape {tuple(items.shape)}, got {got}")
    check_tensor("score_fn output", scores, floating=True, finite=True)
    return scores


def anncur_search(
    score_fn: Callable[[torch.Tensor], torch.Tensor],
    anchor_scores: torch.Tensor,
    anchor_items: torch.Tensor,
    query_anchor_scores: torch.Tensor,
    budget: int,
    k: int,
    n_rounds: int = 1,
    rtol: float | None = None,
) -> ANNCURResult:
    """Retrieve the top-k items of b queries with ``budget`` cross-encoder calls per query.

    The caller has scored the k_i anchor items exactly (``query_anchor_scores``). The remaining B - k_i
    calls are split over ``n_rounds`` rounds; each round approximates all scores by
    :math:`\\hat s_q = c_q (R_{:, S_q})^{+} R`, where S_q holds every item scored so far for q, and scores
    exactly the best unscored items. The answer is the top-k of the exactly scored items.
    ``n_rounds=1`` is the plain ANNCUR of the paper.

    Args:
        score_fn: maps item indices (b, m) to the exact scores (b, m) of the b queries (closed over).
        anchor_scores: (k_q, n) exact scores R of the anchor queries.
        anchor_items: (k_i,) distinct item indices.
        query_anchor_scores: (b, k_i) exact scores of the b queries on the anchor items.
        budget: B, cross-encoder calls per query (anchors included), k_i <= B <= n and k <= B.
        k: number of items to return.
        n_rounds: rounds of adaptive retrieval (>= 1).
        rtol: relative cut-off of the pseudo-inverse (torch's default if None).
    Returns:
        :class:`ANNCURResult`.
    """
    index = anncur_index(anchor_scores, anchor_items, rtol=rtol)
    check_tensor("query_anchor_scores", query_anchor_scores, dim=2, floating=True, finite=True)
    n_items, n_anchors = anchor_scores.shape[1], anchor_items.numel()
    if query_anchor_scores.shape[1] != n_anchors or query_anchor_scores.shape[0] == 0:
        raise ValueError(
            f"query_anchor_scores must have shape (b >= 1, {n_anchors}), "
            f"got {tuple(query_anchor_scores.shape)}"
        )
    check_positive("budget", budget, integer=True)
    check_positive("k", k, integer=True)
    check_positive("n_rounds", n_rounds, integer=True)
    if not n_anchors <= budget <= n_items:
        raise ValueError(
            f"budget must lie in [len(anchor_items), n_items] = [{n_anchors}, {n_items}], got {budget}"
        )
    if k > budget:
        raise ValueError(f"k must be <= budget = {budget}, got {k}")
    R = anchor_scores
    exact = query_anchor_scores.to(R.dtype)  # (b, s)
    scored = index.anchor_items.expand(exact.shape[0], -1)  # (b, s)
    approx = index.approximate(exact)  # (b, n)
    for round_index, size in enumerate(_round_sizes(budget - n_anchors, n_rounds)):
        if round_index > 0:  # every scored item becomes an anchor item of this query
            intersection = R.T[scored].transpose(1, 2)  # (b, k_q, s)
            latent = exact.unsqueeze(1) @ torch.linalg.pinv(intersection, rtol=rtol)  # (b, 1, k_q)
            approx = (latent @ R).squeeze(1)  # (b, n)
        candidates = approx.scatter(1, scored, float("-inf"))  # (b, n), scored items masked
        new_items = candidates.topk(size, dim=1).indices  # (b, size)
        new_scores = _call_scorer(score_fn, new_items).to(R.dtype)
        scored = torch.cat([scored, new_items], dim=1)
        exact = torch.cat([exact, new_scores], dim=1)
    best = exact.topk(k, dim=1)
    return ANNCURResult(
        indices=scored.gather(1, best.indices),
        scores=best.values,
        scored_items=scored,
        exact_scores=exact,
        approximate_scores=approx,
        n_score_calls=budget,
    )


def topk_recall(retrieved: torch.Tensor, exact_scores: torch.Tensor, k: int) -> torch.Tensor:
    """Per-query fraction of the exact top-k items found among the retrieved items.

    .. math:: \\mathrm{recall@k}(q) = |\\mathrm{top}_k(s_q) \\cap \\mathrm{retrieved}_q| / k

    Args:
        retrieved: (b, m) item indices (any m >= 1).
        exact_scores: (b, n) exact scores of the b queries on all n items.
        k: 1 <= k <= n.
    Returns:
        (b,) recall in [0, 1].
    """
    check_tensor("retrieved", retrieved, dim=2)
    check_tensor("exact_scores", exact_scores, dim=2, floating=True, finite=True)
    check_positive("k", k, integer=True)
    if retrieved.shape[0] != exact_scores.shape[0]:
        raise ValueError(
            f"retrieved and exact_scores must have the same number of rows, got "
            f"{retrieved.shape[0]} and {exact_scores.shape[0]}"
        )
    if k > exact_scores.shape[1]:
        raise ValueError(f"k must be <= n_items = {exact_scores.shape[1]}, got {k}")
    truth = exact_scores.topk(k, dim=1).indices  # (b, k)
    hits = (truth.unsqueeze(2) == retrieved.unsqueeze(1)).any(dim=2)  # (b, k)
    return hits.to(exact_scores.dtype).mean(dim=1)

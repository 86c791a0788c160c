"""Transductive few-shot inference as clustering: nearest prototype, seeded K-means, Laplacian K-means.

Every function takes one episode, support (S, D), support_labels (S,), query (Q, D), or a batch of
episodes with a leading dimension E, and solves each episode independently.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from paperlab._checks import check_positive, check_tensor
from paperlab.distances.cost import pairwise_cost


@dataclass
class KMeansResult:
    """Hard K-means on supports and queries of few-shot episodes.

    Attributes:
        labels: query cluster (= class) labels, shape (..., Q).
        support_assignments: support clusters, shape (..., S) (the support labels when fixed).
        prototypes: cluster centres, shape (..., C, D).
        inertia: sum of squared distances of every point to its centre, shape (...).
        n_iter: Lloyd iterations done.
        converged: whether the assignments stopped changing in every episode.
    """

    labels: torch.Tensor
    support_assignments: torch.Tensor
    prototypes: torch.Tensor
    inertia: torch.Tensor
    n_iter: int
    converged: bool


@dataclass
class LaplacianKMeansResult:
    """The bound optimizer's outcome for prototype + Laplacian + support-constraint clustering.

    Attributes:
        labels: query labels argmax_k y_qk, shape (..., Q).
        assignments: soft query assignments on the simplex, shape (..., Q, C).
        prototypes: class prototypes, shape (..., C, D).
        objective: the relaxed objective after initialization and after every iteration, shape
            (n_iter + 1, ...).
        psd_shift: the diagonal shift delta that made the affinity positive semi-definite, shape (...).
        n_iter: iterations done.
        converged: whether the largest assignment change fell below ``tol`` in every episode.
    """

    labels: torch.Tensor
    assignments: torch.Tensor
    prototypes: torch.Tensor
    objective: torch.Tensor
    psd_shift: torch.Tensor
    n_iter: int
    converged: bool


def _check_episode(support, support_labels, query):
    """Validate one episode or a batch; return (support, labels, query, n_classes, batched)."""
    check_tensor("support", support, floating=True)
    check_tensor("query", query, floating=True)
    check_tensor("support_labels", support_labels)
    if support.dim() not in (2, 3):
        raise ValueError(f"support must have shape (S, D) or (E, S, D), got {tuple(support.shape)}")
    if (
        query.dim() != support.dim()
        or query.shape[:-2] != support.shape[:-2]
        or query.shape[-1] != support.shape[-1]
    ):
        raise ValueError(
            f"query must match support's batch dims and width, got shapes {tuple(query.shape)} and "
            f"{tuple(support.shape)}"
        )
    if query.dtype != support.dtype or query.device != support.device:
        raise TypeError(f"query must share support's dtype and device, got {query.dtype}/{query.device}")
    if support_labels.dtype != torch.int64:
        raise TypeError(f"support_labels must be int64, got dtype {support_labels.dtype}")
    if support_labels.shape != support.shape[:-1]:
        raise ValueError(
            f"support_labels must have shape {tuple(support.shape[:-1])}, got {tuple(support_labels.shape)}"
        )
    if bool((support_labels < 0).any()):
        raise ValueError(f"support_labels must be >= 0, got minimum {support_labels.min().item()}")
    batched = support.dim() == 3
    if not batched:
        support, support_labels, query = support[None], support_labels[None], query[None]
    n_classes = int(support_labels.max()) + 1
    counts = F.one_hot(support_labels, n_classes).sum(1)  # (E, C)
    if bool((counts == 0).any()):
        raise ValueError(f"support_labels must contain every class 0..{n_classes - 1} in every episode")
    return support, support_labels, query, n_classes, batched


def _unbatch(batched: bool, *tensors):
    return tensors if batched else tuple(t[0] for t in tensors)


def _weighted_means(points, weights):
    """Prototypes m_k = sum_p w_pk x_p / sum_p w_pk, shape (E, C, D), from points (E, P, D), weights (E, P, C)."""
    return weights.transpose(1, 2) @ points / weights.sum(1).unsqueeze(-1)


def class_prototypes(support: torch.Tensor, support_labels: torch.Tensor) -> torch.Tensor:
    r"""Mean support feature of each class, :math:`m_k = \frac{1}{|S_k|}\sum_{s \in S_k} x_s`.

    From "Transductive Few-Shot Learning: Clustering is All You Need?" (prototype initialization).

    Args:
        support: (S, D) or (E, S, D).
        support_labels: int64 labels 0..C-1, shape (S,) or (E, S); every class must appear.

    Returns:
        Prototypes of shape (C, D) or (E, C, D).
    """
    support, support_labels, _, n_classes, batched = _check_episode(support, support_labels, support)
    one_hot = F.one_hot(support_labels, n_classes).to(support.dtype)  # (E, S, C)
    return _unbatch(batched, _weighted_means(support, one_hot))[0]


def nearest_prototype(
    support: torch.Tensor, support_labels: torch.Tensor, query: torch.Tensor
) -> torch.Tensor:
    r"""Inductive baseline: label each query by its nearest class prototype, :math:`\arg\min_k \|x_q - m_k\|^2`.

    Args:
        support: (S, D) or (E, S, D); support_labels: (S,) or (E, S); query: (Q, D) or (E, Q, D).

    Returns:
        int64 query labels, shape (Q,) or (E, Q).
    """
    support, support_labels, query, n_classes, batched = _check_episode(support, support_labels, query)
    one_hot = F.one_hot(support_labels, n_classes).to(support.dtype)
    prototypes = _weighted_means(support, one_hot)  # (E, C, D)
    return _unbatch(batched, pairwise_cost(query, prototypes).argmin(-1))[0]


def seeded_kmeans(
    support: torch.Tensor,
    support_labels: torch.Tensor,
    query: torch.Tensor,
    max_iter: int = 100,
    fix_supports: bool = True,
) -> KMeansResult:
    r"""Lloyd's K-means on supports and queries, seeded with the class prototypes of the supports.

    Alternates :math:`y_p = \arg\min_k \|x_p - m_k\|^2` and :math:`m_k = \mathrm{mean}\{x_p : y_p = k\}`
    until no assignment changes; with ``fix_supports`` the supports keep their labels (the supervision
    constraint). The non-regularized special case of the paper's model.

    From "Transductive Few-Shot Learning: Clustering is All You Need?".

    Args:
        support: (S, D) or (E, S, D); support_labels: (S,) or (E, S); query: (Q, D) or (E, Q, D).
        max_iter: most Lloyd iterations.
        fix_supports: keep the supports assigned to their own class.

    Returns:
        KMeansResult (a cluster left empty keeps its previous centre).
    """
    support, support_labels, query, n_classes, batched = _check_episode(support, support_labels, query)
    check_positive("max_iter", max_iter, integer=True)
    points = torch.cat([support, query], dim=1)  # (E, S + Q, D)
    n_support = support.shape[1]
    prototypes = _weighted_means(support, F.one_hot(support_labels, n_classes).to(support.dtype))
    labels = None
    converged, n_iter = False, 0
    while n_iter < max_iter:
        new_labels = pairwise_cost(points, prototypes).argmin(-1)  # (E, S + Q)
        if fix_supports:
            new_labels[:, :n_support] = support_labels
        n_iter += 1
        if labels is not None and torch.equal(new_labels, labels):
            converged = True
            break
        labels = new_labels
        one_hot = F.one_hot(labels, n_classes).to(points.dtype)  # (E, S + Q, C)
        sizes = one_hot.sum(1).unsqueeze(-1)  # (E, C, 1)
        means = one_hot.transpose(1, 2) @ points / sizes.clamp_min(1)
        prototypes = torch.where(sizes > 0, means, prototypes)
    distances = pairwise_cost(points, prototypes).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    query_labels, support_assignments, inertia = (
        labels[:, n_support:],
        labels[:, :n_support],
        distances.sum(-1),
    )
    query_labels, support_assignments, prototypes, inertia = _unbatch(
        batched, query_labels, support_assignments, prototypes, inertia
    )
    return KMeansResult(query_labels, support_assignments, prototypes, inertia, n_iter, converged)


def knn_affinity(x: torch.Tensor, n_neighbors: int = 3) -> torch.Tensor:
    r"""Symmetric k-nearest-neighbour affinity: :math:`w_{pr} = 1` if r is among the k nearest of p or p of r.

    Args:
        x: points (n, D) or (E, n, D).
        n_neighbors: k, less than n (a point is not its own neighbour).

    Returns:
        0/1 matrix of x's dtype with zero diagonal, shape (n, n) or (E, n, n).
    """
    check_tensor("x", x, floating=True)
    if x.dim() not in (2, 3):
        raise ValueError(f"x must have shape (n, D) or (E, n, D), got {tuple(x.shape)}")
    check_positive("n_neighbors", n_neighbors, integer=True)
    if n_neighbors >= x.shape[-2]:
        raise ValueError(f"n_neighbors must be less than the {x.shape[-2]} points, got {n_neighbors}")
    distances = pairwise_cost(x, x)  # (..., n, n)
    distances.diagonal(dim1=-2, dim2=-1).fill_(float("inf"))
    nearest = distances.topk(n_neighbors, dim=-1, largest=False).indices  # (..., n, k)
    directed = torch.zeros_like(distances).scatter_(-1, nearest, 1.0)
    return torch.maximum(directed, directed.transpose(-1, -2))


def _relaxed_objective(points, all_assignments, prototypes, shifted_affinity, lam, temperature, n_support):
    """E(Y, M) per episode, shape (E,): prototype term + entropy of the queries - Laplacian similarity."""
    prototype_term = (all_assignments * pairwise_cost(points, prototypes)).sum((1, 2))
    entropy_term = torch.xlogy(all_assignments[:, n_support:], all_assignments[:, n_support:]).sum((1, 2))
    similarity = (all_assignments * (shifted_affinity @ all_assignments)).sum((1, 2))
    return prototype_term + temperature * entropy_term - 0.5 * lam * similarity


def laplacian_kmeans_bound(
    support: torch.Tensor,
    support_labels: torch.Tensor,
    query: torch.Tensor,
    lam: float = 1.0,
    n_neighbors: int = 3,
    temperature: float = 0.1,
    update_prototypes: bool = True,
    max_iter: int = 100,
    tol: float = 1e-6,
) -> LaplacianKMeansResult:
    r"""Transductive few-shot inference by prototype + Laplacian clustering with support constraints.

    Over all points p (supports, whose assignments :math:`y_s` are fixed one-hot labels, and queries,
    whose :math:`y_q` lie on the simplex) the concave-convex relaxation

    .. math:: E(Y, M) = \sum_p \sum_k y_{pk}\|x_p - m_k\|^2 + t \sum_q y_q^\top \log y_q
              - \frac{\lambda}{2} \sum_{p, r} \tilde w_{pr}\, y_p^\top y_r,
              \qquad \tilde W = W + \delta I,

    with W the symmetric kNN affinity and :math:`\delta = \max(0, -\lambda_{\min}(W))`, is minimized by
    block-coordinate descent. The shift makes the Laplacian part concave (so its linearization is an
    upper bound) and changes the discrete problem only by a constant, since :math:`y_p^\top y_p = 1`
    for one-hot assignments. Each iteration runs (``update_prototypes``) the closed-form prototype step
    :math:`m_k = \sum_p y_{pk} x_p / \sum_p y_{pk}`, then the bound step, independent (parallel) for
    every query,

    .. math:: y_q \leftarrow \mathrm{softmax}\big((-\|x_q - m_k\|^2 + \lambda(\tilde W Y)_{qk}) / t\big)_k.

    The assignments start from the support prototypes, :math:`y_q = \mathrm{softmax}(-\|x_q - m_k\|^2/t)`.
    Both steps never increase E. ``update_prototypes=False`` keeps the support means, as in the
    Laplacian-regularized few-shot inference that this model generalizes.

    From "Transductive Few-Shot Learning: Clustering is All You Need?".

    Args:
        support: (S, D) or (E, S, D); support_labels: int64 (S,) or (E, S); query: (Q, D) or (E, Q, D).
        lam: weight of the Laplacian term, >= 0 (0 gives soft K-means with fixed supports).
        n_neighbors: k of the kNN affinity over supports and queries.
        temperature: weight t > 0 of the entropy barrier (smaller is closer to hard assignments).
        update_prototypes: run the prototype step.
        max_iter: most iterations; tol: stop when no assignment moves more than tol.

    Returns:
        LaplacianKMeansResult.
    """
    support, support_labels, query, n_classes, batched = _check_episode(support, support_labels, query)
    check_positive("lam", lam, allow_zero=True)
    check_positive("temperature", temperature)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)
    points = torch.cat([support, query], dim=1)  # (E, P, D), P = S + Q
    n_support = support.shape[1]
    affinity = knn_affinity(points, n_neighbors)  # (E, P, P)
    shift = (-torch.linalg.eigvalsh(affinity)[:, 0]).clamp_min(0)  # (E,)
    affinity = affinity + shift[:, None, None] * torch.eye(
        len(affinity[0]), dtype=points.dtype, device=points.device
    )
    support_assignments = F.one_hot(support_labels, n_classes).to(points.dtype)  # (E, S, C)

    prototypes = _weighted_means(support, support_assignments)  # (E, C, D)
    assignments = torch.softmax(-pairwise_cost(query, prototypes) / temperature, dim=-1)  # (E, Q, C)
    all_assignments = torch.cat([support_assignments, assignments], dim=1)  # (E, P, C)
    history = [_relaxed_objective(points, all_assignments, prototypes, affinity, lam, temperature, n_support)]
    converged, n_iter = False, 0
    while n_iter < max_iter:
        if update_prototypes:
            prototypes = _weighted_means(points, all_assignments)
        pull = (affinity @ all_assignments)[:, n_support:]  # (E, Q, C)
        logits = (-pairwise_cost(query, prototypes) + lam * pull) / temperature
        new_assignments = torch.softmax(logits, dim=-1)
        change = (new_assignments - assignments).abs().max().item()
        assignments = new_assignments
        all_assignments = torch.cat([support_assignments, assignments], dim=1)
        history.append(
            _relaxed_objective(points, all_assignments, prototypes, affinity, lam, temperature, n_support)
        )
        n_iter += 1
        if change <= tol:
            converged = True
            break
    labels, assignments, prototypes, shift = _unbatch(
        batched, assignments.argmax(-1), assignments, prototypes, shift
    )
    objective = torch.stack(history) if batched else torch.stack(history)[:, 0]
    return LaplacianKMeansResult(labels, assignments, prototypes, objective, shift, n_iter, converged)

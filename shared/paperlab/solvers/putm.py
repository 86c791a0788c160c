"""Transductive few-shot prototypes refined by conditional transport (EM) or by balanced Sinkhorn."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from paperlab._checks import check_positive
from paperlab.distances.conditional_transport import ct_navigators
from paperlab.distances.cost import pairwise_cost
from paperlab.solvers.sinkhorn import sinkhorn
from paperlab.solvers.transductive_clustering import _check_episode, _unbatch


@dataclass
class PUTMResult:
    """The EM solver's outcome.

    Attributes:
        labels: query labels argmax_k of the forward navigator, shape (..., Q).
        forward: :math:`\\pi(\\mu_k | x_j)`, shape (..., Q, C).
        backward: :math:`\\pi(x_j | \\mu_k)`, shape (..., Q, C).
        prototypes: refined prototypes, shape (..., C, D).
        proportions: estimated query class proportions, shape (..., C).
        n_iter: EM iterations done.
        converged: whether the prototypes moved less than ``tol`` in every episode.
    """

    labels: torch.Tensor
    forward: torch.Tensor
    backward: torch.Tensor
    prototypes: torch.Tensor
    proportions: torch.Tensor
    n_iter: int
    converged: bool


@dataclass
class SinkhornPrototypesResult:
    """Balanced-transport transductive baseline.

    Attributes:
        labels: query labels argmax_k P_jk, shape (..., Q).
        plan: the last Sinkhorn plan, shape (..., Q, C).
        prototypes: refined prototypes, shape (..., C, D).
        n_iter: prototype updates done.
        converged: whether the prototypes moved less than ``tol`` in every episode.
        marginal_error: the largest marginal error of the inner Sinkhorn solves (they stop at
            ``sinkhorn_iter`` iterations without a warning; this says how far from balanced they were).
    """

    labels: torch.Tensor
    plan: torch.Tensor
    prototypes: torch.Tensor
    n_iter: int
    converged: bool
    marginal_error: float


def _map_prototypes(support_sums, support_counts, query, weights):
    """mu_k = (sum_{s in S_k} x_s + sum_j w_jk x_j) / (|S_k| + sum_j w_jk), shape (E, C, D)."""
    numerator = support_sums + weights.transpose(1, 2) @ query  # (E, C, D)
    return numerator / (support_counts + weights.sum(1)).unsqueeze(-1)


def _support_statistics(support, support_labels, n_classes):
    one_hot = F.one_hot(support_labels, n_classes).to(support.dtype)  # (E, S, C)
    return one_hot.transpose(1, 2) @ support, one_hot.sum(1)  # (E, C, D), (E, C)


def putm_em(
    support: torch.Tensor,
    support_labels: torch.Tensor,
    query: torch.Tensor,
    temperature: float = 0.1,
    rho: float = 0.5,
    max_iter: int = 50,
    tol: float = 1e-6,
) -> PUTMResult:
    r"""Prototypes refined by conditional transport with a learned query class prior, solved by EM.

    Start from the support means and a uniform prior. E-step: the navigators of
    :func:`paperlab.distances.ct_navigators` for the current prototypes and prior, and the data-driven
    prior :math:`\pi_k = \frac1Q \sum_j \pi(\mu_k | x_j)`. M-step: the prototypes minimizing, with the
    navigators fixed, Q times the conditional transport cost plus the support fit,

    .. math:: \sum_{s} \|x_s - \mu_{y_s}\|^2 + \sum_{j,k} w_{jk} \|x_j - \mu_k\|^2, \quad
              w_{jk} = \rho\, \pi(\mu_k | x_j) + (1 - \rho)\, Q \pi_k\, \pi(x_j | \mu_k),

    i.e. :math:`\mu_k = (\sum_{s \in S_k} x_s + \sum_j w_{jk} x_j) / (|S_k| + \sum_j w_{jk})`, the MAP
    estimate under a prior centred on the supports. Both terms give class k a query mass of about
    :math:`Q\pi_k`: the forward one through the soft counts, the backward one by construction, with
    :math:`\rho` balancing the data-driven and the per-prototype view.

    From "Prototypes-oriented Transductive Few-shot Learning with Conditional Transport".

    Args:
        support: (S, D) or (E, S, D); support_labels: int64 (S,) or (E, S); query: (Q, D) or (E, Q, D).
        temperature: tau > 0 of the navigators.
        rho: weight of the forward navigator in [0, 1].
        max_iter: most EM iterations; tol: stop when no prototype coordinate moves more than tol.

    Returns:
        PUTMResult.
    """
    support, support_labels, query, n_classes, batched = _check_episode(support, support_labels, query)
    check_positive("temperature", temperature)
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be a number in [0, 1], got {rho!r}")
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)
    support_sums, support_counts = _support_statistics(support, support_labels, n_classes)
    prototypes = support_sums / support_counts.unsqueeze(-1)  # (E, C, D)
    prior = torch.full(support_counts.shape, 1.0 / n_classes, dtype=query.dtype, device=query.device)
    n_query = query.shape[1]
    converged, n_iter = False, 0
    while n_iter < max_iter:
        prior = ct_navigators(query, prototypes, prior, temperature).forward.mean(1)  # (E, C)
        nav = ct_navigators(query, prototypes, prior, temperature)
        weights = rho * nav.forward + (1 - rho) * n_query * prior.unsqueeze(1) * nav.backward  # (E, Q, C)
        new_prototypes = _map_prototypes(support_sums, support_counts, query, weights)
        change = (new_prototypes - prototypes).abs().max().item()
        prototypes = new_prototypes
        n_iter += 1
        if change <= tol:
            converged = True
            break
    nav = ct_navigators(query, prototypes, prior, temperature)
    labels, forward, backward, prototypes, prior = _unbatch(
        batched, nav.forward.argmax(-1), nav.forward, nav.backward, prototypes, prior
    )
    return PUTMResult(labels, forward, backward, prototypes, prior, n_iter, converged)


def sinkhorn_prototypes(
    support: torch.Tensor,
    support_labels: torch.Tensor,
    query: torch.Tensor,
    reg: float = 0.1,
    max_iter: int = 20,
    tol: float = 1e-6,
    sinkhorn_iter: int = 200,
    sinkhorn_tol: float = 1e-6,
) -> SinkhornPrototypesResult:
    r"""Transductive baseline with a uniform class prior: balanced entropic OT between queries and classes.

    Alternates the Sinkhorn plan :math:`P = \arg\min_{P \in U(\frac1Q, \frac1C)} \langle P, D\rangle
    + \mathrm{reg}\,\mathrm{KL}(P \| a \otimes b)` for :math:`D_{jk} = \|x_j - \mu_k\|^2` with the
    prototype update :math:`\mu_k = (\sum_{s \in S_k} x_s + Q\sum_j P_{jk} x_j) / (|S_k| + Q\sum_j P_{jk})`.
    Every class receives exactly Q/C queries: the balanced assumption that imbalanced episodes violate.

    Args:
        support, support_labels, query: one episode or a batch, as in :func:`putm_em`.
        reg: entropic regularization > 0; max_iter: prototype updates; tol: stop when prototypes move
            less; sinkhorn_iter, sinkhorn_tol: iterations and tolerance of each Sinkhorn solve.

    Returns:
        SinkhornPrototypesResult with labels argmax_k P_jk.
    """
    support, support_labels, query, n_classes, batched = _check_episode(support, support_labels, query)
    check_positive("reg", reg)
    check_positive("max_iter", max_iter, integer=True)
    check_positive("tol", tol, allow_zero=True)
    check_positive("sinkhorn_iter", sinkhorn_iter, integer=True)
    check_positive("sinkhorn_tol", sinkhorn_tol, allow_zero=True)
    support_sums, support_counts = _support_statistics(support, support_labels, n_classes)
    prototypes = support_sums / support_counts.unsqueeze(-1)
    n_query = query.shape[1]
    errors = []

    def solve(prototypes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # recorded in marginal_error instead
            result = sinkhorn(None, None, pairwise_cost(query, prototypes), reg, sinkhorn_iter, sinkhorn_tol)
        errors.append(result.marginal_error)
        return result.plan

    converged, n_iter = False, 0
    while True:
        plan = solve(prototypes)
        if n_iter == max_iter:
            break
        new_prototypes = _map_prototypes(support_sums, support_counts, query, n_query * plan)
        change = (new_prototypes - prototypes).abs().max().item()
        prototypes = new_prototypes
        n_iter += 1
        if change <= tol:
            converged = True
            plan = solve(prototypes)
            break
    labels, plan, prototypes = _unbatch(batched, plan.argmax(-1), plan, prototypes)
    return SinkhornPrototypesResult(labels, plan, prototypes, n_iter, converged, max(errors))

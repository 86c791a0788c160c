"""Conditional transport between a point set and class prototypes: forward and backward navigators."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.distances.cost import check_point_clouds, pairwise_cost


@dataclass
class Navigators:
    """The two conditional transport plans between points x_j and prototypes mu_k.

    Attributes:
        forward: :math:`\\pi(\\mu_k | x_j)`, each point's distribution over prototypes, shape (..., n, K),
            rows summing to 1.
        backward: :math:`\\pi(x_j | \\mu_k)`, each prototype's distribution over points, shape (..., n, K),
            columns summing to 1.
        cost: the squared distances :math:`\\|x_j - \\mu_k\\|^2`, shape (..., n, K).
    """

    forward: torch.Tensor
    backward: torch.Tensor
    cost: torch.Tensor


def _check_prior(prior, shape, like):
    if prior is None:
        return torch.full(shape, 1.0 / shape[-1], dtype=like.dtype, device=like.device)
    check_tensor("prior", prior, floating=True)
    if prior.shape != shape:
        raise ValueError(f"prior must have shape {tuple(shape)}, got {tuple(prior.shape)}")
    if bool((prior < 0).any()):
        raise ValueError(f"prior must be non-negative, got minimum {prior.min().item():.3g}")
    if not torch.allclose(prior.sum(-1), torch.ones((), dtype=prior.dtype, device=prior.device)):
        raise ValueError(f"prior must sum to 1 over its last axis, got sums {prior.sum(-1).tolist()}")
    return prior


def ct_navigators(
    x: torch.Tensor, prototypes: torch.Tensor, prior: torch.Tensor | None = None, temperature: float = 1.0
) -> Navigators:
    r"""Forward and backward navigators of conditional transport between points and prototypes.

    With :math:`d_{jk} = \|x_j - \mu_k\|^2` and a class prior :math:`\pi_k`,

    .. math:: \pi(\mu_k | x_j) = \frac{\pi_k e^{-d_{jk}/\tau}}{\sum_{k'} \pi_{k'} e^{-d_{jk'}/\tau}},
              \qquad \pi(x_j | \mu_k) = \frac{e^{-d_{jk}/\tau}}{\sum_{j'} e^{-d_{j'k}/\tau}}.

    The forward navigator carries the (learned, possibly imbalanced) class prior; the backward navigator
    lets every prototype pick its own points, whatever the class sizes.

    From "Prototypes-oriented Transductive Few-shot Learning with Conditional Transport".

    Args:
        x: points (..., n, D).
        prototypes: (..., K, D), same batch dims.
        prior: class prior (..., K) summing to 1, or None for uniform.
        temperature: tau > 0.

    Returns:
        Navigators with forward, backward and cost, each (..., n, K).
    """
    check_point_clouds(x, prototypes, ("x", "prototypes"))
    check_positive("temperature", temperature)
    prior = _check_prior(prior, prototypes.shape[:-1], x)
    cost = pairwise_cost(x, prototypes)  # (..., n, K)
    log_prior = torch.log(prior.clamp_min(torch.finfo(x.dtype).tiny)).unsqueeze(-2)  # (..., 1, K)
    forward = torch.softmax(log_prior - cost / temperature, dim=-1)
    backward = torch.softmax(-cost / temperature, dim=-2)
    return Navigators(forward, backward, cost)


def conditional_transport(
    x: torch.Tensor,
    prototypes: torch.Tensor,
    prior: torch.Tensor | None = None,
    temperature: float = 1.0,
    rho: float = 0.5,
) -> torch.Tensor:
    r"""Bidirectional conditional transport cost between points and class prototypes.

    .. math:: \mathcal{C} = \rho\, \frac{1}{n}\sum_j \sum_k \pi(\mu_k | x_j)\, d_{jk}
              + (1 - \rho) \sum_k \pi_k \sum_j \pi(x_j | \mu_k)\, d_{jk},

    the forward term moving each point to the prototypes, the backward term moving each prototype (with
    mass :math:`\pi_k`) to the points; navigators as in :func:`ct_navigators`. Differentiable in x,
    prototypes and prior.

    From "Prototypes-oriented Transductive Few-shot Learning with Conditional Transport".

    Args:
        x: points (..., n, D); prototypes: (..., K, D); prior: (..., K) or None for uniform.
        temperature: tau > 0; rho: weight of the forward term in [0, 1].

    Returns:
        The cost, shape (...) (the batch dims).
    """
    if isinstance(rho, bool) or not isinstance(rho, (int, float)) or not 0.0 <= rho <= 1.0:
        raise ValueError(f"rho must be a number in [0, 1], got {rho!r}")
    nav = ct_navigators(x, prototypes, prior, temperature)
    prior = _check_prior(prior, prototypes.shape[:-1], x)
    forward_term = (nav.forward * nav.cost).sum((-2, -1)) / x.shape[-2]
    backward_term = ((nav.backward * nav.cost).sum(-2) * prior).sum(-1)
    return rho * forward_term + (1 - rho) * backward_term

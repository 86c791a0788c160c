r"""Wasserstein predictive coding: a contrastive objective with a Lipschitz critic.

From "Wasserstein Dependency Measure for Representation Learning (2019)". Mutual information is
:math:`\mathrm{KL}(p(x, y) \,\|\, p(x)p(y))`; its contrastive lower bounds (CPC / InfoNCE) cannot exceed
:math:`\log B` for a batch of B pairs, and once a few factors of the data suffice to tell the positive
apart they stop learning the others. The **Wasserstein dependency measure** swaps the KL for the
Wasserstein-1 distance,

.. math:: I_W(x; y) = W_1(p(x, y), p(x)p(y)) = \sup_{\lVert f \rVert_L \le 1}
          \mathbb{E}_{p(x, y)} f(x, y) - \mathbb{E}_{p(x)p(y)} f(x, y),

which grows with how far apart (in input space) the dependent pairs are, not with their likelihood
ratio. Its practical form, **WPC**, keeps CPC's objective but restricts the critic to (about)
1-Lipschitz functions of the inputs through a gradient penalty:

.. math:: \mathcal{L} = \frac1B \sum_i \Big[\log \sum_j e^{f(x_i, y_j)} - f(x_i, y_i)\Big]
          + \lambda\, \frac1B \sum_i \big(\lVert \nabla_{(x, y)} f(\hat x_i, \hat y_i) \rVert_2 - 1\big)^2,

at points :math:`(\hat x_i, \hat y_i) = (x_i,\ t_i y_i + (1 - t_i) y_{\pi(i)})` on the segments between a
joint sample and a product-of-marginals sample (:math:`t_i \sim U[0, 1]`, :math:`\pi` a random
permutation), as in WGAN-GP. A ``critic`` is any callable mapping ``x`` (B, ...) and ``y`` (B, ...)
to the (B, B) score matrix :math:`S_{ij} = f(x_i, y_j)` (e.g. :class:`paperlab.models.BilinearCritic`);
a critic with a ``pair_scores(x, y)`` method returning the (B,) scores :math:`f(x_i, y_i)` spares the
gradient penalty the full matrix.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_choice, check_positive, check_reduction, check_tensor, reduce
from paperlab._random import as_generator

OBJECTIVES = ("infonce", "kr")


def _critic_scores(critic, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    scores = critic(x, y)
    batch = x.shape[0]
    if not isinstance(scores, torch.Tensor) or scores.shape != (batch, batch):
        shape = tuple(scores.shape) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"critic must return the ({batch}, {batch}) score matrix f(x_i, y_j), got {shape}")
    return scores


def _pair_scores(critic, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f(x_i, y_i) for matched rows: the critic's ``pair_scores`` if it has one, else the diagonal."""
    if hasattr(critic, "pair_scores"):
        scores = critic.pair_scores(x, y)
        if not isinstance(scores, torch.Tensor) or scores.shape != (x.shape[0],):
            raise ValueError(f"critic.pair_scores must return ({x.shape[0]},) scores")
        return scores
    return _critic_scores(critic, x, y).diagonal()


def _check_pairs(x: torch.Tensor, y: torch.Tensor, critic) -> None:
    check_tensor("x", x, min_dim=2, floating=True)
    check_tensor("y", y, min_dim=2, floating=True)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y must hold one row per row of x ({x.shape[0]}), got shape {tuple(y.shape)}")
    if x.shape[0] < 2:
        raise ValueError(f"x must hold at least 2 pairs (one positive, one negative), got {tuple(x.shape)}")
    if x.dtype != y.dtype or x.device != y.device:
        raise TypeError(f"y must have dtype {x.dtype} on {x.device}, got {y.dtype} on {y.device}")
    if not callable(critic):
        raise TypeError(f"critic must be callable, got {type(critic).__name__}")


def critic_gradient_penalty(
    x: torch.Tensor,
    y: torch.Tensor,
    critic,
    one_sided: bool = False,
    generator=None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Gradient penalty of a pair critic between the joint and the product of marginals.

    .. math:: p_i = \big(\lVert \nabla_{(x, y)} f(\hat x_i, \hat y_i) \rVert_2 - 1\big)^2, \qquad
              \hat x_i = x_i,\ \hat y_i = t_i y_i + (1 - t_i) y_{\pi(i)},

    or :math:`\max(0, \lVert\nabla\rVert - 1)^2` when ``one_sided``. Random draws, in this order, from
    ``generator`` on the CPU: ``t = torch.rand(B)``, ``pi = torch.randperm(B)``. Differentiable twice
    (the penalty's gradient reaches the critic's parameters, and x and y when they require it).

    Args:
        x: (B, ...) first views; y: (B, ...) second views, pair i is (x[i], y[i]).
        critic: callable, (x, y) -> (B, B) scores ``f(x_i, y_j)``.
        one_sided: penalize only gradient norms above 1.
        generator: int seed, ``torch.Generator`` or None.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-point penalties.

    From "Wasserstein Dependency Measure for Representation Learning (2019)", with the penalty of
    "Improved Training of Wasserstein GANs (2017)".
    """
    _check_pairs(x, y, critic)
    check_reduction(reduction)
    g = as_generator(generator)
    batch = x.shape[0]
    t = torch.rand(batch, generator=g).to(device=y.device, dtype=y.dtype)
    t = t.view(batch, *([1] * (y.dim() - 1)))  # (B, 1, ...)
    partner = torch.randperm(batch, generator=g).to(y.device)
    x_hat = x if x.requires_grad else x.detach().requires_grad_(True)
    y_hat = t * y + (1 - t) * y[partner]  # (B, ...)
    if not y_hat.requires_grad:
        y_hat = y_hat.requires_grad_(True)
    scores = _pair_scores(critic, x_hat, y_hat)  # (B,) f(x_hat_i, y_hat_i)
    grad_x, grad_y = torch.autograd.grad(scores.sum(), (x_hat, y_hat), create_graph=True)
    norms = torch.cat([grad_x.flatten(1), grad_y.flatten(1)], dim=1).norm(dim=1)  # (B,)
    excess = (norms - 1).clamp_min(0) if one_sided else norms - 1
    return reduce(excess.square(), reduction)


def wasserstein_predictive_coding_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    critic,
    gp_weight: float = 10.0,
    objective: str = "infonce",
    one_sided: bool = False,
    generator=None,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""WPC: a contrastive objective on a critic kept about 1-Lipschitz by a gradient penalty.

    .. math:: \ell_i = \underbrace{\log \sum_j e^{S_{ij}} - S_{ii}}_{\text{InfoNCE}}
              + \lambda\, p_i, \qquad S_{ij} = f(x_i, y_j)

    ``objective="kr"`` replaces InfoNCE by the plain Kantorovich-Rubinstein dual estimate,
    :math:`\ell_i = \frac{1}{B-1}\sum_{j \ne i} S_{ij} - S_{ii}` (the negated
    :math:`\mathbb{E}_{p(x,y)} f - \mathbb{E}_{p(x)p(y)} f`), the paper's theoretical objective.
    ``gp_weight=0`` with ``"infonce"`` is CPC. The penalty :math:`p_i` is
    :func:`critic_gradient_penalty` (skipped, with no draw, when ``gp_weight=0``).

    Args:
        x, y: (B, ...) paired views; critic: callable, (x, y) -> (B, B) scores.
        gp_weight: :math:`\lambda \ge 0`.
        objective: ``"infonce"`` (WPC) or ``"kr"``.
        one_sided, generator: as in :func:`critic_gradient_penalty`.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,).

    Returns:
        A scalar, or (B,) per-pair losses.

    From "Wasserstein Dependency Measure for Representation Learning (2019)".
    """
    _check_pairs(x, y, critic)
    check_positive("gp_weight", gp_weight, allow_zero=True)
    check_choice("objective", objective, set(OBJECTIVES))
    check_reduction(reduction)
    scores = _critic_scores(critic, x, y)  # (B, B)
    positive = scores.diagonal()  # (B,)
    if objective == "infonce":
        losses = torch.logsumexp(scores, dim=1) - positive
    else:
        losses = (scores.sum(1) - positive) / (x.shape[0] - 1) - positive
    if gp_weight > 0:
        losses = losses + gp_weight * critic_gradient_penalty(x, y, critic, one_sided, generator, "none")
    return reduce(losses, reduction)


class WassersteinPredictiveCoding(nn.Module):
    """Module form of :func:`wasserstein_predictive_coding_loss`, holding the critic.

    Args:
        critic: an ``nn.Module``, (x, y) -> (B, B) scores.
        gp_weight, objective, one_sided, reduction: as in the function.

    ``forward(x, y, generator=None)`` returns the loss.
    """

    def __init__(
        self,
        critic: nn.Module,
        gp_weight: float = 10.0,
        objective: str = "infonce",
        one_sided: bool = False,
        reduction: str = "mean",
    ):
        super().__init__()
        if not isinstance(critic, nn.Module):
            raise TypeError(f"critic must be an nn.Module, got {type(critic).__name__}")
        check_positive("gp_weight", gp_weight, allow_zero=True)
        check_choice("objective", objective, set(OBJECTIVES))
        check_reduction(reduction)
        self.critic = critic
        self.gp_weight, self.objective, self.one_sided, self.reduction = (
            gp_weight,
            objective,
            one_sided,
            reduction,
        )

    def forward(self, x: torch.Tensor, y: torch.Tensor, generator=None) -> torch.Tensor:
        return wasserstein_predictive_coding_loss(
            x, y, self.critic, self.gp_weight, self.objective, self.one_sided, generator, self.reduction
        )

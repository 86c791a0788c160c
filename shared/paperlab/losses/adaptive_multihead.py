r"""Adaptive multi-head contrastive loss (AMCL, SimCLR form) with pair-adaptive temperatures.

From "Adaptive Multi-head Contrastive Learning". Each of :math:`C` projection heads maps the two
views of a batch of :math:`B` images to features :math:`z^c`; every pair of views :math:`(a, b)` of a head
gets its own temperature from a small network :math:`\phi` shared by all heads,

.. math:: \tau_{ab} = \tau_{\min} + (\tau_{\max} - \tau_{\min})\, \sigma\big(-\phi(z_a) \cdot \phi(z_b)\big),

and for an anchor :math:`a` with positive :math:`p` and the :math:`2B - 2` other views as negatives
:math:`N_a`, with cosine similarities :math:`s`,

.. math:: \ell_a = -\frac{s_{ap}}{\tau_{ap}} + \mathrm{NEG}_a + \beta\,\Omega(\tau_{ap})
          - \beta \sum_{n \in K_a} \big(\log \tau_{an} + \tau_{an}^{-1}\big),
          \qquad \Omega(\tau) = \tfrac{d}{2} \log \tau + \tau^{-1},

summed over heads and averaged over the :math:`2B` anchors. The regulariser keeps temperatures away from
the degenerate :math:`\tau \to 0`. The negative term follows the authors' code by default: the mean of
:math:`s_{an}/\tau_{an}` over the ``top_k`` most similar negatives :math:`K_a` (their practical
approximation); ``top_k=None`` uses the log-sum-exp :math:`\log \sum_{n \in N_a} e^{s_{an}/\tau_{an}}`
over all negatives (:math:`K_a = N_a`), the softmax form of SimCLR with per-pair temperatures.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor


def pair_temperatures(
    phi_a: torch.Tensor, phi_b: torch.Tensor, tau_min: float = 0.05, tau_max: float = 1.0
) -> torch.Tensor:
    r"""Temperatures :math:`\tau_{\min} + (\tau_{\max} - \tau_{\min})\,\sigma(-\phi_a \cdot \phi_b)`.

    Args:
        phi_a, phi_b: (..., D') temperature-network outputs of the two members of each pair.
        tau_min, tau_max: bounds, 0 < tau_min < tau_max.

    Returns:
        (...) temperatures in (tau_min, tau_max).
    """
    _check_bounds(tau_min, tau_max)
    return tau_min + (tau_max - tau_min) * torch.sigmoid(-(phi_a * phi_b).sum(dim=-1))


def _check_bounds(tau_min, tau_max) -> None:
    check_positive("tau_min", tau_min)
    check_positive("tau_max", tau_max)
    if not tau_min < tau_max:
        raise ValueError(f"tau_min must be below tau_max, got tau_min={tau_min!r}, tau_max={tau_max!r}")


def _check_views(z1, z2) -> None:
    check_tensor("z1", z1, dim=3, floating=True)
    check_tensor("z2", z2, dim=3, floating=True)
    if z1.shape != z2.shape:
        raise ValueError(
            f"z1 and z2 must have the same shape (B, C, D), got {tuple(z1.shape)} and {tuple(z2.shape)}"
        )
    if z1.shape[0] < 2:
        raise ValueError(f"z1 must hold at least 2 images, got shape {tuple(z1.shape)}")
    if z1.dtype != z2.dtype or z1.device != z2.device:
        raise ValueError(f"z2 must have the dtype and device of z1, got {z2.dtype} on {z2.device}")


def amcl_loss(
    z1: torch.Tensor,
    z2: torch.Tensor,
    phi: Callable[[torch.Tensor], torch.Tensor],
    beta: float = 0.01,
    tau_min: float = 0.05,
    tau_max: float = 1.0,
    top_k: int | None = 100,
    return_temperatures: bool = False,
):
    r"""AMCL loss of two views seen through C heads (formula in the module docstring).

    Args:
        z1, z2: (B, C, D) head features of the two views; row i of both comes from image i.
        phi: the shared temperature network, mapping (..., D) to (..., D').
        beta: :math:`\beta \ge 0`, the regulariser's weight.
        tau_min, tau_max: temperature bounds.
        top_k: number of hardest negatives per anchor (authors' approximation, clipped to 2B - 2), or
            None for the log-sum-exp over all negatives.
        return_temperatures: also return the (C, 2B) positive and (C, 2B, 2B - 2) negative temperatures.

    Returns:
        The scalar loss (sum over heads, mean over anchors), and the temperatures when asked for.
    """
    _check_views(z1, z2)
    check_positive("beta", beta, allow_zero=True)
    _check_bounds(tau_min, tau_max)
    if top_k is not None:
        check_positive("top_k", top_k, integer=True)
    b, c, d = z1.shape
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=-1).transpose(0, 1)  # (C, 2B, D)
    codes = phi(z)  # (C, 2B, D')
    similarity = z @ z.transpose(1, 2)  # (C, 2B, 2B)
    scores = codes @ codes.transpose(1, 2)  # (C, 2B, 2B) phi(z_a) . phi(z_b), one matrix product
    temperature = tau_min + (tau_max - tau_min) * torch.sigmoid(-scores)  # (C, 2B, 2B)
    anchors = torch.arange(2 * b, device=z.device)
    partner = (anchors + b) % (2 * b)  # (2B,) index of each anchor's positive
    s_pos, tau_pos = similarity[:, anchors, partner], temperature[:, anchors, partner]  # (C, 2B)
    negative = torch.ones(2 * b, 2 * b, dtype=torch.bool, device=z.device)
    negative[anchors, anchors] = False
    negative[anchors, partner] = False
    if top_k is None:
        kept = temperature.masked_fill(~negative, 1.0)  # (C, 2B, 2B); log 1 + 1/1 = 1 per masked entry
        logits = (similarity / temperature).masked_fill(~negative, -float("inf"))  # (C, 2B, 2B)
        negative_term = torch.logsumexp(logits, dim=-1)  # (C, 2B)
        omega_neg = (kept.log() + 1.0 / kept).sum(dim=-1) - 2.0  # two masked entries per anchor
    else:
        candidates = similarity.detach().masked_fill(~negative, -float("inf"))  # (C, 2B, 2B)
        hardest = candidates.topk(min(top_k, 2 * b - 2), dim=-1).indices  # (C, 2B, k)
        kept = temperature.gather(-1, hardest)  # (C, 2B, k)
        negative_term = (similarity.gather(-1, hardest) / kept).mean(dim=-1)  # (C, 2B)
        omega_neg = (kept.log() + 1.0 / kept).sum(dim=-1)
    omega_pos = 0.5 * d * tau_pos.log() + 1.0 / tau_pos
    per_anchor = -s_pos / tau_pos + negative_term + beta * (omega_pos - omega_neg)  # (C, 2B)
    loss = per_anchor.mean(dim=1).sum()
    if return_temperatures:
        tau_neg = temperature[:, negative].view(c, 2 * b, 2 * b - 2)  # (C, 2B, 2B - 2)
        return loss, tau_pos, tau_neg
    return loss


class TemperatureNetwork(nn.Module):
    """The shared temperature network phi: Linear, ReLU, Linear, from D to D features."""

    def __init__(self, dim: int, hidden: int | None = None):
        super().__init__()
        check_positive("dim", dim, integer=True)
        hidden = dim if hidden is None else check_positive("hidden", hidden, integer=True)
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class AMCLLoss(nn.Module):
    """Module form of :func:`amcl_loss` that owns its temperature network phi.

    Args:
        dim: feature width D of the heads.
        beta, tau_min, tau_max, top_k: as in :func:`amcl_loss`.
        hidden: hidden width of phi (default D).
    """

    def __init__(
        self,
        dim: int,
        beta: float = 0.01,
        tau_min: float = 0.05,
        tau_max: float = 1.0,
        top_k: int | None = 100,
        hidden: int | None = None,
    ):
        super().__init__()
        self.phi = TemperatureNetwork(dim, hidden)
        self.beta, self.tau_min, self.tau_max, self.top_k = beta, tau_min, tau_max, top_k

    def forward(self, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
        if z1.dim() == 3 and z1.shape[-1] != self.phi.net[0].in_features:
            raise ValueError(f"z1 must have feature width {self.phi.net[0].in_features}, got {z1.shape[-1]}")
        return amcl_loss(z1, z2, self.phi, self.beta, self.tau_min, self.tau_max, self.top_k)

r"""Riemannian SGD with momentum for orthonormal frames (Grassmann or Stiefel manifold).

From "Get the Best of Both Worlds: Improving Accuracy and Transferability by Grassmann Class
Representation" (2023), which trains class subspaces jointly with the rest of a network. For a frame
:math:`S` (shape ``(..., d, k)``, :math:`S^\top S = I_k`) with Euclidean gradient :math:`G`, one step is

.. math::

    \xi = \Pi_S(G), \qquad m \leftarrow \mu\, m + \xi, \qquad
    S' = R_S(-\eta\, m), \qquad m \leftarrow \Pi_{S'}(m),

with the tangent projection :math:`\Pi_S(G) = (I - S S^\top) G` on the Grassmannian (the horizontal
space: moves that change the subspace) or :math:`G - S\,\mathrm{sym}(S^\top G)` on the Stiefel manifold,
the retraction :math:`R_S(\Delta)` either the sign-fixed Q factor of :math:`S + \Delta` (``"qr"``) or
the Grassmann geodesic :math:`S V \cos\Sigma\, V^\top + U \sin\Sigma\, V^\top` with
:math:`\Delta = U \Sigma V^\top` (``"exp"``, the paper's update), and the momentum carried to the new
tangent space by projecting it there (vector transport by projection). Ordinary parameters get plain
SGD with momentum and weight decay, exactly as ``torch.optim.SGD``.
"""

from __future__ import annotations

import torch
from torch.optim import Optimizer

from paperlab._checks import check_choice, check_positive

MANIFOLDS = ("grassmann", "stiefel")
RETRACTIONS = ("qr", "exp")


def tangent_projection(frames: torch.Tensor, grad: torch.Tensor, manifold: str = "grassmann") -> torch.Tensor:
    r"""Project ``grad`` onto the tangent space at ``frames`` (both ``(..., d, k)``).

    Grassmann: :math:`(I - S S^\top) G`. Stiefel: :math:`G - S\, \mathrm{sym}(S^\top G)` with
    :math:`\mathrm{sym}(A) = (A + A^\top) / 2`.
    """
    check_choice("manifold", manifold, MANIFOLDS)
    overlap = frames.transpose(-2, -1) @ grad  # (..., k, k): S^T G
    if manifold == "stiefel":
        overlap = (overlap + overlap.transpose(-2, -1)) / 2
    return grad - frames @ overlap


def qr_retraction(frames: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """The Q factor of ``frames + step`` with the signs fixed so that ``R`` has a positive diagonal."""
    q, r = torch.linalg.qr(frames + step)  # (..., d, k), (..., k, k)
    diagonal = torch.diagonal(r, dim1=-2, dim2=-1)  # (..., k)
    signs = torch.where(diagonal < 0, -1.0, 1.0).to(q.dtype)
    return q * signs.unsqueeze(-2)


def grassmann_exp(frames: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    r"""Follow the Grassmann geodesic from ``frames`` along the horizontal tangent ``step`` for unit time.

    .. math:: \exp_S(\Delta) = S V \cos(\Sigma) V^\top + U \sin(\Sigma) V^\top, \qquad \Delta = U \Sigma V^\top,

    then re-orthonormalize (sign-fixed QR, which only removes rounding drift).
    """
    u, sigma, vh = torch.linalg.svd(step, full_matrices=False)  # (..., d, k), (..., k), (..., k, k)
    v = vh.transpose(-2, -1)
    moved = (frames @ v) * torch.cos(sigma).unsqueeze(-2) @ vh + u * torch.sin(sigma).unsqueeze(-2) @ vh
    return qr_retraction(moved, torch.zeros_like(moved))


class GrassmannRSGD(Optimizer):
    r"""SGD with momentum that keeps frame parameters orthonormal (Riemannian SGD), plain SGD elsewhere.

    A parameter is a frame when its group has ``manifold="grassmann"`` or ``"stiefel"``, or, for groups
    without that key, when the parameter carries a ``manifold`` attribute (as
    ``paperlab.losses.GrassmannClassHead`` sets on its frames). Frames have shape ``(..., d, k)`` with
    orthonormal columns; leading dims are independent frames. Weight decay is not applied to frames:
    a subspace has no scale to decay.

    Args:
        params: parameters or parameter groups, as for any torch optimizer.
        lr: learning rate :math:`\eta > 0`.
        momentum: :math:`\mu \in [0, 1)`.
        weight_decay: L2 penalty for the Euclidean parameters.
        retraction: ``"qr"`` (sign-fixed QR) or ``"exp"`` (Grassmann geodesic, Grassmann frames only).
        manifold: the default manifold of every parameter of a group, or None to read each
            parameter's ``manifold`` attribute.
    """

    def __init__(self, params, lr=0.1, momentum=0.9, weight_decay=0.0, retraction="qr", manifold=None):
        check_positive("lr", lr)
        check_positive("weight_decay", weight_decay, allow_zero=True)
        _check_momentum(momentum)
        check_choice("retraction", retraction, RETRACTIONS)
        if manifold is not None:
            check_choice("manifold", manifold, MANIFOLDS)
        defaults = dict(
            lr=lr, momentum=momentum, weight_decay=weight_decay, retraction=retraction, manifold=manifold
        )
        super().__init__(params, defaults)

    def add_param_group(self, param_group):
        """Add a group (as torch does) and validate its options and frame shapes."""
        super().add_param_group(param_group)
        _check_group(self.param_groups[-1])

    @torch.no_grad()
    def step(self, closure=None):
        """Take one step; ``closure`` re-evaluates the loss, as in torch's optimizers."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                manifold = group["manifold"] or getattr(param, "manifold", None)
                if manifold is None:
                    self._euclidean_step(param, group)
                else:
                    self._riemannian_step(param, group, manifold)
        return loss

    def _euclidean_step(self, param, group):
        direction = param.grad
        if group["weight_decay"]:
            direction = direction.add(param, alpha=group["weight_decay"])
        direction = self._accumulate(param, direction, group["momentum"])
        param.add_(direction, alpha=-group["lr"])

    def _riemannian_step(self, param, group, manifold):
        _check_frame(param, manifold, group["retraction"])
        direction = tangent_projection(param, param.grad, manifold)
        direction = self._accumulate(param, direction, group["momentum"])
        if group["retraction"] == "exp":
            moved = grassmann_exp(param, -group["lr"] * direction)
        else:
            moved = qr_retraction(param, -group["lr"] * direction)
        if group["momentum"]:
            buffer = self.state[param]["momentum_buffer"]
            buffer.copy_(tangent_projection(moved, buffer, manifold))  # transport to the new tangent space
        param.copy_(moved)

    def _accumulate(self, param, direction, momentum):
        """Momentum :math:`m \\leftarrow \\mu m + d` (the first step starts from :math:`m = d`)."""
        if not momentum:
            return direction
        state = self.state[param]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = direction.clone()
        else:
            state["momentum_buffer"].mul_(momentum).add_(direction)
        return state["momentum_buffer"]


def _check_momentum(momentum) -> None:
    check_positive("momentum", momentum, allow_zero=True)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")


def _check_group(group) -> None:
    check_positive("lr", group["lr"])
    check_positive("weight_decay", group["weight_decay"], allow_zero=True)
    _check_momentum(group["momentum"])
    check_choice("retraction", group["retraction"], RETRACTIONS)
    if group["manifold"] is not None:
        check_choice("manifold", group["manifold"], MANIFOLDS)
    for param in group["params"]:
        manifold = group["manifold"] or getattr(param, "manifold", None)
        if manifold is not None:
            _check_frame(param, manifold, group["retraction"])


def _check_frame(param, manifold, retraction) -> None:
    check_choice("manifold", manifold, MANIFOLDS)
    if param.dim() < 2 or param.shape[-2] < param.shape[-1]:
        raise ValueError(
            f"a {manifold} parameter must have shape (..., d, k) with d >= k, got {tuple(param.shape)}"
        )
    if retraction == "exp" and manifold != "grassmann":
        raise ValueError(f"retraction='exp' is the Grassmann geodesic; use 'qr' for {manifold} frames")

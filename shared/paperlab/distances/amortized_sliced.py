"""Sliced Wasserstein along predicted directions: the losses of amortized projection optimization.

Max-SW and distributional SW need an inner optimization of the slicing direction for every pair of
measures. Amortized projection optimization predicts it instead, with a network f(X, Y) trained by gradient
ascent alongside the main model ("Self-Attention Amortized Distributional Projection Optimization for Sliced
Wasserstein Point-Cloud Reconstruction" (2023)). For a batch of pairs and one predicted direction per pair:

- amortized Max-SW: $W_p(\\theta_\\#\\mu, \\theta_\\#\\nu)$ with $\\theta = f(X, Y)$;
- amortized v-DSW: $\\big(\\mathbb{E}_{\\theta \\sim \\mathrm{vMF}(f(X, Y), \\kappa)}
  W_p^p(\\theta_\\#\\mu, \\theta_\\#\\nu)\\big)^{1/p}$, which stays a metric whatever f predicts, since every
  vMF with finite kappa puts mass on every direction.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.distances.sliced import check_point_clouds
from paperlab.distances.vmf import sample_vmf
from paperlab.distances.wasserstein_1d import wasserstein_1d_lastdim


def _check_batch(X, Y, directions, name: str) -> None:
    check_point_clouds(X, Y)
    if X.dim() != 3:
        raise ValueError(f"X and Y must be batches of clouds (B, n, d), got shape {tuple(X.shape)}")
    check_tensor(name, directions, dim=2, floating=True)
    if directions.shape != (X.shape[0], X.shape[2]):
        raise ValueError(f"{name} must have shape {(X.shape[0], X.shape[2])}, got {tuple(directions.shape)}")


def _per_pair_wasserstein(X, Y, theta, p: float) -> torch.Tensor:
    """(B, L) W_p^p along the directions theta (B, d, L) of each pair of X (B, n, d) and Y (B, m, d)."""
    x_proj = theta.transpose(1, 2) @ X.transpose(1, 2)  # (B, L, n)
    y_proj = theta.transpose(1, 2) @ Y.transpose(1, 2)  # (B, L, m)
    return wasserstein_1d_lastdim(x_proj, y_proj, None, None, p)


def amortized_max_sliced_wasserstein(X, Y, directions, p: float = 2) -> torch.Tensor:
    """W_p of each pair (X_b, Y_b) along its own direction theta_b (normalized here).

    Args:
        X: (B, n, d), Y: (B, m, d) uniform point clouds. directions: (B, d), e.g. an amortizer's output.
        p: order >= 1.
    Returns:
        (B,) values; differentiable in X, Y and ``directions``.
    """
    _check_batch(X, Y, directions, "directions")
    check_positive("p", p)
    theta = directions / directions.norm(dim=1, keepdim=True).clamp_min(torch.finfo(directions.dtype).tiny)
    return _per_pair_wasserstein(X, Y, theta.unsqueeze(2).to(X), p)[:, 0].pow(1.0 / p)


def vmf_around(locations, kappa: float, n: int, seed=None) -> torch.Tensor:
    """(B, d, n) directions: n draws from vMF(m_b, kappa) for each row m_b of ``locations`` (B, d).

    One set of n draws around e_1 is shared by the batch and reflected onto each location by the Householder
    map that sends e_1 to m_b, so the draws are differentiable in the locations.
    """
    check_tensor("locations", locations, dim=2, floating=True)
    d = locations.shape[1]
    e1 = torch.zeros(d, dtype=locations.dtype, device=locations.device)
    e1[0] = 1.0
    around_e1 = sample_vmf(e1, kappa, n, seed)  # (d, n)
    m = locations / locations.norm(dim=1, keepdim=True).clamp_min(torch.finfo(locations.dtype).tiny)
    u = e1 - m  # (B, d); the reflection across u's normal plane sends e1 to m
    u_norm = u.norm(dim=1, keepdim=True)
    at_e1 = u_norm < 1e-12  # rows already at e1: no reflection
    u = torch.where(at_e1, torch.zeros_like(u), u / torch.where(at_e1, torch.ones_like(u_norm), u_norm))
    return around_e1 - 2 * u.unsqueeze(2) * (u @ around_e1).unsqueeze(1)  # (B, d, n)


def amortized_vmf_sliced_wasserstein(
    X, Y, locations, kappa: float, n_projections: int = 50, p: float = 2, seed=None
) -> torch.Tensor:
    """v-DSW_p of each pair with vMF(location_b, kappa) slicing directions.

    Args:
        X: (B, n, d), Y: (B, m, d) uniform point clouds. locations: (B, d) vMF means (normalized here).
        kappa: concentration >= 0. n_projections: Monte Carlo directions (shared across the batch, then
            reflected onto each location). p: order >= 1. seed: int, generator or None.
    Returns:
        (B,) values; differentiable in X, Y and ``locations``.
    """
    _check_batch(X, Y, locations, "locations")
    check_positive("p", p)
    check_positive("n_projections", n_projections, integer=True)
    theta = vmf_around(locations.to(X), kappa, n_projections, seed)  # (B, d, L)
    return _per_pair_wasserstein(X, Y, theta, p).mean(-1).pow(1.0 / p)

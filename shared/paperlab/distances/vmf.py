"""Von Mises-Fisher slicing: sliced Wasserstein with directions concentrated around a location.

The von Mises-Fisher distribution on the sphere S^{d-1} has density proportional to
exp(kappa mu^T theta). Drawing the slicing directions from it instead of the uniform law gives the
distributional sliced Wasserstein distance of "Self-Attention Amortized Distributional Projection
Optimization for Sliced Wasserstein Point-Cloud Reconstruction" (2023):

$$\\text{v-DSW}_p(\\mu, \\nu; m, \\kappa) = \\big(\\mathbb{E}_{\\theta \\sim \\mathrm{vMF}(m, \\kappa)}
   W_p^p(\\theta_\\#\\mu, \\theta_\\#\\nu)\\big)^{1/p}.$$

Samples use Wood's rejection sampler for the cosine w = m^T theta, which does not depend on m, and a
Householder reflection that maps e_1 to m, so they are differentiable in the location m.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.distances.sliced import check_point_clouds, projected_wasserstein


def _wood_cosines(d: int, kappa: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws of w = m^T theta for theta ~ vMF(m, kappa) on S^{d-1} (Wood's algorithm)."""
    b = (d - 1) / (2 * kappa + math.sqrt(4 * kappa**2 + (d - 1) ** 2))  # stable form of Wood's b
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + (d - 1) * math.log(1 - x0**2)
    accepted = []
    while sum(len(a) for a in accepted) < n:
        z = rng.beta((d - 1) / 2, (d - 1) / 2, size=2 * n)
        w = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        keep = kappa * w + (d - 1) * np.log(1 - x0 * w) - c >= np.log(rng.uniform(size=2 * n))
        accepted.append(w[keep])
    return np.concatenate(accepted)[:n]


def sample_vmf(location: torch.Tensor, kappa: float, n: int, seed=None) -> torch.Tensor:
    """n directions from vMF(location, kappa) on S^{d-1}, as the columns of a (d, n) matrix.

    ``location`` (d,) is normalized here; kappa = 0 gives the uniform distribution. The result is
    differentiable in ``location`` (reparameterized through a Householder reflection).
    """
    check_tensor("location", location, dim=1, floating=True)
    check_positive("kappa", kappa, allow_zero=True)
    check_positive("n", n, integer=True)
    d = location.shape[0]
    if d < 2:
        raise ValueError(f"location must have at least 2 entries (a sphere S^(d-1), d >= 2), got {d}")
    generator = as_generator(seed)
    if kappa == 0:  # uniform on the sphere
        gaussian = torch.randn(d, n, generator=generator, dtype=torch.float64)
        return (gaussian / gaussian.norm(dim=0, keepdim=True)).to(location)
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))
    w = torch.from_numpy(_wood_cosines(d, float(kappa), n, rng)).to(location)  # (n,)
    tangent = torch.randn(d - 1, n, generator=generator, dtype=torch.float64).to(location)
    tangent = tangent / tangent.norm(dim=0, keepdim=True)  # uniform on S^{d-2}
    around_e1 = torch.cat([w.unsqueeze(0), (1 - w.pow(2)).clamp_min(0).sqrt() * tangent])  # (d, n)
    m = location / location.norm()
    e1 = torch.zeros_like(m)
    e1[0] = 1.0
    u = e1 - m
    if float(u.detach().norm()) < 1e-12:  # location is already e1
        return around_e1
    u = u / u.norm()
    return around_e1 - 2 * u.unsqueeze(1) * (u @ around_e1).unsqueeze(0)  # Householder: e1 -> m


def vmf_sliced_wasserstein(X, Y, location, kappa: float, n_projections: int = 50, p: float = 2, seed=None):
    """Distributional SW_p with vMF(location, kappa) slicing directions; differentiable in X, Y, location.

    Args:
        X: (n, d), Y: (m, d) uniform point clouds. location: (d,) the slicing distribution's mean direction.
        kappa: concentration >= 0 (0 = plain sliced Wasserstein; large = max-SW along ``location``).
        n_projections: Monte Carlo directions. p: order >= 1. seed: int, generator or None.
    """
    check_point_clouds(X, Y)
    if X.dim() != 2:
        raise ValueError(f"X and Y must be unbatched (n, d) clouds, got shape {tuple(X.shape)}")
    if location.shape != X.shape[-1:]:
        raise ValueError(f"location must have shape ({X.shape[-1]},), got {tuple(location.shape)}")
    check_positive("p", p)
    theta = sample_vmf(location.to(X), kappa, n_projections, seed)  # (d, L)
    return projected_wasserstein(X, Y, theta, p).mean().pow(1.0 / p)

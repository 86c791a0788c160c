r"""Closed-form distances between Gaussians: the 2-Wasserstein (Bures) distance and the KL divergence.

$$W_2^2(\mathcal N(m_1, \Sigma_1), \mathcal N(m_2, \Sigma_2)) = \lVert m_1 - m_2 \rVert^2
  + \mathrm{tr}\,\Sigma_1 + \mathrm{tr}\,\Sigma_2
  - 2\,\mathrm{tr}\big(\Sigma_1^{1/2}\Sigma_2\Sigma_1^{1/2}\big)^{1/2}$$

$$\mathrm{KL}(\mathcal N_1 \Vert \mathcal N_2) = \tfrac12\Big(\mathrm{tr}(\Sigma_2^{-1}\Sigma_1)
  + (m_2 - m_1)^\top \Sigma_2^{-1} (m_2 - m_1) - d + \log\frac{\det \Sigma_2}{\det \Sigma_1}\Big)$$

The Bures term is the geometry used by "Learning to Normalize on the SPD Manifold under
Bures-Wasserstein Geometry" (2025); both serve as Gaussian-fit baselines for the sliced estimators.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_tensor


def _check_gaussian(mean_name, cov_name, mean, cov) -> int:
    check_tensor(mean_name, mean, min_dim=1, floating=True)
    check_tensor(cov_name, cov, min_dim=2, floating=True)
    d = mean.shape[-1]
    if cov.shape[-2:] != (d, d) or cov.shape[:-2] != mean.shape[:-1]:
        raise ValueError(f"{cov_name} must have shape {(*mean.shape[:-1], d, d)}, got {tuple(cov.shape)}")
    if not torch.allclose(cov, cov.transpose(-1, -2), atol=1e-6 * float(cov.abs().max()) + 1e-12):
        raise ValueError(f"{cov_name} must be symmetric")
    return d


def psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """Square root of symmetric positive semi-definite matrices (..., d, d), by eigendecomposition."""
    eigenvalues, eigenvectors = torch.linalg.eigh(matrix)
    root = eigenvalues.clamp_min(0).sqrt()
    return (eigenvectors * root.unsqueeze(-2)) @ eigenvectors.transpose(-1, -2)


def bures_wasserstein(m1, cov1, m2, cov2) -> torch.Tensor:
    """W_2 between Gaussians N(m1, cov1) and N(m2, cov2) (the distance, not its square).

    Args:
        m1, m2: (..., d) means. cov1, cov2: (..., d, d) symmetric PSD covariances.
    Returns:
        (...) distances; differentiable (the matrix roots go through ``eigh``).
    """
    d = _check_gaussian("m1", "cov1", m1, cov1)
    if _check_gaussian("m2", "cov2", m2, cov2) != d or m1.shape != m2.shape:
        raise ValueError(
            f"the two Gaussians must have the same shape, got means {tuple(m1.shape)} and {tuple(m2.shape)}"
        )
    root1 = psd_sqrt(cov1)
    cross = psd_sqrt(root1 @ cov2 @ root1)  # (Σ1^½ Σ2 Σ1^½)^½
    trace = lambda m: torch.diagonal(m, dim1=-2, dim2=-1).sum(-1)  # noqa: E731
    squared = (m1 - m2).pow(2).sum(-1) + trace(cov1) + trace(cov2) - 2 * trace(cross)
    return squared.clamp_min(0).sqrt()


def gaussian_kl(m1, cov1, m2, cov2) -> torch.Tensor:
    """KL(N(m1, cov1) || N(m2, cov2)) for positive-definite covariances; (...) values."""
    d = _check_gaussian("m1", "cov1", m1, cov1)
    if _check_gaussian("m2", "cov2", m2, cov2) != d or m1.shape != m2.shape:
        raise ValueError(
            f"the two Gaussians must have the same shape, got means {tuple(m1.shape)} and {tuple(m2.shape)}"
        )
    chol2 = torch.linalg.cholesky(cov2)
    chol1 = torch.linalg.cholesky(cov1)
    solved = torch.cholesky_solve(cov1, chol2)  # Σ2^{-1} Σ1
    gap = (m2 - m1).unsqueeze(-1)  # (..., d, 1)
    mahalanobis = (gap * torch.cholesky_solve(gap, chol2)).sum((-1, -2))
    log_det = lambda chol: 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)  # noqa: E731
    trace = torch.diagonal(solved, dim1=-2, dim2=-1).sum(-1)
    return 0.5 * (trace + mahalanobis - d + log_det(chol2) - log_det(chol1))

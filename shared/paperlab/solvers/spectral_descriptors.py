"""Intrinsic point descriptors from Laplace-Beltrami eigenpairs: the wave and heat kernel signatures.

$$\\mathrm{WKS}(x, e) = \\frac{\\sum_k \\phi_k(x)^2 \\exp\\big(-(e - \\log\\lambda_k)^2 / 2\\sigma^2\\big)}
    {\\sum_k \\exp\\big(-(e - \\log\\lambda_k)^2 / 2\\sigma^2\\big)}, \\qquad
  \\mathrm{HKS}(x, t) = \\sum_k e^{-\\lambda_k t} \\phi_k(x)^2.$$

Both are invariant to isometries (they only see the intrinsic geometry), so they are the usual input of
learned correspondence features, as in "Integrating Efficient Optimal Transport and Functional Maps For
Unsupervised Shape Correspondence Learning" (2024).
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor


def _check_eigenpairs(eigenvalues, eigenvectors) -> None:
    check_tensor("eigenvalues", eigenvalues, dim=1, floating=True)
    check_tensor("eigenvectors", eigenvectors, dim=2, floating=True)
    if eigenvectors.shape[1] != eigenvalues.shape[0]:
        raise ValueError(
            f"eigenvectors must have one column per eigenvalue ({eigenvalues.shape[0]}), "
            f"got {tuple(eigenvectors.shape)}"
        )
    if bool((eigenvalues < 0).any()):
        raise ValueError(f"eigenvalues must be non-negative, got minimum {eigenvalues.min().item():.3g}")


def wave_kernel_signature(
    eigenvalues, eigenvectors, n_energies: int = 50, variance: float = 7.0
) -> torch.Tensor:
    """(V, n_energies) WKS on log-energies spread evenly over [log lambda_1, log lambda_max].

    The zero eigenvalue (constant eigenvector) is skipped; sigma = variance * (energy step), the customary
    choice. Args: eigenvalues (k,) ascending, eigenvectors (V, k), n_energies, variance.
    """
    _check_eigenpairs(eigenvalues, eigenvectors)
    check_positive("n_energies", n_energies, integer=True)
    check_positive("variance", variance)
    positive = eigenvalues > 1e-8 * eigenvalues.max()
    if int(positive.sum()) < 2:
        raise ValueError("the WKS needs at least two positive eigenvalues")
    log_values = eigenvalues[positive].log()  # (k',)
    phi_sq = eigenvectors[:, positive].pow(2)  # (V, k')
    e_min, e_max = log_values.min().item(), log_values.max().item()
    step = (e_max - e_min) / n_energies
    sigma = variance * step
    energies = torch.linspace(e_min + 2 * sigma, e_max - 2 * sigma, n_energies, dtype=eigenvalues.dtype)
    energies = energies.to(eigenvalues.device)
    if e_max - e_min <= 4 * sigma:  # too few distinct eigenvalues for margins
        energies = torch.linspace(
            e_min, e_max, n_energies, dtype=eigenvalues.dtype, device=eigenvalues.device
        )
    weights = torch.exp(-((energies.unsqueeze(1) - log_values) ** 2) / (2 * sigma**2))  # (E, k')
    return phi_sq @ weights.T / weights.sum(dim=1)  # (V, E)


def heat_kernel_signature(eigenvalues, eigenvectors, times) -> torch.Tensor:
    """(V, T) HKS at the given diffusion ``times`` (T,) > 0: sum_k exp(-lambda_k t) phi_k(x)^2."""
    _check_eigenpairs(eigenvalues, eigenvectors)
    check_tensor("times", times, dim=1, floating=True)
    if bool((times <= 0).any()):
        raise ValueError(f"times must be > 0, got minimum {times.min().item():.3g}")
    decay = torch.exp(-eigenvalues.unsqueeze(0) * times.unsqueeze(1).to(eigenvalues))  # (T, k)
    return eigenvectors.pow(2) @ decay.T  # (V, T)

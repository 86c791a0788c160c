r"""The spectrum of an embedding batch: covariance eigenvalues, effective rank, condition number.

Dimensional collapse in self-supervised learning shows as a covariance spectrum with a few large and
many vanishing eigenvalues. Used in "Modulate Your Spectrum in Self-Supervised Learning" (2024) and
"Whitening for Self-Supervised Representation Learning" (2021) to tell collapsed embeddings apart.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_tensor


def covariance_spectrum(embeddings: torch.Tensor) -> torch.Tensor:
    r"""Eigenvalues of the (unbiased) covariance of the rows, in decreasing order.

    .. math:: \lambda_1 \ge \dots \ge \lambda_D \ge 0, \qquad
              \Sigma = \frac{1}{N - 1} (X - \bar x)^\top (X - \bar x)

    Args:
        embeddings: (N, D) with N >= 2.

    Returns:
        (D,) eigenvalues, clamped at 0 against round-off.
    """
    check_tensor("embeddings", embeddings, dim=2, floating=True)
    if embeddings.shape[0] < 2:
        raise ValueError(f"embeddings must hold at least 2 rows, got shape {tuple(embeddings.shape)}")
    centred = embeddings - embeddings.mean(dim=0, keepdim=True)  # (N, D)
    cov = centred.T @ centred / (embeddings.shape[0] - 1)  # (D, D)
    return torch.linalg.eigvalsh(cov).flip(0).clamp_min(0)


def effective_rank(embeddings: torch.Tensor) -> float:
    r"""Effective rank: the exponential of the entropy of the normalized singular values.

    .. math:: \mathrm{erank}(X) = \exp\Big(-\sum_k p_k \log p_k\Big), \qquad
              p_k = \frac{\sigma_k}{\sum_j \sigma_j}, \quad \sigma_k = \sqrt{\lambda_k}

    with :math:`\lambda_k` from :func:`covariance_spectrum` (singular values of the centred batch, up to
    a common factor). It is D for an isotropic batch, 1 for a batch on a line, and invariant to scale.

    Args:
        embeddings: (N, D) with N >= 2 and not all rows equal.

    Returns:
        A float in [1, min(N - 1, D)].
    """
    sigma = covariance_spectrum(embeddings).sqrt()
    if not bool(sigma.sum() > 0):
        raise ValueError("embeddings must not be constant (all rows equal): the effective rank is undefined")
    p = sigma / sigma.sum()
    entropy = -(p * p.clamp_min(torch.finfo(p.dtype).tiny).log()).sum()
    return float(entropy.exp())


def condition_number(embeddings: torch.Tensor) -> float:
    r"""Ratio of the largest to the smallest covariance eigenvalue, :math:`\lambda_1 / \lambda_D` (inf if singular)."""
    spectrum = covariance_spectrum(embeddings)
    smallest = float(spectrum[-1])
    return float(spectrum[0]) / smallest if smallest > 0 else float("inf")

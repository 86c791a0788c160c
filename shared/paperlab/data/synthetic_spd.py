"""Class-conditional covariance matrices of synthetic multichannel signals, with a chosen conditioning.

Each class c has its own source powers: a shared, log-spaced profile from 1 down to 1 / ``condition_number``
plus a class offset :math:`\\delta_c \\sim \\mathcal N(0, \\text{class\\_separation}^2 I)` in log-power. A
trial draws its log-powers around its class's, :math:`p = p_c + \\text{jitter} \\cdot \\varepsilon`, mixes
the sources with a shared random rotation Q, and returns the sample covariance of ``n_samples``
time points, :math:`S = \\frac1T \\sum_t x_t x_t^\\top` with :math:`x_t = Q \\operatorname{diag}(e^{p/2}) z_t`.
The covariances are therefore ill-conditioned (up to about ``condition_number``) and noisy, and the
classes differ only in their spectra along the shared directions; a stand-in for the EEG / radar / drone
covariance data of "Learning to Normalize on the SPD Manifold under Bures-Wasserstein Geometry".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .._checks import check_positive
from .._random import as_generator


@dataclass
class SPDDataset:
    """SPD matrices and their labels."""

    covariances: torch.Tensor  # (n, d, d)
    labels: torch.Tensor  # (n,) int64


def synthetic_spd_classes(
    n_per_class: int,
    *,
    n_classes: int = 3,
    n_channels: int = 16,
    n_samples: int = 64,
    condition_number: float = 1e4,
    class_separation: float = 0.3,
    jitter: float = 0.5,
    dtype=torch.float64,
    device=None,
    seed=None,
) -> SPDDataset:
    """Covariances of ``n_per_class`` trials per class (see the module docstring), shuffled.

    Args:
        n_per_class: trials per class.
        n_classes: number of classes.
        n_channels: matrix size d.
        n_samples: time points per trial (>= n_channels, so covariances are definite).
        condition_number: ratio of the largest to the smallest mean source power, >= 1.
        class_separation: standard deviation of the class log-power offsets.
        jitter: standard deviation of the per-trial log-power noise.
        seed: int, torch.Generator or None; draws happen on the CPU.
    Returns:
        :class:`SPDDataset` with (n_classes * n_per_class, d, d) covariances.
    """
    for name, value in [("n_per_class", n_per_class), ("n_classes", n_classes), ("n_channels", n_channels)]:
        check_positive(name, value, integer=True)
    check_positive("n_samples", n_samples, integer=True)
    if n_samples < n_channels:
        raise ValueError(
            f"n_samples must be >= n_channels={n_channels} for definite covariances, got {n_samples}"
        )
    if condition_number < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number!r}")
    check_positive("class_separation", class_separation, allow_zero=True)
    check_positive("jitter", jitter, allow_zero=True)
    generator = as_generator(seed)
    d = n_channels
    rotation = torch.linalg.qr(torch.randn(d, d, generator=generator, dtype=dtype)).Q
    profile = torch.linspace(0.0, -math.log(condition_number), d, dtype=dtype)  # log-powers
    offsets = class_separation * torch.randn(n_classes, d, generator=generator, dtype=dtype)
    labels = torch.arange(n_classes).repeat_interleave(n_per_class)
    log_powers = (
        profile + offsets[labels] + jitter * torch.randn(len(labels), d, generator=generator, dtype=dtype)
    )
    mixing = rotation * (0.5 * log_powers).exp().unsqueeze(1)  # (n, d, d) = Q diag(e^{p/2})
    noise = torch.randn(len(labels), d, n_samples, generator=generator, dtype=dtype)
    signals = mixing @ noise  # (n, d, T)
    covariances = signals @ signals.mT / n_samples
    covariances = 0.5 * (covariances + covariances.mT)
    order = torch.randperm(len(labels), generator=generator)
    return SPDDataset(covariances=covariances[order].to(device), labels=labels[order].to(device))

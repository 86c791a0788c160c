r"""Unadjusted Langevin dynamics: approximate samples from an unnormalized log-density.

.. math:: y_{k+1} = y_k + \frac{\eta}{2}\nabla_y \log p(y_k) + \sqrt{\eta}\,\xi_k, \qquad \xi_k \sim \mathcal N(0, I)

Short runs of this chain (tens of steps) are the inner sampler of energy-based training. The chain is
biased for any step size: for :math:`p = \mathcal N(\mu, \sigma^2)` it keeps the mean :math:`\mu` but has
the stationary variance :math:`\eta / (1 - (1 - \eta/2\sigma^2)^2)`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


def langevin_sample(
    log_density: Callable[[torch.Tensor], torch.Tensor],
    init: torch.Tensor,
    step_size: float,
    n_steps: int,
    generator=None,
    noise_scale: float = 1.0,
) -> torch.Tensor:
    r"""Run ``n_steps`` of unadjusted Langevin dynamics from ``init`` and return the last state.

    .. math:: y \leftarrow y + \frac{\eta}{2}\nabla_y \log p(y) + s\sqrt{\eta}\,\xi

    Used by "Energy-guided Entropic Neural Optimal Transport" to sample its conditional plans.

    Args:
        log_density: maps points (n, d) to unnormalized log-densities (n,); chains are independent, so
            row i of the output may depend on row i of the input only.
        init: starting points (n, d).
        step_size: :math:`\eta`, > 0.
        n_steps: number of steps, >= 0.
        generator: seed or ``torch.Generator`` of the noise (drawn on the CPU).
        noise_scale: :math:`s`; 1 is Langevin dynamics, smaller values the usual "cooled" EBM variant.

    Returns:
        The final points (n, d), detached from any graph.
    """
    check_tensor("init", init, dim=2, floating=True)
    check_positive("step_size", step_size)
    check_positive("n_steps", n_steps, integer=True, allow_zero=True)
    check_positive("noise_scale", noise_scale, allow_zero=True)
    generator = as_generator(generator)
    y = init.detach()
    for _ in range(n_steps):
        y.requires_grad_(True)
        with torch.enable_grad():
            log_p = log_density(y)
            if log_p.shape != y.shape[:1]:
                raise ValueError(f"log_density must return shape ({y.shape[0]},), got {tuple(log_p.shape)}")
            (score,) = torch.autograd.grad(log_p.sum(), y)
        noise = torch.randn(y.shape, generator=generator, dtype=y.dtype).to(y.device)
        y = (y + step_size / 2 * score + noise_scale * math.sqrt(step_size) * noise).detach()
    return y

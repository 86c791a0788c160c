r"""Energy-guided entropic OT: the conditional plans of a target potential f, their Langevin samples, the loss.

For the cost :math:`c(x, y) = \tfrac12\lVert x - y\rVert^2` and the regularization :math:`\varepsilon`, a
potential :math:`f` defines the conditional plans

.. math:: \pi_f(y \mid x) = \frac{\exp\big((f(y) - c(x, y))/\varepsilon\big)}{Z_f(x)},

and the weak dual of entropic OT,
:math:`\max_f\ \mathbb E_{y\sim Q} f(y) - \varepsilon\,\mathbb E_{x\sim P}\log Z_f(x)`,
is maximized by the f whose plans have the target Q as y-marginal. Its gradient
:math:`\mathbb E_Q \nabla_\theta f(y) - \mathbb E_{x\sim P}\mathbb E_{y\sim\pi_f(\cdot\mid x)}\nabla_\theta f(y)` is the
one of an energy-based model, estimated with samples of :math:`\pi_f(\cdot \mid x)` drawn by Langevin dynamics.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.langevin import langevin_sample


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=2, floating=True)
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape (n, d), got {tuple(x.shape)} and {tuple(y.shape)}"
        )


def egnot_log_density(potential: Callable, x: torch.Tensor, y: torch.Tensor, reg: float) -> torch.Tensor:
    r"""Unnormalized :math:`\log\pi_f(y_i \mid x_i) = (f(y_i) - \tfrac12\lVert x_i - y_i\rVert^2)/\varepsilon`.

    From "Energy-guided Entropic Neural Optimal Transport".

    Args:
        potential: f, mapping (n, d) to (n,).
        x: source points (n, d). y: candidate target points (n, d), row i paired with x_i.
        reg: :math:`\varepsilon`, > 0.

    Returns:
        (n,) log-densities up to the normalizer :math:`\log Z_f(x_i)`.
    """
    _check_pair(x, y)
    check_positive("reg", reg)
    return (potential(y) - 0.5 * (x - y).pow(2).sum(1)) / reg


def egnot_sample(
    potential: Callable,
    x: torch.Tensor,
    reg: float,
    n_steps: int = 30,
    step_size: float | None = None,
    init: torch.Tensor | None = None,
    generator=None,
) -> torch.Tensor:
    r"""Short-run Langevin samples of :math:`\pi_f(y \mid x_i)`, one per source point.

    The chain starts at ``init`` or, by default, at :math:`x_i + \sqrt{\varepsilon}\,\xi` (a draw of the
    plan for f = 0), and takes ``n_steps`` steps of size ``step_size`` (default :math:`\varepsilon/10`, so the
    Gaussian part of the density is sampled with a variance bias of about 2.5%).
    From "Energy-guided Entropic Neural Optimal Transport".

    Args:
        potential: f, mapping (n, d) to (n,).
        x: source points (n, d).
        reg: :math:`\varepsilon`, > 0.
        n_steps: Langevin steps.
        step_size: Langevin step :math:`\eta`, or None for :math:`\varepsilon/10`.
        init: starting points (n, d), or None.
        generator: seed or ``torch.Generator`` of the noise.

    Returns:
        Detached samples (n, d).
    """
    from paperlab._random import as_generator

    check_tensor("x", x, dim=2, floating=True)
    check_positive("reg", reg)
    generator = as_generator(generator)
    step_size = reg / 10 if step_size is None else step_size
    if init is None:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        init = x + reg**0.5 * noise
    _check_pair(x, init)
    x = x.detach()
    return langevin_sample(
        lambda y: egnot_log_density(potential, x, y, reg), init, step_size, n_steps, generator
    )


def egnot_loss(potential: Callable, y_target: torch.Tensor, y_plan: torch.Tensor) -> torch.Tensor:
    r"""EgNOT's surrogate loss :math:`\frac1n\sum_i f(\hat y_i) - \frac1m\sum_j f(y_j)`.

    :math:`\hat y_i \sim \pi_f(\cdot \mid x_i)` are (detached) plan samples and :math:`y_j \sim Q` target samples.
    Its gradient is minus the gradient of the weak entropic dual, so minimizing it ascends the dual.
    From "Energy-guided Entropic Neural Optimal Transport".

    Args:
        potential: f, mapping (n, d) to (n,).
        y_target: target samples (m, d).
        y_plan: samples of the conditional plans (n, d); detached here.

    Returns:
        Scalar loss, differentiable in the potential's parameters.
    """
    check_tensor("y_target", y_target, dim=2, floating=True)
    check_tensor("y_plan", y_plan, dim=2, floating=True)
    if y_target.shape[1] != y_plan.shape[1]:
        raise ValueError(
            f"y_target and y_plan must have the same d, got {tuple(y_target.shape)} and {tuple(y_plan.shape)}"
        )
    return potential(y_plan.detach()).mean() - potential(y_target).mean()

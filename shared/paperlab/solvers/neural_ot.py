r"""Neural optimal transport with a general cost functional: the max-min game of a potential and a stochastic map.

For a cost functional :math:`\mathcal F(T)` of a stochastic map :math:`T(x, z)`,

.. math:: \sup_f \inf_T\ \mathcal L(f, T) = \mathcal F(T) - \mathbb E_{x\sim P, z}\, f(T(x, z))
          + \mathbb E_{y \sim Q} f(y).

The potential f is a Lagrange multiplier of the constraint :math:`T_\#(P\times\mathcal N) = Q`. Training
alternates ``transport_steps`` descent steps of T on :math:`\mathcal F(T) - \mathbb E f(T(x, z))` with one
descent step of f on :math:`\mathbb E f(T(x, z)) - \mathbb E_Q f(y)`. The strong quadratic cost
:math:`\mathcal F(T) = \mathbb E\,\tfrac12\lVert x - T(x, z)\rVert^2` recovers neural OT; other functionals
(e.g. :func:`paperlab.losses.class_guided_cost`) encode side information.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


@dataclass
class NeuralOTResult:
    """Training record of :func:`neural_ot`.

    Attributes:
        n_iter: outer iterations done (one potential step each).
        costs: the cost functional F(T) at the last transport step of every iteration.
        dual_gaps: E_Q f(y) - E f(T(x, z)) at every potential step (tends to 0 when T_# P = Q).
    """

    n_iter: int
    costs: list[float] = field(default_factory=list)
    dual_gaps: list[float] = field(default_factory=list)


def quadratic_transport_cost(x: torch.Tensor, mapped: torch.Tensor, context=None) -> torch.Tensor:
    r"""The strong quadratic cost functional :math:`\frac1n\sum_i \tfrac12\lVert x_i - T(x_i, z_i)\rVert^2`."""
    if x.shape != mapped.shape:
        raise ValueError(
            f"x and mapped must have the same shape, got {tuple(x.shape)} and {tuple(mapped.shape)}"
        )
    return 0.5 * (x - mapped).pow(2).sum(1).mean()


def neural_ot(
    potential: torch.nn.Module,
    transport_map: torch.nn.Module,
    sample_source: Callable[[int], tuple[torch.Tensor, object]],
    sample_target: Callable[[int], torch.Tensor],
    cost: Callable[[torch.Tensor, torch.Tensor, object], torch.Tensor],
    n_iterations: int,
    transport_steps: int = 5,
    batch_size: int = 256,
    lr: float = 1e-3,
    generator=None,
    progress: Callable | None = None,
) -> NeuralOTResult:
    r"""Train f and T(x, z) on :math:`\sup_f\inf_T \mathcal F(T) - \mathbb E f(T(x, z)) + \mathbb E_Q f(y)`.

    From "Neural Optimal Transport with General Cost Functionals".

    Args:
        potential: f, (n, d) -> (n,).
        transport_map: T, called as ``transport_map(x, generator=...)`` -> (n, d) (e.g.
            :class:`paperlab.models.StochasticMap`, which draws its noise z).
        sample_source: ``n -> (x, context)``, source points (n, d) and whatever the cost needs (labels, None).
        sample_target: ``n -> y``, target points (n, d).
        cost: ``(x, mapped, context) -> scalar``, the functional F(T) on a batch.
        n_iterations: outer iterations (potential steps), > 0.
        transport_steps: T steps per potential step, > 0.
        batch_size: samples per step, > 0.
        lr: Adam learning rate of both networks (betas 0.5, 0.999, as usual for such games).
        generator: seed or ``torch.Generator`` for the map's noise.
        progress: optional wrapper of the iteration range (e.g. ``tqdm``).

    Returns:
        NeuralOTResult; the two networks are trained in place.
    """
    check_positive("n_iterations", n_iterations, integer=True)
    check_positive("transport_steps", transport_steps, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("lr", lr)
    generator = as_generator(generator)
    optimizer_f = torch.optim.Adam(potential.parameters(), lr=lr, betas=(0.5, 0.999))
    optimizer_t = torch.optim.Adam(transport_map.parameters(), lr=lr, betas=(0.5, 0.999))
    result = NeuralOTResult(0)
    iterations = range(n_iterations) if progress is None else progress(range(n_iterations))
    for _ in iterations:
        potential.requires_grad_(False)
        for _ in range(transport_steps):
            x, context = sample_source(batch_size)
            mapped = transport_map(x, generator=generator)
            functional = cost(x, mapped, context)
            loss = functional - potential(mapped).mean()
            optimizer_t.zero_grad()
            loss.backward()
            optimizer_t.step()
        potential.requires_grad_(True)
        x, _ = sample_source(batch_size)
        with torch.no_grad():
            mapped = transport_map(x, generator=generator)
        gap = potential(sample_target(batch_size)).mean() - potential(mapped).mean()
        optimizer_f.zero_grad()
        (-gap).backward()
        optimizer_f.step()
        result.n_iter += 1
        result.costs.append(functional.item())
        result.dual_gaps.append(gap.item())
    return result

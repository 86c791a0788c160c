"""Fixed-step classical Runge-Kutta (RK4) integration of an ODE dy/dt = f(t, y).

$$k_1 = f(t, y),\\; k_2 = f(t + \\tfrac h2, y + \\tfrac h2 k_1),\\; k_3 = f(t + \\tfrac h2, y + \\tfrac h2 k_2),\\;
  k_4 = f(t + h, y + h k_3),\\qquad y \\leftarrow y + \\tfrac h6 (k_1 + 2k_2 + 2k_3 + k_4).$$

Fourth-order accurate. It is exact for f(t) a polynomial of degree <= 3 in t alone (it is then Simpson's
rule), and for linear f(y) = A y each step multiplies y by the degree-4 Taylor polynomial of exp(hA).
Plain autograd through the steps gives the gradient (discretize-then-optimize), as the neural ODE of
"Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical Surface Reconstruction" (2023)
does with a few steps (torchdiffeq's ``odeint(method="rk4")`` is the peer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor


@dataclass
class ODESolution:
    """``y``: the state at t1; ``trajectory``: (n_steps + 1, ...) states at ``times`` (n_steps + 1,)."""

    y: torch.Tensor
    trajectory: torch.Tensor
    times: torch.Tensor


def rk4(
    func: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    y0,
    t0: float = 0.0,
    t1: float = 1.0,
    n_steps: int = 10,
    keep_trajectory: bool = False,
) -> ODESolution:
    """Integrate dy/dt = func(t, y) from y(t0) = y0 to t1 with ``n_steps`` RK4 steps of size (t1 - t0)/n_steps.

    Args:
        func: (t: 0-d tensor, y: tensor like y0) -> tensor like y0.
        y0: the initial state, any shape. t0, t1: the time span (t1 < t0 integrates backwards).
        n_steps: the number of steps. keep_trajectory: also return every intermediate state.
    Returns:
        :class:`ODESolution`; ``trajectory`` holds only y0 and y(t1) unless ``keep_trajectory``.
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    check_tensor("y0", y0, floating=True)
    check_positive("n_steps", n_steps, integer=True)
    for name, value in (("t0", t0), ("t1", t1)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise TypeError(f"{name} must be a real number, got {value!r}")
    h = (t1 - t0) / n_steps
    y = y0
    states = [y0]
    for step in range(n_steps):
        t = torch.tensor(t0 + step * h, dtype=y0.dtype, device=y0.device)
        k1 = func(t, y)
        if k1.shape != y.shape:
            raise ValueError(f"func must return the shape of y {tuple(y.shape)}, got {tuple(k1.shape)}")
        k2 = func(t + h / 2, y + (h / 2) * k1)
        k3 = func(t + h / 2, y + (h / 2) * k2)
        k4 = func(t + h, y + h * k3)
        y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        if keep_trajectory:
            states.append(y)
    if not keep_trajectory:
        states.append(y)
    times = torch.linspace(t0, t1, n_steps + 1, dtype=y0.dtype, device=y0.device)
    times = times if keep_trajectory else times[[0, -1]]
    return ODESolution(y=y, trajectory=torch.stack(states), times=times)

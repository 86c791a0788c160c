"""A neural ODE that deforms a mesh: vertices flow along a learned, time-dependent velocity field.

$$\\frac{d x}{d t} = v_\\phi(x, t), \\qquad x(0) = \\text{template vertex}, \\qquad
  \\text{deformed vertex} = x(1),$$

integrated with fixed-step RK4 (:func:`paperlab.solvers.rk4`). The flow of a Lipschitz field is a
diffeomorphism, so in the continuous limit the template cannot fold or self-intersect; with a few steps this
holds approximately. From "Diffeomorphic Mesh Deformation via Efficient Optimal Transport for Cortical
Surface Reconstruction" (2023).
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.rk4 import rk4


class VelocityField(nn.Module):
    """An MLP v(x, t): tanh hidden layers on the input [x, t], a linear output of width d.

    Shapes: t 0-d, x (N, d) -> (N, d). The output layer starts at zero, so the initial flow is the identity.
    """

    def __init__(self, dim: int = 3, hidden=(32, 32)):
        super().__init__()
        check_positive("dim", dim, integer=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden width", width, integer=True)
        layers, width_in = [], dim + 1
        for width in hidden:
            layers += [nn.Linear(width_in, width), nn.Tanh()]
            width_in = width
        self.hidden = nn.Sequential(*layers)
        self.output = nn.Linear(width_in, dim)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        time = t.to(x).expand(x.shape[0], 1)  # (N, 1)
        return self.output(self.hidden(torch.cat([x, time], dim=1)))  # (N, d)


class NeuralODEDeformer(nn.Module):
    """Move points (N, d) by the time-1 flow of a :class:`VelocityField`, with ``n_steps`` RK4 steps.

    Args:
        dim: d. hidden: widths of the velocity MLP. n_steps: RK4 steps over t in [0, 1].
    Shapes: (N, d) -> (N, d); differentiable in the input and the parameters.
    """

    def __init__(self, dim: int = 3, hidden=(32, 32), n_steps: int = 4):
        super().__init__()
        check_positive("n_steps", n_steps, integer=True)
        self.velocity = VelocityField(dim, hidden)
        self.dim, self.n_steps = dim, n_steps

    def forward(self, x: torch.Tensor, keep_trajectory: bool = False):
        check_tensor("x", x, dim=2, floating=True)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (N, {self.dim}), got {tuple(x.shape)}")
        solution = rk4(self.velocity, x, 0.0, 1.0, self.n_steps, keep_trajectory=keep_trajectory)
        return solution.trajectory if keep_trajectory else solution.y

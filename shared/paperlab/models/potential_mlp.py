"""A smooth scalar MLP potential f(y), for dual potentials and energies that Langevin dynamics differentiate."""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class PotentialMLP(nn.Module):
    r"""Scalar potential :math:`f(y) = w^\top \mathrm{silu}(\cdots \mathrm{silu}(W_1 y + b_1) \cdots) + c`.

    SiLU keeps :math:`\nabla_y f` continuous, which Langevin samplers and gradient penalties need.
    The learned target potential of "Energy-guided Entropic Neural Optimal Transport" and the critic of
    "Neural Optimal Transport with General Cost Functionals".

    Args:
        in_features: input width d.
        hidden: widths of the hidden layers.

    Shapes: (n, d) -> (n,).
    """

    def __init__(self, in_features: int, hidden=(64, 64)):
        super().__init__()
        check_positive("in_features", in_features, integer=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        widths = (in_features, *hidden)
        blocks = [layer for a, b in zip(widths[:-1], widths[1:]) for layer in (nn.Linear(a, b), nn.SiLU())]
        self.net = nn.Sequential(*blocks, nn.Linear(widths[-1], 1))
        self.in_features = in_features

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        check_tensor("y", y, dim=2, floating=True, finite=False)
        if y.shape[1] != self.in_features:
            raise ValueError(f"y must have shape (n, {self.in_features}), got {tuple(y.shape)}")
        return self.net(y).squeeze(-1)  # (n, 1) -> (n,)

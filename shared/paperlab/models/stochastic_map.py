"""A stochastic transport map T(x, z): an MLP of the input and a Gaussian noise, with a skip connection."""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class StochasticMap(nn.Module):
    r"""Stochastic map :math:`T(x, z) = x + g([x, z])`, :math:`z \sim \mathcal N(0, I_{d_z})`, g an MLP with SiLU.

    The noise lets one input go to a distribution of outputs (a one-to-many plan); with ``noise_dim=0``
    the map is deterministic. The transport map of "Neural Optimal Transport with General Cost
    Functionals".

    Args:
        dim: data dimension d.
        noise_dim: dimension of z, >= 0.
        hidden: widths of the hidden layers of g.

    Shapes: x (n, d), z (n, noise_dim) -> (n, d).
    """

    def __init__(self, dim: int, noise_dim: int = 2, hidden=(64, 64)):
        super().__init__()
        check_positive("dim", dim, integer=True)
        check_positive("noise_dim", noise_dim, integer=True, allow_zero=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        widths = (dim + noise_dim, *hidden)
        blocks = [layer for a, b in zip(widths[:-1], widths[1:]) for layer in (nn.Linear(a, b), nn.SiLU())]
        self.net = nn.Sequential(*blocks, nn.Linear(widths[-1], dim))
        self.dim, self.noise_dim = dim, noise_dim

    def forward(self, x: torch.Tensor, z: torch.Tensor | None = None, generator=None) -> torch.Tensor:
        """T(x, z); z is drawn from ``generator`` (on the CPU) when not given."""
        check_tensor("x", x, dim=2, floating=True)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {tuple(x.shape)}")
        if z is None:
            z = torch.randn(len(x), self.noise_dim, generator=as_generator(generator), dtype=x.dtype).to(
                x.device
            )
        if not isinstance(z, torch.Tensor) or z.shape != (len(x), self.noise_dim):
            raise ValueError(f"z must be a tensor of shape ({len(x)}, {self.noise_dim}), got {z!r:.60}")
        if self.noise_dim:
            check_tensor("z", z, dim=2, floating=True)
        return x + self.net(torch.cat([x, z], dim=1))  # (n, d + d_z) -> (n, d)

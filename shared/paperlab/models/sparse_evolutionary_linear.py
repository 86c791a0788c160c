"""A linear layer trained with Sparse Evolutionary Training (SET).

From "Quick and Robust Feature Selection: the Strength of Energy-efficient Sparse Training for
Autoencoders (2020)", which builds on SET: the layer starts from an Erdős–Rényi random sparse topology
and, after every epoch, removes the fraction ``zeta`` of its weakest connections and regrows as many at
random empty positions. The sparsity is simulated with a binary mask over a dense weight, so the memory
and speed advantages of a truly sparse implementation are not obtained here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .._checks import check_positive, check_tensor
from .._random import as_generator


def erdos_renyi_density(in_features: int, out_features: int, epsilon: float) -> float:
    r"""Connection probability of an Erdős–Rényi sparse layer.

    $p = \min\big(1, \varepsilon (n_{in} + n_{out}) / (n_{in} n_{out})\big)$, so the number of
    connections grows linearly, not quadratically, with the layer widths.
    """
    check_positive("in_features", in_features, integer=True)
    check_positive("out_features", out_features, integer=True)
    check_positive("epsilon", epsilon)
    return min(1.0, epsilon * (in_features + out_features) / (in_features * out_features))


def erdos_renyi_mask(
    in_features: int, out_features: int, epsilon: float, generator=None, device=None
) -> torch.Tensor:
    """A boolean mask of shape (out_features, in_features) with round(p * size) random connections.

    Args:
        in_features, out_features: layer widths.
        epsilon: sparsity level, see ``erdos_renyi_density``.
        generator: int seed, ``torch.Generator`` (CPU) or None for the global generator.
        device: where the mask lives (drawn on the CPU, then moved, so one seed gives one mask).

    Returns:
        Bool tensor (out_features, in_features) with at least one active connection.
    """
    density = erdos_renyi_density(in_features, out_features, epsilon)
    size = in_features * out_features
    n_active = max(1, round(density * size))
    order = torch.randperm(size, generator=as_generator(generator))
    mask = torch.zeros(size, dtype=torch.bool)
    mask[order[:n_active]] = True
    return mask.view(out_features, in_features).to(device)  # (out, in)


class SparseEvolutionaryLinear(nn.Module):
    r"""Masked linear layer $y = x (W \odot M)^\top + b$ with SET prune-and-regrow.

    Only the active entries of ``weight`` take part in the forward pass, so the gradient of every
    inactive entry is exactly zero; ``evolve`` keeps the number of active connections fixed.

    Args:
        in_features, out_features: layer widths.
        epsilon: Erdős–Rényi sparsity level (the paper uses 13 for the autoencoder).
        bias: learn an additive bias.
        generator: seed or ``torch.Generator`` for the initial topology and weights.
        device, dtype: where and in which float type the parameters live.

    Shapes:
        input (..., in_features) -> output (..., out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        epsilon: float = 13.0,
        bias: bool = True,
        generator=None,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        generator = as_generator(generator)
        self.in_features = in_features
        self.out_features = out_features
        self.epsilon = epsilon
        mask = erdos_renyi_mask(in_features, out_features, epsilon, generator=generator, device=device)
        self.register_buffer("mask", mask)
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype)) if bias else None
        with torch.no_grad():
            self.weight.copy_(self._draw_weights(self.weight.shape, generator) * self.mask)

    @property
    def init_bound(self) -> float:
        """Uniform init bound 1/sqrt(expected fan-in), the sparse analogue of ``nn.Linear``'s."""
        fan_in = erdos_renyi_density(self.in_features, self.out_features, self.epsilon) * self.in_features
        return 1.0 / math.sqrt(max(fan_in, 1.0))

    def _draw_weights(self, shape, generator: torch.Generator) -> torch.Tensor:
        draw = torch.rand(shape, generator=generator, dtype=torch.float64)
        bound = self.init_bound
        return ((2 * draw - 1) * bound).to(device=self.weight.device, dtype=self.weight.dtype)

    @property
    def n_active(self) -> int:
        """Number of active connections."""
        return int(self.mask.sum())

    @property
    def density(self) -> float:
        """Fraction of active connections."""
        return self.n_active / self.mask.numel()

    def masked_weight(self) -> torch.Tensor:
        """The effective weight W ⊙ M of shape (out_features, in_features)."""
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, min_dim=1, floating=True)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features in its last dimension, got {x.shape[-1]}"
            )
        return F.linear(x, self.masked_weight(), self.bias)

    @torch.no_grad()
    def evolve(self, zeta: float, generator=None) -> int:
        r"""Remove the ``zeta`` fraction of active connections with smallest $|w|$ and regrow as many.

        The regrown connections sit at uniformly random positions that are empty after pruning and get
        fresh uniform weights in $[-b, b]$ (``init_bound``); pruned weights are set to zero.

        Args:
            zeta: fraction in [0, 1) of active connections replaced.
            generator: seed or ``torch.Generator`` for the regrown positions and weights.

        Returns:
            The number of connections replaced.
        """
        check_positive("zeta", zeta, allow_zero=True)
        if zeta >= 1:
            raise ValueError(f"zeta must be in [0, 1), got {zeta!r}")
        generator = as_generator(generator)
        flat_mask = self.mask.view(-1)  # (out * in,)
        flat_weight = self.weight.view(-1)  # (out * in,)
        active = flat_mask.nonzero().squeeze(1)
        n_replace = round(zeta * active.numel())
        n_empty = flat_mask.numel() - active.numel()
        n_replace = min(n_replace, n_empty)
        if n_replace == 0:
            return 0
        weakest = active[flat_weight[active].abs().argsort(stable=True)[:n_replace]]
        flat_mask[weakest] = False
        flat_weight[weakest] = 0
        empty = (~flat_mask).nonzero().squeeze(1).cpu()
        chosen = empty[torch.randperm(empty.numel(), generator=generator)[:n_replace]].to(flat_mask.device)
        flat_mask[chosen] = True
        flat_weight[chosen] = self._draw_weights((n_replace,), generator)
        return n_replace

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"epsilon={self.epsilon}, density={self.density:.3f}"
        )

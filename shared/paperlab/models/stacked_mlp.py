"""Several independent MLPs evaluated together with batched matrix products.

Training S small networks one after the other costs S times the per-step overhead of the framework;
stacking their weights and calling ``torch.baddbmm`` once per layer costs it once. The networks share
no parameter, so any loss that sums (or averages) their separate losses trains each one on its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class StackedMLP(nn.Module):
    r"""``n_models`` independent MLPs (Linear + ReLU blocks, then a linear head), run as one.

    .. math:: f_s(x) = W_{s,L}^\top \mathrm{relu}(\cdots \mathrm{relu}(W_{s,1}^\top x + b_{s,1}) \cdots)
              + b_{s,L}, \qquad s = 1, \dots, S

    Weights and biases start uniform in :math:`\pm 1/\sqrt{\text{fan-in}}`, the range of
    ``nn.Linear``'s default, drawn from ``generator`` on the CPU.

    Args:
        n_models: number :math:`S` of independent networks.
        in_features, out_features: input and output widths.
        hidden: widths of the hidden layers (empty for linear maps).
        generator: seed or ``torch.Generator`` of the initialization.

    Shapes: ``(S, N, in_features) -> (S, N, out_features)``; network ``s`` only sees ``x[s]``.
    """

    def __init__(self, n_models: int, in_features: int, out_features: int, hidden=(64,), generator=None):
        super().__init__()
        for name, value in [
            ("n_models", n_models),
            ("in_features", in_features),
            ("out_features", out_features),
        ]:
            check_positive(name, value, integer=True)
        hidden = tuple(hidden)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        generator = as_generator(generator)
        widths = (in_features, *hidden, out_features)
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            bound = 1.0 / math.sqrt(fan_in)
            weight = (2 * torch.rand(n_models, fan_in, fan_out, generator=generator) - 1) * bound
            bias = (2 * torch.rand(n_models, 1, fan_out, generator=generator) - 1) * bound
            self.weights.append(nn.Parameter(weight))  # (S, fan_in, fan_out)
            self.biases.append(nn.Parameter(bias))  # (S, 1, fan_out)
        self.n_models, self.in_features = n_models, in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_tensor("x", x, dim=3, floating=True, finite=False)
        if x.shape[0] != self.n_models or x.shape[2] != self.in_features:
            raise ValueError(
                f"x must have shape ({self.n_models}, N, {self.in_features}), got {tuple(x.shape)}"
            )
        last = len(self.weights) - 1
        for layer, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias, x, weight)  # (S, N, fan_out)
            if layer < last:
                x = torch.relu(x)
        return x

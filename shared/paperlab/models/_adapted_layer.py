"""A frozen linear or convolution layer whose weight is shifted by a trainable update.

Shared by the adapters in :mod:`paperlab.models.flora` and :mod:`paperlab.models.reshaped_lora`: the base layer
keeps its weight and bias frozen, and the forward pass runs it with :math:`W + \\Delta W`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive

ADAPTABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


class AdaptedLayer(nn.Module):
    """Base class: holds the frozen ``base`` layer and applies it with ``base.weight + scale * delta_weight()``.

    Subclasses implement :meth:`delta_weight`, a tensor of the weight's shape.

    Args:
        base: an ``nn.Linear`` or ``nn.Conv{1,2,3}d``; its parameters are frozen (requires_grad False).
        scale: multiplier s of the update, > 0.
    """

    def __init__(self, base: nn.Module, scale: float = 1.0):
        super().__init__()
        if not isinstance(base, ADAPTABLE):
            raise TypeError(f"base must be an nn.Linear or nn.Conv1d/2d/3d, got {type(base).__name__}")
        check_positive("scale", scale)
        for parameter in base.parameters():
            parameter.requires_grad_(False)
        self.base = base
        self.scale = scale

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return tuple(self.base.weight.shape)

    def delta_weight(self) -> torch.Tensor:
        raise NotImplementedError

    def adapted_weight(self) -> torch.Tensor:
        """The weight the layer applies, :math:`W + s\\,\\Delta W`."""
        return self.base.weight + self.scale * self.delta_weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.adapted_weight()
        if isinstance(self.base, nn.Linear):
            return F.linear(x, weight, self.base.bias)
        return self.base._conv_forward(x, weight, self.base.bias)


def adapt_layers(model: nn.Module, names, wrap) -> nn.Module:
    """Replace the submodules called ``names`` (dotted paths) by ``wrap(submodule)``, in place.

    Args:
        model: the network.
        names: iterable of dotted submodule names, e.g. ``["features.3", "classifier.0"]``.
        wrap: callable taking the layer and returning its replacement (an adapter).

    Returns:
        ``model``, for chaining.
    """
    names = list(names)
    if not names:
        raise ValueError("names must list at least one submodule, got []")
    known = dict(model.named_modules())
    for name in names:
        if name not in known or name == "":
            raise ValueError(f"names must be submodules of the model, got {name!r}")
        parent_name, _, child = name.rpartition(".")
        setattr(known[parent_name], child, wrap(known[name]))
    return model

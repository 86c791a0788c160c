"""Structure-aware intrinsic dimension (SAID): random-subspace training with one learned scale per layer.

Plain random-subspace training moves all D parameters along :math:`\\theta = \\theta_0 + P z`. SAID
spends m of its d trainable numbers on one scale per layer (by default per parameter tensor; a
``group_by`` function can map parameter names to coarser layers, e.g. one scale per transformer block),

.. math:: \\theta_i = \\theta_{0,i} + \\lambda_{\\ell(i)}\\, (P z)_i,
          \\qquad z \\in \\mathbb{R}^{d - m},\\ \\lambda \\in \\mathbb{R}^{m},

so the subspace can be stretched layer by layer while the total count of trainable numbers stays d.
The scales start at one (then SAID starts as plain subspace training) and z at zero.

Paper: Intrinsic Dimensionality Explains the Effectiveness of Language Model Fine-Tuning (2020).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from paperlab._checks import check_positive

from .subspace import SubspaceModel


class StructureAwareSubspaceModel(SubspaceModel):
    """Wrap ``module`` so that only z (d - m values) and the layer scales lambda (m values) train.

    Args:
        module: any nn.Module with floating parameters of one dtype on one device.
        intrinsic_dim: d, the total number of trainable values, ``m < d <= D + m`` where m is the
            number of layers (scales).
        projection: ``"dense"``, ``"sparse"`` or ``"fastfood"`` (as in :class:`SubspaceModel`).
        seed: seed of P.
        group_by: maps a parameter's qualified name to its layer key; parameters with equal keys share
            a scale. None gives every parameter tensor its own scale.

    Attributes:
        z: (d - m,) subspace coordinates; layer_scales: (m,) one scale per layer, in order of first
        appearance in ``module.named_parameters()``; layer_names: the m layer keys; layer_index: (D,)
        the scale each parameter uses.

    Paper: Intrinsic Dimensionality Explains the Effectiveness of Language Model Fine-Tuning (2020).
    """

    def __init__(
        self,
        module: nn.Module,
        intrinsic_dim: int,
        projection: str = "fastfood",
        seed: int | None = None,
        group_by: Callable[[str], str] | None = None,
    ):
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        check_positive("intrinsic_dim", intrinsic_dim, integer=True)
        if group_by is not None and not callable(group_by):
            raise TypeError(f"group_by must be callable or None, got {group_by!r}")
        named = list(module.named_parameters())
        keys = [name if group_by is None else group_by(name) for name, _ in named]
        layer_names = list(dict.fromkeys(keys))  # unique keys, first-appearance order
        n_layers = len(layer_names)
        if intrinsic_dim <= n_layers:
            raise ValueError(f"intrinsic_dim must exceed the {n_layers} layer scales, got {intrinsic_dim}")
        super().__init__(module, intrinsic_dim - n_layers, projection=projection, seed=seed)
        self.layer_names = layer_names
        group_of = torch.tensor([layer_names.index(key) for key in keys])
        sizes = torch.tensor([p.numel() for _, p in named])
        layer_index = torch.repeat_interleave(group_of, sizes)  # (D,)
        self.register_buffer("layer_index", layer_index.to(self.theta_0.device))
        self.layer_scales = nn.Parameter(self.theta_0.new_ones(n_layers))

    @property
    def intrinsic_dim(self) -> int:
        """d: the number of trainable values, z and lambda together."""
        return self.z.numel() + self.layer_scales.numel()

    def theta(self) -> torch.Tensor:
        """The flat parameters :math:`\\theta_0 + \\lambda_{\\ell(i)} (P z)_i`, shape (D,)."""
        return self.theta_0 + self.layer_scales[self.layer_index] * self.projection(self.z)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, layer_scales={self.layer_scales.numel()}"

"""A linear layer whose weight is stored as a rank-r product :math:`W = U V^\\top`.

Factorizing an (out, in) weight into an (out, r) and an (in, r) factor cuts its parameters and
multiply-adds from ``out * in`` to ``r * (out + in)``; :meth:`LowRankLinear.from_linear` builds the
factors from the truncated SVD of a trained layer, the best rank-r approximation of its weight.
Used by "Trained Rank Pruning for Efficient Deep Neural Networks" to decompose a trained network.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator
from paperlab.solvers.matrix_factorization import truncated_svd


class LowRankLinear(nn.Module):
    r"""Affine map :math:`y = x V U^\top + b`, i.e. ``nn.Linear`` with weight :math:`W = U V^\top`.

    The factors start uniform so that :math:`x V` and :math:`(x V) U^\top` each keep the scale of
    ``nn.Linear``'s default initialization (:math:`\pm 1/\sqrt{\text{fan-in}}` per factor).

    Args:
        in_features, out_features: input and output widths.
        rank: inner width r, ``1 <= r <= min(in_features, out_features)``.
        bias: whether to learn an additive bias of size ``out_features``.
        generator: seed or ``torch.Generator`` of the initialization (drawn on the CPU).
        device, dtype: of the parameters.

    Shapes: ``(..., in_features) -> (..., out_features)``; ``U`` is (out, r) and ``V`` is (in, r).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
        bias: bool = True,
        generator=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, value in [("in_features", in_features), ("out_features", out_features), ("rank", rank)]:
            check_positive(name, value, integer=True)
        if rank > min(in_features, out_features):
            raise ValueError(
                f"rank must be <= min(in_features, out_features) = {min(in_features, out_features)}, got {rank}"
            )
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {bias!r}")
        generator = as_generator(generator)
        dtype = dtype if dtype is not None else torch.get_default_dtype()

        def uniform(shape, bound):
            values = (2 * torch.rand(*shape, generator=generator, dtype=dtype) - 1) * bound
            return nn.Parameter(values.to(device))

        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.U = uniform((out_features, rank), 1.0 / math.sqrt(rank))  # (out, r)
        self.V = uniform((in_features, rank), 1.0 / math.sqrt(in_features))  # (in, r)
        self.bias = uniform((out_features,), 1.0 / math.sqrt(in_features)) if bias else None

    @classmethod
    def from_linear(cls, linear: nn.Linear, rank: int) -> LowRankLinear:
        r"""The rank-r layer closest to ``linear`` in Frobenius norm (Eckart-Young), bias copied.

        .. math:: W = P \operatorname{diag}(s) Q^\top,\quad
                  U = P_{:, :r} \operatorname{diag}(\sqrt{s_{:r}}),\quad
                  V = Q_{:, :r} \operatorname{diag}(\sqrt{s_{:r}})

        The singular values are split evenly between the factors so both have the same scale.
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        weight = linear.weight.detach()  # (out, in)
        layer = cls(
            linear.in_features,
            linear.out_features,
            rank,
            bias=linear.bias is not None,
            generator=0,
            device=weight.device,
            dtype=weight.dtype,
        )
        svd = truncated_svd(weight, rank)
        root = svd.S.sqrt()  # (r,)
        with torch.no_grad():
            layer.U.copy_(svd.U * root)  # (out, r)
            layer.V.copy_(svd.Vh.T * root)  # (in, r)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
        return layer

    @property
    def weight(self) -> torch.Tensor:
        """The dense (out_features, in_features) weight :math:`U V^\\top` (differentiable)."""
        return self.U @ self.V.T

    def parameter_count(self) -> int:
        """Number of stored scalars: :math:`r (\\text{in} + \\text{out})` plus the bias."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        hidden = x @ self.V  # (..., r)
        out = hidden @ self.U.T  # (..., out)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
            f"bias={self.bias is not None}"
        )

"""LoRETTA's two tensor-train fine-tuning layers: a TT-reparameterized LoRA update and a TT adapter.

*LoRETTA_rep* keeps LoRA's update :math:`\\Delta W = \\frac{\\alpha}{r} B A` but stores each factor as a
TT-matrix (:class:`paperlab.models.TTMatrix`), so the trainable count drops from :math:`r(\\text{in} +
\\text{out})` to the size of a few small cores. *LoRETTA_adp* inserts a bottleneck adapter
:math:`h \\mapsto h + U \\sigma(D h)` after a sublayer, with both projections U and D as TT-matrices.
In both, the factor that closes the path (B, U) starts at zero, so fine-tuning starts from the
pretrained network.

Paper: LoRETTA: Low-Rank Economic Tensor-Train Adaptation for Ultra-Low-Parameter Fine-Tuning of Large
Language Models.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator

from .lora import check_features, check_linear
from .tt_matrix import TTMatrix, balanced_factors


def _check_modes(n_modes: int) -> int:
    check_positive("n_modes", n_modes, integer=True)
    return n_modes


class TTLoRALinear(nn.Module):
    r"""LoRETTA_rep: ``base`` (frozen) plus :math:`\frac{\alpha}{r} B A` with A and B as TT-matrices.

    .. math:: y = W x + b + \frac{\alpha}{r}\, B A x,\quad
              A = \mathrm{TT}(r \times \text{in}),\ B = \mathrm{TT}(\text{out} \times r)

    Every size is split into ``n_modes`` factors by :func:`balanced_factors`. A's cores start so that
    its entries have the scale of ``nn.Linear`` (:math:`1/\sqrt{\text{in}}`); B's last core starts at zero.

    Args:
        base: the pretrained ``nn.Linear``; frozen.
        rank: r, the inner width of :math:`BA`, ``1 <= r <= min(in, out)``.
        tt_rank: the TT rank of both factors (an int).
        n_modes: K, the number of TT cores per factor.
        alpha: scale numerator; None means ``alpha = rank``.
        generator: seed or ``torch.Generator``.

    Shapes: ``(..., in) -> (..., out)``.
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int,
        tt_rank: int,
        n_modes: int = 2,
        alpha: float | None = None,
        generator=None,
    ):
        super().__init__()
        check_linear(base)
        check_positive("rank", rank, integer=True)
        check_positive("tt_rank", tt_rank, integer=True)
        _check_modes(n_modes)
        if rank > min(base.in_features, base.out_features):
            raise ValueError(
                f"rank must be <= min(in_features, out_features) = "
                f"{min(base.in_features, base.out_features)}, got {rank}"
            )
        self.alpha = float(rank) if alpha is None else check_positive("alpha", alpha)
        base.requires_grad_(False)
        self.base, self.rank, self.tt_rank = base, rank, tt_rank
        self.in_features, self.out_features = base.in_features, base.out_features
        generator = as_generator(generator)
        like = dict(device=base.weight.device, dtype=base.weight.dtype)
        inner = balanced_factors(rank, n_modes)
        self.lora_A = TTMatrix(
            inner,
            balanced_factors(self.in_features, n_modes),
            tt_rank,
            init_std=1 / math.sqrt(3 * self.in_features),  # the std of U(-1/sqrt(in), 1/sqrt(in))
            generator=generator,
            **like,
        )
        self.lora_B = TTMatrix(
            balanced_factors(self.out_features, n_modes),
            inner,
            tt_rank,
            zero_last=True,
            generator=generator,
            **like,
        )

    @property
    def scaling(self) -> float:
        """The factor :math:`\\alpha / r`."""
        return self.alpha / self.rank

    def delta_weight(self) -> torch.Tensor:
        """The dense (out, in) update :math:`\\frac{\\alpha}{r} B A` (differentiable)."""
        return self.scaling * self.lora_B.matrix() @ self.lora_A.matrix()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.in_features)
        return self.base(x) + self.scaling * self.lora_B(self.lora_A(x))  # (..., r) -> (..., out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}"


class TTAdapter(nn.Module):
    r"""LoRETTA_adp: a residual bottleneck adapter whose two projections are TT-matrices.

    .. math:: y = h + U\, \sigma(D h + c) + e,\quad D = \mathrm{TT}(k \times d),\ U = \mathrm{TT}(d \times k)

    with :math:`\sigma` = GELU. U's last core and the output bias e start at zero, so the adapter starts
    as the identity. Place it after a frozen sublayer, e.g.
    ``replace_linear_layers(model, lambda lin: nn.Sequential(lin, TTAdapter(lin.out_features, 8, 2)))``.

    Args:
        features: d, the width of h.
        bottleneck: k, the adapter's inner width.
        tt_rank: the TT rank of both projections.
        n_modes: K, TT cores per projection.
        bias: learn the biases c (size k) and e (size d).
        generator: seed or ``torch.Generator``; device, dtype: of the parameters.

    Shapes: ``(..., d) -> (..., d)``.
    """

    def __init__(
        self,
        features: int,
        bottleneck: int,
        tt_rank: int,
        n_modes: int = 2,
        bias: bool = True,
        generator=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_positive("features", features, integer=True)
        check_positive("bottleneck", bottleneck, integer=True)
        check_positive("tt_rank", tt_rank, integer=True)
        _check_modes(n_modes)
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {bias!r}")
        generator = as_generator(generator)
        like = dict(device=device, dtype=dtype)
        self.features, self.bottleneck = features, bottleneck
        outer, inner = balanced_factors(features, n_modes), balanced_factors(bottleneck, n_modes)
        self.down = TTMatrix(
            inner, outer, tt_rank, init_std=1 / math.sqrt(3 * features), generator=generator, **like
        )
        self.up = TTMatrix(outer, inner, tt_rank, zero_last=True, generator=generator, **like)
        dtype = self.up.cores[0].dtype
        self.down_bias = nn.Parameter(torch.zeros(bottleneck, device=device, dtype=dtype)) if bias else None
        self.up_bias = nn.Parameter(torch.zeros(features, device=device, dtype=dtype)) if bias else None
        self.activation = nn.GELU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        check_features(h, self.features, "h")
        hidden = self.down(h)  # (..., k)
        if self.down_bias is not None:
            hidden = hidden + self.down_bias
        out = self.up(self.activation(hidden))  # (..., d)
        if self.up_bias is not None:
            out = out + self.up_bias
        return h + out

    def extra_repr(self) -> str:
        return f"features={self.features}, bottleneck={self.bottleneck}"

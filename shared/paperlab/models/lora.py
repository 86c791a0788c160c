r"""LoRA: a frozen ``nn.Linear`` plus a trainable rank-r update, and helpers to adapt a model's linear layers.

.. math:: y = x W^\top + b + \frac{\alpha}{r}\, x A^\top B^\top, \qquad
          A \in \mathbb{R}^{r \times \mathrm{in}},\ B \in \mathbb{R}^{\mathrm{out} \times r}

Only A and B train; B starts at zero, so the adapted model starts as the pretrained one, and
``merged_linear`` folds the update back into one layer. It is the baseline of the adapter papers here,
e.g. "LoRETTA: Low-Rank Economic Tensor-Train Adaptation for Ultra-Low-Parameter Fine-Tuning of Large
Language Models" and "DSEE: Dually Sparsity-embedded Efficient Tuning of Pre-trained Language Models".
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator


def check_linear(base) -> nn.Linear:
    """Raise TypeError unless ``base`` is an ``nn.Linear``; return it."""
    if not isinstance(base, nn.Linear):
        raise TypeError(f"base must be an nn.Linear, got {type(base).__name__}")
    return base


def check_features(x, in_features: int, name: str = "x") -> None:
    """Raise ValueError unless ``x`` is a tensor whose last dimension is ``in_features``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 1 or x.shape[-1] != in_features:
        raise ValueError(f"{name} must have shape (..., {in_features}), got {tuple(x.shape)}")


def merged_linear(base: nn.Linear, delta_weight: torch.Tensor) -> nn.Linear:
    """A new ``nn.Linear`` with weight ``base.weight + delta_weight`` and the base's bias."""
    check_linear(base)
    if delta_weight.shape != base.weight.shape:
        raise ValueError(
            f"delta_weight must have the base weight's shape {tuple(base.weight.shape)}, "
            f"got {tuple(delta_weight.shape)}"
        )
    merged = nn.Linear(
        base.in_features,
        base.out_features,
        bias=base.bias is not None,
        dtype=base.weight.dtype,
        device=base.weight.device,
    )
    with torch.no_grad():
        merged.weight.copy_(base.weight + delta_weight)
        if base.bias is not None:
            merged.bias.copy_(base.bias)
    return merged


def count_trainable_parameters(module: nn.Module) -> int:
    """Number of entries of the parameters of ``module`` that require a gradient."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def replace_linear_layers(model: nn.Module, factory, include=None) -> list[str]:
    """Replace every ``nn.Linear`` of ``model`` whose qualified name passes ``include`` by ``factory(linear)``.

    Returns the replaced names, in module order; raises ValueError if ``include`` matched no layer.
    """
    names = [
        name
        for name, module in model.named_modules()
        if isinstance(module, nn.Linear) and name and (include is None or include(name))
    ]
    if not names:
        raise ValueError("include matched no nn.Linear layer of the model")
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, factory(getattr(parent, child)))
    return names


class LoRALinear(nn.Module):
    r"""A frozen ``nn.Linear`` plus a rank-r update :math:`y = x W^\top + b + \frac{\alpha}{r}\, x A^\top B^\top`.

    ``lora_A`` (r, in) starts uniform in :math:`\pm 1/\sqrt{in}`, ``lora_B`` (out, r) at zero, so the layer first
    computes what the base layer does. From "LoRETTA: Low-Rank Economic Tensor-Train Adaptation for Ultra-Low-Parameter
    Fine-Tuning of Large Language Models" (the LoRA baseline).

    Args:
        base: the ``nn.Linear`` to adapt (frozen here).
        rank: r, at most min(in, out).
        alpha: the update is scaled by alpha / r.
        generator: seed or ``torch.Generator`` of A's initialization.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float | None = None, generator=None):
        super().__init__()
        check_linear(base)
        check_positive("rank", rank, integer=True)
        if rank > min(base.in_features, base.out_features):
            raise ValueError(f"rank must be at most min({base.in_features}, {base.out_features}), got {rank}")
        alpha = float(rank) if alpha is None else alpha
        check_positive("alpha", alpha)
        base.requires_grad_(False)
        self.base, self.rank, self.alpha = base, rank, float(alpha)
        self.in_features, self.out_features = base.in_features, base.out_features
        weight = base.weight
        bound = 1.0 / math.sqrt(base.in_features)
        a = (
            2 * torch.rand(rank, base.in_features, generator=as_generator(generator), dtype=torch.float64) - 1
        ) * bound
        self.lora_A = nn.Parameter(a.to(dtype=weight.dtype, device=weight.device))  # (r, in)
        self.lora_B = nn.Parameter(
            torch.zeros(base.out_features, rank, dtype=weight.dtype, device=weight.device)
        )

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank

    def delta_weight(self) -> torch.Tensor:
        """:math:`\\frac{\\alpha}{r} B A`, shape (out, in)."""
        return self.scaling * self.lora_B @ self.lora_A

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` computing the same map."""
        return merged_linear(self.base, self.delta_weight().detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.in_features)
        return self.base(x) + self.scaling * (x @ self.lora_A.T) @ self.lora_B.T  # (..., r) -> (..., out)

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha}"

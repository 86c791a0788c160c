"""SPDNet layers: BiMap, ReEig, LogEig, and a small SPD classifier with an optional Riemannian batch norm.

From "A Riemannian Network for SPD Matrix Learning", as used by "Learning to Normalize on the SPD
Manifold under Bures-Wasserstein Geometry". BiMap is the bilinear map :math:`X \\mapsto W^\\top X W` with
W on the Stiefel manifold (orthonormal columns), so an SPD input stays SPD; ReEig floors the eigenvalues,
:math:`U \\max(\\Lambda, \\epsilon I) U^\\top`; LogEig maps to the tangent space at the identity,
:math:`U \\log(\\Lambda) U^\\top`, whose upper triangle feeds a linear classifier. The Stiefel constraint is
kept by torch's orthogonal parametrization (any optimizer works) instead of a QR retraction.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import orthogonal

from .._checks import check_choice, check_positive
from .._random import as_generator
from ..solvers.spd_functions import rectify_eigenvalues, spd_log
from ..solvers.spd_geometry import check_spd
from .spd_batchnorm import AIMBatchNorm, GBWBatchNorm


class BiMap(nn.Module):
    """:math:`X \\mapsto W^\\top X W` with a (d_in, d_out) Stiefel weight, d_out <= d_in."""

    def __init__(self, in_size: int, out_size: int, *, dtype=None, device=None, seed=None):
        super().__init__()
        check_positive("in_size", in_size, integer=True)
        check_positive("out_size", out_size, integer=True)
        if out_size > in_size:
            raise ValueError(
                f"out_size must be <= in_size to keep W^T X W definite, got {out_size} > {in_size}"
            )
        start = torch.randn(
            in_size, out_size, generator=as_generator(seed), dtype=dtype or torch.get_default_dtype()
        )
        self.linear = nn.Module()
        self.linear.weight = nn.Parameter(torch.linalg.qr(start).Q.to(device))
        orthogonal(self.linear, "weight")

    @property
    def weight(self) -> torch.Tensor:
        return self.linear.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d_in, d_in) -> (n, d_out, d_out)."""
        w = self.weight
        return 0.5 * ((w.mT @ x @ w) + (w.mT @ x @ w).mT)


class ReEig(nn.Module):
    """Eigenvalue rectification :math:`U \\max(\\Lambda, \\epsilon I) U^\\top`."""

    def __init__(self, threshold: float = 1e-4):
        super().__init__()
        self.threshold = check_positive("threshold", threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rectify_eigenvalues(x, self.threshold)


class LogEig(nn.Module):
    """Matrix logarithm, flattened to the upper triangle (off-diagonal entries times sqrt 2, norm-preserving)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, d, d) SPD -> (n, d (d + 1) / 2)."""
        log = spd_log(x)
        rows, cols = torch.triu_indices(x.shape[-1], x.shape[-1], device=x.device)
        scale = torch.where(rows == cols, 1.0, 2.0**0.5).to(x.dtype)
        return log[..., rows, cols] * scale  # (n, d (d + 1) / 2)


class SPDNet(nn.Module):
    """BiMap -> [Riemannian batch norm] -> ReEig -> LogEig -> Linear.

    Args:
        in_size: input matrix size.
        hidden_size: size after BiMap.
        n_classes: number of outputs.
        norm: None, "aim" (:class:`AIMBatchNorm`) or "gbw" (:class:`GBWBatchNorm`).
        norm_kwargs: passed to the norm layer (e.g. ``power``, ``learn_metric``, ``n_iter``).
        threshold: ReEig floor.
    """

    def __init__(
        self,
        in_size: int,
        hidden_size: int,
        n_classes: int,
        *,
        norm: str | None = None,
        norm_kwargs: dict | None = None,
        threshold: float = 1e-4,
        dtype=None,
        device=None,
        seed=None,
    ):
        super().__init__()
        check_positive("n_classes", n_classes, integer=True)
        generator = as_generator(seed)
        self.bimap = BiMap(in_size, hidden_size, dtype=dtype, device=device, seed=generator)
        if norm is not None:
            check_choice("norm", norm, {"aim", "gbw"})
        layer = {"aim": AIMBatchNorm, "gbw": GBWBatchNorm}.get(norm)
        self.norm = (
            layer(hidden_size, dtype=dtype, device=device, **(norm_kwargs or {})) if layer else nn.Identity()
        )
        self.reeig = ReEig(threshold)
        self.logeig = LogEig()
        n_features = hidden_size * (hidden_size + 1) // 2
        self.classifier = nn.Linear(n_features, n_classes, dtype=dtype, device=device)
        with torch.no_grad():
            bound = n_features**-0.5
            self.classifier.weight.copy_(
                (
                    torch.rand(n_classes, n_features, generator=generator, dtype=self.classifier.weight.dtype)
                    * 2
                    - 1
                )
                * bound
            )
            self.classifier.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(n, in_size, in_size) SPD batch -> (n, n_classes) logits."""
        check_spd("x", x, batched=True)
        return self.classifier(self.logeig(self.reeig(self.norm(self.bimap(x)))))

"""DSEE's sparsity-embedded update: a frozen layer plus a trainable low-rank and a trainable sparse part.

.. math:: y = W x + b + \\Big(\\tfrac{\\alpha}{r} B A + S_\\Omega\\Big) x

:math:`S_\\Omega` is non-zero only on a fixed support :math:`\\Omega` of ``n_sparse`` entries. The support
comes from the pretrained weight itself: decompose :math:`W \\approx L + S` with L its best rank-k
approximation (truncated SVD) and take the ``n_sparse`` largest entries of :math:`|W - L|`, the
positions a low-rank structure explains worst. The values on :math:`\\Omega` start at zero (as B does),
so the layer starts as ``base``.

For cheaper inference the tuned weight is then pruned: :meth:`SparseLowRankLinear.prune_` keeps the
largest entries (or rows) of :math:`W + \\Delta W` and from then on applies
:math:`(W + \\Delta W) \\odot M`, so a few more steps of tuning U, V, S can recover the accuracy while the
merged weight stays exactly sparse.

Paper: DSEE: Dually Sparsity-embedded Efficient Tuning of Pre-trained Language Models.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab.solvers.magnitude_pruning import magnitude_mask, row_norm_mask
from paperlab.solvers.matrix_factorization import truncated_svd

from .lora import LoRALinear, check_features, merged_linear


def residual_support(weight: torch.Tensor, n_sparse: int, decomposition_rank: int) -> torch.Tensor:
    """Flat indices of the ``n_sparse`` largest entries of :math:`|W - L_k|`, L_k the rank-k SVD part.

    Args:
        weight: (out, in) floating matrix, finite.
        n_sparse: size of the support, ``1 <= n_sparse <= out * in``.
        decomposition_rank: k, ``0 <= k <= min(out, in)``; 0 takes the largest entries of W itself.

    Returns:
        (n_sparse,) int64 indices into ``weight.reshape(-1)``, sorted increasingly.
    """
    check_tensor("weight", weight, dim=2, floating=True)
    check_positive("n_sparse", n_sparse, integer=True)
    check_positive("decomposition_rank", decomposition_rank, integer=True, allow_zero=True)
    if n_sparse > weight.numel():
        raise ValueError(f"n_sparse must be <= the {weight.numel()} entries of weight, got {n_sparse}")
    if decomposition_rank > min(weight.shape):
        raise ValueError(f"decomposition_rank must be <= {min(weight.shape)}, got {decomposition_rank}")
    weight = weight.detach()
    residual = weight
    if decomposition_rank > 0:
        svd = truncated_svd(weight, decomposition_rank)
        residual = weight - (svd.U * svd.S) @ svd.Vh  # (out, in)
    return residual.abs().reshape(-1).topk(n_sparse).indices.sort().values


class SparseLowRankLinear(LoRALinear):
    r"""DSEE layer: ``base`` (frozen) plus :math:`\frac{\alpha}{r} B A + S_\Omega` (see the module docstring).

    Args:
        base: the pretrained ``nn.Linear``; frozen.
        rank: r of the low-rank part (as in :class:`LoRALinear`).
        n_sparse: :math:`|\Omega|`, trainable sparse entries.
        decomposition_rank: k of the decomposition that picks :math:`\Omega`; None means ``rank``.
        alpha, generator: as in :class:`LoRALinear`.

    Shapes: ``(..., in) -> (..., out)``; ``sparse_values`` is (n_sparse,), ``sparse_index`` flat indices.
    """

    def __init__(
        self,
        base: nn.Linear,
        rank: int,
        n_sparse: int,
        decomposition_rank: int | None = None,
        alpha: float | None = None,
        generator=None,
    ):
        super().__init__(base, rank, alpha=alpha, generator=generator)
        decomposition_rank = rank if decomposition_rank is None else decomposition_rank
        index = residual_support(base.weight, n_sparse, decomposition_rank)
        self.register_buffer("sparse_index", index)
        self.sparse_values = nn.Parameter(base.weight.new_zeros(n_sparse))
        self.register_buffer("weight_mask", None)

    @property
    def n_sparse(self) -> int:
        """:math:`|\\Omega|`."""
        return self.sparse_values.numel()

    def sparse_weight(self) -> torch.Tensor:
        """The dense (out, in) matrix :math:`S_\\Omega`, zero off the support (differentiable)."""
        flat = self.sparse_values.new_zeros(self.out_features * self.in_features)
        return flat.scatter(0, self.sparse_index, self.sparse_values).view(
            self.out_features, self.in_features
        )

    def delta_weight(self) -> torch.Tensor:
        """The dense (out, in) update :math:`\\frac{\\alpha}{r} B A + S_\\Omega`."""
        return super().delta_weight() + self.sparse_weight()

    def adapted_weight(self) -> torch.Tensor:
        """The (out, in) weight the layer applies: :math:`W + \\Delta W`, times the mask M once pruned."""
        weight = self.base.weight + self.delta_weight()
        return weight if self.weight_mask is None else weight * self.weight_mask

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with the adapted (and, once pruned, masked) weight, a detached copy."""
        return merged_linear(self.base, (self.adapted_weight() - self.base.weight).detach())

    @torch.no_grad()
    def prune_(self, sparsity: float, structured: str = "none") -> float:
        """Fix the mask M to the largest entries (``"none"``) or l1-largest rows (``"rows"``) of W + Delta W.

        Returns the achieved fraction of zeros of the adapted weight. Rows dropped by ``"rows"`` keep
        their bias (use :func:`paperlab.solvers.prune_linear_layers_` on merged layers to drop it too).
        """
        weight = self.base.weight + self.delta_weight()
        if structured == "none":
            self.weight_mask = magnitude_mask(weight, sparsity).to(weight.dtype)
        elif structured == "rows":
            self.weight_mask = row_norm_mask(weight, sparsity).to(weight.dtype)
        else:
            raise ValueError(f"structured must be 'none' or 'rows', got {structured!r}")
        return float((self.adapted_weight() == 0).float().mean())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_features(x, self.in_features)
        if self.weight_mask is not None:
            return F.linear(x, self.adapted_weight(), self.base.bias)  # ((W + Delta W) * M) x + b
        dense = F.linear(
            x, self.base.weight + self.sparse_weight(), self.base.bias
        )  # (W + S) x + b, one matmul
        update = (x @ self.lora_A.T) @ self.lora_B.T  # (..., r) -> (..., out)
        return dense + self.scaling * update

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_sparse={self.n_sparse}"

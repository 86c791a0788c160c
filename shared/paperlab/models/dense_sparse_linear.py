"""A linear layer whose weight is sparse codes times a small dense basis, :math:`W = (S \\odot M) D`.

D is (k, in) dense (k basis rows) and the mask M keeps exactly ``n_nonzero`` of the k entries of every
row of S (out, k): each output unit's weight row is a combination of n basis rows. The layer stores
:math:`k\\,\\text{in} + \\text{out}\\,n` values (plus the indices of the non-zeros) instead of
:math:`\\text{out} \\cdot \\text{in}`; fitting it is the column-sparse factorization of :math:`W^\\top`.
From "DSFormer: Effective Compression of Text-Transformers by Dense-Sparse Weight Factorization".
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab.solvers.dense_sparse_factorization import dense_sparse_factorize


class DenseSparseLinear(nn.Module):
    r"""Affine map :math:`y = x ((S \odot M) D)^\top + b`; gradients reach D and the kept entries of S.

    Build it from a trained layer with :meth:`from_linear` (task-unaware alternating factorization) or
    from given factors with :meth:`from_factors`.

    Args:
        sparse: (out, k) codes S.
        mask: (out, k) bool, the same number of True entries in every row.
        dense: (k, in) basis D.
        bias: optional (out,).

    Shapes: ``(..., in) -> (..., out)``.
    """

    def __init__(
        self, sparse: torch.Tensor, mask: torch.Tensor, dense: torch.Tensor, bias: torch.Tensor | None = None
    ):
        super().__init__()
        for name, value in [("sparse", sparse), ("mask", mask), ("dense", dense)]:
            if not isinstance(value, torch.Tensor) or value.dim() != 2:
                raise ValueError(f"{name} must be a 2-D tensor, got {value!r}")
        if sparse.shape[1] != dense.shape[0] or mask.shape != sparse.shape:
            raise ValueError(
                f"sparse (out, k), mask (out, k) and dense (k, in) must agree, got shapes "
                f"{tuple(sparse.shape)}, {tuple(mask.shape)}, {tuple(dense.shape)}"
            )
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor, got dtype {mask.dtype}")
        per_row = mask.sum(dim=1)  # (out,)
        if not bool((per_row == per_row[0]).all()) or int(per_row[0]) == 0:
            raise ValueError("mask must keep the same, positive number of entries in every row")
        if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != (sparse.shape[0],)):
            raise ValueError(f"bias must have shape ({sparse.shape[0]},), got {bias!r}")
        self.out_features, self.n_atoms = sparse.shape
        self.in_features, self.n_nonzero = dense.shape[1], int(per_row[0])
        self.dense = nn.Parameter(dense.detach().clone())
        self.sparse = nn.Parameter((sparse * mask).detach().clone())
        self.register_buffer("mask", mask.clone())
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, n_atoms: int, n_nonzero: int, n_iter: int = 10
    ) -> DenseSparseLinear:
        """Factorize a trained ``nn.Linear`` with :func:`~paperlab.solvers.dense_sparse_factorize`, bias copied."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        fit = dense_sparse_factorize(linear.weight.detach().T, n_atoms, n_nonzero, n_iter=n_iter)  # W^T = D S
        bias = linear.bias.detach() if linear.bias is not None else None
        return cls(fit.sparse.T, fit.mask.T, fit.dense.T, bias)

    @property
    def weight(self) -> torch.Tensor:
        """The dense (out, in) weight :math:`(S \\odot M) D` (differentiable)."""
        return (self.sparse * self.mask) @ self.dense

    def parameter_count(self) -> int:
        """Stored values :math:`k\\,\\text{in} + \\text{out}\\,n` plus the bias (the non-zero indices not counted)."""
        bias = self.out_features if self.bias is not None else 0
        return self.n_atoms * self.in_features + self.out_features * self.n_nonzero + bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        codes = x @ self.dense.T  # (..., k)
        out = codes @ (self.sparse * self.mask).T  # (..., out)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, n_atoms={self.n_atoms}, "
            f"n_nonzero={self.n_nonzero}, bias={self.bias is not None}"
        )

"""A linear layer whose input channels are split into k groups, each with its own rank-j factorization.

:math:`W = [U_1 V_1^\\top, \\dots, U_k V_k^\\top]`: group g of the input channels (a column slice of W)
gets the truncated SVD of its own slice, so k groups at rank j store :math:`j (k\\,\\text{out} + \\text{in})`
values and can represent k different j-dimensional output subspaces (the multiple-subspace
decomposition of "Compressing Neural Networks: Towards Determining the Optimal Layer-wise
Decomposition"). k = 1 is :class:`~paperlab.models.LowRankLinear`.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab.solvers.matrix_factorization import truncated_svd


class GroupedLowRankLinear(nn.Module):
    r"""Affine map :math:`y = \sum_g x_g V_g U_g^\top + b` over k contiguous groups :math:`x_g` of the input.

    Build it with :meth:`from_linear`. Groups follow ``torch.tensor_split(range(in), k)``.

    Args:
        U: sequence of k (out, j) left factors.
        V: sequence of k (in_g, j) right factors, the in_g summing to ``in_features``.
        bias: optional (out,).

    Shapes: ``(..., in) -> (..., out)``.
    """

    def __init__(self, U, V, bias: torch.Tensor | None = None):
        super().__init__()
        if len(U) != len(V) or len(U) == 0:
            raise ValueError(
                f"U and V must be non-empty sequences of equal length, got {len(U)} and {len(V)}"
            )
        out_features, rank = U[0].shape
        for g, (u, v) in enumerate(zip(U, V)):
            if u.shape != (out_features, rank) or v.dim() != 2 or v.shape[1] != rank:
                raise ValueError(
                    f"group {g}: U must be ({out_features}, {rank}) and V (in_g, {rank}), "
                    f"got {tuple(u.shape)} and {tuple(v.shape)}"
                )
        if bias is not None and (not isinstance(bias, torch.Tensor) or bias.shape != (out_features,)):
            raise ValueError(f"bias must have shape ({out_features},), got {bias!r}")
        self.U = nn.ParameterList([nn.Parameter(u.detach().clone()) for u in U])
        self.V = nn.ParameterList([nn.Parameter(v.detach().clone()) for v in V])
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None
        self.group_sizes = [v.shape[0] for v in V]
        self.in_features, self.out_features = sum(self.group_sizes), out_features
        self.n_groups, self.rank = len(U), rank

    @classmethod
    def from_linear(cls, linear: nn.Linear, n_groups: int, rank: int) -> GroupedLowRankLinear:
        """Rank-``rank`` truncated SVD of each of ``n_groups`` column slices of ``linear.weight``, bias copied."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        check_positive("n_groups", n_groups, integer=True)
        if n_groups > linear.in_features:
            raise ValueError(f"n_groups must be <= in_features = {linear.in_features}, got {n_groups}")
        U, V = [], []
        for group in torch.tensor_split(linear.weight.detach(), n_groups, dim=1):  # (out, in_g) each
            svd = truncated_svd(group, rank)
            root = svd.S.sqrt()  # (j,)
            U.append(svd.U * root)  # (out, j)
            V.append(svd.Vh.T * root)  # (in_g, j)
        bias = linear.bias.detach() if linear.bias is not None else None
        return cls(U, V, bias)

    @property
    def weight(self) -> torch.Tensor:
        """The dense (out, in) weight :math:`[U_1 V_1^\\top, \\dots, U_k V_k^\\top]` (differentiable)."""
        return torch.cat([u @ v.T for u, v in zip(self.U, self.V)], dim=1)

    def parameter_count(self) -> int:
        """Stored values :math:`j (k\\,\\text{out} + \\text{in})` plus the bias."""
        return sum(p.numel() for p in self.parameters())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        out = None
        for part, u, v in zip(torch.split(x, self.group_sizes, dim=-1), self.U, self.V):
            term = (part @ v) @ u.T  # (..., in_g) -> (..., j) -> (..., out)
            out = term if out is None else out + term
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, n_groups={self.n_groups}, "
            f"rank={self.rank}, bias={self.bias is not None}"
        )

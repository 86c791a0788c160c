"""A linear layer factorized into ordered rank-1 components, trained with ordered dropout.

Maestro: Uncovering Low-Rank Structures via Trainable Decomposition writes a weight as a sum of
rank-1 terms, :math:`W = \\sum_{i=1}^{r} u_i v_i^\\top = U V`, and at every training step keeps only a
random prefix of them: the rank :math:`b` is drawn from a distribution over :math:`\\{1, \\dots, r\\}`
and the layer computes :math:`W_b = U_{:, :b} V_{:b, :}`. A component is then used whenever any later
one is, so the first components learn the most important directions: for a linear map the nested
optimum is the truncated SVD in order. After training the layer can be cut to any prefix
(:meth:`OrderedLowRankLinear.truncate`), and components whose norm a group-lasso penalty has driven to
zero can be removed during training (progressive shrinking, :meth:`OrderedLowRankLinear.shrink`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class OrderedLowRankLinear(nn.Module):
    r"""Linear layer :math:`y = x (U_{:, :b} V_{:b, :})^\top + c` with an ordered-dropout rank :math:`b`.

    In training mode (and ``ordered_dropout=True``) each call draws one rank
    :math:`b \sim \mathrm{Uniform}\{1, \dots, r\}` for the whole batch, as in the paper's sampler;
    in eval mode, or when ``rank`` is given, the first ``rank`` components are used.

    Args:
        in_features, out_features: input and output widths.
        rank: number :math:`r` of rank-1 components (at most ``min(in_features, out_features)``).
        bias: whether to learn the bias :math:`c`.
        ordered_dropout: sample the rank in training mode; ``False`` gives a plain factorized layer.
        generator: seed or ``torch.Generator`` of the initialization and of the rank draws.

    Parameters: ``weight_u`` of shape ``(out_features, r)``, ``weight_v`` of shape ``(r, in_features)``.
    Shapes: ``(..., in_features) -> (..., out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
        bias: bool = True,
        ordered_dropout: bool = True,
        generator=None,
    ):
        super().__init__()
        check_positive("in_features", in_features, integer=True)
        check_positive("out_features", out_features, integer=True)
        check_positive("rank", rank, integer=True)
        if rank > min(in_features, out_features):
            raise ValueError(
                f"rank must be <= min(in_features, out_features) = {min(in_features, out_features)}, got {rank}"
            )
        if not isinstance(ordered_dropout, bool):
            raise TypeError(f"ordered_dropout must be a bool, got {ordered_dropout!r}")
        self.generator = as_generator(generator)
        self.in_features, self.out_features, self.ordered_dropout = in_features, out_features, ordered_dropout
        # Each factor uniform in +-(fan-in)^(-1/2), so that U V has the scale of nn.Linear's default.
        bound_v, bound_u = 1.0 / math.sqrt(in_features), 1.0 / math.sqrt(rank)
        self.weight_u = nn.Parameter(
            (2 * torch.rand(out_features, rank, generator=self.generator) - 1) * bound_u
        )
        self.weight_v = nn.Parameter(
            (2 * torch.rand(rank, in_features, generator=self.generator) - 1) * bound_v
        )
        bias_init = (2 * torch.rand(out_features, generator=self.generator) - 1) * bound_v
        self.bias = nn.Parameter(bias_init) if bias else None

    @property
    def rank(self) -> int:
        """The current number of rank-1 components."""
        return self.weight_u.shape[1]

    @classmethod
    def from_linear(
        cls, linear: nn.Linear, rank: int | None = None, ordered_dropout: bool = True, generator=None
    ):
        r"""Decompose a trained ``nn.Linear`` by its SVD :math:`W = P S Q^\top`.

        :math:`U = P_{:, :r} S_r^{1/2}` and :math:`V = S_r^{1/2} Q_{:, :r}^\top`.

        The components come out ordered by singular value, so every prefix is the best approximation
        of its rank (Eckart-Young). ``rank`` defaults to the full ``min(in_features, out_features)``.
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        full = min(linear.in_features, linear.out_features)
        rank = full if rank is None else rank
        layer = cls(
            linear.in_features, linear.out_features, rank, linear.bias is not None, ordered_dropout, generator
        )
        weight = linear.weight.detach()
        left, singular, right_t = torch.linalg.svd(weight, full_matrices=False)
        root = singular[:rank].sqrt()
        layer.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            layer.weight_u.copy_(left[:, :rank] * root)  # (out, r)
            layer.weight_v.copy_(root[:, None] * right_t[:rank])  # (r, in)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias.detach())
        return layer

    def sample_rank(self) -> int:
        """Draw the ordered-dropout rank :math:`b \\sim \\mathrm{Uniform}\\{1, \\dots, r\\}`."""
        return int(torch.randint(1, self.rank + 1, (1,), generator=self.generator))

    def _check_rank(self, rank) -> int:
        check_positive("rank", rank, integer=True)
        if rank > self.rank:
            raise ValueError(f"rank must be <= the layer's rank {self.rank}, got {rank}")
        return rank

    def weight(self, rank: int | None = None) -> torch.Tensor:
        """The dense weight :math:`W_b = U_{:, :b} V_{:b, :}`, shape ``(out_features, in_features)``."""
        rank = self.rank if rank is None else self._check_rank(rank)
        return self.weight_u[:, :rank] @ self.weight_v[:rank]

    def forward(self, x: torch.Tensor, rank: int | None = None) -> torch.Tensor:
        """Apply the first ``rank`` components (sampled in training mode when ``rank`` is None)."""
        check_tensor("x", x, min_dim=1, floating=True, finite=False)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features in its last dimension, got {tuple(x.shape)}"
            )
        if rank is None:
            rank = self.sample_rank() if self.training and self.ordered_dropout else self.rank
        else:
            rank = self._check_rank(rank)
        code = x @ self.weight_v[:rank].T  # (..., b)
        out = code @ self.weight_u[:, :rank].T  # (..., out)
        return out if self.bias is None else out + self.bias

    def prefix_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs for every rank at once: entry ``[..., b - 1, :]`` equals ``forward(x, rank=b)``.

        Averaging a loss over the rank axis gives the exact expectation of the ordered-dropout loss
        under the uniform rank distribution, at the cost of one extra cumulative sum.

        Shapes: ``(..., in_features) -> (..., r, out_features)``.
        """
        check_tensor("x", x, min_dim=1, floating=True, finite=False)
        if x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have {self.in_features} features in its last dimension, got {tuple(x.shape)}"
            )
        code = x @ self.weight_v.T  # (..., r)
        terms = code.unsqueeze(-1) * self.weight_u.T  # (..., r, out): the i-th rank-1 contribution
        out = terms.cumsum(dim=-2)  # (..., r, out)
        return out if self.bias is None else out + self.bias

    def component_norms(self) -> torch.Tensor:
        r"""Norms :math:`\|u_i v_i^\top\|_F = \|u_i\| \|v_i\|` of the rank-1 terms, shape ``(r,)``."""
        return torch.linalg.vector_norm(self.weight_u, dim=0) * torch.linalg.vector_norm(self.weight_v, dim=1)

    def group_lasso_penalty(self) -> torch.Tensor:
        r"""Hierarchical group lasso over the tails, :math:`\sum_{b=1}^{r} \|U_{:, b:}\|_F + \|V_{b:, :}\|_F`.

        Component :math:`i` appears in :math:`i` groups, so later components are pushed harder
        towards zero, which keeps the order and lets :meth:`shrink` remove the tail.
        """
        # vector_norm has the zero subgradient at 0, so an already-zero tail gives finite gradients.
        tails = [
            torch.linalg.vector_norm(self.weight_u[:, b:]) + torch.linalg.vector_norm(self.weight_v[b:])
            for b in range(self.rank)
        ]
        return torch.stack(tails).sum()

    def truncate(self, rank: int) -> OrderedLowRankLinear:
        """Keep only the first ``rank`` components, in place (new parameters: rebuild the optimizer)."""
        rank = self._check_rank(rank)
        self.weight_u = nn.Parameter(self.weight_u.detach()[:, :rank].clone())
        self.weight_v = nn.Parameter(self.weight_v.detach()[:rank].clone())
        return self

    def shrink(self, threshold: float) -> int:
        """Progressive shrinking: drop the tail of components whose norm is below ``threshold``.

        The new rank is the position of the last component with :math:`\\|u_i\\|\\|v_i\\| \\ge` threshold
        (at least 1); components before it are kept even if small, so the order is never broken.
        Returns the new rank.
        """
        check_positive("threshold", threshold, allow_zero=True)
        above = torch.nonzero(self.component_norms().detach() >= threshold)
        new_rank = max(int(above[-1]) + 1 if len(above) else 1, 1)
        if new_rank < self.rank:
            self.truncate(new_rank)
        return self.rank

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
            f"bias={self.bias is not None}, ordered_dropout={self.ordered_dropout}"
        )

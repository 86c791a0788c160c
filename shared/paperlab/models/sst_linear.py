"""Sparse spectral training: a linear layer kept in SVD form, updating a sampled subset of its vectors.

The weight is stored as :math:`W = U \\operatorname{diag}(s) V^\\top` with every singular value trained
at each step, but only ``rank`` singular-vector pairs, drawn with probability proportional to their
singular value, receive a gradient. The sample changes every round, and a periodic re-SVD of
:math:`W` restores orthogonal factors, so over many rounds every direction of the full-rank weight is
trained while each step touches as many vector entries as a rank-r adapter.
From "Sparse Spectral Training and Inference on Euclidean and Hyperbolic Neural Networks" (2024).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab._random import as_generator


def sst_linear(
    x: torch.Tensor,
    U: torch.Tensor,
    S: torch.Tensor,
    V: torch.Tensor,
    active: torch.Tensor,
    bias: torch.Tensor | None = None,
    enhanced_gradient: bool = True,
) -> torch.Tensor:
    r"""Affine map :math:`y = x V \operatorname{diag}(s) U^\top + b` whose vector gradients reach only ``active``.

    The value equals the dense layer with :math:`W = U \operatorname{diag}(s) V^\top`. Gradients:
    :math:`\partial L / \partial s_i = u_i^\top G v_i` for every i, with :math:`G = \partial L / \partial W`;
    for an active index i, :math:`\partial L / \partial u_i = G v_i` and :math:`\partial L / \partial v_i =
    G^\top u_i` with ``enhanced_gradient`` (the paper's choice: a small :math:`s_i` does not shrink the
    update of its vectors), or those times :math:`s_i` (the true gradient) without it. Inactive vectors
    get a zero gradient.

    Args:
        x: (..., in) input.
        U: (out, m) left singular vectors; S: (m,) singular values; V: (in, m) right singular vectors.
        active: (r,) int64 indices into ``range(m)`` of the trained vector pairs.
        bias: optional (out,).
        enhanced_gradient: drop the factor :math:`s_i` from the vector gradients.
    Returns:
        (..., out) output.
    """
    if not isinstance(active, torch.Tensor) or active.dim() != 1 or active.dtype != torch.int64:
        raise TypeError(f"active must be a 1-D int64 tensor of indices, got {active!r}")
    hidden = x @ V.detach()  # (..., m)
    out = (hidden * S) @ U.detach().T  # (..., out): the value, with gradients reaching S only
    scale = S.detach()[active] if not enhanced_gradient else torch.ones_like(S[active])  # (r,)
    u_active, v_active = U[:, active], V[:, active]  # (out, r), (in, r)
    u_delta = u_active - u_active.detach()  # (out, r), exactly zero, carries the gradient of U
    v_delta = v_active - v_active.detach()  # (in, r), exactly zero, carries the gradient of V
    out = out + (hidden[..., active] * scale) @ u_delta.T  # (..., out), d/du_i = G v_i * scale_i
    out = out + ((x @ v_delta) * scale) @ u_active.detach().T  # (..., out), d/dv_i = G^T u_i * scale_i
    return out + bias if bias is not None else out


class SSTLinear(nn.Module):
    r"""``nn.Linear`` stored as :math:`W = U \operatorname{diag}(s) V^\top`, trained by sparse spectral training.

    Starts from the full SVD of an ``nn.Linear``-initialised weight (``m = min(in, out)`` pairs). Call
    :meth:`resample_` at the start of every round to draw ``rank`` pairs without replacement with
    probability :math:`p_i \propto |s_i|`, and :meth:`resvd_` every few rounds to re-orthogonalise.

    Args:
        in_features, out_features: input and output widths.
        rank: number r of vector pairs trained per step, ``1 <= r <= min(in, out)``.
        bias: whether to learn an additive bias.
        enhanced_gradient: see :func:`sst_linear`.
        generator: seed or ``torch.Generator`` of the initialisation and the first sample (CPU draws).
        device, dtype: of the parameters.

    Shapes: ``(..., in_features) -> (..., out_features)``; U (out, m), S (m,), V (in, m), active (r,).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rank: int,
        bias: bool = True,
        enhanced_gradient: bool = True,
        generator=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        for name, value in [("in_features", in_features), ("out_features", out_features), ("rank", rank)]:
            check_positive(name, value, integer=True)
        full = min(in_features, out_features)
        if rank > full:
            raise ValueError(f"rank must be <= min(in_features, out_features) = {full}, got {rank}")
        for name, value in [("bias", bias), ("enhanced_gradient", enhanced_gradient)]:
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be a bool, got {value!r}")
        generator = as_generator(generator)
        dtype = dtype if dtype is not None else torch.get_default_dtype()
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default scale
        weight = (2 * torch.rand(out_features, in_features, generator=generator, dtype=dtype) - 1) * bound
        u, s, vh = torch.linalg.svd(weight, full_matrices=False)
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        self.enhanced_gradient = enhanced_gradient
        self.U = nn.Parameter(u.to(device))  # (out, m)
        self.S = nn.Parameter(s.to(device))  # (m,)
        self.V = nn.Parameter(vh.T.contiguous().to(device))  # (in, m)
        if bias:
            values = (2 * torch.rand(out_features, generator=generator, dtype=dtype) - 1) * bound
            self.bias = nn.Parameter(values.to(device))
        else:
            self.bias = None
        self.register_buffer("active", torch.arange(rank, device=device))
        self.resample_(generator)

    @property
    def weight(self) -> torch.Tensor:
        """The dense (out_features, in_features) weight :math:`U \\operatorname{diag}(s) V^\\top`."""
        return (self.U * self.S) @ self.V.T

    @torch.no_grad()
    def resample_(self, generator=None) -> torch.Tensor:
        """Draw the ``rank`` trained pairs without replacement, :math:`p_i \\propto |s_i|`; returns them."""
        weights = self.S.detach().abs().cpu().double() + torch.finfo(torch.float64).tiny  # (m,)
        chosen = torch.multinomial(
            weights / weights.sum(), self.rank, replacement=False, generator=as_generator(generator)
        )
        self.active.copy_(chosen.sort().values.to(self.active.device))
        return self.active

    @torch.no_grad()
    def resvd_(self) -> None:
        """Replace U, S, V by the SVD of the current weight (orthonormal factors, sorted non-negative S)."""
        u, s, vh = torch.linalg.svd(self.weight, full_matrices=False)
        self.U.copy_(u)
        self.S.copy_(s)
        self.V.copy_(vh.T)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        return sst_linear(x, self.U, self.S, self.V, self.active, self.bias, self.enhanced_gradient)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, rank={self.rank}, "
            f"bias={self.bias is not None}, enhanced_gradient={self.enhanced_gradient}"
        )

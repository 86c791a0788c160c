"""Straight-through factorizer: learn a dense-sparse factorization end-to-end on the task loss.

Instead of factorizing a trained weight once (task-unaware) and then fine-tuning the factors, the layer
keeps a latent dense weight W and, at every training step, refreshes its factorization :math:`W \\approx S D`
(S row-sparse, see :class:`DenseSparseLinear`) by one warm-started alternating step. The forward pass
uses the factorized weight, and the backward pass hands its gradient straight through to W,

.. math:: y = x \\hat W^\\top + b,\\quad \\hat W = S D \\approx W,\\quad
          \\frac{\\partial L}{\\partial W} := \\frac{\\partial L}{\\partial \\hat W},

so the sparse support can change during training wherever the task pulls W. From "DSFormer: Effective
Compression of Text-Transformers by Dense-Sparse Weight Factorization".
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive
from paperlab.solvers.dense_sparse_factorization import dense_sparse_factorize, sparse_code_columns

from .dense_sparse_linear import DenseSparseLinear


class STFLinear(nn.Module):
    """A linear layer trained through its dense-sparse factorization (straight-through gradient).

    Args:
        linear: the trained ``nn.Linear`` to compress; its weight becomes the latent W (copied).
        n_atoms: k atoms of the dense basis, ``1 <= k <= min(in, out)``.
        n_nonzero: n non-zeros per column of S, ``1 <= n <= k``.
        n_iter_init: alternating iterations of the initial (task-unaware) factorization.

    Shapes: ``(..., in) -> (..., out)``; ``weight`` (out, in), ``sparse``/``mask`` (out, k), ``dense`` (k, in).
    In training mode every forward refreshes the factors from the current W; in eval mode it uses them.
    """

    def __init__(self, linear: nn.Linear, n_atoms: int, n_nonzero: int, n_iter_init: int = 10):
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
        check_positive("n_nonzero", n_nonzero, integer=True)
        weight = linear.weight.detach()
        fit = dense_sparse_factorize(weight.T, n_atoms, n_nonzero, n_iter=n_iter_init)  # W^T = D S
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.n_atoms, self.n_nonzero = n_atoms, n_nonzero
        self.weight = nn.Parameter(weight.clone())  # (out, in), the latent dense weight
        self.bias = nn.Parameter(linear.bias.detach().clone()) if linear.bias is not None else None
        self.register_buffer("sparse", fit.sparse.T.contiguous())  # (out, k)
        self.register_buffer("mask", fit.mask.T.contiguous())  # (out, k)
        self.register_buffer("dense", fit.dense.T.contiguous())  # (k, in)

    @torch.no_grad()
    def refresh_(self) -> None:
        """One alternating step from the current factors: re-code S (support may move), then D = S^+ W."""
        codes, mask = sparse_code_columns(self.weight.T, self.dense.T, self.n_nonzero, n_refine=0)  # (k, out)
        self.sparse, self.mask = codes.T.contiguous(), mask.T.contiguous()  # (out, k)
        self.dense = torch.linalg.pinv(self.sparse) @ self.weight  # (k, in)

    @property
    def factorized_weight(self) -> torch.Tensor:
        """The (out, in) product S D the forward pass uses (no gradient)."""
        return self.sparse @ self.dense

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        if self.training:
            self.refresh_()
        straight_through = (
            self.weight + (self.factorized_weight - self.weight).detach()
        )  # value S D, grad to W
        out = x @ straight_through.T  # (..., out)
        return out + self.bias if self.bias is not None else out

    def to_dense_sparse(self) -> DenseSparseLinear:
        """The compressed layer with the current factors (and bias), for inference or further fine-tuning."""
        bias = self.bias.detach() if self.bias is not None else None
        return DenseSparseLinear(self.sparse, self.mask, self.dense, bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, n_atoms={self.n_atoms}, "
            f"n_nonzero={self.n_nonzero}, bias={self.bias is not None}"
        )

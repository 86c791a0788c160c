"""Tensor-train matrices (TT-matrices): a dense (M, N) weight stored as a chain of small 4-D cores.

With :math:`M = \\prod_k m_k` and :math:`N = \\prod_k n_k`, row index :math:`i \\leftrightarrow (i_1, \\dots, i_K)`
and column index :math:`j \\leftrightarrow (j_1, \\dots, j_K)` (row-major), the matrix is

.. math:: W[i, j] = G_1[:, i_1, j_1, :]\\, G_2[:, i_2, j_2, :] \\cdots G_K[:, i_K, j_K, :],

with cores :math:`G_k \\in \\mathbb{R}^{r_{k-1} \\times m_k \\times n_k \\times r_k}` and :math:`r_0 = r_K = 1`.
It stores :math:`\\sum_k r_{k-1} m_k n_k r_k` numbers instead of :math:`M N`. This is the layer format of
"LoRETTA: Low-Rank Economic Tensor-Train Adaptation for Ultra-Low-Parameter Fine-Tuning of Large
Language Models" (and of tensorly's ``tt_matrix``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.solvers.tensor_train import tt_svd


def balanced_factors(n: int, n_factors: int) -> tuple[int, ...]:
    """Split ``n`` into ``n_factors`` integer factors as equal as the prime factorization allows.

    Primes are placed largest first, each into the currently smallest factor; the result is sorted in
    decreasing order, e.g. ``balanced_factors(32, 2) == (8, 4)``, ``balanced_factors(7, 2) == (7, 1)``.
    """
    check_positive("n", n, integer=True)
    check_positive("n_factors", n_factors, integer=True)
    primes, rest, p = [], n, 2
    while p * p <= rest:
        while rest % p == 0:
            primes.append(p)
            rest //= p
        p += 1
    if rest > 1:
        primes.append(rest)
    factors = [1] * n_factors
    for prime in sorted(primes, reverse=True):
        factors[factors.index(min(factors))] *= prime
    return tuple(sorted(factors, reverse=True))


def _check_cores(cores) -> list[torch.Tensor]:
    if isinstance(cores, torch.Tensor) or not isinstance(cores, Sequence) or len(cores) == 0:
        raise TypeError(f"cores must be a non-empty list of 4-D tensors, got {type(cores).__name__}")
    for k, core in enumerate(cores):
        check_tensor(f"cores[{k}]", core, dim=4, floating=True, finite=False)
    return list(cores)


def tt_matrix_to_matrix(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    r"""The dense (prod m_k, prod n_k) matrix of a TT-matrix with cores (r_{k-1}, m_k, n_k, r_k).

    Contracts one core at a time while keeping row and column modes apart, so the result is built
    directly in (row, column) order: after core k the partial product has shape
    :math:`(m_1 \cdots m_k, n_1 \cdots n_k, r_k)`. Differentiable in the cores.
    """
    cores = _check_cores(cores)
    if cores[0].shape[0] != 1 or cores[-1].shape[3] != 1:
        raise ValueError(
            f"the first core must start and the last end with rank 1, got shapes "
            f"{tuple(cores[0].shape)} and {tuple(cores[-1].shape)}"
        )
    result = cores[0].new_ones(1, 1, 1)  # (M_k, N_k, r_k) with M_0 = N_0 = r_0 = 1
    for k, core in enumerate(cores):
        rank, m, n, next_rank = core.shape
        rows, columns, previous_rank = result.shape
        if previous_rank != rank:
            raise ValueError(
                f"cores[{k}] must start with rank {previous_rank}, got shape {tuple(core.shape)}"
            )
        product = result.reshape(rows * columns, rank) @ core.reshape(rank, m * n * next_rank)
        product = product.reshape(rows, columns, m, n, next_rank)  # (M, N, m_k, n_k, r_k)
        result = product.permute(0, 2, 1, 3, 4).reshape(
            rows * m, columns * n, next_rank
        )  # (M m_k, N n_k, r_k)
    return result[..., 0]


def _check_shape(name: str, shape) -> tuple[int, ...]:
    if isinstance(shape, int) or not isinstance(shape, Sequence) or len(shape) == 0:
        raise ValueError(f"{name} must be a non-empty sequence of positive ints, got {shape!r}")
    for k, size in enumerate(shape):
        check_positive(f"{name}[{k}]", size, integer=True)
    return tuple(shape)


class TTMatrix(nn.Module):
    r"""A trainable (M, N) matrix in tensor-train format, used as a linear map :math:`y = x W^\top`.

    The cores start Gaussian with a common scale chosen so that every entry of W has standard deviation
    ``init_std`` (the variance of a product of K independent cores summed over the inner ranks is
    :math:`s^{2K} \prod_k r_k`). With ``zero_last=True`` the last core starts at zero, so W = 0 while the
    gradient still reaches that core.

    Args:
        out_shape: :math:`(m_1, \dots, m_K)`, product M.
        in_shape: :math:`(n_1, \dots, n_K)`, product N, same length K.
        rank: the inner TT ranks, an int (all equal) or K - 1 ints.
        init_std: target standard deviation of W's entries, > 0.
        zero_last: start the last core at zero.
        generator: seed or ``torch.Generator``; device, dtype: of the cores.

    Shapes: ``(..., N) -> (..., M)``; ``cores[k]`` is :math:`(r_{k-1}, m_k, n_k, r_k)`.
    """

    def __init__(
        self,
        out_shape,
        in_shape,
        rank,
        init_std: float = 0.02,
        zero_last: bool = False,
        generator=None,
        device=None,
        dtype=None,
    ):
        super().__init__()
        out_shape, in_shape = _check_shape("out_shape", out_shape), _check_shape("in_shape", in_shape)
        if len(out_shape) != len(in_shape):
            raise ValueError(f"out_shape and in_shape must have the same length, got {out_shape}, {in_shape}")
        n_modes = len(out_shape)
        ranks = [rank] * (n_modes - 1) if isinstance(rank, int) else rank
        if not isinstance(ranks, Sequence) or len(ranks) != n_modes - 1:
            raise ValueError(f"rank must be an int or {n_modes - 1} ints, got {rank!r}")
        for k, r in enumerate(ranks):
            check_positive(f"rank[{k}]", r, integer=True)
        check_positive("init_std", init_std)
        generator = as_generator(generator)
        dtype = dtype if dtype is not None else torch.get_default_dtype()
        self.out_shape, self.in_shape, self.ranks = out_shape, in_shape, (1, *ranks, 1)
        self.out_features, self.in_features = math.prod(out_shape), math.prod(in_shape)
        scale = (init_std**2 / math.prod(ranks)) ** (1 / (2 * n_modes))
        cores = []
        for k in range(n_modes):
            shape = (self.ranks[k], out_shape[k], in_shape[k], self.ranks[k + 1])
            core = torch.randn(shape, generator=generator, dtype=dtype) * scale
            if zero_last and k == n_modes - 1:
                core = torch.zeros_like(core)
            cores.append(nn.Parameter(core.to(device)))
        self.cores = nn.ParameterList(cores)

    @classmethod
    def from_matrix(cls, matrix: torch.Tensor, out_shape, in_shape, max_rank=None) -> TTMatrix:
        """TT-matrix of a dense (M, N) ``matrix`` by TT-SVD (exact when ``max_rank`` does not bind)."""
        check_tensor("matrix", matrix, dim=2, floating=True)
        out_shape, in_shape = _check_shape("out_shape", out_shape), _check_shape("in_shape", in_shape)
        if len(out_shape) != len(in_shape) or matrix.shape != (math.prod(out_shape), math.prod(in_shape)):
            raise ValueError(
                f"matrix of shape {tuple(matrix.shape)} does not match out_shape={out_shape}, in_shape={in_shape}"
            )
        n_modes = len(out_shape)
        tensor = matrix.reshape(*out_shape, *in_shape)  # (m_1..m_K, n_1..n_K)
        order = [index for k in range(n_modes) for index in (k, n_modes + k)]
        paired = tensor.permute(order).reshape([m * n for m, n in zip(out_shape, in_shape)])  # (m_k n_k)_k
        cores = tt_svd(paired, max_rank=max_rank)  # (r, m_k n_k, r')
        layer = cls(
            out_shape, in_shape, [c.shape[2] for c in cores[:-1]], device=matrix.device, dtype=matrix.dtype
        )
        with torch.no_grad():
            for parameter, core, m, n in zip(layer.cores, cores, out_shape, in_shape):
                parameter.copy_(core.reshape(core.shape[0], m, n, core.shape[2]))
        return layer

    def matrix(self) -> torch.Tensor:
        """The dense (M, N) matrix W (differentiable in the cores)."""
        return tt_matrix_to_matrix(list(self.cores))

    def parameter_count(self) -> int:
        """:math:`\\sum_k r_{k-1} m_k n_k r_k`."""
        return sum(core.numel() for core in self.cores)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`x W^\\top`; the dense W is rebuilt each call (cheap next to x for adapter sizes)."""
        if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != self.in_features:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must have shape (..., {self.in_features}), got {shape}")
        return x @ self.matrix().T  # (..., M)

    def extra_repr(self) -> str:
        return f"out_shape={self.out_shape}, in_shape={self.in_shape}, ranks={self.ranks}"

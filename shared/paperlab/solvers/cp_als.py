"""CP (CANDECOMP/PARAFAC) decomposition by alternating least squares.

From "Tensor Decompositions and Applications" (2009). Each sweep updates one factor at a time by
solving the normal equations of :math:`\\min_{A_n} \\| X_{(n)} - A_n (\\odot_{m \\ne n} A_m)^\\top \\|_F`,

.. math::  A_n \\, V_n = M_n,\\qquad V_n = \\circledast_{m \\ne n} A_m^\\top A_m,\\qquad
           M_n = X_{(n)} \\, (\\odot_{m \\ne n} A_m)\\quad\\text{(the MTTKRP)},

where :math:`\\circledast` is the Hadamard product of the small (R, R) Gram matrices, solved by Cholesky.
The MTTKRP is the costly part; it never forms the full Khatri-Rao product. For a third-order tensor,
one contraction of the tensor with a single factor, :math:`X \\times_c A_c`, serves two consecutive
mode updates (:math:`A_c` is fixed during both), so a sweep costs 1.5 products with the full tensor
instead of 3. For other orders a two-level dimension tree is used: the modes are split into a left and
a right half; one large product contracts the tensor with the Khatri-Rao product of the *other* half (a
partial MTTKRP shared by every mode of the half), and each mode then only contracts a small tensor:
two products with the full tensor per sweep. Both give the iterates of the textbook algorithm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_choice, check_positive, check_tensor
from .tensor_algebra import cp_to_tensor, khatri_rao, unfold


@dataclass
class CPResult:
    """CP decomposition :math:`X \\approx [\\![w; A_0, \\dots, A_{N-1}]\\!]` with unit-norm factor columns."""

    weights: torch.Tensor  # (R,)
    factors: list[torch.Tensor]  # N matrices (I_n, R)
    errors: list[float] = field(default_factory=list)  # relative error after each sweep
    n_iter: int = 0
    converged: bool = False

    def to_tensor(self) -> torch.Tensor:
        """The reconstructed full tensor."""
        return cp_to_tensor(self.weights, self.factors)


def leading_left_singular_vectors(matrix: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` leading left singular vectors of a (rows, cols) matrix, via the smaller Gram matrix if wide."""
    if matrix.shape[1] >= 2 * matrix.shape[0]:
        eigenvalues, eigenvectors = torch.linalg.eigh(matrix @ matrix.T)  # ascending order
        return eigenvectors.flip(1)[:, :k]
    return torch.linalg.svd(matrix, full_matrices=False).U[:, :k]


def _svd_init(tensor: torch.Tensor, rank: int, generator: torch.Generator) -> list[torch.Tensor]:
    factors = []
    for mode, size in enumerate(tensor.shape):
        vectors = leading_left_singular_vectors(unfold(tensor, mode), min(rank, size))
        if size < rank:  # not enough singular vectors: fill the rest at random, as TensorLy does
            extra = torch.rand(size, rank - size, generator=generator, dtype=tensor.dtype)
            vectors = torch.cat([vectors, extra.to(tensor.device)], dim=1)
        factors.append(vectors)
    return factors


def _initial_factors(tensor: torch.Tensor, rank: int, init, seed) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    if isinstance(init, str):
        check_choice("init", init, {"svd", "random"})
        if init == "svd":
            return _svd_init(tensor, rank, generator)
        return [
            torch.rand(size, rank, generator=generator, dtype=tensor.dtype).to(tensor.device)
            for size in tensor.shape
        ]
    if isinstance(init, torch.Tensor) or not isinstance(init, Sequence) or len(init) != tensor.dim():
        raise ValueError(
            f"init must be 'svd', 'random' or a list of {tensor.dim()} factor matrices, got {init!r}"
        )
    factors = []
    for mode, factor in enumerate(init):
        check_tensor(f"init[{mode}]", factor, dim=2)
        if tuple(factor.shape) != (tensor.shape[mode], rank):
            raise ValueError(
                f"init[{mode}] must have shape {(tensor.shape[mode], rank)}, got {tuple(factor.shape)}"
            )
        if factor.dtype != tensor.dtype or factor.device != tensor.device:
            raise ValueError(
                f"init[{mode}] must match tensor's dtype and device, got {factor.dtype}, {factor.device}"
            )
        factors.append(factor.clone())
    return factors


def _contract_half(partial: torch.Tensor, factors: list[torch.Tensor], keep: int) -> torch.Tensor:
    """Contract a (R, I_a, ..., I_b) partial MTTKRP with every factor of its half except ``keep``.

    The rank index leads, so each contraction is a batch (over r) of matrix-vector products: trailing
    axes as a broadcast product summed over the last axis, leading axes as one batched product (the
    faster form of each on CPU BLAS). Returns the (I_keep, R) MTTKRP.
    """
    rank, sizes = partial.shape[0], list(partial.shape[1:])
    result = partial
    for position in reversed(range(keep + 1, len(factors))):  # trailing axes, last first
        vectors = factors[position].T.contiguous().unsqueeze(1)  # (R, 1, I_position)
        result = (result.reshape(rank, -1, sizes[position]) * vectors).sum(-1)  # (R, prod I_before)
    for position in range(keep):  # leading axes, first first
        vectors = factors[position].T.unsqueeze(1).contiguous()  # (R, 1, I_position)
        result = torch.bmm(vectors, result.reshape(rank, sizes[position], -1))  # (R, 1, prod I_after)
    return result.reshape(rank, sizes[keep]).T  # (I_keep, R)


def _contract_right_modes(matricized: torch.Tensor, factors: list[torch.Tensor]) -> torch.Tensor:
    """Partial MTTKRP over the last modes: :math:`P[r, j] = \\sum_k X_{(\\text{left})}[j, k] \\, K[k, r]`.

    ``matricized`` is the (prod I_left, prod I_right) view of the tensor and :math:`K` the Khatri-Rao
    product of the right half's factors. Computed as :math:`K^\\top X^\\top` so the result comes out
    rank-leading without a transposed copy. Returns (R, prod I_left).
    """
    return khatri_rao(factors).T.contiguous() @ matricized.T  # (R, prod I_left)


def _contract_left_modes(tensor: torch.Tensor, factors: list[torch.Tensor]) -> torch.Tensor:
    """Partial MTTKRP over the first h modes: :math:`P[r, i_h, ...] = \\sum X[i] \\prod_{m < h} A_m[i_m, r]`.

    Mode 0 first, as one matrix product on the tensor's own memory; then one batched product per mode
    on the already reduced tensor. This avoids a product with a very long inner dimension, which some
    BLAS libraries run far below their peak.
    """
    rank = factors[0].shape[1]
    partial = factors[0].T.contiguous() @ tensor.reshape(tensor.shape[0], -1)  # (R, prod I_1..)
    for mode, factor in enumerate(factors[1:], start=1):
        partial = partial.reshape(rank, tensor.shape[mode], -1)  # (R, I_mode, prod I_mode+1..)
        partial = torch.bmm(factor.T.unsqueeze(1).contiguous(), partial)  # (R, 1, prod I_mode+1..)
    return partial.reshape(rank, *tensor.shape[len(factors) :])  # (R, I_h, ..., I_{N-1})


def _solve_gram(gram: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """Solve :math:`A V = M` for the (I, R) matrix A, with V the (R, R) symmetric Gram product and M = ``rhs``.

    By Cholesky, :math:`V = L L^\\top` (half the work of an LU solve). If V is numerically
    singular (collinear or zero factor columns), i.e. the factorization fails or a pivot
    :math:`L_{kk}^2` falls below :math:`R \\, \\epsilon \\max_k V_{kk}`, by its pseudo-inverse instead.
    Reading that verdict is one scalar transfer per call on a GPU, like the error check of a general
    solve. Returns (I, R).
    """
    lower, info = torch.linalg.cholesky_ex(gram)
    tolerance = gram.shape[0] * torch.finfo(gram.dtype).eps * gram.diagonal().max()
    if bool((info == 0) & (lower.diagonal().square().min() > tolerance)):
        return torch.cholesky_solve(rhs.T, lower).T  # (I, R)
    return rhs @ torch.linalg.pinv(gram, hermitian=True)  # (I, R)


def _tree_sweep(tensor: torch.Tensor, factors: list[torch.Tensor]):
    """Yield ``(mode, MTTKRP)`` for modes 0..N-1 from a two-level dimension tree: two full contractions.

    ``factors`` is read at each step, so the caller's update of a mode is seen by the next ones.
    """
    ndim, shape, rank = tensor.dim(), tuple(tensor.shape), factors[0].shape[1]
    split = math.ceil(ndim / 2)  # left half: modes [0, split), right half: [split, ndim)
    matricized = tensor.reshape(math.prod(shape[:split]), -1)  # (prod I_left, prod I_right), a view
    for half in (range(split), range(split, ndim)):
        if half.start == 0:  # contract with the right half's factors, kept fixed while updating the left
            partial = _contract_right_modes(matricized, factors[split:])  # (R, prod I_left)
            partial = partial.reshape(rank, *shape[:split])  # (R, I_0, ..., I_{split-1})
        else:
            partial = _contract_left_modes(tensor, factors[:split])  # (R, I_split, ..., I_{N-1})
        for mode in half:
            yield mode, _contract_half(partial, factors[half.start : half.stop], mode - half.start)


class _PairedThirdOrderMTTKRP:
    """MTTKRPs of a third-order tensor, one full contraction shared by two consecutive mode updates.

    Updating mode a needs :math:`X \\times_b A_b \\times_c A_c`. The contraction :math:`T = X \\times_c A_c`
    with the factor updated just before serves mode a and then mode a + 1, because :math:`A_c` does not
    change in between; the next one contracts with :math:`A_a`. Over the sweeps this costs 1.5 full
    contractions per sweep, against 2 for the dimension tree and 3 for one MTTKRP per mode (the idea of
    multi-sweep dimension trees), with the same iterates.
    """

    def __init__(self, tensor: torch.Tensor):
        self.tensor = tensor
        self.contracted_mode: int | None = None
        self.intermediate: torch.Tensor | None = None  # T, 3 axes: the rank and the two modes other than c
        self.axes: tuple = ()  # T's axes in memory order: "r" for the rank, an int for a tensor mode

    def _contract(self, factor: torch.Tensor, mode: int) -> None:
        """:math:`T = X \\times_c A_c`, each mode in the layout its matrix product runs fastest in on CPU BLAS."""
        i0, i1, i2 = self.tensor.shape
        transposed = factor.T.contiguous()  # (R, I_mode)
        if mode == 0:
            self.intermediate = (transposed @ self.tensor.reshape(i0, i1 * i2)).reshape(-1, i1, i2)
            self.axes = ("r", 1, 2)  # (R, I_1, I_2)
        elif mode == 1:  # one (R, I_1) @ (I_1, I_2) product per i_0
            self.intermediate = torch.matmul(transposed, self.tensor)  # (I_0, R, I_2)
            self.axes = (0, "r", 2)
        else:
            self.intermediate = (self.tensor.reshape(i0 * i1, i2) @ transposed.T).reshape(i0, i1, -1)
            self.axes = (0, 1, "r")  # (I_0, I_1, R)
        self.contracted_mode = mode

    def sweep(self, factors: list[torch.Tensor]):
        """Yield ``(mode, MTTKRP)`` for modes 0, 1, 2, reading ``factors`` at each step."""
        for mode in range(3):
            if self.contracted_mode is None or self.contracted_mode == mode:
                previous = (mode - 1) % 3  # updated last, so it stays fixed for this mode and the next
                self._contract(factors[previous], previous)
            other = 3 - mode - self.contracted_mode
            axis, rank_axis = self.axes.index(other), self.axes.index("r")
            vectors = factors[other] if axis < rank_axis else factors[other].T  # in T's axis order
            broadcast = [1, 1, 1]
            broadcast[axis], broadcast[rank_axis] = factors[other].shape
            vectors = vectors.contiguous().reshape(broadcast)  # (I_other, R) on T's axes, 1 elsewhere
            mttkrp = (self.intermediate * vectors).sum(axis)  # (I_mode, R) or (R, I_mode)
            yield mode, (mttkrp if self.axes.index(mode) < rank_axis else mttkrp.T)  # (I_mode, R)


def _normalize_columns(factor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    norms = torch.linalg.vector_norm(factor, dim=0)
    safe = torch.where(norms > 0, norms, 1.0)
    return factor / safe, norms


def cp_als(
    tensor: torch.Tensor,
    rank: int,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init="svd",
    seed: int | None = None,
) -> CPResult:
    """Rank-``rank`` CP decomposition of ``tensor`` by alternating least squares.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        rank: number of rank-one components R >= 1.
        n_iter_max: maximum number of sweeps over all modes.
        tol: stop when the relative error changes by less than ``tol`` between sweeps (0 runs every sweep).
        init: ``"svd"`` (leading singular vectors of each unfolding), ``"random"`` (uniform [0, 1)) or a
            list of N initial factors (I_n, R), for instance to start two implementations identically.
        seed: seed of the random draws (random init, or SVD init when I_n < R).
    Returns:
        :class:`CPResult` with weights (R,), unit-norm factors (I_n, R), errors :math:`\\|X - \\hat X\\|_F /
        \\|X\\|_F` after each sweep, n_iter and converged. The errors come from the expansion
        :math:`\\|X\\|^2 - 2 \\langle X, \\hat X \\rangle + \\|\\hat X\\|^2` with quantities the sweep already has (as
        in TensorLy), so they are accurate to about the square root of the dtype's machine epsilon.
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    check_positive("rank", rank, integer=True)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    norm_tensor = torch.linalg.vector_norm(tensor)
    if norm_tensor == 0:
        raise ValueError("tensor must not be all zeros: its relative reconstruction error is undefined")

    ndim = tensor.dim()
    factors = _initial_factors(tensor, rank, init, seed)
    factors = [_normalize_columns(f)[0] for f in factors]
    weights = torch.ones(rank, dtype=tensor.dtype, device=tensor.device)
    grams = [f.T @ f for f in factors]  # (R, R) each
    paired = _PairedThirdOrderMTTKRP(tensor) if ndim == 3 else None

    errors: list = []
    converged = False
    n_iter = 0
    for n_iter in range(1, n_iter_max + 1):
        sweep = paired.sweep(factors) if paired is not None else _tree_sweep(tensor, factors)
        for mode, mttkrp in sweep:  # (I_mode, R)
            others = [grams[other] for other in range(ndim) if other != mode]
            gram_product = others[0] if ndim == 2 else others[0] * others[1]  # (R, R)
            for gram in others[2:]:
                gram_product = gram_product * gram
            solution = _solve_gram(gram_product, mttkrp)  # (I_mode, R)
            factors[mode], weights = _normalize_columns(solution)
            grams[mode] = factors[mode].T @ factors[mode]

        # ||X - Xhat||^2 = ||X||^2 - 2 <X, Xhat> + ||Xhat||^2, with <X, Xhat> from the last MTTKRP
        inner = (weights * (mttkrp * factors[-1]).sum(0)).sum()
        model_norm_sq = weights @ (gram_product * grams[-1]) @ weights
        squared = norm_tensor**2 - 2 * inner + model_norm_sq
        errors.append(torch.sqrt(squared.clamp_min(0)) / norm_tensor)
        if tol > 0 and n_iter >= 2 and float((errors[-2] - errors[-1]).abs()) < tol:  # one transfer
            converged = True
            break

    return CPResult(
        weights=weights,
        factors=factors,
        errors=torch.stack(errors).tolist(),
        n_iter=n_iter,
        converged=converged,
    )

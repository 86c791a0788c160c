"""Tucker decomposition by higher-order orthogonal iteration (HOOI).

From "Tensor Decompositions and Applications" (2009). HOOI looks for orthonormal factors
:math:`A_n \\in \\mathbb{R}^{I_n \\times R_n}` maximizing :math:`\\|X \\times_0 A_0^\\top \\cdots
\\times_{N-1} A_{N-1}^\\top\\|_F`; with them fixed, the best core is :math:`G = X \\times_0 A_0^\\top
\\cdots` and the error is :math:`\\|X - [\\![G; A]\\!]\\|_F^2 = \\|X\\|_F^2 - \\|G\\|_F^2`. Each factor in turn
becomes the :math:`R_n` leading left singular vectors of the mode-n unfolding of
:math:`Y = X \\times_{m \\ne n} A_m^\\top`.

As in :mod:`cp_als`, the projections share work through a two-level dimension tree: the tensor is
projected once onto the factors of the other half of the modes, which stay fixed while a half is
updated, so a sweep makes two passes over the full tensor instead of one per mode, and the core comes
from the last partial projection at almost no cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_choice, check_positive, check_tensor
from .cp_als import leading_left_singular_vectors
from .tensor_algebra import tucker_to_tensor, unfold


@dataclass
class TuckerResult:
    """Tucker decomposition :math:`X \\approx G \\times_0 A_0 \\cdots \\times_{N-1} A_{N-1}`, orthonormal factors."""

    core: torch.Tensor  # (R_0, ..., R_{N-1})
    factors: list[torch.Tensor]  # N matrices (I_n, R_n)
    errors: list[float] = field(default_factory=list)  # relative error after each sweep
    n_iter: int = 0
    converged: bool = False

    def to_tensor(self) -> torch.Tensor:
        """The reconstructed full tensor."""
        return tucker_to_tensor(self.core, self.factors)


def _project(tensor: torch.Tensor, factors: list[torch.Tensor], modes) -> torch.Tensor:
    """:math:`X \\times_m A_m^\\top` for every m in ``modes``; the other axes keep their sizes.

    The first or last axis goes first when it is among ``modes``: contracting it is a plain matrix
    product on the tensor's memory, with no copy, and every later product works on a smaller tensor.
    """
    modes = sorted(modes)
    order = modes if modes and modes[0] == 0 else modes[::-1]
    last = tensor.dim() - 1
    for mode in order:
        if mode == last:
            tensor = torch.tensordot(tensor, factors[mode], dims=([mode], [0]))  # (..., R_mode)
        else:
            tensor = torch.tensordot(factors[mode], tensor, dims=([0], [mode])).movedim(0, mode)
    return tensor


def _check_ranks(ranks, shape: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(ranks, int) and not isinstance(ranks, bool):
        ranks = (ranks,) * len(shape)
    if not isinstance(ranks, Sequence) or len(ranks) != len(shape):
        raise ValueError(
            f"ranks must be an int or a sequence of {len(shape)} ints (one per mode), got {ranks!r}"
        )
    for mode, (rank, size) in enumerate(zip(ranks, shape)):
        check_positive(f"ranks[{mode}]", rank, integer=True)
        if rank > size:
            raise ValueError(f"ranks[{mode}] must be <= the mode size {size}, got {rank}")
    return tuple(ranks)


def _initial_factors(tensor: torch.Tensor, ranks, init, seed) -> list[torch.Tensor]:
    if isinstance(init, str):
        check_choice("init", init, {"svd", "random"})
        if init == "svd":  # truncated higher-order SVD
            return [leading_left_singular_vectors(unfold(tensor, n), r) for n, r in enumerate(ranks)]
        generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
        draws = [
            torch.randn(size, r, generator=generator, dtype=tensor.dtype)
            for size, r in zip(tensor.shape, ranks)
        ]
        return [torch.linalg.qr(d).Q.to(tensor.device) for d in draws]
    if isinstance(init, torch.Tensor) or not isinstance(init, Sequence) or len(init) != tensor.dim():
        raise ValueError(
            f"init must be 'svd', 'random' or a list of {tensor.dim()} factor matrices, got {init!r}"
        )
    factors = []
    for mode, factor in enumerate(init):
        check_tensor(f"init[{mode}]", factor, dim=2)
        expected = (tensor.shape[mode], ranks[mode])
        if tuple(factor.shape) != expected:
            raise ValueError(f"init[{mode}] must have shape {expected}, got {tuple(factor.shape)}")
        if factor.dtype != tensor.dtype or factor.device != tensor.device:
            raise ValueError(
                f"init[{mode}] must match tensor's dtype and device, got {factor.dtype}, {factor.device}"
            )
        factors.append(factor.clone())
    return factors


def tucker_hooi(
    tensor: torch.Tensor,
    ranks,
    n_iter_max: int = 100,
    tol: float = 1e-8,
    init="svd",
    seed: int | None = None,
) -> TuckerResult:
    """Rank-(R_0, ..., R_{N-1}) Tucker decomposition of ``tensor`` by HOOI.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        ranks: an int (the same for every mode) or N ints with 1 <= R_n <= I_n.
        n_iter_max: maximum number of sweeps.
        tol: stop when the relative error changes by less than ``tol`` between sweeps (0 runs every sweep).
        init: ``"svd"`` (truncated HOSVD), ``"random"`` (random orthonormal) or a list of N (I_n, R_n) factors.
        seed: seed of the random init.
    Returns:
        :class:`TuckerResult` with core (R_0, ..., R_{N-1}), orthonormal factors (I_n, R_n), relative errors
        :math:`\\|X - \\hat X\\|_F / \\|X\\|_F` after each sweep (from :math:`\\|X\\|^2 - \\|G\\|^2`, so accurate to
        about the square root of machine epsilon), n_iter and converged.
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    shape = tuple(tensor.shape)
    ranks = _check_ranks(ranks, shape)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    norm_tensor = torch.linalg.vector_norm(tensor)
    if norm_tensor == 0:
        raise ValueError("tensor must not be all zeros: its relative reconstruction error is undefined")

    ndim = tensor.dim()
    factors = _initial_factors(tensor, ranks, init, seed)
    left, right = range(math.ceil(ndim / 2)), range(math.ceil(ndim / 2), ndim)
    errors: list = []
    converged = False
    n_iter = 0
    for n_iter in range(1, n_iter_max + 1):
        for half, other in ((left, right), (right, left)):
            partial = _project(tensor, factors, other)  # half's axes full size, the others reduced to R_m
            for mode in half:
                projected = _project(partial, factors, [m for m in half if m != mode])
                factors[mode] = leading_left_singular_vectors(unfold(projected, mode), ranks[mode])
        core = _project(partial, factors, right)  # (R_0, ..., R_{N-1})
        squared = norm_tensor**2 - torch.linalg.vector_norm(core) ** 2
        errors.append(torch.sqrt(squared.clamp_min(0)) / norm_tensor)
        if tol > 0 and n_iter >= 2 and abs(float(errors[-2]) - float(errors[-1])) < tol:
            converged = True
            break

    return TuckerResult(
        core=core, factors=factors, errors=torch.stack(errors).tolist(), n_iter=n_iter, converged=converged
    )

"""Low-rank matrix factorizations: truncated SVD, randomized SVD and CUR.

The randomized SVD follows "Finding structure with randomness: Probabilistic algorithms for
constructing approximate matrix decompositions" (2011): sketch the range with a Gaussian test matrix,
:math:`Y = (A A^\\top)^q A \\Omega`, orthonormalize :math:`Q = \\operatorname{qr}(Y)`, and take the exact SVD
of the small matrix :math:`Q^\\top A`. CUR follows "CUR matrix decompositions for improved data analysis"
(2009): pick columns and rows by their rank-k leverage scores and set :math:`U = C^+ A R^+`, the
Frobenius-optimal middle factor for the chosen C and R.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

from .._checks import check_choice, check_positive, check_tensor


class SVD(NamedTuple):
    """Thin SVD :math:`A \\approx U \\operatorname{diag}(S) V^h`: U (m, k), S (k,) descending, Vh (k, n)."""

    U: torch.Tensor
    S: torch.Tensor
    Vh: torch.Tensor


def _check_matrix_and_rank(A: torch.Tensor, rank: int) -> None:
    check_tensor("A", A, dim=2, floating=True)
    check_positive("rank", rank, integer=True)
    if rank > min(A.shape):
        raise ValueError(f"rank must be <= min(A.shape) = {min(A.shape)}, got {rank}")


def truncated_svd(A: torch.Tensor, rank: int) -> SVD:
    """The best rank-``rank`` approximation of A (Eckart-Young) from the exact thin SVD.

    Args:
        A: (m, n) floating matrix.
        rank: k with 1 <= k <= min(m, n).
    Returns:
        :class:`SVD` with U (m, k), S (k,), Vh (k, n).
    """
    _check_matrix_and_rank(A, rank)
    u, s, vh = torch.linalg.svd(A, full_matrices=False)
    return SVD(u[:, :rank], s[:rank], vh[:rank])


def randomized_svd(
    A: torch.Tensor, rank: int, n_oversamples: int = 10, n_iter: int = 4, seed: int | None = None
) -> SVD:
    """Rank-``rank`` SVD of A from a randomized range sketch with power iterations.

    .. math::  Q = \\operatorname{orth}\\big((A A^\\top)^{q} A \\Omega\\big),\\quad
               \\Omega \\in \\mathbb{R}^{n \\times (k + p)},\\quad Q^\\top A = \\tilde U S V^h,\\quad U = Q \\tilde U

    Every power iteration is re-orthonormalized to keep small singular directions from drowning.

    Args:
        A: (m, n) floating matrix.
        rank: k with 1 <= k <= min(m, n).
        n_oversamples: extra sketch columns p >= 0.
        n_iter: number q >= 0 of power iterations.
        seed: seed of the Gaussian test matrix.
    Returns:
        :class:`SVD` with U (m, k), S (k,), Vh (k, n).
    """
    _check_matrix_and_rank(A, rank)
    check_positive("n_oversamples", n_oversamples, integer=True, allow_zero=True)
    check_positive("n_iter", n_iter, integer=True, allow_zero=True)
    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    width = min(rank + n_oversamples, min(A.shape))
    test = torch.randn(A.shape[1], width, generator=generator, dtype=A.dtype).to(A.device)  # (n, k + p)
    basis = torch.linalg.qr(A @ test).Q  # (m, k + p)
    for _ in range(n_iter):
        basis = torch.linalg.qr(A.T @ basis).Q  # (n, k + p)
        basis = torch.linalg.qr(A @ basis).Q  # (m, k + p)
    small_u, s, vh = torch.linalg.svd(basis.T @ A, full_matrices=False)  # (k + p, n) problem
    return SVD((basis @ small_u)[:, :rank], s[:rank], vh[:rank])


@dataclass
class CURResult:
    """CUR decomposition :math:`A \\approx C U R` built from actual columns and rows of A."""

    C: torch.Tensor  # (m, c) = A[:, column_indices]
    U: torch.Tensor  # (c, r)
    R: torch.Tensor  # (r, n) = A[row_indices]
    column_indices: torch.Tensor  # (c,)
    row_indices: torch.Tensor  # (r,)

    def to_matrix(self) -> torch.Tensor:
        """The (m, n) approximation C U R."""
        return self.C @ self.U @ self.R


def _pick_by_leverage(leverage: torch.Tensor, count: int, method: str, generator) -> torch.Tensor:
    if method == "top":
        return torch.topk(leverage, count).indices.sort().values
    floored = leverage + torch.finfo(leverage.dtype).eps  # zero scores stay drawable, so count is reachable
    probabilities = (floored / floored.sum()).cpu()
    return (
        torch.multinomial(probabilities, count, replacement=False, generator=generator)
        .sort()
        .values.to(leverage.device)
    )


def cur(
    A: torch.Tensor,
    rank: int,
    n_columns: int | None = None,
    n_rows: int | None = None,
    method: str = "leverage",
    seed: int | None = None,
) -> CURResult:
    """CUR decomposition of A with columns and rows chosen by rank-``rank`` leverage scores.

    The leverage score of column j is :math:`\\ell_j = \\|V_k^h[:, j]\\|^2` (and of row i,
    :math:`\\|U_k[i]\\|^2`), where :math:`U_k, V_k^h` are the top-k singular vectors; the middle factor is
    :math:`U = C^+ A R^+`, so the result is exact when C and R span A's column and row spaces.

    Args:
        A: (m, n) floating matrix.
        rank: k with 1 <= k <= min(m, n), the rank the leverage scores refer to.
        n_columns: number c of columns to keep, k <= c <= n (default min(2k, n)).
        n_rows: number r of rows to keep, k <= r <= m (default min(2k, m)).
        method: ``"leverage"`` samples without replacement with probability proportional to the scores;
            ``"top"`` keeps the highest scores (deterministic).
        seed: seed of the sampling.
    Returns:
        :class:`CURResult` with C (m, c), U (c, r), R (r, n) and the chosen indices.
    """
    _check_matrix_and_rank(A, rank)
    check_choice("method", method, {"leverage", "top"})
    m, n = A.shape
    n_columns = min(2 * rank, n) if n_columns is None else n_columns
    n_rows = min(2 * rank, m) if n_rows is None else n_rows
    for name, value, limit in (("n_columns", n_columns, n), ("n_rows", n_rows, m)):
        check_positive(name, value, integer=True)
        if not rank <= value <= limit:
            raise ValueError(f"{name} must lie in [rank, {limit}] = [{rank}, {limit}], got {value}")
    generator = torch.Generator().manual_seed(seed if seed is not None else torch.seed())
    top = truncated_svd(A, rank)
    column_indices = _pick_by_leverage((top.Vh**2).sum(0), n_columns, method, generator)
    row_indices = _pick_by_leverage((top.U**2).sum(1), n_rows, method, generator)
    C, R = A[:, column_indices], A[row_indices]
    middle = torch.linalg.pinv(C) @ A @ torch.linalg.pinv(R)  # (c, r)
    return CURResult(C=C, U=middle, R=R, column_indices=column_indices, row_indices=row_indices)

"""Dense-sparse factorization :math:`W \\approx D S`: a small dense basis times column-sparse codes.

Each column of an (out, in) weight is written as a combination of at most ``n_nonzero`` of ``n_atoms``
dense basis vectors (the columns of D), i.e. S has exactly ``n_nonzero`` non-zeros per column, a
semi-structured pattern. With ``n_nonzero = n_atoms`` this is a rank-``n_atoms`` factorization; with fewer
non-zeros the same parameter budget buys more atoms, hence a product of higher rank. Fitted by
alternating minimisation: sparse coding of every column with D fixed (least squares on the best
support, found by hard thresholding pursuit), then :math:`D = W S^+`.
From "DSFormer: Effective Compression of Text-Transformers by Dense-Sparse Weight Factorization".
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .._checks import check_positive, check_tensor


@dataclass
class DenseSparseFactorization:
    """:math:`W \\approx D S` with D (out, k) dense and S (k, in) holding ``n_nonzero`` non-zeros per column."""

    dense: torch.Tensor  # (out, k)
    sparse: torch.Tensor  # (k, in), zero outside mask
    mask: torch.Tensor  # (k, in) bool, n_nonzero True per column
    error: torch.Tensor  # () relative Frobenius error ||W - D S|| / ||W||
    n_iter: int

    def to_matrix(self) -> torch.Tensor:
        """The (out, in) product D S."""
        return self.dense @ self.sparse


def dense_sparse_sizes(n_rows: int, n_columns: int, budget: int, density: float = 0.25) -> tuple[int, int]:
    """Atoms k and non-zeros n per column for an (n_rows, n_columns) matrix within ``budget`` stored values.

    The factors of :math:`A \\approx D S` store :math:`\\text{n\\_rows}\\,k + \\text{n\\_columns}\\,n` values; n is
    :math:`\\max(1, \\lfloor \\text{density}\\, k \\rfloor)`. For a layer factorized as :math:`W^\\top = D S`
    pass ``(in_features, out_features)``.

    Returns:
        (n_atoms, n_nonzero) with the largest k that fits, at most ``min(n_rows, n_columns)``.
    """
    for name, value in [("n_rows", n_rows), ("n_columns", n_columns), ("budget", budget)]:
        check_positive(name, value, integer=True)
    check_positive("density", density)
    if density > 1:
        raise ValueError(f"density must be in (0, 1], got {density!r}")
    best = None
    for k in range(1, min(n_rows, n_columns) + 1):
        n = max(1, int(density * k))
        if n_rows * k + n_columns * n <= budget:
            best = (k, n)
    if best is None:
        raise ValueError(f"budget must be >= n_rows + n_columns = {n_rows + n_columns}, got {budget}")
    return best


def sparse_code_columns(
    weight: torch.Tensor, dense: torch.Tensor, n_nonzero: int, n_refine: int = 2
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Codes S with ``n_nonzero`` non-zeros per column such that :math:`D S \approx W`, column by column.

    The support of column j starts as the ``n_nonzero`` largest entries of the least-squares code
    :math:`D^+ w_j`; each refinement takes a gradient step :math:`s + D^\top (w_j - D s) / \|D\|_2^2`
    from the current code and keeps its largest entries again (hard thresholding pursuit). The values
    are the least-squares fit on the final support. Exact (the best n-sparse code) when D has
    orthonormal columns.

    Args:
        weight: (out, in) matrix W.
        dense: (out, k) basis D.
        n_nonzero: n, ``1 <= n <= k``.
        n_refine: number of support refinements (0 keeps the least-squares support).
    Returns:
        (sparse (k, in), mask (k, in) bool).
    """
    check_tensor("weight", weight, dim=2, floating=True)
    check_tensor("dense", dense, dim=2, floating=True)
    if dense.shape[0] != weight.shape[0]:
        raise ValueError(
            f"dense must have {weight.shape[0]} rows like weight, got shape {tuple(dense.shape)}"
        )
    check_positive("n_nonzero", n_nonzero, integer=True)
    if n_nonzero > dense.shape[1]:
        raise ValueError(f"n_nonzero must be <= n_atoms = {dense.shape[1]}, got {n_nonzero}")
    check_positive("n_refine", n_refine, integer=True, allow_zero=True)
    k, n_columns = dense.shape[1], weight.shape[1]
    columns = torch.arange(n_columns, device=weight.device)
    gram, correlations = dense.T @ dense, dense.T @ weight  # (k, k), (k, in)
    code = torch.linalg.lstsq(gram, correlations).solution  # (k, in), dense least-squares codes
    step = 1.0 / torch.linalg.matrix_norm(dense, ord=2).square().clamp_min(torch.finfo(dense.dtype).tiny)
    sparse = code
    for refinement in range(n_refine + 1):
        support = code.abs().topk(n_nonzero, dim=0).indices.T  # (in, n)
        sub_gram = gram[
            support.unsqueeze(-1), support.unsqueeze(-2)
        ]  # (in, n, n): Gram of each column's atoms
        sub_correlations = correlations.T.gather(1, support).unsqueeze(-1)  # (in, n, 1)
        values = torch.linalg.lstsq(sub_gram, sub_correlations).solution.squeeze(
            -1
        )  # (in, n), normal equations
        sparse = torch.zeros(k, n_columns, dtype=weight.dtype, device=weight.device)
        sparse[support.T, columns.expand_as(support.T)] = values.T
        if refinement < n_refine:
            code = sparse + step * dense.T @ (weight - dense @ sparse)  # (k, in)
    mask = torch.zeros(k, n_columns, dtype=torch.bool, device=weight.device)
    mask[support.T, columns.expand_as(support.T)] = True
    return sparse, mask


def dense_sparse_factorize(
    weight: torch.Tensor,
    n_atoms: int,
    n_nonzero: int,
    n_iter: int = 10,
    dense_init: torch.Tensor | None = None,
) -> DenseSparseFactorization:
    r"""Fit :math:`W \approx D S` by alternating sparse coding and least squares, task-unaware.

    .. math:: \min_{D, S} \|W - D S\|_F \quad\text{s.t.}\quad \|S_{:, j}\|_0 \le n \;\; \forall j

    D starts from the top-k left singular vectors scaled by the singular values (so the first sparse
    coding step starts from the best rank-k fit) unless ``dense_init`` is given; each iteration codes the
    columns (:func:`sparse_code_columns`) and refits :math:`D = W S^+`, keeping the best iterate.

    Args:
        weight: (out, in) matrix W.
        n_atoms: k, ``1 <= k <= min(out, in)``.
        n_nonzero: n, ``1 <= n <= k``.
        n_iter: number of alternating iterations (>= 1).
        dense_init: optional (out, k) starting basis (a warm start).
    Returns:
        :class:`DenseSparseFactorization`.
    """
    check_tensor("weight", weight, dim=2, floating=True)
    check_positive("n_atoms", n_atoms, integer=True)
    if n_atoms > min(weight.shape):
        raise ValueError(f"n_atoms must be <= min(weight.shape) = {min(weight.shape)}, got {n_atoms}")
    check_positive("n_iter", n_iter, integer=True)
    if dense_init is None:
        u, s, _ = torch.linalg.svd(weight, full_matrices=False)
        dense = u[:, :n_atoms] * s[:n_atoms]  # (out, k)
    else:
        check_tensor("dense_init", dense_init, dim=2, floating=True)
        if tuple(dense_init.shape) != (weight.shape[0], n_atoms):
            raise ValueError(
                f"dense_init must have shape {(weight.shape[0], n_atoms)}, got {tuple(dense_init.shape)}"
            )
        dense = dense_init
    norm = torch.linalg.matrix_norm(weight).clamp_min(torch.finfo(weight.dtype).tiny)
    best = None
    for _ in range(n_iter):
        sparse, mask = sparse_code_columns(weight, dense, n_nonzero)
        error = torch.linalg.matrix_norm(weight - dense @ sparse) / norm
        if best is None or error < best.error:
            best = DenseSparseFactorization(dense, sparse, mask, error, n_iter)
        dense = weight @ torch.linalg.pinv(sparse)  # (out, k): least squares with S fixed
    return best

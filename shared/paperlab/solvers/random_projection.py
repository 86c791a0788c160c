"""Random projections that preserve pairwise distances: Gaussian and very sparse, with the JL bound.

A random linear map $f(x) = R x$, $R \\in \\mathbb{R}^{k \\times D}$ with independent zero-mean
entries of variance 1/k, keeps every squared distance within a factor $1 \\pm \\varepsilon$ with high
probability once k is of order $\\log(n) / \\varepsilon^2$ (the Johnson-Lindenstrauss lemma). The
conventions (R is (n_components, n_features), distortion measured on squared distances) are
scikit-learn's ``sklearn.random_projection``.

Matrices are sampled on the CPU from a seeded generator and then moved, so a given seed gives the
same matrix on every device; ``seed=None`` draws from torch's global generator.
"""

from __future__ import annotations

import math

import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator

# rows of a sparse matrix are drawn in chunks of about this many entries
_CHUNK_ENTRIES = 2**22


def johnson_lindenstrauss_min_dim(n_samples: int, eps: float = 0.1) -> int:
    """Smallest safe number of components for a random projection of ``n_samples`` points.

    $$k \\ge \\frac{4 \\log n}{\\varepsilon^2 / 2 - \\varepsilon^3 / 3}$$
    For such k a Gaussian projection keeps each squared pairwise distance within $(1 \\pm \\varepsilon)$
    except with probability at most $2 / n^2$ per pair (the elementary proof's tail bound), so a
    union bound over the n(n-1)/2 pairs leaves a positive probability that all hold at once.
    Same value as ``sklearn.random_projection.johnson_lindenstrauss_min_dim`` (rounded down).

    Args:
        n_samples: number of points, >= 1.
        eps: tolerated distortion, in (0, 1).

    Returns:
        the minimal number of components (int).

    Paper: An elementary proof of a theorem of Johnson and Lindenstrauss (2003).
    """
    check_positive("n_samples", n_samples, integer=True)
    check_positive("eps", eps)
    if eps >= 1:
        raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
    return int(4 * math.log(n_samples) / (eps**2 / 2 - eps**3 / 3))


def jl_failure_bound(n_components: int, eps: float) -> float:
    """Upper bound on the probability that one pair's squared distance leaves $(1 \\pm \\varepsilon)$.

    $$P\\big[\\,|\\,\\|R u\\|^2 - \\|u\\|^2| > \\varepsilon \\|u\\|^2\\big] \\le
      2 \\exp\\!\\big(-\\tfrac{k}{2}(\\varepsilon^2/2 - \\varepsilon^3/3)\\big)$$
    for a Gaussian R with N(0, 1/k) entries; equals $2 / n^2$ at k = johnson_lindenstrauss_min_dim(n, eps).

    Paper: An elementary proof of a theorem of Johnson and Lindenstrauss (2003).
    """
    check_positive("n_components", n_components, integer=True)
    check_positive("eps", eps)
    if eps >= 1:
        raise ValueError(f"eps must lie in (0, 1), got {eps!r}")
    return min(1.0, 2 * math.exp(-n_components / 2 * (eps**2 / 2 - eps**3 / 3)))


def _check_sizes(n_components: int, n_features: int) -> None:
    check_positive("n_components", n_components, integer=True)
    check_positive("n_features", n_features, integer=True)


def gaussian_random_matrix(
    n_components: int, n_features: int, *, seed: int | None = None, dtype=None, device=None
) -> torch.Tensor:
    """Dense Gaussian projection matrix with entries $R_{ij} \\sim \\mathcal N(0, 1 / k)$, k = n_components.

    Returns:
        (n_components, n_features) tensor; ``dtype`` defaults to torch's default dtype.
    """
    _check_sizes(n_components, n_features)
    dtype = dtype or torch.get_default_dtype()
    entries = torch.randn(n_components, n_features, generator=as_generator(seed), dtype=dtype)
    return (entries / math.sqrt(n_components)).to(device)


def _resolve_density(density, n_features: int) -> float:
    if density == "auto":
        return 1.0 / math.sqrt(n_features)
    if isinstance(density, bool) or not isinstance(density, (int, float)):
        raise TypeError(f"density must be 'auto' or a number in (0, 1], got {density!r}")
    if not 0 < density <= 1:
        raise ValueError(f"density must lie in (0, 1], got {density!r}")
    return float(density)


def sparse_random_matrix(
    n_components: int, n_features: int, *, density="auto", seed: int | None = None, dtype=None, device=None
) -> torch.Tensor:
    """Very sparse projection matrix: $R_{ij} = \\pm 1 / \\sqrt{s k}$ with probability s/2 each, else 0.

    With density s = 1/sqrt(n_features) (``density="auto"``) only about $\\sqrt{D}$ entries per row are
    non-zero, yet $E[R_{ij}] = 0$ and $E[R_{ij}^2] = 1/k$ as for the Gaussian matrix. s = 1/3 gives the
    projection of "Database-friendly random projections" (2003); s = 1 a dense random-sign matrix.

    Returns:
        sparse COO tensor (n_components, n_features), coalesced; ``.to_dense()`` for a dense copy.

    Paper: Very Sparse Random Projections (2006).
    """
    _check_sizes(n_components, n_features)
    density = _resolve_density(density, n_features)
    dtype = dtype or torch.get_default_dtype()
    generator = as_generator(seed)
    chunk_rows = max(1, _CHUNK_ENTRIES // n_features)
    positions = []
    for start in range(0, n_components, chunk_rows):
        rows = min(chunk_rows, n_components - start)
        kept = torch.rand(rows, n_features, generator=generator) < density  # (rows, n_features)
        found = kept.nonzero().T  # (2, nnz in chunk), row-major order
        found[0] += start
        positions.append(found)
    indices = torch.cat(positions, dim=1)  # (2, nnz)
    signs = torch.randint(0, 2, (indices.shape[1],), generator=generator).to(dtype) * 2 - 1
    values = signs / math.sqrt(density * n_components)
    matrix = torch.sparse_coo_tensor(  # indices are unique and row-major by construction
        indices, values, (n_components, n_features), is_coalesced=True, check_invariants=False
    )
    return matrix.to(device)


def _check_projection_input(X, n_components) -> None:
    check_tensor("X", X, dim=2, floating=True)
    check_positive("n_components", n_components, integer=True)


def gaussian_random_projection(X: torch.Tensor, n_components: int, seed: int | None = None) -> torch.Tensor:
    """Project the rows of X with a Gaussian matrix: $X R^\\top$, R from :func:`gaussian_random_matrix`.

    Args:
        X: (n, D) floating-point data.
        n_components: target dimension k (see :func:`johnson_lindenstrauss_min_dim`).
        seed: seed of the matrix (same seed, same matrix); None uses torch's global generator.

    Returns:
        (n, k) projected data on X's device and dtype.
    """
    _check_projection_input(X, n_components)
    R = gaussian_random_matrix(n_components, X.shape[1], seed=seed, dtype=X.dtype, device=X.device)
    return X @ R.T


def sparse_random_projection(
    X: torch.Tensor, n_components: int, density="auto", seed: int | None = None
) -> torch.Tensor:
    """Project the rows of X with a very sparse matrix: $X R^\\top$, R from :func:`sparse_random_matrix`.

    Costs O(n k D s) instead of O(n k D): a factor $\\sqrt D$ less with the default density.

    Args:
        X: (n, D) floating-point data.
        n_components: target dimension k.
        density: fraction s of non-zero entries, "auto" = 1/sqrt(D).
        seed: seed of the matrix; None uses torch's global generator.

    Returns:
        (n, k) projected data on X's device and dtype.

    Paper: Very Sparse Random Projections (2006).
    """
    _check_projection_input(X, n_components)
    R = sparse_random_matrix(
        n_components, X.shape[1], density=density, seed=seed, dtype=X.dtype, device=X.device
    )
    # sparse @ dense is fast only for a contiguous dense factor: transpose X a block of rows at a time
    block = max(1, _CHUNK_ENTRIES // (4 * X.shape[1]))
    blocks = [torch.sparse.mm(R, X[i : i + block].T.contiguous()).T for i in range(0, X.shape[0], block)]
    return torch.cat(blocks)  # (n, k): each block is (k, D) @ (D, b), transposed

"""FastRP node embeddings: a very sparse random projection of a multi-hop, degree-normalized similarity.

With the transition matrix $\\hat A = D^{-1} A$ (D the diagonal of row sums of A) and the degree
normalization $L = \\operatorname{diag}(d_j^{\\beta})$, FastRP embeds the rows of the similarity matrix

$$S = \\sum_{k=1}^{q} \\alpha_k \\hat A^k L \\in \\mathbb{R}^{n \\times n}$$

without ever forming it: with a very sparse random matrix $R \\in \\mathbb{R}^{n \\times d}$,
$N_1 = \\hat A L R$, $N_k = \\hat A N_{k-1}$ and the embedding is $N = \\sum_k \\alpha_k N_k = S R$.
Each step is one sparse-times-dense product, so the cost is O(q · nnz(A) · d).

Adjacency matrices may be dense or sparse (COO or CSR) and live on any device; the result has the
adjacency's dtype and device.
"""

from __future__ import annotations

import math
import warnings

import torch

from paperlab._checks import all_finite
from paperlab.solvers.random_projection import sparse_random_matrix

_SPARSE_LAYOUTS = (torch.sparse_coo, torch.sparse_csr)


def _check_adjacency(adjacency) -> torch.Tensor:
    """A dense or coalesced sparse-COO copy of a valid adjacency matrix (square, floating, finite, >= 0)."""
    if not isinstance(adjacency, torch.Tensor):
        raise TypeError(f"adjacency must be a torch.Tensor (dense or sparse), got {type(adjacency).__name__}")
    if adjacency.layout not in (torch.strided, *_SPARSE_LAYOUTS):
        raise ValueError(f"adjacency must be dense, sparse COO or sparse CSR, got layout {adjacency.layout}")
    if adjacency.dim() != 2 or adjacency.shape[0] != adjacency.shape[1]:
        raise ValueError(f"adjacency must be a square (n, n) matrix, got shape {tuple(adjacency.shape)}")
    if adjacency.shape[0] == 0:
        raise ValueError("adjacency must not be empty, got shape (0, 0)")
    if not adjacency.is_floating_point():
        raise TypeError(f"adjacency must be a floating-point tensor, got dtype {adjacency.dtype}")
    if adjacency.layout == torch.sparse_csr:
        adjacency = adjacency.to_sparse_coo()
    if adjacency.layout == torch.sparse_coo:
        adjacency = adjacency.coalesce()
    entries = adjacency.values() if adjacency.is_sparse else adjacency
    if not all_finite(entries):
        raise ValueError("adjacency must contain only finite values (no NaN or inf)")
    if entries.numel() and bool((entries < 0).any()):
        raise ValueError(f"adjacency must be non-negative, got minimum {entries.min().item():.3g}")
    return adjacency


def _check_weights(weights) -> list[float]:
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or len(weights) == 0:
        raise ValueError(f"weights must be a non-empty sequence of numbers (one per power), got {weights!r}")
    for w in weights:
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w):
            raise ValueError(f"weights must hold finite numbers, got {weights!r}")
    return [float(w) for w in weights]


def _check_strength(normalization_strength) -> float:
    value = normalization_strength
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"normalization_strength must be a finite number, got {value!r}")
    return float(value)


def _degrees(adjacency: torch.Tensor) -> torch.Tensor:
    if adjacency.is_sparse:
        return torch.sparse.sum(adjacency, dim=1).to_dense()
    return adjacency.sum(dim=1)


def degrees(adjacency: torch.Tensor) -> torch.Tensor:
    """Weighted out-degrees $d_i = \\sum_j A_{ij}$ of a dense or sparse adjacency, shape (n,)."""
    return _degrees(_check_adjacency(adjacency))


def _transition(adjacency: torch.Tensor) -> torch.Tensor:
    degree = _degrees(adjacency)
    inverse = torch.where(degree > 0, 1 / degree.clamp_min(torch.finfo(degree.dtype).tiny), 0.0)  # (n,)
    if not adjacency.is_sparse:
        return adjacency * inverse[:, None]
    rows = adjacency.indices()[0]
    values = adjacency.values() * inverse[rows]
    return torch.sparse_coo_tensor(
        adjacency.indices(), values, adjacency.shape, is_coalesced=True, check_invariants=False
    )


def transition_matrix(adjacency: torch.Tensor) -> torch.Tensor:
    """Random-walk transition matrix $\\hat A = D^{-1} A$, in the adjacency's layout.

    A node without edges (d_i = 0) keeps a zero row: a walk cannot leave it.

    Args:
        adjacency: (n, n) non-negative matrix, dense or sparse.

    Returns:
        (n, n) matrix whose non-empty rows sum to 1 (sparse COO when the input is sparse).

    Paper: Fast and Accurate Network Embeddings via Very Sparse Random Projection (2019).
    """
    return _transition(_check_adjacency(adjacency))


def _degree_scaling(degree: torch.Tensor, normalization_strength: float) -> torch.Tensor:
    """The diagonal of $L = \\operatorname{diag}(d_j^{\\beta})$; isolated nodes get 0 (their column is 0)."""
    safe = torch.where(degree > 0, degree, torch.ones_like(degree))
    return torch.where(degree > 0, safe.pow(normalization_strength), torch.zeros_like(degree))


def _propagate(transition: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
    return torch.sparse.mm(transition, dense) if transition.layout == torch.sparse_coo else transition @ dense


def fastrp_similarity(
    adjacency: torch.Tensor, weights=(0, 0, 1, 1), normalization_strength: float = 0.0
) -> torch.Tensor:
    """The dense similarity matrix that FastRP projects: $S = \\sum_{k=1}^{q} \\alpha_k \\hat A^k L$.

    Dense, O(n^2) memory: meant for small graphs and for baselines that factorize S (for example a
    truncated SVD of the same similarity that FastRP projects at random).

    Args:
        adjacency: (n, n) non-negative matrix, dense or sparse.
        weights: $(\\alpha_1, \\dots, \\alpha_q)$, one weight per power of $\\hat A$.
        normalization_strength: $\\beta$ in $L = \\operatorname{diag}(d_j^{\\beta})$; 0 means L = I.

    Returns:
        dense (n, n) tensor S.

    Paper: Fast and Accurate Network Embeddings via Very Sparse Random Projection (2019).
    """
    adjacency = _check_adjacency(adjacency)
    weights, beta = _check_weights(weights), _check_strength(normalization_strength)
    transition = _transition(adjacency)
    power = torch.diag(_degree_scaling(_degrees(adjacency), beta))  # L, (n, n)
    similarity = torch.zeros_like(power)
    for alpha in weights:
        power = _propagate(transition, power)  # \hat A^k L
        similarity = similarity + alpha * power
    return similarity


def fastrp(
    adjacency: torch.Tensor,
    n_components: int = 128,
    weights=(0, 0, 1, 1),
    normalization_strength: float = 0.0,
    density="auto",
    seed=None,
    *,
    normalize_powers: bool = False,
) -> torch.Tensor:
    """FastRP node embeddings $N = \\sum_{k=1}^{q} \\alpha_k \\hat A^k L R$, computed by iteration.

    $N_1 = \\hat A (L R)$, $N_k = \\hat A N_{k-1}$, $N = \\sum_k \\alpha_k N_k$, with $\\hat A = D^{-1} A$,
    $L = \\operatorname{diag}(d_j^{\\beta})$ and R (n, d) the transpose of
    :func:`paperlab.solvers.sparse_random_matrix` (entries $\\pm 1/\\sqrt{s d}$ with probability s/2 each).
    Without ``normalize_powers`` the result equals ``fastrp_similarity(...) @ R`` exactly.

    Args:
        adjacency: (n, n) non-negative matrix, dense or sparse (COO/CSR); A_ij is the weight of edge i -> j.
        n_components: embedding dimension d >= 1.
        weights: $(\\alpha_1, \\dots, \\alpha_q)$, one weight per power of $\\hat A$ (q = len(weights)).
        normalization_strength: $\\beta$; negative values damp the influence of high-degree neighbours.
        density: fraction s of non-zero entries of R, "auto" = 1/sqrt(n).
        seed: seed of R (int, ``torch.Generator`` or None for torch's global generator).
        normalize_powers: scale each row of every $N_k$ to unit L2 norm before the weighted sum
            (an option of the authors' code, off in the paper's algorithm).

    Returns:
        (n, d) embeddings on the adjacency's device, in its dtype.

    Paper: Fast and Accurate Network Embeddings via Very Sparse Random Projection (2019).
    """
    adjacency = _check_adjacency(adjacency)
    weights, beta = _check_weights(weights), _check_strength(normalization_strength)
    n = adjacency.shape[0]
    projection = sparse_random_matrix(
        n_components, n, density=density, seed=seed, dtype=adjacency.dtype, device=adjacency.device
    )
    current = projection.t().to_dense()  # R, contiguous (n, d)
    current.mul_(_degree_scaling(_degrees(adjacency), beta)[:, None])  # L R
    transition = _transition(adjacency)
    if transition.is_sparse:
        with warnings.catch_warnings():  # torch notes once that CSR support is in beta
            warnings.filterwarnings(
                "ignore", message="Sparse CSR tensor support is in beta", category=UserWarning
            )
            transition = transition.to_sparse_csr()  # CSR times dense is the faster sparse product
    embedding = torch.zeros_like(current)
    for alpha in weights:
        current = _propagate(transition, current)  # N_k = \hat A N_{k-1}, (n, d)
        term = torch.nn.functional.normalize(current, dim=1) if normalize_powers else current
        embedding.add_(term, alpha=alpha)
    return embedding

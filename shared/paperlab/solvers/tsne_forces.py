"""The t-SNE gradient: sparse attraction along P's edges and repulsion exact or FFT-interpolated.

Efficient Algorithms for t-distributed Stochastic Neighborhood Embedding: with
$w_{ij} = (1 + \\|y_i - y_j\\|^2)^{-1}$, $Z = \\sum_{k \\ne l} w_{kl}$ and $q_{ij} = w_{ij}/Z$,

$$\\frac{\\partial\\, \\mathrm{KL}(P \\| Q)}{\\partial y_i} = 4 \\Big[\\alpha \\sum_j p_{ij} w_{ij} (y_i - y_j)
  - \\frac{1}{Z} \\sum_j w_{ij}^2 (y_i - y_j)\\Big],$$

($\\alpha$ the exaggeration). The attraction costs one pass over the non-zeros of the sparse $P$; the
repulsion is computed exactly in $O(n^2)$ (the oracle) or by interpolation (:mod:`.fft_interpolation`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch

from paperlab._checks import check_choice, check_positive, check_tensor

from .fft_interpolation import Repulsion, fft_interpolation_repulsion

# rows of the exact repulsion per block: keeps an (rows x n) block near 4 M entries
_EXACT_BLOCK_ENTRIES = 2**22


def check_affinities(P, n: int) -> torch.Tensor:
    """Return ``P`` if it is a sparse (n, n) COO or CSR tensor with non-negative values, else raise.

    A COO tensor is returned coalesced.
    """
    if not isinstance(P, torch.Tensor) or P.layout not in (torch.sparse_coo, torch.sparse_csr):
        layout = P.layout if isinstance(P, torch.Tensor) else type(P).__name__
        raise TypeError(f"P must be a sparse COO or CSR torch.Tensor, got {layout}")
    if tuple(P.shape) != (n, n):
        raise ValueError(f"P must have shape {(n, n)}, got {tuple(P.shape)}")
    if P.layout == torch.sparse_coo and not P.is_coalesced():
        P = P.coalesce()
    if bool((P.values() < 0).any()) or not bool(torch.isfinite(P.values()).all()):
        raise ValueError("P must have finite, non-negative values")
    return P


def as_csr(P: torch.Tensor) -> torch.Tensor:
    """``P`` in CSR layout (torch's "beta" warning about sparse CSR silenced)."""
    if P.layout == torch.sparse_csr:
        return P
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return P.to_sparse_csr()


def attractive_forces(
    Y: torch.Tensor, P: torch.Tensor, with_log: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""Attractive forces $F^{attr}_i = \sum_j p_{ij} w_{ij} (y_i - y_j)$ over the non-zeros of ``P``.

    With $A = P \circ W$ (sparse, same pattern as P): $F^{attr} = \mathrm{diag}(A \mathbf 1) Y - A Y$, two
    sparse products; the kernel $w_{ij}$ is evaluated on P's edges only.

    Args:
        Y: (n, d) embedding.
        P: (n, n) sparse affinities, COO or CSR (CSR avoids a conversion per call).
        with_log: also return $\sum_{ij} p_{ij} \log w_{ij}$ (a log per edge; skip it when no KL is needed).

    Returns:
        forces (n, d) and $\sum_{ij} p_{ij} \log w_{ij}$ (0-dim, or None), which the KL divergence needs.
    """
    P = as_csr(P)
    crow, cols = P.crow_indices(), P.col_indices()
    row_lengths = crow.diff()  # (n,)
    p = P.values().to(Y.dtype)
    sq_dist = torch.zeros_like(p)
    for axis in range(Y.shape[1]):  # one coordinate at a time: 1-D gathers are the cheapest
        coordinate = Y[:, axis].contiguous()
        own = torch.repeat_interleave(coordinate, row_lengths)  # (nnz,): y_i of each edge, rows sorted
        difference = own - coordinate.index_select(0, cols)  # (nnz,)
        sq_dist += difference * difference
    w = (1.0 + sq_dist).reciprocal_()  # (nnz,)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        weighted = torch.sparse_csr_tensor(crow, cols, p * w, P.shape, check_invariants=False)  # A = P o W
    with_ones = torch.cat([torch.ones_like(Y[:, :1]), Y], dim=1)  # (n, 1 + d)
    products = weighted @ with_ones  # (n, 1 + d): A 1 and A Y
    forces = Y * products[:, :1] - products[:, 1:]
    return forces, (p * w.log()).sum() if with_log else None


def exact_repulsion(Y: torch.Tensor, block_size: int | None = None) -> Repulsion:
    r"""Exact repulsive forces $\frac{1}{Z}\sum_j w_{ij}^2 (y_i - y_j)$ and $Z$, in row blocks, $O(n^2)$.

    In matrix form per block: $F^{rep} = (\mathrm{diag}(W^{\circ 2} \mathbf 1) - W^{\circ 2}) Y / Z$ with
    $w_{ii} = 0$.

    Args:
        Y: (n, d) embedding.
        block_size: rows per block (default: about 4 M kernel entries per block).

    Returns:
        :class:`Repulsion` with forces (n, d) and z.
    """
    check_tensor("Y", Y, dim=2, floating=True)
    n = Y.shape[0]
    block_size = block_size or max(1, _EXACT_BLOCK_ENTRIES // n)
    sq_norm = (Y * Y).sum(dim=1)  # (n,)
    with_ones = torch.cat([torch.ones_like(Y[:, :1]), Y], dim=1)  # (n, 1 + d)
    unnormalized, z = [], Y.new_zeros(())
    for start in range(0, n, block_size):
        rows = Y[start : start + block_size]  # (b, d)
        w = torch.addmm(sq_norm[None, :], rows, Y.T, alpha=-2)  # (b, n): ||y_j||^2 - 2 y_i . y_j
        w.add_(sq_norm[start : start + block_size, None]).clamp_min_(0).add_(1).reciprocal_()  # w_ij
        own = torch.arange(len(rows), device=Y.device)
        w[own, start + own] = 0.0
        z = z + w.sum()
        products = w.square_() @ with_ones  # (b, 1 + d): W^2 1 and W^2 Y
        unnormalized.append(rows * products[:, :1] - products[:, 1:])
    return Repulsion(forces=torch.cat(unnormalized) / z, z=z)


@dataclass
class TSNEGradient:
    """The t-SNE gradient and the by-products a solver reuses.

    Attributes:
        gradient: (n, d) $\\partial \\mathrm{KL} / \\partial Y$ (with the exaggeration applied to P).
        z: the normalisation $Z = \\sum_{i \\ne j} w_{ij}$ (0-dim tensor).
        p_log_w: $\\sum_{ij} p_{ij} \\log w_{ij}$ for the unexaggerated P (0-dim tensor), None unless asked.
    """

    gradient: torch.Tensor
    z: torch.Tensor
    p_log_w: torch.Tensor | None


def tsne_gradient(
    Y: torch.Tensor,
    P: torch.Tensor,
    exaggeration: float = 1.0,
    method: str = "fft",
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
    with_kl: bool = True,
    check_inputs: bool = True,
) -> TSNEGradient:
    r"""Gradient of $\mathrm{KL}(\alpha P \| Q)$ w.r.t. the embedding: $4(\alpha F^{attr} - F^{rep})$.

    Args:
        Y: (n, d) embedding.
        P: (n, n) sparse COO or CSR affinities (see :func:`tsne_affinities`).
        exaggeration: $\alpha > 0$, multiplies the attraction.
        method: "fft" (interpolated repulsion, d <= 2) or "exact" (O(n^2) oracle).
        n_interpolation_points, min_num_intervals, ints_in_interval: grid of the "fft" method.
        with_kl: also compute ``p_log_w`` (what the KL divergence needs beyond Z).
        check_inputs: validate the arguments (a solver that checked them once passes False: checking
            every value of P costs a pass over its non-zeros at every iteration).

    Returns:
        :class:`TSNEGradient`.
    """
    if check_inputs:
        check_tensor("Y", Y, dim=2, floating=True)
        P = check_affinities(P, Y.shape[0])
        check_positive("exaggeration", exaggeration)
        check_choice("method", method, {"fft", "exact"})
    attraction, p_log_w = attractive_forces(Y, P, with_log=with_kl)
    if method == "fft":
        repulsion = fft_interpolation_repulsion(
            Y, n_interpolation_points, min_num_intervals, ints_in_interval
        )
    else:
        repulsion = exact_repulsion(Y)
    gradient = 4.0 * (exaggeration * attraction - repulsion.forces)
    return TSNEGradient(gradient=gradient, z=repulsion.z, p_log_w=p_log_w)


def tsne_kl_divergence(P: torch.Tensor, Y: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
    r"""$\mathrm{KL}(P \| Q) = \sum_{ij} p_{ij} \log(p_{ij} / q_{ij})$, $q_{ij} = w_{ij} / Z$, over P's non-zeros.

    $= \sum p \log p - \sum p \log w + \log Z \cdot \sum p$. Terms with $p_{ij} = 0$ contribute 0.

    Args:
        P: (n, n) sparse COO or CSR affinities.
        Y: (n, d) embedding.
        z: $Z$ when already known (e.g. from the FFT repulsion); computed exactly otherwise.

    Returns:
        0-dim tensor.
    """
    check_tensor("Y", Y, dim=2, floating=True)
    P = check_affinities(P, Y.shape[0])
    if z is None:
        z = exact_repulsion(Y).z
    p = P.values().to(Y.dtype)
    p_log_p = torch.xlogy(p, p).sum()
    _, p_log_w = attractive_forces(Y, P)
    return p_log_p - p_log_w + torch.log(z) * p.sum()

"""Repulsive t-SNE forces by polynomial interpolation on an equispaced grid and FFT convolution.

Efficient Algorithms for t-distributed Stochastic Neighborhood Embedding: the sums
$\\sum_j K(y_i, y_j)\\, q_j$ over all pairs are replaced by (1) spreading each point's charges onto the
$p$ equispaced Lagrange nodes of its grid box, (2) a kernel matrix-vector product between grid nodes,
which is a Toeplitz product and costs one FFT convolution, (3) interpolating the node potentials back
to the points. The cost is $O(n p^d)$ for the points plus $O(M^d \\log M)$ for a grid of $M$ nodes per
dimension; no $n \\times n$ quantity is ever formed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from paperlab._checks import check_positive, check_tensor


@dataclass
class InterpolationGrid:
    """Where every point sits on the interpolation grid (shared by spreading and gathering).

    Attributes:
        node_index: (n, p**d) flat index of each of a point's p**d interpolation nodes in the grid.
        node_weight: (n, p**d) product of the per-dimension Lagrange weights at those nodes.
        nodes_per_dim: M, the number of grid nodes per dimension (boxes x p).
        spacing: distance between two neighbouring grid nodes.
    """

    node_index: torch.Tensor
    node_weight: torch.Tensor
    nodes_per_dim: int
    spacing: float


def lagrange_weights(t: torch.Tensor, n_interpolation_points: int) -> torch.Tensor:
    r"""Lagrange basis polynomials at the equispaced nodes $x_k = (k + 1/2)/p$ of the unit box.

    $L_k(t) = \prod_{m \ne k} (t - x_m) / (x_k - x_m)$, $k = 0, \dots, p - 1$; $\sum_k L_k(t) = 1$.

    Args:
        t: (...) relative positions in the box, in [0, 1].
        n_interpolation_points: p >= 1.

    Returns:
        (..., p) weights in t's dtype.
    """
    p = n_interpolation_points
    nodes = (torch.arange(p, dtype=t.dtype, device=t.device) + 0.5) / p  # (p,)
    gaps = nodes[:, None] - nodes[None, :]  # (p, p): x_k - x_m
    gaps.fill_diagonal_(1.0)
    offsets = t[..., None] - nodes  # (..., p): t - x_m
    weights = []
    for k in range(p):
        others = torch.cat([offsets[..., :k], offsets[..., k + 1 :]], dim=-1)  # (..., p - 1)
        weights.append(others.prod(dim=-1) / gaps[k].prod())
    return torch.stack(weights, dim=-1)


def fft_friendly(size: int) -> int:
    """Smallest integer >= ``size`` whose only prime factors are 2, 3 and 5 (fast FFT lengths)."""
    candidate = max(int(size), 1)
    while True:
        rest = candidate
        for prime in (2, 3, 5):
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return candidate
        candidate += 1


def interpolation_grid(
    Y: torch.Tensor, n_interpolation_points: int, min_num_intervals: int, ints_in_interval: float
) -> InterpolationGrid:
    """Square grid over the bounding box of ``Y``: boxes of width <= ``ints_in_interval``, p nodes per box.

    Args:
        Y: (n, d) embedding.
        n_interpolation_points: p, nodes per box and dimension.
        min_num_intervals: boxes per dimension at least.
        ints_in_interval: largest box width.

    Returns:
        The :class:`InterpolationGrid` of ``Y``.
    """
    n, d = Y.shape
    p = n_interpolation_points
    low, high = Y.min().item(), Y.max().item()
    extent = max(high - low, 1e-12)
    n_boxes = fft_friendly(max(min_num_intervals, math.ceil(extent / ints_in_interval)))
    box_width = extent / n_boxes
    scaled = (Y - low) / box_width  # (n, d) position in box units
    box = scaled.floor().clamp(0, n_boxes - 1)  # (n, d); the right-most point belongs to the last box
    weights = lagrange_weights(scaled - box, p)  # (n, d, p)
    first_node = box.long() * p  # (n, d)
    nodes_per_dim = n_boxes * p
    offsets = torch.arange(p, device=Y.device)
    node_index = torch.zeros(n, 1, dtype=torch.long, device=Y.device)
    node_weight = torch.ones(n, 1, dtype=Y.dtype, device=Y.device)
    for axis in range(d):  # row-major flat index over the d grid axes
        axis_index = first_node[:, axis, None] + offsets  # (n, p)
        node_index = (node_index[:, :, None] * nodes_per_dim + axis_index[:, None, :]).reshape(n, -1)
        node_weight = (node_weight[:, :, None] * weights[:, axis, None, :]).reshape(n, -1)
    return InterpolationGrid(node_index, node_weight, nodes_per_dim, box_width / p)


def squared_cauchy_kernel_spectrum(nodes_per_dim: int, spacing: float, d: int, like: torch.Tensor):
    r"""Real FFT of the circulant embedding of $K(\Delta) = (1 + \|\Delta\|^2)^{-2}$ on the node lattice.

    Node offsets $m h$, $m \in \{-(M-1), \dots, M-1\}$, are laid out circularly on $2M$ points per axis,
    so a circular convolution of length $2M$ equals the Toeplitz product on the $M$ nodes.

    Args:
        nodes_per_dim: M, grid nodes per axis.
        spacing: h, distance between neighbouring nodes.
        d: number of axes (1 or 2).
        like: a tensor whose dtype and device the kernel takes.

    Returns:
        complex tensor, the ``rfftn`` over d axes of the (2M,)*d kernel.
    """
    size = 2 * nodes_per_dim
    steps = torch.arange(size, device=like.device)
    steps = torch.where(steps <= nodes_per_dim, steps, steps - size).to(like.dtype) * spacing  # (2M,)
    sq_offset = torch.zeros((size,) * d, dtype=like.dtype, device=like.device)
    for axis in range(d):
        shape = [1] * d
        shape[axis] = size
        sq_offset = sq_offset + (steps * steps).reshape(shape)  # (2M,)*d
    kernel = (1.0 + sq_offset).reciprocal().square()
    return torch.fft.rfftn(kernel, dim=tuple(range(d)))


def grid_sums(Y: torch.Tensor, charges: torch.Tensor, grid: InterpolationGrid) -> torch.Tensor:
    r"""Approximate $\phi_i = \sum_j (1 + \|y_i - y_j\|^2)^{-2} q_j$ for every point and charge column.

    Args:
        Y: (n, d) embedding.
        charges: (n, c) charges $q_j$.
        grid: the interpolation grid of ``Y``.

    Returns:
        (n, c) potentials.
    """
    n, d = Y.shape
    c = charges.shape[1]
    m = grid.nodes_per_dim
    weighted = grid.node_weight[:, :, None] * charges[:, None, :]  # (n, p**d, c)
    node_charges = Y.new_zeros(m**d, c).index_add_(0, grid.node_index.reshape(-1), weighted.reshape(-1, c))
    node_charges = node_charges.T.reshape(c, *((m,) * d))  # (c, M, ..., M)
    axes = tuple(range(1, d + 1))
    spectrum = squared_cauchy_kernel_spectrum(m, grid.spacing, d, Y)
    product = torch.fft.rfftn(node_charges, s=(2 * m,) * d, dim=axes) * spectrum  # zero-padded to 2M
    for axis in axes[:-1]:  # inverse one axis at a time, keeping only the M nodes of the grid
        product = torch.fft.ifft(product, dim=axis).narrow(axis, 0, m)
    potentials = torch.fft.irfft(product, n=2 * m, dim=d)[..., :m]  # (c, M, ..., M)
    potentials = potentials.reshape(c, -1).T  # (M**d, c)
    return (potentials[grid.node_index] * grid.node_weight[:, :, None]).sum(dim=1)  # (n, c)


@dataclass
class Repulsion:
    """Repulsive t-SNE forces and the normalisation they share.

    Attributes:
        forces: (n, d) $\\sum_j w_{ij}^2 (y_i - y_j) / Z$, with $w_{ij} = (1 + \\|y_i - y_j\\|^2)^{-1}$.
        z: $Z = \\sum_{i \\ne j} w_{ij}$ (0-dim tensor).
    """

    forces: torch.Tensor
    z: torch.Tensor


def fft_interpolation_repulsion(
    Y: torch.Tensor,
    n_interpolation_points: int = 3,
    min_num_intervals: int = 50,
    ints_in_interval: float = 1.0,
) -> Repulsion:
    r"""Repulsive t-SNE forces and $Z$ by FFT-accelerated interpolation, in $O(n)$ plus a grid FFT.

    With the squared kernel $K = w^2$ and charges $(1, y_j, \|y_j\|^2)$ the grid returns
    $\phi^{(0)}_i = \sum_j w_{ij}^2$, $\phi^{(1)}_i = \sum_j w_{ij}^2 y_j$, $\phi^{(2)}_i = \sum_j w_{ij}^2\|y_j\|^2$;
    since $w^2 (1 + \|y_i - y_j\|^2) = w$,

    $$Z = \sum_i \big[(1 + \|y_i\|^2)\phi^{(0)}_i - 2 y_i\cdot\phi^{(1)}_i + \phi^{(2)}_i\big] - n, \qquad
    F^{rep}_i = \frac{y_i \phi^{(0)}_i - \phi^{(1)}_i}{Z}.$$

    Args:
        Y: (n, d) embedding, d in {1, 2}.
        n_interpolation_points: p, equispaced Lagrange nodes per box and dimension (accuracy grows with p).
        min_num_intervals: boxes per dimension at least.
        ints_in_interval: largest box width.

    Returns:
        :class:`Repulsion` with forces (n, d) and z.
    """
    check_tensor("Y", Y, dim=2, floating=True)
    if Y.shape[1] not in (1, 2):
        raise ValueError(f"Y must have 1 or 2 columns for FFT interpolation, got shape {tuple(Y.shape)}")
    check_positive("n_interpolation_points", n_interpolation_points, integer=True)
    check_positive("min_num_intervals", min_num_intervals, integer=True)
    check_positive("ints_in_interval", ints_in_interval)
    n = Y.shape[0]
    grid = interpolation_grid(Y, n_interpolation_points, min_num_intervals, ints_in_interval)
    sq_norm = (Y * Y).sum(dim=1, keepdim=True)  # (n, 1)
    charges = torch.cat([torch.ones_like(sq_norm), Y, sq_norm], dim=1)  # (n, d + 2)
    phi = grid_sums(Y, charges, grid)  # (n, d + 2)
    phi0, phi1, phi2 = phi[:, :1], phi[:, 1:-1], phi[:, -1:]
    z = ((1 + sq_norm) * phi0 - 2 * (Y * phi1).sum(dim=1, keepdim=True) + phi2).sum() - n
    return Repulsion(forces=(Y * phi0 - phi1) / z, z=z)

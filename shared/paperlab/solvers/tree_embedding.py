"""Hyperbolic embeddings without optimization: the combinatorial tree embedding and h-MDS.

From "Representation Tradeoffs for Hyperbolic Embeddings" (2018). ``classical_mds`` is the Euclidean
counterpart of ``h_mds``, kept here as the baseline the paper compares against.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import torch

from .._checks import check_positive, check_tensor
from ..distances.poincare import mobius_add

FLOAT64_MAX_RADIUS = 34.0  # 1 - |x| = 2 e^{-r} is then ~3.4e-15, a few float64 ulps of 1


@dataclass
class TreeEmbedding:
    """A tree embedded in the Poincaré disk.

    Attributes:
        points: ``(n, 2)`` Poincaré-disk coordinates, one row per node.
        tau: the scale; edge ``(u, v)`` of weight ``w`` has hyperbolic length ``tau * w``.
        root: the node placed at the origin.
        max_radius: the largest hyperbolic distance of a node from the origin, tau times the largest
            weighted depth (float64 holds up to ``FLOAT64_MAX_RADIUS``).
    """

    points: torch.Tensor
    tau: float
    root: int
    max_radius: float


@dataclass
class MDSResult:
    """Coordinates recovered from a distance matrix.

    Attributes:
        points: ``(n, k)`` coordinates (Poincaré ball for ``h_mds``, Euclidean for ``classical_mds``).
        eigenvalues: ``(k,)`` the kept eigenvalues, largest first.
        n_negative: how many eigenvalues were negative (1 for exact hyperbolic input to ``h_mds``,
            0 for exact Euclidean input to ``classical_mds``, up to rounding).
    """

    points: torch.Tensor
    eigenvalues: torch.Tensor
    n_negative: int


def _adjacency_lists(
    edges: torch.Tensor, weights: torch.Tensor, n_nodes: int
) -> list[list[tuple[int, float]]]:
    """Neighbour lists ``[(node, weight), ...]`` of an undirected graph."""
    neighbours: list[list[tuple[int, float]]] = [[] for _ in range(n_nodes)]
    for (u, v), w in zip(edges.tolist(), weights.tolist(), strict=True):
        neighbours[u].append((v, w))
        neighbours[v].append((u, w))
    return neighbours


def _check_tree(edges, weights, n_nodes: int | None) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Validate the edge list ``(n - 1, 2)`` and weights ``(n - 1,)`` of a tree; return them and n."""
    check_tensor("edges", edges, dim=2)
    if edges.is_floating_point() or edges.dtype == torch.bool or edges.shape[1] != 2:
        raise ValueError(
            f"edges must be an integer tensor of shape (n - 1, 2), got {edges.dtype} {tuple(edges.shape)}"
        )
    if bool((edges < 0).any()):
        raise ValueError(f"edges must hold non-negative node ids, got minimum {edges.min().item()}")
    n = int(edges.max().item()) + 1 if n_nodes is None else check_positive("n_nodes", n_nodes, integer=True)
    if int(edges.max().item()) >= n:
        raise ValueError(f"edges refer to node {edges.max().item()} but n_nodes is {n}")
    if edges.shape[0] != n - 1:
        raise ValueError(f"a tree on {n} nodes has {n - 1} edges, got {edges.shape[0]}")
    if weights is None:
        weights = torch.ones(edges.shape[0], dtype=torch.float64)
    check_tensor("weights", weights, dim=1, floating=True)
    if weights.shape[0] != edges.shape[0]:
        raise ValueError(f"weights must have shape ({edges.shape[0]},), got {tuple(weights.shape)}")
    if bool((weights <= 0).any()):
        raise ValueError(f"weights must be > 0, got minimum {weights.min().item()!r}")
    return edges.cpu(), weights.detach().cpu().double(), n


def combinatorial_tree_embedding(
    edges: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    tau: float = 1.0,
    root: int = 0,
    n_nodes: int | None = None,
) -> TreeEmbedding:
    """Embed a weighted tree in the Poincaré disk by Sarkar's construction, scaled by ``tau``.

    The root goes to the origin and its children are spread evenly on the circle of hyperbolic radius
    ``tau * w``. For each further node $u$ with parent $p$, the isometry $x \\mapsto (-z_u) \\oplus x$
    moves $u$ to 0 and $p$ to angle $\\theta$; the children go to angles $\\theta + 2\\pi k / \\deg(u)$,
    $k = 1, \\dots, \\deg(u) - 1$, at Euclidean radius $\\tanh(\\tau w / 2)$, and are mapped back by
    $x \\mapsto z_u \\oplus x$. Every edge gets hyperbolic length exactly ``tau * w``; larger ``tau``
    spreads siblings apart and lowers the distortion of all other pairs, at the cost of points
    closer to the boundary: a radius beyond ``FLOAT64_MAX_RADIUS`` = 34 raises ValueError.

    Args:
        edges: ``(n - 1, 2)`` integer node pairs of a tree on nodes ``0 .. n - 1``.
        weights: ``(n - 1,)`` positive edge lengths; None means all 1.
        tau: the scale, > 0.
        root: the node placed at the origin.
        n_nodes: the number of nodes; None means ``edges.max() + 1``.

    Returns:
        :class:`TreeEmbedding` with float64 ``points (n, 2)`` on the device of ``edges``.
    """
    check_positive("tau", tau)
    edges_cpu, weights_cpu, n = _check_tree(edges, weights, n_nodes)
    if isinstance(root, bool) or not isinstance(root, int) or not 0 <= root < n:
        raise ValueError(f"root must be a node id in [0, {n}), got {root!r}")
    neighbours = _adjacency_lists(edges_cpu, weights_cpu, n)
    points = torch.zeros(n, 2, dtype=torch.float64)
    radius = [0.0] * n  # hyperbolic distance to the origin: tau times the weighted depth
    parent = [-1] * n
    visited = [False] * n
    visited[root] = True
    queue = deque([root])
    while queue:
        u = queue.popleft()
        children = [(v, w) for v, w in neighbours[u] if not visited[v]]
        if not children:
            continue
        degree = len(neighbours[u])
        if u == root:
            first_angle, slots = 0.0, range(degree)
        else:
            parent_seen_from_u = mobius_add(-points[u], points[parent[u]])  # (2,)
            first_angle = math.atan2(parent_seen_from_u[1].item(), parent_seen_from_u[0].item())
            slots = range(1, degree)
        angles = torch.tensor([first_angle + 2 * math.pi * k / degree for k in slots], dtype=torch.float64)
        radii = torch.tanh(tau * torch.tensor([w for _, w in children], dtype=torch.float64) / 2)
        local = radii[:, None] * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)  # (c, 2)
        placed = mobius_add(points[u].expand_as(local), local)  # (c, 2)
        for (v, w), point in zip(children, placed, strict=True):
            radius[v] = radius[u] + tau * w
            if radius[v] > FLOAT64_MAX_RADIUS:
                raise ValueError(
                    f"tau * (weighted depth) reaches {radius[v]:.1f} at node {v}, beyond the float64 limit "
                    f"of {FLOAT64_MAX_RADIUS} (points would round onto the boundary): lower tau or re-root"
                )
            points[v] = point
            parent[v] = u
            visited[v] = True
            queue.append(v)
    if not all(visited):
        raise ValueError("edges must form a connected tree (some nodes are unreachable from the root)")
    return TreeEmbedding(points=points.to(edges.device), tau=float(tau), root=root, max_radius=max(radius))


def _check_distance_matrix(distances) -> torch.Tensor:
    """Validate a square, symmetric, non-negative matrix with a zero diagonal."""
    check_tensor("distances", distances, dim=2, floating=True)
    n = distances.shape[0]
    if distances.shape[1] != n:
        raise ValueError(f"distances must be square, got shape {tuple(distances.shape)}")
    if bool((distances < 0).any()):
        raise ValueError(f"distances must be >= 0, got minimum {distances.min().item()!r}")
    scale = distances.abs().max().clamp_min(1.0)
    if not torch.allclose(distances, distances.T, atol=1e-8 * scale.item(), rtol=0):
        raise ValueError("distances must be symmetric")
    if bool((distances.diagonal().abs() > 1e-8 * scale).any()):
        raise ValueError("distances must have a zero diagonal")
    return distances


def _top_eigenpairs(gram: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """The ``k`` largest eigenpairs of a symmetric matrix and the count of negative eigenvalues."""
    eigenvalues, eigenvectors = torch.linalg.eigh((gram + gram.T) / 2)  # ascending
    tolerance = eigenvalues.abs().max() * gram.shape[0] * torch.finfo(gram.dtype).eps
    n_negative = int((eigenvalues < -tolerance).sum())
    top = eigenvalues.flip(0)[:k]  # (k,)
    vectors = eigenvectors.flip(1)[:, :k]  # (n, k)
    return top, vectors, n_negative


def h_mds(distances: torch.Tensor, n_components: int = 2) -> MDSResult:
    """Hyperbolic MDS: recover points of $\\mathbb{H}^k$ from their pairwise hyperbolic distances.

    On the hyperboloid $x_0^2 - \\|\\bar x\\|^2 = 1$, $\\cosh d(x, y) = x_0 y_0 - \\langle \\bar x,
    \\bar y\\rangle$, so $-\\cosh(D) = \\bar X \\bar X^\\top - x_0 x_0^\\top$ has one negative eigenvalue
    and ``k`` positive ones. The spatial coordinates are $\\bar X = U_k \\Lambda_k^{1/2}$ from the top
    ``k`` eigenpairs of $-\\cosh(D)$ (exact up to an isometry for exact input), mapped to the Poincaré
    ball by $x = \\bar x / (1 + \\sqrt{1 + \\|\\bar x\\|^2})$. Negative kept eigenvalues are clamped to 0.

    Args:
        distances: ``(n, n)`` symmetric hyperbolic distances with a zero diagonal.
        n_components: ``k``, the dimension of the recovered points, ``1 <= k < n``.

    Returns:
        :class:`MDSResult` with Poincaré-ball ``points (n, k)``.
    """
    _check_distance_matrix(distances)
    n = distances.shape[0]
    check_positive("n_components", n_components, integer=True)
    if n_components >= n:
        raise ValueError(f"n_components must be < n = {n}, got {n_components}")
    gram = -torch.cosh(distances)  # (n, n) minus the Lorentzian Gram matrix
    top, vectors, n_negative = _top_eigenpairs(gram, n_components)
    spatial = vectors * top.clamp_min(0).sqrt()  # (n, k)
    time = torch.sqrt(1 + (spatial * spatial).sum(1, keepdim=True))  # (n, 1)
    return MDSResult(points=spatial / (1 + time), eigenvalues=top, n_negative=n_negative)


def classical_mds(distances: torch.Tensor, n_components: int = 2) -> MDSResult:
    """Classical (Torgerson) Euclidean MDS, the baseline of h-MDS.

    $B = -\\tfrac12 J D^{\\circ 2} J$ with $J = I - \\tfrac1n \\mathbf{1}\\mathbf{1}^\\top$;
    $X = U_k \\Lambda_k^{1/2}$ from the top ``k`` eigenpairs of $B$ (negative ones clamped to 0).

    Args:
        distances: ``(n, n)`` symmetric distances with a zero diagonal.
        n_components: ``k``, the embedding dimension, ``1 <= k < n``.

    Returns:
        :class:`MDSResult` with Euclidean ``points (n, k)``.
    """
    _check_distance_matrix(distances)
    n = distances.shape[0]
    check_positive("n_components", n_components, integer=True)
    if n_components >= n:
        raise ValueError(f"n_components must be < n = {n}, got {n_components}")
    squared = distances * distances
    centred = squared - squared.mean(0, keepdim=True) - squared.mean(1, keepdim=True) + squared.mean()
    top, vectors, n_negative = _top_eigenpairs(-centred / 2, n_components)
    return MDSResult(points=vectors * top.clamp_min(0).sqrt(), eigenvalues=top, n_negative=n_negative)

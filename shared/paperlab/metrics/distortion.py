"""How faithfully an embedding keeps a graph: distortion of distances and MAP of neighbourhoods.

From "Representation Tradeoffs for Hyperbolic Embeddings" (2018).
"""

from __future__ import annotations

import torch

from .._checks import check_tensor


def _check_pair(distances, true_distances) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate two square distance matrices of the same shape; return their off-diagonal upper pairs."""
    check_tensor("distances", distances, dim=2, floating=True)
    check_tensor("true_distances", true_distances, dim=2, floating=True)
    n = distances.shape[0]
    if distances.shape != (n, n) or n < 2:
        raise ValueError(f"distances must be square with n >= 2, got shape {tuple(distances.shape)}")
    if true_distances.shape != distances.shape:
        raise ValueError(
            f"true_distances must have shape {tuple(distances.shape)}, got {tuple(true_distances.shape)}"
        )
    rows, cols = torch.triu_indices(n, n, offset=1, device=distances.device)
    embedded, true = distances[rows, cols], true_distances[rows, cols]  # (n (n - 1) / 2,)
    if bool((true <= 0).any()):
        raise ValueError("true_distances must be > 0 off the diagonal (distinct nodes)")
    if bool((embedded < 0).any()):
        raise ValueError(f"distances must be >= 0, got minimum {embedded.min().item()!r}")
    return embedded, true


def average_distortion(distances: torch.Tensor, true_distances: torch.Tensor) -> torch.Tensor:
    """Mean relative error of the embedded distances over all pairs of distinct nodes.

    $D_{avg} = \\binom{n}{2}^{-1} \\sum_{i < j} |d_U(f(i), f(j)) - d_V(i, j)| / d_V(i, j)$.
    Divide an embedding built at scale $\\tau$ by $\\tau$ first.

    Args:
        distances: ``(n, n)`` distances between the embedded points.
        true_distances: ``(n, n)`` graph distances, > 0 off the diagonal.

    Returns:
        Scalar tensor, 0 for an isometric embedding.
    """
    embedded, true = _check_pair(distances, true_distances)
    return ((embedded - true).abs() / true).mean()


def worst_case_distortion(distances: torch.Tensor, true_distances: torch.Tensor) -> torch.Tensor:
    """Worst-case multiplicative distortion: the largest expansion times the largest contraction.

    $D_{wc} = \\max_{i \\ne j} \\frac{d_U}{d_V} \\cdot \\max_{i \\ne j} \\frac{d_V}{d_U}$; it is
    invariant to a global scale, 1 for an isometry up to scale, and inf if two nodes collapse.

    Args:
        distances: ``(n, n)`` distances between the embedded points.
        true_distances: ``(n, n)`` graph distances, > 0 off the diagonal.

    Returns:
        Scalar tensor >= 1.
    """
    embedded, true = _check_pair(distances, true_distances)
    ratio = embedded / true
    if bool((ratio == 0).any()):
        return torch.full((), float("inf"), dtype=ratio.dtype, device=ratio.device)
    return ratio.max() / ratio.min()


def graph_reconstruction_map(distances: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
    """Mean average precision of recovering each node's graph neighbours from embedded distances.

    For node $a$ with neighbours $N_a$ and each $b \\in N_a$, let $R_{a,b}$ be the nodes other than
    $a$ no farther from $a$ than $b$; $\\mathrm{MAP} = \\frac{1}{|V'|} \\sum_{a \\in V'}
    \\frac{1}{|N_a|} \\sum_{b \\in N_a} |N_a \\cap R_{a,b}| / |R_{a,b}|$ over nodes with a neighbour.

    Args:
        distances: ``(n, n)`` distances between the embedded points.
        adjacency: ``(n, n)`` symmetric boolean (or 0/1) adjacency matrix without self-loops.

    Returns:
        Scalar tensor in (0, 1]; 1 when every node's neighbours are its nearest points.
    """
    check_tensor("distances", distances, dim=2, floating=True)
    check_tensor("adjacency", adjacency, dim=2)
    n = distances.shape[0]
    if distances.shape != (n, n) or n < 2:
        raise ValueError(f"distances must be square with n >= 2, got shape {tuple(distances.shape)}")
    if adjacency.shape != distances.shape:
        raise ValueError(f"adjacency must have shape {tuple(distances.shape)}, got {tuple(adjacency.shape)}")
    if adjacency.dtype != torch.bool:
        if bool(((adjacency != 0) & (adjacency != 1)).any()):
            raise ValueError("adjacency must hold only 0 and 1 (or booleans)")
        adjacency = adjacency != 0
    adjacency = adjacency.to(distances.device)
    if bool(adjacency.diagonal().any()) or not torch.equal(adjacency, adjacency.T):
        raise ValueError("adjacency must be symmetric with an empty diagonal")
    has_neighbour = adjacency.any(1)
    if not bool(has_neighbour.any()):
        raise ValueError("adjacency must have at least one edge")
    inf = torch.tensor(float("inf"), dtype=distances.dtype, device=distances.device)
    self_mask = torch.eye(n, dtype=torch.bool, device=distances.device)
    others = torch.where(self_mask, inf, distances)  # (n, n) self excluded from every ranking
    neighbour_only = torch.where(adjacency, distances, inf)  # (n, n)
    all_sorted = others.sort(dim=1).values
    neighbours_sorted = neighbour_only.sort(dim=1).values
    ranked = torch.searchsorted(all_sorted, neighbour_only.contiguous(), right=True)  # |R_{a,b}|
    hits = torch.searchsorted(neighbours_sorted, neighbour_only.contiguous(), right=True)  # |N_a ∩ R_{a,b}|
    precision = torch.where(adjacency, hits.to(distances.dtype) / ranked.clamp_min(1), 0)  # (n, n)
    per_node = precision.sum(1)[has_neighbour] / adjacency.sum(1)[has_neighbour]  # (|V'|,)
    return per_node.mean()

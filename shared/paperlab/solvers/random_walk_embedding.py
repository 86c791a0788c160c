"""A DeepWalk-like baseline: uniform random walks, window co-occurrences, PPMI, truncated SVD.

DeepWalk trains skip-gram on random walks; skip-gram with negative sampling implicitly factorizes a
shifted pointwise mutual information matrix of the (node, context) pairs seen in a window. This baseline
makes that explicit and deterministic: count the pairs within ``window`` steps of each other on the walks,
take the positive PMI $\\max(0, \\log \\frac{\\#(i, j)\\, \\#}{\\#(i)\\, \\#(j)})$ and embed with
$U_d \\Sigma_d^{1/2}$ from its rank-d SVD.
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator
from paperlab.solvers.fastrp import _check_adjacency
from paperlab.solvers.matrix_factorization import randomized_svd


def random_walks(
    adjacency: torch.Tensor, n_walks: int = 10, walk_length: int = 40, seed=None
) -> torch.Tensor:
    """Uniform random walks: ``n_walks`` from every node, each step to a uniformly chosen neighbour.

    Edge weights are ignored (any positive entry is an edge). A walk that reaches a node without
    neighbours stays there.

    Args:
        adjacency: (n, n) non-negative matrix, dense or sparse.
        n_walks: walks started from each node.
        walk_length: nodes per walk, start included.
        seed: int, ``torch.Generator`` or None.

    Returns:
        (n * n_walks, walk_length) int64 node indices on the CPU; walk w starts at node w % n.

    Paper: DeepWalk: Online Learning of Social Representations (2014).
    """
    adjacency = _check_adjacency(adjacency)
    check_positive("n_walks", n_walks, integer=True)
    check_positive("walk_length", walk_length, integer=True)
    generator = as_generator(seed)
    structure = (adjacency.to_sparse_coo() if not adjacency.is_sparse else adjacency).coalesce().cpu()
    rows, cols = structure.indices()
    rows, cols = rows[structure.values() > 0], cols[structure.values() > 0]  # row-major edge list
    n = adjacency.shape[0]
    degree = torch.bincount(rows, minlength=n)
    first = torch.cumsum(degree, 0) - degree  # offset of each node's first edge, (n,)
    current = torch.arange(n).repeat(n_walks)  # (n * n_walks,)
    steps = [current]
    for _ in range(walk_length - 1):
        uniform = torch.rand(current.shape[0], generator=generator, dtype=torch.float64)
        choice = (uniform * degree[current]).long().clamp_max((degree[current] - 1).clamp_min(0))
        moves = degree[current] > 0
        current = torch.where(
            moves, cols[(first[current] + choice).clamp_max(max(len(cols) - 1, 0))], current
        )
        steps.append(current)
    return torch.stack(steps, dim=1)  # (n * n_walks, walk_length)


def window_cooccurrence(walks: torch.Tensor, n_nodes: int, window: int = 5) -> torch.Tensor:
    """Symmetric counts $C_{ij}$ of node j appearing within ``window`` steps of node i on the walks.

    Returns:
        dense (n_nodes, n_nodes) float64 count matrix.
    """
    check_positive("window", window, integer=True)
    counts = torch.zeros(n_nodes * n_nodes, dtype=torch.float64)
    for offset in range(1, min(window, walks.shape[1] - 1) + 1):
        left, right = walks[:, :-offset].reshape(-1), walks[:, offset:].reshape(-1)  # (pairs,)
        ones = torch.ones(left.shape[0], dtype=torch.float64)
        counts.index_add_(0, left * n_nodes + right, ones)
        counts.index_add_(0, right * n_nodes + left, ones)
    return counts.reshape(n_nodes, n_nodes)


def positive_pmi(counts: torch.Tensor) -> torch.Tensor:
    """Positive pointwise mutual information of a count matrix; 0 where $C_{ij} = 0$.

    $$\\mathrm{PPMI}_{ij} = \\max\\Big(0, \\log \\frac{C_{ij} \\sum_{kl} C_{kl}}{\\sum_l C_{il} \\sum_k C_{kj}}\\Big)$$
    """
    total = counts.sum()
    if not total > 0:
        raise ValueError(f"counts must have a positive sum, got {total.item():.3g} (walks too short?)")
    expected = counts.sum(1, keepdim=True) * counts.sum(0, keepdim=True) / total  # (n, n)
    ratio = torch.where(counts > 0, counts / expected.clamp_min(torch.finfo(counts.dtype).tiny), 1.0)
    return torch.log(ratio).clamp_min(0)


def random_walk_embedding(
    adjacency: torch.Tensor,
    n_components: int = 128,
    n_walks: int = 10,
    walk_length: int = 40,
    window: int = 5,
    seed=None,
) -> torch.Tensor:
    """DeepWalk-like embedding $U_d \\Sigma_d^{1/2}$ of the PPMI of window co-occurrences on random walks.

    Returns:
        (n, d) embeddings on the adjacency's device, in its dtype.

    Paper: DeepWalk: Online Learning of Social Representations (2014).
    """
    check_positive("n_components", n_components, integer=True)
    walks = random_walks(adjacency, n_walks, walk_length, seed=seed)
    n = adjacency.shape[0]
    if n_components > n:
        raise ValueError(f"n_components must be <= the number of nodes {n}, got {n_components}")
    ppmi = positive_pmi(window_cooccurrence(walks, n, window)).to(adjacency.device)
    generator = as_generator(seed)
    svd_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
    factors = randomized_svd(ppmi, n_components, seed=svd_seed)
    return (factors.U * factors.S.sqrt()).to(adjacency.dtype)

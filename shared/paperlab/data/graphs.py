"""Random graphs with planted communities: the stochastic block model.

Nodes are split into blocks of given sizes; every pair of distinct nodes is joined, independently,
with probability ``p_in`` when both lie in the same block and ``p_out`` otherwise. The edges are drawn
with geometric skips (each gap between two kept pairs is Geometric(p)), so the cost is proportional to
the number of edges rather than to n^2, and a seed gives the same graph on every machine.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


class LabelledGraph(NamedTuple):
    """An undirected graph: symmetric 0/1 ``adjacency`` (n, n) without self loops, ``labels`` (n,) int64."""

    adjacency: torch.Tensor
    labels: torch.Tensor


def _check_probability(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"{name} must be a number in [0, 1], got {p!r}")
    if not 0 <= p <= 1:
        raise ValueError(f"{name} must lie in [0, 1], got {p!r}")
    return float(p)


def _bernoulli_positions(n_cells: int, p: float, generator: torch.Generator) -> torch.Tensor:
    """Indices in [0, n_cells) kept independently with probability p, drawn by geometric skips."""
    if p == 0 or n_cells == 0:
        return torch.zeros(0, dtype=torch.int64)
    log_miss = math.log1p(-p) if p < 1 else -math.inf
    expected = n_cells * p
    batch = int(expected + 6 * math.sqrt(expected) + 16)
    positions, last = [], -1
    while last < n_cells:
        uniform = 1 - torch.rand(batch, generator=generator, dtype=torch.float64)  # in (0, 1]
        skips = torch.floor(torch.log(uniform) / log_miss).clamp_max(n_cells)  # no int overflow for tiny p
        gaps = skips.to(torch.int64) + 1  # Geometric(p) on {1, 2, ...}
        found = last + torch.cumsum(gaps, 0)
        positions.append(found)
        last = int(found[-1])
    positions = torch.cat(positions)
    return positions[positions < n_cells]


def stochastic_block_model(
    sizes, p_in: float, p_out: float, seed=None, *, sparse: bool = True, dtype=None
) -> LabelledGraph:
    """Sample an undirected stochastic block model with blocks of the given sizes.

    $$P[A_{ij} = 1] = p_{in}$$ if $c_i = c_j$ else $p_{out}$, independently for $i < j$;
    $A$ is symmetric with a zero diagonal. Nodes are numbered block after block: node i has label c_i.

    Args:
        sizes: sequence of positive block sizes (ints).
        p_in: within-block edge probability in [0, 1].
        p_out: between-block edge probability in [0, 1].
        seed: int, ``torch.Generator`` or None (torch's global generator).
        sparse: return a coalesced sparse COO adjacency (default) or a dense one.
        dtype: floating dtype of the adjacency; torch's default dtype when None.

    Returns:
        :class:`LabelledGraph` with adjacency (n, n) and labels (n,), n = sum(sizes).
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) == 0:
        raise ValueError(f"sizes must be a non-empty sequence of positive ints, got {sizes!r}")
    for size in sizes:
        check_positive("sizes", size, integer=True)
    p_in, p_out = _check_probability("p_in", p_in), _check_probability("p_out", p_out)
    dtype = dtype or torch.get_default_dtype()
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    generator = as_generator(seed)
    sizes = [int(s) for s in sizes]
    starts = [0, *torch.tensor(sizes).cumsum(0).tolist()]
    rows, cols = [], []
    for a, size_a in enumerate(sizes):
        for b in range(a, len(sizes)):
            size_b = sizes[b]
            cells = _bernoulli_positions(size_a * size_b, p_in if a == b else p_out, generator)
            i, j = cells // size_b, cells % size_b
            if a == b:  # the block is drawn as a full square: keep only i < j, each pair once
                i, j = i[i < j], j[i < j]
            rows.append(i + starts[a])
            cols.append(j + starts[b])
    rows, cols = torch.cat(rows), torch.cat(cols)
    n = starts[-1]
    indices = torch.cat([torch.stack([rows, cols]), torch.stack([cols, rows])], dim=1)  # (2, 2 * n_edges)
    values = torch.ones(indices.shape[1], dtype=dtype)
    adjacency = torch.sparse_coo_tensor(indices, values, (n, n), check_invariants=False).coalesce()
    labels = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes))
    return LabelledGraph(adjacency if sparse else adjacency.to_dense(), labels)

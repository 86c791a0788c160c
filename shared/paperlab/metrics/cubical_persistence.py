r"""Persistence barcodes of 2-D images under the superlevel filtration, with their birth/death pixels.

From "Topologically faithful image segmentation via induced matching of persistence barcodes" (2023).
An image :math:`L` is filtered by its superlevel sets :math:`L_t = \{L \ge t\}` as t decreases, each pixel
a closed unit square (the "T-construction": foreground pixels that touch at a corner are connected, so
the foreground is 8-connected and its holes are 4-connected). A bar :math:`(b, d)` with :math:`b \ge d` is
a component (dimension 0) or a hole (dimension 1) that appears at :math:`t = b` and vanishes at
:math:`t = d`.

Both dimensions come from a union-find over a grid graph (Kruskal on its minimum spanning tree):

* dimension 0: pixels enter by decreasing value, 8-neighbours merge; the elder rule pairs the younger
  component's maximum (birth pixel) with the pixel whose entry merged it (death pixel);
* dimension 1, by Alexander duality: the background :math:`\{L < t\}`, framed by an always-present border,
  grows as t increases; a bounded background component born at its minimum (the hole's death pixel)
  and merged at a pixel of value s (the hole's birth pixel) is a hole with bar :math:`(s, \min)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree

from paperlab._checks import check_tensor


@dataclass
class Barcode:
    """The bars of one homology dimension, with the pixels whose values are their ends.

    Attributes:
        dimension: 0 (components) or 1 (holes).
        birth: float64 array ``(k,)``, superlevel birth values (``birth >= death``).
        death: float64 array ``(k,)``; ``-inf`` for the essential component.
        birth_pixel: int64 array ``(k, 2)`` of (row, column) with ``image[birth_pixel] == birth``.
        death_pixel: int64 array ``(k, 2)``; ``(-1, -1)`` for the essential component.
    """

    dimension: int
    birth: np.ndarray
    death: np.ndarray
    birth_pixel: np.ndarray
    death_pixel: np.ndarray

    @property
    def essential(self) -> np.ndarray:
        """Boolean mask ``(k,)`` of the bars that never die."""
        return np.isinf(self.death)

    def __len__(self) -> int:
        return len(self.birth)

    def betti_number(self, t: float) -> int:
        """Number of bars alive at level t: :math:`\\#\\{b \\ge t > d\\}`."""
        return int(np.count_nonzero((self.birth >= t) & (self.death < t)))


@dataclass
class MergeEvents:
    """What one key records during a union-find pass (see :func:`merge_events`).

    Attributes:
        edge: int64 ``(k,)``, position of the merging edge among the pass's merges (an event id).
        younger: int64 ``(k,)``, the key's representative pixel of the component that dies.
        death: int64 ``(k,)``, the pixel whose entry made the merging edge.
        survivor: the representative pixel of the last component.
    """

    edge: np.ndarray
    younger: np.ndarray
    death: np.ndarray
    survivor: int


def grid_edges(height: int, width: int, connectivity: int) -> np.ndarray:
    """Edges ``(m, 2)`` of the 4- or 8-neighbour graph of a row-major ``height x width`` pixel grid."""
    index = np.arange(height * width).reshape(height, width)
    pairs = [(index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])]
    if connectivity == 8:
        pairs += [(index[:-1, :-1], index[1:, 1:]), (index[:-1, 1:], index[1:, :-1])]
    return np.concatenate([np.stack([a.ravel(), b.ravel()], 1) for a, b in pairs])  # (m, 2)


def _ranks(time: np.ndarray) -> np.ndarray:
    """Position of each pixel in the total order (time, then index)."""
    order = np.lexsort((np.arange(len(time)), time))
    rank = np.empty(len(time), dtype=np.int64)
    rank[order] = np.arange(len(time))
    return rank


def merge_events(time: np.ndarray, edges: np.ndarray, key_times: list[np.ndarray]) -> list[MergeEvents]:
    """Union-find over a graph whose pixels enter at ``time``, elder rule under each of several keys.

    Pixels enter in the total order (time, index); an edge enters with its later pixel. Each key gives
    every component a representative, the pixel of smallest (key time, index) in it. When two components
    merge, under each key the one whose representative is later dies, provided that representative is
    already present (key time <= the edge's time); otherwise the key records nothing. With the pass's own
    time as key this is the elder rule of 0-dimensional persistence; with another filtration's time it is
    the image of the map induced by an inclusion of filtrations.

    Args:
        time: float ``(n,)`` entry time of each pixel, lower first.
        edges: int ``(m, 2)`` graph edges; the graph must be connected.
        key_times: list of float ``(n,)`` arrays.

    Returns:
        One :class:`MergeEvents` per key.
    """
    n = len(time)
    rank = _ranks(time)
    later = np.maximum(rank[edges[:, 0]], rank[edges[:, 1]])
    earlier = np.minimum(rank[edges[:, 0]], rank[edges[:, 1]])
    weight = np.empty(len(edges), dtype=np.float64)
    weight[np.lexsort((earlier, later))] = np.arange(1, len(edges) + 1)  # distinct: a unique spanning tree
    tree = minimum_spanning_tree(coo_matrix((weight, (edges[:, 0], edges[:, 1])), shape=(n, n))).tocoo()
    sequence = np.argsort(tree.data)
    tree_u, tree_v = tree.row[sequence].tolist(), tree.col[sequence].tolist()
    order = np.argsort(rank)
    death_pixel = order[np.maximum(rank[tree.row], rank[tree.col])[sequence]]  # (n - 1,)
    death_time = time[death_pixel].tolist()

    parent = list(range(n))
    merged = []  # (surviving root, absorbed root) of each merge
    for u, v in zip(tree_u, tree_v):
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        parent[v] = u
        merged.append((u, v))
    last_root = merged[-1][0] if merged else 0
    return [_elder_rule(merged, key, death_time, death_pixel, last_root) for key in key_times]


def _elder_rule(merged, key_time, death_time, death_pixel, last_root) -> MergeEvents:
    """Replay the merges of :func:`merge_events` under one key: who dies, if present."""
    key_rank, key_value = _ranks(key_time).tolist(), key_time.tolist()
    rep = list(range(len(key_value)))
    steps, dying = [], []
    for step, (u, v) in enumerate(merged):
        a, b = rep[u], rep[v]
        if key_rank[b] < key_rank[a]:
            a, b = b, a
        rep[u] = a
        if key_value[b] <= death_time[step]:
            steps.append(step)
            dying.append(b)
    steps = np.array(steps, dtype=np.int64)
    return MergeEvents(steps, np.array(dying, dtype=np.int64), death_pixel[steps], rep[last_root])


def component_pass(values: np.ndarray, keys: list[np.ndarray]) -> list[MergeEvents]:
    """Dimension-0 pass: pixels of ``values`` (H, W) enter by decreasing value, 8-connected."""
    height, width = values.shape
    edges = grid_edges(height, width, 8)
    return merge_events(-values.ravel(), edges, [-k.ravel() for k in keys])


def hole_pass(values: np.ndarray, keys: list[np.ndarray]) -> list[MergeEvents]:
    """Dimension-1 pass: the background of ``values`` (H, W), framed by a -inf border, grows by increasing
    value, 4-connected. Pixel indices refer to the ``(H + 2, W + 2)`` framed grid."""
    height, width = values.shape
    edges = grid_edges(height + 2, width + 2, 4)
    framed = [np.pad(k, 1, constant_values=-np.inf).ravel() for k in (values, *keys)]
    return merge_events(framed[0], edges, framed[1:])


def unframe(pixel: np.ndarray, width: int) -> np.ndarray:
    """(row, column) ``(k, 2)`` in the unframed image of flat indices into the framed ``width + 2`` grid."""
    return np.stack([pixel // (width + 2) - 1, pixel % (width + 2) - 1], 1).astype(np.int64)  # (k, 2)


def unravel(pixel: np.ndarray, width: int) -> np.ndarray:
    """(row, column) ``(k, 2)`` of flat row-major indices."""
    return np.stack([pixel // width, pixel % width], 1).astype(np.int64)  # (k, 2)


def components_barcode(values: np.ndarray, events: MergeEvents) -> tuple[Barcode, np.ndarray]:
    """Dimension-0 barcode (finite bars with birth > death, then the essential bar) and the event id of
    each finite bar."""
    flat = values.ravel()
    birth, death = flat[events.younger], flat[events.death]
    keep = birth > death
    width = values.shape[1]
    essential = np.array([events.survivor])
    barcode = Barcode(
        0,
        np.concatenate([birth[keep], flat[essential]]),
        np.concatenate([death[keep], [-np.inf]]),
        np.concatenate([unravel(events.younger[keep], width), unravel(essential, width)]),
        np.concatenate([unravel(events.death[keep], width), np.full((1, 2), -1, dtype=np.int64)]),
    )
    return barcode, events.edge[keep]


def holes_barcode(values: np.ndarray, events: MergeEvents) -> tuple[Barcode, np.ndarray]:
    """Dimension-1 barcode (bars with birth > death) and the event id of each bar."""
    framed = np.pad(values, 1, constant_values=-np.inf).ravel()
    birth, death = framed[events.death], framed[events.younger]
    keep = np.isfinite(death) & (birth > death)
    width = values.shape[1]
    barcode = Barcode(
        1,
        birth[keep],
        death[keep],
        unframe(events.death[keep], width),
        unframe(events.younger[keep], width),
    )
    return barcode, events.edge[keep]


def as_image(name: str, image) -> np.ndarray:
    """A finite floating (H, W) tensor as a float64 numpy array, else ValueError/TypeError."""
    check_tensor(name, image, dim=2, floating=True)
    return image.detach().to("cpu", torch.float64).numpy()


def cubical_persistence(image: torch.Tensor) -> list[Barcode]:
    r"""Barcodes of dimensions 0 and 1 of an image's superlevel filtration (T-construction).

    .. math:: L_t = \{p : L(p) \ge t\},\quad t \downarrow;\qquad
              \text{bar } (b, d):\ \text{a class of } H_k(L_t) \text{ alive for } d < t \le b.

    Bars of zero length are left out. Dimension 0 ends with the essential bar (death ``-inf``) born
    at the image's maximum. Same bars as gudhi's ``CubicalComplex(top_dimensional_cells=-image)``,
    with signs flipped.

    Args:
        image: floating tensor ``(H, W)`` with finite values.

    Returns:
        ``[dimension-0 barcode, dimension-1 barcode]`` as :class:`Barcode`.
    """
    values = as_image("image", image)
    (components,) = component_pass(values, [values])
    (holes,) = hole_pass(values, [values])
    return [components_barcode(values, components)[0], holes_barcode(values, holes)[0]]

r"""Wasserstein matching of persistence barcodes: the classic, location-blind way to compare topology.

Used for contrast in "Topologically faithful image segmentation via induced matching of persistence
barcodes" (2023): the Wasserstein matching pairs bars by their (birth, death) values alone, so two images
with the same bars at different places are at distance 0, where the Betti matching sees a mismatch.

.. math:: W_p(\mathcal B, \mathcal B') = \Big(\min_{\gamma} \sum_{q \in \mathcal B} \|q - \gamma(q)\|_2^p
          + \sum_{\text{unmatched}} \|q - \pi_\Delta(q)\|_2^p\Big)^{1/p}

over partial bijections :math:`\gamma`, unmatched bars going to their projection on the diagonal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from paperlab.metrics.betti_matching import per_image
from paperlab.metrics.cubical_persistence import Barcode, cubical_persistence


@dataclass
class BarcodeMatching:
    """An optimal partial matching of two barcodes' finite bars.

    Attributes:
        distance: :math:`W_p` between the finite bars.
        matches: int64 ``(k, 2)`` rows (bar of the first barcode, bar of the second).
    """

    distance: float
    matches: np.ndarray


def wasserstein_matching(first: Barcode, second: Barcode, p: float = 2.0) -> BarcodeMatching:
    """Optimal :math:`W_p` matching (Euclidean ground distance) of the finite bars of two barcodes.

    Args:
        first: a :class:`Barcode`.
        second: a :class:`Barcode` of the same dimension.
        p: order, >= 1.

    Returns:
        A :class:`BarcodeMatching`.
    """
    if not isinstance(first, Barcode) or not isinstance(second, Barcode):
        raise TypeError(
            f"first and second must be Barcode, got {type(first).__name__}, {type(second).__name__}"
        )
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not p >= 1:
        raise ValueError(f"p must be a number >= 1, got {p!r}")
    x = np.stack([first.birth, first.death], 1)[~first.essential]  # (n, 2)
    y = np.stack([second.birth, second.death], 1)[~second.essential]  # (m, 2)
    n, m = len(x), len(y)
    to_diagonal_x = (np.abs(x[:, 0] - x[:, 1]) / np.sqrt(2)) ** p  # (n,)
    to_diagonal_y = (np.abs(y[:, 0] - y[:, 1]) / np.sqrt(2)) ** p  # (m,)
    cost = np.zeros((n + m, m + n))
    cost[:n, :m] = np.linalg.norm(x[:, None, :] - y[None, :, :], axis=-1) ** p  # (n, m)
    cost[:n, m:] = to_diagonal_x[:, None]
    cost[n:, :m] = to_diagonal_y[None, :]
    rows, cols = linear_sum_assignment(cost)
    real = (rows < n) & (cols < m)
    distance = float(cost[rows, cols].sum() ** (1 / p))
    return BarcodeMatching(distance, np.stack([rows[real], cols[real]], 1).astype(np.int64))


def barcode_wasserstein_distance(
    input: torch.Tensor, target: torch.Tensor, p: float = 2.0, threshold: float | None = None
) -> torch.Tensor:
    r"""Wasserstein distance between two images' barcodes, dimensions 0 and 1 together.

    .. math:: d(L, G) = \Big(\sum_{k \in \{0, 1\}} W_p(\mathcal B_k(L), \mathcal B_k(G))^p
              + |b_\infty(L) - b_\infty(G)|^p\Big)^{1/p}

    where :math:`b_\infty` is the birth of the essential component.

    Args:
        input: prediction, floating ``(H, W)`` or ``(N, H, W)``.
        target: target of the same shape.
        p: order, >= 1.
        threshold: binarize both images first (:math:`x \ge` threshold), or None.

    Returns:
        float64 tensor of shape ``()`` or ``(N,)``.
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not p >= 1:
        raise ValueError(f"p must be a number >= 1, got {p!r}")

    def distance(a, b):
        bars_a, bars_b = cubical_persistence(a), cubical_persistence(b)
        total = abs(bars_a[0].birth[-1] - bars_b[0].birth[-1]) ** p
        total += sum(wasserstein_matching(bars_a[d], bars_b[d], p).distance ** p for d in (0, 1))
        return total ** (1 / p)

    return per_image("barcode_wasserstein_distance", distance, input, target, threshold)

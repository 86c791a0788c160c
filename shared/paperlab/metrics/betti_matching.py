r"""Betti matching: spatially faithful matching of two images' barcodes through their comparison image.

From "Topologically faithful image segmentation via induced matching of persistence barcodes" (2023).
For a prediction :math:`L` and a target :math:`G` the comparison image :math:`C = \max(L, G)` has
superlevel sets :math:`C_t = L_t \cup G_t`, so the inclusions :math:`L_t \hookrightarrow C_t
\hookleftarrow G_t` induce maps in homology. Each map :math:`f` has an image barcode whose bars are born
with a bar of the domain and die with a bar of the codomain; matching equal birth and equal death cells
gives the induced matchings :math:`\sigma_L: \mathcal B(L) \to \mathcal B(C)` and
:math:`\sigma_G: \mathcal B(G) \to \mathcal B(C)`. A bar of :math:`L` and a bar of :math:`G` are
Betti-matched when both are matched to the same bar of :math:`C`: they then describe a feature at the
same place. The Betti matching error counts the bars left unmatched on either side.

Image barcodes come from the union-find of :mod:`paperlab.metrics.cubical_persistence`:

* dimension 0: a pass over C, keyed by L (and G): a merge in C kills an image class when both merging
  components already hold a pixel of L; the image bar is born at the L-maximum of the younger one;
* dimension 1 (duality): a pass over the background of L, keyed by C: a merge kills an image class when
  both merging background components already hold background of C; it dies at their C-minimum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from paperlab._checks import check_positive, check_tensor
from paperlab.metrics.cubical_persistence import (
    Barcode,
    as_image,
    component_pass,
    components_barcode,
    cubical_persistence,
    hole_pass,
    holes_barcode,
)


@dataclass
class BettiMatchingResult:
    """The Betti matching of a prediction's and a target's barcodes.

    Attributes:
        prediction: ``[dimension 0, dimension 1]`` barcodes of the prediction.
        target: the same for the target.
        matches: per dimension, int64 ``(k, 2)`` rows (prediction bar index, target bar index).
        unmatched_prediction: per dimension, int64 indices of prediction bars without a partner.
        unmatched_target: per dimension, int64 indices of target bars without a partner.
    """

    prediction: list[Barcode]
    target: list[Barcode]
    matches: list[np.ndarray]
    unmatched_prediction: list[np.ndarray]
    unmatched_target: list[np.ndarray]

    def error(self, dimension: int | None = None) -> int:
        """Number of unmatched bars, prediction and target together (one dimension or both)."""
        dims = (0, 1) if dimension is None else (dimension,)
        return sum(len(self.unmatched_prediction[d]) + len(self.unmatched_target[d]) for d in dims)


def _induced_components(values, flat_comparison, edge_to_bar, image_events, barcode):
    """{comparison bar: bar of ``barcode``} in dimension 0: an image bar is born with a bar of ``values``
    (same birth pixel) and dies with a bar of the comparison image (same merging edge)."""
    by_birth = {pixel: i for i, pixel in enumerate(_flat(barcode.birth_pixel, values.shape[1]).tolist())}
    positive = values.ravel()[image_events.younger] > flat_comparison[image_events.death]
    pairs = zip(image_events.edge[positive].tolist(), image_events.younger[positive].tolist())
    return {edge_to_bar[e]: by_birth[pixel] for e, pixel in pairs if e in edge_to_bar and pixel in by_birth}


def _flat(pixel: np.ndarray, width: int) -> np.ndarray:
    return pixel[:, 0] * width + pixel[:, 1]


def _match_components(pred, target, comparison):
    """Dimension-0 barcodes of prediction and target, and {comparison bar: bar} for each."""
    own, from_pred, from_target = component_pass(comparison, [comparison, pred, target])
    comparison_bars, comparison_edges = components_barcode(comparison, own)
    edge_to_bar = {edge: i for i, edge in enumerate(comparison_edges.tolist())}
    flat_c = comparison.ravel()
    results = []
    for values, image_events in ((pred, from_pred), (target, from_target)):
        barcode, _ = components_barcode(values, component_pass(values, [values])[0])
        induced = _induced_components(values, flat_c, edge_to_bar, image_events, barcode)
        induced[len(comparison_bars) - 1] = len(barcode) - 1  # the essential bars
        results.append((barcode, induced))
    return results


def _match_holes(pred, target, comparison):
    """Dimension-1 barcodes of prediction and target, and {comparison bar: bar} for each."""
    (comparison_events,) = hole_pass(comparison, [comparison])
    comparison_bars, _ = holes_barcode(comparison, comparison_events)
    width = comparison.shape[1] + 2
    framed_c = np.pad(comparison, 1, constant_values=-np.inf).ravel()
    death_to_bar = {
        pixel: i for i, pixel in enumerate(_flat(comparison_bars.death_pixel + 1, width).tolist())
    }
    results = []
    for values in (pred, target):
        own, to_comparison = hole_pass(values, [values, comparison])
        barcode, edges = holes_barcode(values, own)
        edge_to_bar = {edge: i for i, edge in enumerate(edges.tolist())}
        framed = np.pad(values, 1, constant_values=-np.inf).ravel()
        positive = framed[to_comparison.death] > framed_c[to_comparison.younger]
        pairs = zip(to_comparison.edge[positive].tolist(), to_comparison.younger[positive].tolist())
        induced = {
            death_to_bar[pixel]: edge_to_bar[edge]
            for edge, pixel in pairs
            if edge in edge_to_bar and pixel in death_to_bar
        }
        results.append((barcode, induced))
    return results


def _check_pair(input, target) -> None:
    check_tensor("input", input, dim=2, floating=True)
    check_tensor("target", target, dim=2, floating=True)
    if input.shape != target.shape:
        raise ValueError(
            f"target must have the shape of input {tuple(input.shape)}, got {tuple(target.shape)}"
        )


def betti_matching(input: torch.Tensor, target: torch.Tensor) -> BettiMatchingResult:
    r"""Betti matching of the superlevel barcodes of a prediction and a target image.

    .. math:: q \in \mathcal B(L),\ q' \in \mathcal B(G) \text{ matched} \iff
              \sigma_L(q) = \sigma_G(q') \in \mathcal B(\max(L, G))

    Args:
        input: prediction likelihoods, floating ``(H, W)``.
        target: target, floating ``(H, W)`` (binary masks or likelihoods).

    Returns:
        A :class:`BettiMatchingResult`; the essential components are always matched.
    """
    _check_pair(input, target)
    pred, gt = as_image("input", input), as_image("target", target)
    comparison = np.maximum(pred, gt)
    result = BettiMatchingResult([], [], [], [], [])
    for (pred_bars, pred_map), (target_bars, target_map) in (
        _match_components(pred, gt, comparison),
        _match_holes(pred, gt, comparison),
    ):
        shared = sorted(set(pred_map) & set(target_map))
        matches = np.array([[pred_map[c], target_map[c]] for c in shared], dtype=np.int64).reshape(-1, 2)
        result.prediction.append(pred_bars)
        result.target.append(target_bars)
        result.matches.append(matches)
        result.unmatched_prediction.append(np.setdiff1d(np.arange(len(pred_bars)), matches[:, 0]))
        result.unmatched_target.append(np.setdiff1d(np.arange(len(target_bars)), matches[:, 1]))
    return result


def per_image(name, fn, input, target, threshold):
    """Apply ``fn`` to each (H, W) pair of (H, W) or (N, H, W) inputs; float64 tensor () or (N,)."""
    check_tensor("input", input, min_dim=2, floating=True)
    check_tensor("target", target, min_dim=2, floating=True)
    if input.dim() not in (2, 3) or input.shape != target.shape:
        raise ValueError(
            f"{name}: input and target must have the same shape (H, W) or (N, H, W), "
            f"got {tuple(input.shape)} and {tuple(target.shape)}"
        )
    if threshold is not None:
        check_positive("threshold", threshold)
        input, target = (input >= threshold).double(), (target >= threshold).double()
    values = [
        fn(p, g) for p, g in zip(input.reshape(-1, *input.shape[-2:]), target.reshape(-1, *input.shape[-2:]))
    ]
    return torch.tensor(values, dtype=torch.float64).reshape(input.shape[:-2])


def betti_matching_error(
    input: torch.Tensor, target: torch.Tensor, threshold: float | None = None
) -> torch.Tensor:
    r"""Number of bars (dimensions 0 and 1) without a Betti-matched partner, on either side.

    .. math:: \mathrm{BM}(L, G) = \#\{q \in \mathcal B(L) \text{ unmatched}\}
              + \#\{q' \in \mathcal B(G) \text{ unmatched}\}

    With ``threshold`` both images are first binarized (:math:`x \ge` threshold), as for evaluation;
    an image that is empty after binarization has no essential component.

    Args:
        input: prediction, floating ``(H, W)`` or ``(N, H, W)``.
        target: target of the same shape.
        threshold: binarization level in (0, 1], or None for the raw values.

    Returns:
        float64 tensor of shape ``()`` or ``(N,)``.
    """

    def error(p, g):
        bm = betti_matching(p, g).error()
        if threshold is None:
            return bm
        return bm + abs(int(p.max() >= 1) - int(g.max() >= 1))  # an empty side loses its essential bar

    return per_image("betti_matching_error", error, input, target, threshold)


def betti_number_error(input: torch.Tensor, target: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""Betti number error of the binarized images: :math:`|\beta_0(L) - \beta_0(G)| + |\beta_1(L) - \beta_1(G)|`.

    Args:
        input: prediction, floating ``(H, W)`` or ``(N, H, W)``.
        target: target of the same shape.
        threshold: binarization level in (0, 1].

    Returns:
        float64 tensor of shape ``()`` or ``(N,)``.
    """

    def error(p, g):
        bp, bg = cubical_persistence(p), cubical_persistence(g)
        return sum(abs(bp[d].betti_number(0.5) - bg[d].betti_number(0.5)) for d in (0, 1))

    if threshold is None:
        raise ValueError("threshold must be a number in (0, 1], got None")
    return per_image("betti_number_error", error, input, target, threshold)

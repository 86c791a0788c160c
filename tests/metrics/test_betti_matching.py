"""Betti matching: constructed pairs with known answers, invariants, and the Wasserstein contrast."""

import gudhi.wasserstein
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from paperlab.data import ring_mask
from paperlab.metrics import (
    barcode_wasserstein_distance,
    betti_matching,
    betti_matching_error,
    betti_number_error,
    cubical_persistence,
    wasserstein_matching,
)
from paperlab.metrics.betti_matching import _match_components, _match_holes
from paperlab.metrics.cubical_persistence import component_pass, hole_pass


def rings(*centers, size=32, radius=5.0, width=2.0):
    mask = torch.zeros(size, size, dtype=torch.float64)
    for center in centers:
        mask = torch.maximum(mask, ring_mask(size, center, radius, width, torch.float64))
    return mask


def test_shifted_hole_is_seen_by_betti_matching_only():
    """One ring each, same Betti numbers, disjoint places: both holes are unmatched, nothing else is."""
    pred, target = rings((9.0, 9.0)), rings((22.0, 22.0))
    assert betti_number_error(pred, target).item() == 0
    assert betti_matching_error(pred, target, threshold=0.5).item() == 2
    assert barcode_wasserstein_distance(pred, target).item() == 0
    result = betti_matching(pred, target)
    assert len(result.unmatched_prediction[1]) == len(result.unmatched_target[1]) == 1
    assert result.error(0) == 0


def test_overlapping_holes_are_matched():
    pred, target = rings((9.0, 9.0), (22.0, 22.0)), rings((10.0, 9.0), (22.0, 21.0), width=2.6)
    assert betti_matching_error(pred, target, threshold=0.5).item() == 0


def test_swapped_holes_between_two_rings_count_twice():
    """Two rings in the target; the prediction has one of them and a ring elsewhere: 1 hole unmatched per side."""
    pred, target = rings((8.0, 8.0), (8.0, 23.0)), rings((8.0, 8.0), (23.0, 23.0))
    assert betti_number_error(pred, target).item() == 0
    assert betti_matching(pred, target).error(1) == 2


def test_empty_prediction_misses_every_target_feature():
    target = rings((9.0, 9.0), (22.0, 22.0))
    error = betti_matching_error(torch.zeros_like(target), target, threshold=0.5).item()
    assert error == 4  # two components, two holes


def test_identical_images_match_every_bar_to_itself():
    image = torch.rand(14, 14, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    result = betti_matching(image, image)
    for dim in (0, 1):
        assert len(result.matches[dim]) == len(result.prediction[dim])
        np.testing.assert_array_equal(result.matches[dim][:, 0], result.matches[dim][:, 1])
    assert betti_matching_error(image, image).item() == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), size=st.integers(3, 12), binary=st.booleans())
def test_matching_invariants(seed, size, binary):
    generator = torch.Generator().manual_seed(seed)
    pred = torch.rand(size, size, generator=generator, dtype=torch.float64)
    target = torch.rand(size, size, generator=generator, dtype=torch.float64)
    if binary:
        pred, target = (pred > 0.5).double(), (target > 0.6).double()
    forward, backward = betti_matching(pred, target), betti_matching(target, pred)
    for dim in (0, 1):
        matches = forward.matches[dim]
        # symmetric construction: swapping the images swaps the matching
        assert {tuple(m) for m in matches} == {tuple(m[::-1]) for m in backward.matches[dim]}
        # each bar at most once, and matched bars coexist at some level (their intervals overlap)
        assert len(set(matches[:, 0])) == len(set(matches[:, 1])) == len(matches)
        p, t = forward.prediction[dim], forward.target[dim]
        assert (
            np.minimum(p.birth[matches[:, 0]], t.birth[matches[:, 1]])
            > np.maximum(p.death[matches[:, 0]], t.death[matches[:, 1]])
        ).all()
        assert len(matches) + len(forward.unmatched_prediction[dim]) == len(p)
    if binary:  # counts differ by the Betti numbers, so the matching error bounds the Betti number error
        assert betti_matching_error(pred, target, 0.5) >= betti_number_error(pred, target)


def test_batched_inputs_give_one_value_per_image():
    generator = torch.Generator().manual_seed(1)
    pred = torch.rand(3, 10, 10, generator=generator, dtype=torch.float64)
    target = (torch.rand(3, 10, 10, generator=generator) > 0.5).double()
    batched = betti_matching_error(pred, target, threshold=0.5)
    assert batched.shape == (3,)
    singles = [betti_matching_error(p, t, threshold=0.5) for p, t in zip(pred, target)]
    torch.testing.assert_close(batched, torch.stack(singles))


@pytest.mark.parametrize("seed", range(4))
def test_wasserstein_matches_gudhi(seed):
    generator = torch.Generator().manual_seed(seed)
    a, b = (cubical_persistence(torch.rand(9, 9, generator=generator, dtype=torch.float64)) for _ in range(2))
    for dim in (0, 1):
        finite_a = np.stack([a[dim].birth, a[dim].death], 1)[~a[dim].essential]
        finite_b = np.stack([b[dim].birth, b[dim].death], 1)[~b[dim].essential]
        expected = gudhi.wasserstein.wasserstein_distance(finite_a, finite_b, order=2, internal_p=2)
        assert wasserstein_matching(a[dim], b[dim], p=2).distance == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: betti_matching(torch.zeros(4, 4), torch.zeros(4, 5)),
        lambda: betti_matching(torch.zeros(4, 4), torch.full((4, 4), float("inf"))),
        lambda: betti_matching_error(torch.zeros(2, 4, 4), torch.zeros(4, 4)),
        lambda: betti_matching_error(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4)),
        lambda: betti_matching_error(torch.zeros(4, 4), torch.zeros(4, 4), threshold=-0.5),
        lambda: betti_number_error(torch.zeros(4, 4), torch.zeros(4, 4), threshold=None),
        lambda: wasserstein_matching(cubical_persistence(torch.zeros(3, 3))[0], "bars"),
        lambda: barcode_wasserstein_distance(torch.zeros(3, 3), torch.zeros(3, 3), p=0.5),
    ],
)
def test_bad_inputs(call):
    with pytest.raises((ValueError, TypeError)):
        call()


def image_bars(pred: np.ndarray, target: np.ndarray):
    """Bars (birth, death) of the image of H_k(L_t) -> H_k(max(L, G)_t), k = 0 (with its essential bar), 1."""
    comparison = np.maximum(pred, target)
    _, to_comparison, _ = component_pass(comparison, [comparison, pred, target])
    dim0 = [
        (pred.ravel()[y], comparison.ravel()[d]) for y, d in zip(to_comparison.younger, to_comparison.death)
    ]
    dim0.append((pred.max(), -np.inf))
    _, to_holes = hole_pass(pred, [pred, comparison])
    framed_pred = np.pad(pred, 1, constant_values=-np.inf).ravel()
    framed_comparison = np.pad(comparison, 1, constant_values=-np.inf).ravel()
    dim1 = [(framed_pred[d], framed_comparison[y]) for y, d in zip(to_holes.younger, to_holes.death)]
    return np.array(dim0), np.array(dim1).reshape(-1, 2)


@pytest.mark.parametrize("seed", range(5))
def test_image_barcodes_have_the_ranks_of_the_induced_maps(seed):
    """At each level t, bars alive (b >= t > d) = rank of H_k(L_t) -> H_k(C_t), counted from labels:
    components of C_t that meet L_t; bounded background components of L_t that meet the background of C_t."""
    rng = np.random.default_rng(seed)
    pred, target = rng.random((12, 12)), rng.random((12, 12))
    levels = rng.random(8)
    if seed >= 3:  # ties everywhere: values on a grid of step 1/4, levels between grid values
        pred, target = np.round(pred * 4) / 4, (target > 0.5).astype(float)
        levels = np.floor(levels * 4) / 4 + 0.125
    comparison = np.maximum(pred, target)
    dim0, dim1 = image_bars(pred, target)
    for t in levels:
        labels, count = ndimage.label(comparison >= t, structure=np.ones((3, 3)))
        rank0 = len(set(np.unique(labels[pred >= t])) - {0})
        framed, count = ndimage.label(np.pad(pred < t, 1, constant_values=True))
        inner_c = np.pad(comparison < t, 1, constant_values=False)
        rank1 = len(set(np.unique(framed[inner_c])) - {0, framed[0, 0]})
        assert ((dim0[:, 0] >= t) & (dim0[:, 1] < t)).sum() == rank0
        assert ((dim1[:, 0] >= t) & (dim1[:, 1] < t)).sum() == rank1


@pytest.mark.parametrize("seed", range(5))
def test_every_image_bar_finds_its_two_partners(seed):
    """Induced matchings are injective on image bars: every image bar of positive length is matched to a
    bar of the prediction (same birth) and of the comparison image (same death), so for random images
    the prediction has exactly as many bars matched to the comparison image as the image has bars."""
    rng = np.random.default_rng(10 + seed)
    pred, target = rng.random((12, 12)), rng.random((12, 12))
    dim0, dim1 = image_bars(pred, target)
    (_, components), _ = _match_components(pred, target, np.maximum(pred, target))
    (_, holes), _ = _match_holes(pred, target, np.maximum(pred, target))
    assert len(components) == (dim0[:, 0] > dim0[:, 1]).sum()
    assert len(holes) == (dim1[:, 0] > dim1[:, 1]).sum()

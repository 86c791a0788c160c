"""Superlevel cubical persistence against gudhi and against connected-component counts."""

import gudhi
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from paperlab.metrics import cubical_persistence


def gudhi_bars(image: np.ndarray) -> dict[int, list[tuple[float, float]]]:
    """gudhi's T-construction bars of the sublevel filtration of -image, signs flipped, zero length dropped."""
    bars = {0: [], 1: []}
    for dim, (birth, death) in gudhi.CubicalComplex(top_dimensional_cells=-image).persistence():
        if death > birth:
            bars[dim].append((-birth, -death))
    return {d: sorted(b) for d, b in bars.items()}


def our_bars(image: np.ndarray) -> dict[int, list[tuple[float, float]]]:
    barcodes = cubical_persistence(torch.tensor(image))
    return {b.dimension: sorted(zip(b.birth.tolist(), b.death.tolist())) for b in barcodes}


@settings(max_examples=25, deadline=None)
@given(
    height=st.integers(1, 12),
    width=st.integers(1, 12),
    levels=st.sampled_from([0, 3, 5]),
    seed=st.integers(0, 2**16),
)
def test_same_bars_as_gudhi(height, width, levels, seed):
    image = np.random.default_rng(seed).random((height, width))
    if levels:  # many ties
        image = np.round(image * levels) / levels
    ours, reference = our_bars(image), gudhi_bars(image)
    for dim in (0, 1):
        np.testing.assert_allclose(
            np.array(ours[dim]).reshape(-1, 2), np.array(reference[dim]).reshape(-1, 2), atol=1e-12
        )


def test_pixels_carry_the_bar_values():
    image = torch.rand(20, 17, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    values = image.numpy()
    for barcode in cubical_persistence(image):
        finite = ~barcode.essential
        np.testing.assert_array_equal(values[tuple(barcode.birth_pixel.T)], barcode.birth)
        np.testing.assert_array_equal(values[tuple(barcode.death_pixel[finite].T)], barcode.death[finite])
        assert (barcode.birth > barcode.death).all()
    assert cubical_persistence(image)[0].essential.sum() == 1


@pytest.mark.parametrize("seed", range(6))
def test_betti_numbers_are_component_counts(seed):
    """beta_0: 8-connected foreground components; beta_1: 4-connected background components off the border."""
    mask = (np.random.default_rng(seed).random((16, 16)) < 0.45).astype(np.float64)
    barcodes = cubical_persistence(torch.tensor(mask))
    _, components = ndimage.label(mask, structure=np.ones((3, 3)))
    framed_background = np.pad(1 - mask, 1, constant_values=1)
    _, background = ndimage.label(framed_background)  # 4-connectivity by default
    assert barcodes[0].betti_number(0.5) == components
    assert barcodes[1].betti_number(0.5) == background - 1


def test_constant_image_has_only_the_essential_component():
    dim0, dim1 = cubical_persistence(torch.full((5, 6), 0.3, dtype=torch.float64))
    assert len(dim0) == 1 and dim0.essential.all() and dim0.birth[0] == 0.3
    assert len(dim1) == 0


def test_float32_input_is_accepted():
    image = torch.rand(9, 9, generator=torch.Generator().manual_seed(0))
    assert our_bars(image.double().numpy()) == {
        b.dimension: sorted(zip(b.birth.tolist(), b.death.tolist())) for b in cubical_persistence(image)
    }


@pytest.mark.parametrize(
    "image, error",
    [
        (np.zeros((3, 3)), TypeError),
        (torch.zeros(3, 3, 3), ValueError),
        (torch.zeros(3, 3, dtype=torch.int64), TypeError),
        (torch.tensor([[0.0, float("nan")]]), ValueError),
        (torch.zeros(0, 3), ValueError),
    ],
)
def test_bad_inputs(image, error):
    with pytest.raises(error):
        cubical_persistence(image)

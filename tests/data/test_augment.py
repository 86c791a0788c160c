"""Digit augmentation: shapes, determinism, range, and each of shift, noise and erasing on its own."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.data import augment_digits, digit_images, view_pair_batches


def images(n=20, height=8, width=8, seed=0, dtype=torch.float64):
    return torch.rand(n, height, width, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def zero_filled_shift(image, dy, dx):
    """Move one (H, W) image dy rows down and dx columns right, filling with zeros, by loops."""
    height, width = image.shape
    out = torch.zeros_like(image)
    for i in range(height):
        for j in range(width):
            if 0 <= i - dy < height and 0 <= j - dx < width:
                out[i, j] = image[i - dy, j - dx]
    return out


def test_shape_dtype_range_and_determinism():
    x = images(dtype=torch.float32)
    a = augment_digits(x, generator=3)
    assert a.shape == x.shape and a.dtype == torch.float32 and a.device == x.device
    assert bool((a >= 0).all()) and bool((a <= 1).all())
    torch.testing.assert_close(a, augment_digits(x, generator=torch.Generator().manual_seed(3)))
    assert not torch.equal(a, augment_digits(x, generator=4))
    assert not torch.equal(a, x)


def test_global_generator_is_used_when_none_is_given():
    x = images()
    torch.manual_seed(11)
    first = augment_digits(x)
    torch.manual_seed(11)
    torch.testing.assert_close(augment_digits(x), first)


def test_no_augmentation_is_the_identity():
    x = images()
    torch.testing.assert_close(augment_digits(x, max_shift=0, noise_std=0.0, n_erased=0, generator=0), x)


@pytest.mark.parametrize("max_shift", [1, 2])
def test_shift_alone_is_a_zero_filled_translation_by_at_most_max_shift(max_shift):
    x = images(n=40, height=6, width=7, seed=1)
    out = augment_digits(x, max_shift=max_shift, noise_std=0.0, n_erased=0, generator=2)
    candidates = [
        (dy, dx) for dy in range(-max_shift, max_shift + 1) for dx in range(-max_shift, max_shift + 1)
    ]
    used = set()
    for image, view in zip(x, out):
        matches = [s for s in candidates if torch.equal(view, zero_filled_shift(image, *s))]
        assert len(matches) == 1  # random pixel values make every shift distinguishable
        used.add(matches[0])
    assert len(used) > len(candidates) // 2  # the shifts vary across images


def test_erasing_alone_zeros_exactly_n_erased_distinct_pixels():
    x = torch.ones(30, 8, 8, dtype=torch.float64)
    out = augment_digits(x, max_shift=0, noise_std=0.0, n_erased=5, generator=3)
    assert torch.equal((out == 0).sum(dim=(1, 2)), torch.full((30,), 5))
    assert bool(((out == 0) | (out == 1)).all())
    assert (out == 0).any(dim=0).sum() > 5  # different pixels in different images


def test_noise_alone_has_the_requested_spread():
    x = torch.full((400, 8, 8), 0.5, dtype=torch.float64)
    difference = augment_digits(x, max_shift=0, noise_std=0.05, n_erased=0, generator=4) - x
    assert abs(difference.mean().item()) < 0.002  # 25_600 draws: 5 standard errors is 0.0016
    assert abs(difference.std().item() - 0.05) < 0.002


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    max_shift=st.integers(0, 3),
    noise_std=st.floats(0.0, 2.0),
    n_erased=st.integers(0, 16),
)
def test_views_stay_in_range_and_keep_erased_pixels_at_zero(seed, max_shift, noise_std, n_erased):
    x = images(n=5, height=4, width=5, seed=seed)
    out = augment_digits(x, max_shift=max_shift, noise_std=noise_std, n_erased=n_erased, generator=seed)
    assert out.shape == x.shape
    assert bool((out >= 0).all()) and bool((out <= 1).all())
    assert bool(((out == 0).sum(dim=(1, 2)) >= n_erased).all())


def test_bad_inputs_raise_naming_the_argument():
    x = images()
    with pytest.raises(ValueError, match="images"):
        augment_digits(x.reshape(20, 64))
    with pytest.raises(TypeError, match="images"):
        augment_digits((x * 16).long())
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        augment_digits(x * 16)
    nan = x.clone()
    nan[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="finite"):
        augment_digits(nan)
    with pytest.raises(ValueError, match="max_shift"):
        augment_digits(x, max_shift=-1)
    with pytest.raises(ValueError, match="max_shift"):
        augment_digits(x, max_shift=8)
    with pytest.raises(TypeError, match="max_shift"):
        augment_digits(x, max_shift=1.5)
    with pytest.raises(ValueError, match="noise_std"):
        augment_digits(x, noise_std=-0.1)
    with pytest.raises(ValueError, match="n_erased"):
        augment_digits(x, n_erased=65)
    with pytest.raises(ValueError, match="seed"):
        augment_digits(x, generator=-1)


def test_view_pair_batches_pair_two_views_of_the_same_images():
    images = torch.rand(20, 8, 8, generator=torch.Generator().manual_seed(0))
    batches = view_pair_batches(images, 3, 5, max_shift=0, noise_std=0.0, n_erased=0, generator=1)
    assert len(batches) == 3 and all(b.shape == (10, 64) for b in batches)
    for batch in batches:  # without augmentation both views are the drawn image itself
        torch.testing.assert_close(batch[:5], batch[5:])
        assert all(any(torch.equal(row, image.flatten()) for image in images) for row in batch[:5])
    again = view_pair_batches(images, 3, 5, generator=1)
    other = view_pair_batches(images, 3, 5, generator=2)
    assert torch.equal(again[0], view_pair_batches(images, 3, 5, generator=1)[0])
    assert not torch.equal(again[0], other[0])
    with pytest.raises(ValueError, match="n_batches"):
        view_pair_batches(images, 0, 5)
    with pytest.raises(ValueError, match="images"):
        view_pair_batches(images.flatten(1), 1, 5)


def test_digit_images_split_is_stratified_and_fixed():
    split = digit_images(test_size=0.4)
    assert split.train_x.shape[1:] == (8, 8) and len(split.train_x) + len(split.test_x) == 1797
    assert float(split.train_x.max()) <= 1.0 and float(split.train_x.min()) >= 0.0
    test_share = torch.bincount(split.test_y, minlength=10) / torch.bincount(
        torch.cat([split.train_y, split.test_y]), minlength=10
    )
    assert torch.allclose(test_share, torch.full((10,), 0.4), atol=0.02)
    assert torch.equal(digit_images(test_size=0.4).test_y, split.test_y)
    with pytest.raises(ValueError, match="test_size"):
        digit_images(test_size=1.5)

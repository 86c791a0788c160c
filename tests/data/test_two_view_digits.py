"""Tests for the two-view (left half / right half) digits pairs."""

import pytest
import torch
from sklearn.datasets import load_digits

from paperlab.data import two_view_digits


def test_halves_reassemble_the_original_images():
    data = two_view_digits(n_test=100, dtype=torch.float64, generator=0)
    assert data.left_train.shape == (1697, 32) and data.right_test.shape == (100, 32)
    images = torch.cat([data.left_test.reshape(100, 8, 4), data.right_test.reshape(100, 8, 4)], dim=2) * 16
    originals = torch.as_tensor(load_digits().images, dtype=torch.float64)
    for image, label in zip(images, data.labels_test):
        matches = (originals - image).abs().amax(dim=(1, 2)) == 0
        assert matches.any()
        assert (torch.as_tensor(load_digits().target)[matches] == label).all()


def test_split_is_disjoint_and_seeded():
    first, again, other = (two_view_digits(generator=seed) for seed in (0, 0, 1))
    torch.testing.assert_close(first.left_test, again.left_test)
    assert not torch.equal(first.left_test, other.left_test)
    rows = torch.cat([first.left_train, first.left_test])
    assert rows.shape[0] == 1797 and first.left_train.dtype == torch.float32
    assert float(rows.min()) >= 0 and float(rows.max()) <= 1


@pytest.mark.parametrize("n_test", [0, 1797, 2.5])
def test_bad_n_test_raises(n_test):
    with pytest.raises((ValueError, TypeError), match="n_test"):
        two_view_digits(n_test=n_test)

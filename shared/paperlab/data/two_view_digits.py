"""Paired pseudo-modalities from the 8x8 digits: the left half and the right half of each image.

A small stand-in for image-text pairs in "GSSF: Generalized Structural Sparse Function for Deep
Cross-modal Metric Learning (2024)": each half is a 32-D view, and retrieval asks for the other half
of the same image among all held-out halves.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from paperlab._checks import check_positive
from paperlab._random import as_generator


@dataclass
class TwoViewDigits:
    """Train/test split of paired views; row i of ``left_*`` and ``right_*`` come from one image."""

    left_train: torch.Tensor  # (N_train, 32)
    right_train: torch.Tensor  # (N_train, 32)
    labels_train: torch.Tensor  # (N_train,) int64 digit classes
    left_test: torch.Tensor  # (N_test, 32)
    right_test: torch.Tensor  # (N_test, 32)
    labels_test: torch.Tensor  # (N_test,)


def two_view_digits(n_test: int = 500, dtype=torch.float32, device=None, generator=None) -> TwoViewDigits:
    """Split scikit-learn's 1797 digits at random and cut every image into its left and right halves.

    Intensities are scaled from 0..16 to [0, 1]; each half is flattened row by row (8 rows x 4 columns).

    Args:
        n_test: number of held-out pairs, 1 <= n_test < 1797.
        dtype, device: of the returned tensors.
        generator: an int seed, a ``torch.Generator`` or None (torch's global generator) for the split.

    Returns:
        :class:`TwoViewDigits`.
    """
    from sklearn.datasets import load_digits

    check_positive("n_test", n_test, integer=True)
    digits = load_digits()
    n_total = len(digits.target)
    if n_test >= n_total:
        raise ValueError(f"n_test must be smaller than the {n_total} digits, got {n_test}")
    images = torch.as_tensor(digits.images, dtype=dtype) / 16.0  # (1797, 8, 8)
    labels = torch.as_tensor(digits.target, dtype=torch.int64)
    left = images[:, :, :4].reshape(n_total, 32)  # (1797, 32)
    right = images[:, :, 4:].reshape(n_total, 32)  # (1797, 32)
    order = torch.randperm(n_total, generator=as_generator(generator))
    test, train = order[:n_test], order[n_test:]

    def take(tensor, rows):
        return tensor[rows].to(device)

    return TwoViewDigits(
        left_train=take(left, train),
        right_train=take(right, train),
        labels_train=take(labels, train),
        left_test=take(left, test),
        right_test=take(right, test),
        labels_test=take(labels, test),
    )

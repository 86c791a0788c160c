"""The 8x8 digits bundled with scikit-learn, as tensors with one fixed, stratified train/test split."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@dataclass
class DigitSplit:
    """Images in [0, 1] of shape (n, 8, 8) and int64 labels of shape (n,), for training and test."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def digit_images(
    test_size: float = 0.4, dtype: torch.dtype = torch.float32, device=None, random_state: int = 0
) -> DigitSplit:
    """The 1,797 digit images (pixels divided by 16) split by class-stratified sampling.

    The split depends only on ``random_state`` (0 by default), not on the experiment's seed, so every
    seed trains and tests on the same images and seeds differ only in initialization and batches.

    Args:
        test_size: fraction of images held out, in (0, 1).
        dtype, device: of the image tensors (labels are int64 on the same device).
        random_state: seed of the split.
    """
    if not isinstance(test_size, float) or not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    digits = load_digits()
    train_rows, test_rows = train_test_split(
        np.arange(len(digits.target)), test_size=test_size, random_state=random_state, stratify=digits.target
    )
    images = torch.tensor(digits.images / 16.0, dtype=dtype, device=device)  # (N, 8, 8)
    labels = torch.tensor(digits.target, device=device)
    return DigitSplit(images[train_rows], labels[train_rows], images[test_rows], labels[test_rows])

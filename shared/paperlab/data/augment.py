"""Cheap, deterministic augmentation of small grey-level images (such as the 8x8 digits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


def augment_digits(
    images: torch.Tensor,
    max_shift: int = 1,
    noise_std: float = 0.05,
    n_erased: int = 2,
    generator=None,
) -> torch.Tensor:
    r"""A random view of each image: shift, add Gaussian noise, clip to [0, 1], erase a few pixels.

    .. math:: \tilde x = \mathrm{erase}_E\big(\mathrm{clip}_{[0,1]}(\mathrm{shift}_{(d_y, d_x)}(x)
              + \sigma \varepsilon)\big), \quad d_y, d_x \sim \mathcal{U}\{-s, \dots, s\},\
              \varepsilon \sim \mathcal{N}(0, I)

    The shift moves the image by whole pixels and fills the uncovered border with 0 (the background);
    erasing sets ``n_erased`` distinct pixels, drawn uniformly, to 0. Each image gets its own draws. A
    small stand-in for the crop / colour / blur augmentations of contrastive learning on photos.
    Random numbers are drawn on the CPU from ``generator`` and moved to the images' device, so one
    seed gives the same views on every device.

    Args:
        images: (N, H, W) intensities in [0, 1].
        max_shift: s >= 0, the largest shift in pixels along each axis (less than H and W).
        noise_std: sigma >= 0 of the additive Gaussian noise.
        n_erased: number of pixels set to 0 per image, at most H * W.
        generator: an int seed, a ``torch.Generator`` or None (torch's global generator).

    Returns:
        (N, H, W) augmented images in [0, 1], same dtype and device as ``images``.

    Used for the two views of "Supervised Contrastive Learning (2020)".
    """
    check_tensor("images", images, dim=3, floating=True)
    n, height, width = images.shape
    if bool(images.min() < 0) or bool(images.max() > 1):
        raise ValueError(
            f"images must hold intensities in [0, 1], got range [{images.min().item():.3g}, "
            f"{images.max().item():.3g}]"
        )
    check_positive("max_shift", max_shift, integer=True, allow_zero=True)
    if max_shift >= min(height, width):
        raise ValueError(f"max_shift must be smaller than the image sides {height, width}, got {max_shift}")
    check_positive("noise_std", noise_std, allow_zero=True)
    check_positive("n_erased", n_erased, integer=True, allow_zero=True)
    if n_erased > height * width:
        raise ValueError(f"n_erased must be at most H * W = {height * width}, got {n_erased}")
    generator = as_generator(generator)
    shifts = torch.randint(-max_shift, max_shift + 1, (n, 2), generator=generator).to(images.device)
    noise = torch.randn(n, height, width, generator=generator, dtype=images.dtype).to(images.device)
    erase_order = torch.rand(n, height * width, generator=generator).argsort(dim=1)  # (N, H * W)
    erased = erase_order[:, :n_erased].to(images.device)  # (N, n_erased) flat pixel indices

    views = _shift(images, shifts, max_shift)
    views = (views + noise_std * noise).clamp(0.0, 1.0)
    views = views.reshape(n, height * width).scatter(1, erased, 0.0)  # (N, H * W)
    return views.reshape(n, height, width)


def _shift(images: torch.Tensor, shifts: torch.Tensor, pad: int) -> torch.Tensor:
    """Translate image k by ``shifts[k] = (d_y, d_x)`` pixels (down, right), filling with zeros."""
    n, height, width = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))  # (N, H + 2 pad, W + 2 pad)
    rows = torch.arange(height, device=images.device) + pad - shifts[:, :1]  # (N, H)
    cols = torch.arange(width, device=images.device) + pad - shifts[:, 1:]  # (N, W)
    batch = torch.arange(n, device=images.device)[:, None, None]  # (N, 1, 1)
    return padded[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W)


def view_pair_batches(
    images: torch.Tensor,
    n_batches: int,
    batch_size: int,
    max_shift: int = 1,
    noise_std: float = 0.05,
    n_erased: int = 2,
    generator=None,
) -> list[torch.Tensor]:
    """Batches of two augmented views of random images, for self-supervised training.

    Each batch draws ``batch_size`` images with replacement and two independent
    :func:`augment_digits` views of each, flattened and stacked as ``[first views; second views]``,
    so that rows ``i`` and ``i + batch_size`` are a positive pair.

    Args:
        images: (N, H, W) intensities in [0, 1].
        n_batches, batch_size: how many batches, and images per batch.
        max_shift, noise_std, n_erased: the augmentation, as in :func:`augment_digits`.
        generator: an int seed, a ``torch.Generator`` or None; draws are made on the CPU.

    Returns:
        A list of ``n_batches`` tensors of shape (2 * batch_size, H * W), on ``images``' device.
    """
    check_tensor("images", images, dim=3, floating=True)
    check_positive("n_batches", n_batches, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    generator = as_generator(generator)
    batches = []
    for _ in range(n_batches):
        rows = torch.randint(0, len(images), (batch_size,), generator=generator).to(images.device)
        first = augment_digits(images[rows], max_shift, noise_std, n_erased, generator=generator)
        second = augment_digits(images[rows], max_shift, noise_std, n_erased, generator=generator)
        batches.append(torch.cat([first, second]).flatten(1))  # (2B, H * W)
    return batches

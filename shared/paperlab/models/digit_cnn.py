"""A two-convolution network for 8x8 images, small enough to train in seconds on a CPU."""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class DigitCNN(nn.Module):
    """conv3x3 -> relu -> conv3x3 -> relu -> 2x2 max-pool -> linear -> relu -> linear head.

    The layers are named ``conv1``, ``conv2``, ``fc`` and ``head``, so that adapters can be placed by
    name (see :func:`paperlab.models.adapt_layers`). Used by "FLoRA: Low-Rank Core Space for
    N-dimension (2024)" to compare adapters of convolution kernels.

    Args:
        n_classes: outputs of the head.
        channels: output channels of the two convolutions.
        hidden: width of the hidden linear layer.
        image_size: side of the square input images (even).

    Shapes: (n, 1, image_size, image_size) -> (n, n_classes).
    """

    def __init__(self, n_classes: int = 10, channels=(16, 32), hidden: int = 32, image_size: int = 8):
        super().__init__()
        check_positive("n_classes", n_classes, integer=True)
        check_positive("hidden", hidden, integer=True)
        check_positive("image_size", image_size, integer=True)
        if image_size % 2:
            raise ValueError(f"image_size must be even (one 2x2 pooling), got {image_size}")
        channels = tuple(channels)
        if len(channels) != 2:
            raise ValueError(f"channels must give the widths of the two convolutions, got {channels}")
        for width in channels:
            check_positive("channels", width, integer=True)
        self.image_size = image_size
        self.conv1 = nn.Conv2d(1, channels[0], 3, padding=1)
        self.conv2 = nn.Conv2d(channels[0], channels[1], 3, padding=1)
        self.fc = nn.Linear(channels[1] * (image_size // 2) ** 2, hidden)
        self.head = nn.Linear(hidden, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden representation (n, hidden) the head reads."""
        check_tensor("x", x, dim=4, floating=True, finite=False)
        if x.shape[1:] != (1, self.image_size, self.image_size):
            raise ValueError(
                f"x must have shape (n, 1, {self.image_size}, {self.image_size}), got {tuple(x.shape)}"
            )
        h = torch.relu(self.conv1(x))  # (n, c1, s, s)
        h = torch.max_pool2d(torch.relu(self.conv2(h)), 2)  # (n, c2, s/2, s/2)
        return torch.relu(self.fc(h.flatten(1)))  # (n, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

"""A small fully-convolutional segmenter: dilated 3x3 convolutions and a 1x1 classifier head.

The tiny stand-in for the DeepLab-style networks of "Jaccard Metric Losses: Optimizing the Jaccard Index
with Soft Labels" (2023): the student is the default 4-layer model, a wider one serves as a teacher for
knowledge distillation. Dilations 1, 2, 4, ... grow the receptive field without pooling, so the output
keeps the input's resolution.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class ConvSegmenter(nn.Module):
    """Per-pixel class logits from an image, at the image's resolution.

    ``depth - 1`` blocks of (3x3 convolution with dilation 2^k, ReLU), then a 1x1 convolution to
    ``n_classes`` logits. Without normalization layers the receptive field is exactly
    :math:`1 + 2 (2^{depth - 1} - 1)` pixels wide.

    Args:
        in_channels: channels of the input images.
        n_classes: number of classes ``C`` (at least 2).
        width: channels of the hidden layers.
        depth: number of convolution layers, the head included (at least 2).

    Shapes: input ``(N, in_channels, H, W)``, output ``(N, C, H, W)``.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 4, width: int = 16, depth: int = 4):
        super().__init__()
        check_positive("in_channels", in_channels, integer=True)
        check_positive("n_classes", n_classes, integer=True)
        check_positive("width", width, integer=True)
        check_positive("depth", depth, integer=True)
        if n_classes < 2:
            raise ValueError(f"n_classes must be at least 2, got {n_classes}")
        if depth < 2:
            raise ValueError(f"depth must be at least 2 (one hidden layer and the head), got {depth}")
        layers, channels = [], in_channels
        for k in range(depth - 1):
            dilation = 2**k
            layers += [
                nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation),
                nn.ReLU(),
            ]
            channels = width
        layers.append(nn.Conv2d(width, n_classes, 1))
        self.in_channels, self.n_classes = in_channels, n_classes
        self.net = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        check_tensor("images", images, dim=4, floating=True)
        if images.shape[1] != self.in_channels:
            raise ValueError(
                f"images must have {self.in_channels} channels on dim 1, got shape {tuple(images.shape)}"
            )
        return self.net(images)

"""A two-level U-Net of about 20k parameters for small binary segmentation problems.

Used for "Topologically faithful image segmentation via induced matching of persistence barcodes" (2023), whose
experiments train U-Nets; this one fits CPU experiments on 24x24 to 64x64 images.
"""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class TinyUNet(nn.Module):
    """Encoder-decoder with skip connections: widths ``(c, 2c, 3c)``, two 2x poolings, logits out.

    Args:
        in_channels: channels of the input image.
        out_channels: channels of the output logits.
        width: c, the channels of the first level (8 gives about 20k parameters).

    Shapes: input ``(N, in_channels, H, W)`` with H and W divisible by 4; output ``(N, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 8):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("width", width)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        c1, c2, c3 = width, 2 * width, 3 * width
        self.encode1 = _double_conv(in_channels, c1)
        self.encode2 = _double_conv(c1, c2)
        self.bottom = _double_conv(c2, c3)
        self.up2 = nn.ConvTranspose2d(c3, c2, 2, stride=2)
        self.decode2 = _double_conv(2 * c2, c2)
        self.up1 = nn.ConvTranspose2d(c2, c1, 2, stride=2)
        self.decode1 = _double_conv(2 * c1, c1)
        self.head = nn.Conv2d(c1, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"x must be (N, C, H, W) with H, W divisible by 4, got {tuple(x.shape)}")
        s1 = self.encode1(x)  # (N, c, H, W)
        s2 = self.encode2(nn.functional.max_pool2d(s1, 2))  # (N, 2c, H/2, W/2)
        bottom = self.bottom(nn.functional.max_pool2d(s2, 2))  # (N, 3c, H/4, W/4)
        d2 = self.decode2(torch.cat([self.up2(bottom), s2], 1))  # (N, 2c, H/2, W/2)
        d1 = self.decode1(torch.cat([self.up1(d2), s1], 1))  # (N, c, H, W)
        return self.head(d1)

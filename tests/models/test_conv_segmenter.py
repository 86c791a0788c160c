"""Tests for the small fully-convolutional segmenter."""

import pytest
import torch

from paperlab.models.conv_segmenter import ConvSegmenter


def test_output_shape_dtype_and_layer_count():
    net = ConvSegmenter(in_channels=2, n_classes=5, width=6, depth=4).double()
    out = net(torch.randn(3, 2, 17, 11, dtype=torch.float64))
    assert out.shape == (3, 5, 17, 11) and out.dtype == torch.float64
    assert sum(isinstance(m, torch.nn.Conv2d) for m in net.modules()) == 4


def test_receptive_field_grows_with_depth():
    """A change at one pixel reaches 1 + 2 (1 + 2 + 4) = 15 pixels per axis with 3 dilated layers."""
    torch.manual_seed(0)
    net = ConvSegmenter(1, 2, width=4, depth=4).double()
    images = torch.zeros(1, 1, 41, 41, dtype=torch.float64, requires_grad=True)
    net(images)[0, :, 20, 20].sum().backward()
    rows = torch.nonzero(images.grad[0, 0].abs().sum(1))
    assert int(rows.max() - rows.min() + 1) == 15


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="n_classes"):
        ConvSegmenter(1, 1)
    with pytest.raises(ValueError, match="depth"):
        ConvSegmenter(1, 2, depth=1)
    with pytest.raises(ValueError, match="channels"):
        ConvSegmenter(1, 2)(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="4 dimensions"):
        ConvSegmenter(1, 2)(torch.randn(1, 8, 8))

"""DigitCNN: shapes, named layers for adapters, bad inputs."""

from __future__ import annotations

import pytest
import torch

from paperlab.models import DigitCNN


def test_shapes_and_layer_names():
    torch.manual_seed(0)
    net = DigitCNN(n_classes=5, channels=(4, 6), hidden=7)
    x = torch.rand(3, 1, 8, 8)
    assert net(x).shape == (3, 5) and net.features(x).shape == (3, 7)
    assert net.fc.in_features == 6 * 4 * 4
    assert {"conv1", "conv2", "fc", "head"} <= {name for name, _ in net.named_children()}
    assert torch.equal(net(x), net.head(net.features(x)))


def test_bad_inputs():
    with pytest.raises(ValueError, match="image_size"):
        DigitCNN(image_size=7)
    with pytest.raises(ValueError, match="channels"):
        DigitCNN(channels=(4,))
    with pytest.raises(ValueError, match="x"):
        DigitCNN()(torch.rand(2, 1, 6, 6))

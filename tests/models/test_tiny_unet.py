"""TinyUNet: size, shapes, learning a trivial segmentation."""

import pytest
import torch

from paperlab.models import TinyUNet


def test_about_twenty_thousand_parameters():
    count = sum(p.numel() for p in TinyUNet().parameters())
    assert 15_000 <= count <= 30_000


def test_output_shape_and_dtype():
    model = TinyUNet(in_channels=2, out_channels=3).double()
    out = model(torch.randn(2, 2, 16, 24, dtype=torch.float64))
    assert out.shape == (2, 3, 16, 24) and out.dtype == torch.float64


def test_learns_to_copy_a_mask():
    torch.manual_seed(0)
    model = TinyUNet()
    x = (torch.rand(8, 1, 16, 16) > 0.5).float()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), x)
        first = loss.item() if first is None else first
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("shape", [(1, 1, 18, 16), (1, 16, 16)])
def test_bad_shapes(shape):
    with pytest.raises(ValueError):
        TinyUNet()(torch.randn(*shape))


def test_bad_width():
    with pytest.raises(ValueError):
        TinyUNet(width=0)

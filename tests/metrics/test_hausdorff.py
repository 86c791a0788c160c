"""Hausdorff distance against SciPy's directed_hausdorff, block invariance and bad inputs."""

import pytest
import torch
from scipy.spatial.distance import directed_hausdorff as scipy_directed

from paperlab.metrics import directed_hausdorff, hausdorff_distance

f64 = torch.float64


@pytest.mark.parametrize("n, m", [(1, 5), (300, 200), (507, 252)])
def test_matches_scipy(n, m):
    g = torch.Generator().manual_seed(n)
    X, Y = torch.randn(n, 3, generator=g, dtype=f64), 1.5 * torch.randn(m, 3, generator=g, dtype=f64)
    forward = scipy_directed(X.numpy(), Y.numpy())[0]
    backward = scipy_directed(Y.numpy(), X.numpy())[0]
    assert directed_hausdorff(X, Y, block_size=64).item() == pytest.approx(forward, rel=1e-10)
    assert hausdorff_distance(X, Y).item() == pytest.approx(max(forward, backward), rel=1e-10)


def test_an_outlier_sets_the_distance():
    X = torch.zeros(10, 3, dtype=f64)
    Y = torch.cat([torch.zeros(9, 3, dtype=f64), torch.tensor([[0.0, 0.0, 4.0]], dtype=f64)])
    assert directed_hausdorff(X, Y).item() == 0.0
    assert hausdorff_distance(X, Y).item() == pytest.approx(4.0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="unbatched"):
        hausdorff_distance(torch.randn(2, 5, 3), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match="same feature dimension"):
        hausdorff_distance(torch.randn(5, 3), torch.randn(5, 2))
    with pytest.raises(ValueError, match="must not be empty"):
        hausdorff_distance(torch.randn(0, 3), torch.randn(5, 3))

"""StochasticMap: shapes, noise handling, determinism without noise, bad inputs."""

import pytest
import torch

from paperlab.models import StochasticMap


def test_shapes_noise_and_reproducibility():
    torch.manual_seed(0)
    T = StochasticMap(3, noise_dim=2, hidden=(8,))
    x = torch.randn(5, 3)
    assert T(x, generator=0).shape == (5, 3)
    torch.testing.assert_close(T(x, generator=1), T(x, generator=1))
    assert not torch.allclose(T(x, generator=1), T(x, generator=2))
    z = torch.zeros(5, 2)
    torch.testing.assert_close(T(x, z), x + T.net(torch.cat([x, z], 1)))


def test_no_noise_is_deterministic():
    T = StochasticMap(2, noise_dim=0)
    x = torch.randn(4, 2)
    torch.testing.assert_close(T(x, generator=0), T(x, generator=5))


def test_bad_inputs_raise():
    T = StochasticMap(2, noise_dim=1)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        T(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="z must be a tensor of shape"):
        T(torch.zeros(4, 2), torch.zeros(4, 2))
    with pytest.raises(ValueError, match="noise_dim"):
        StochasticMap(2, noise_dim=-1)

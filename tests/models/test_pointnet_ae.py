"""PointNet autoencoder: shapes, order-invariant codes, it learns to reconstruct, bad inputs."""

import pytest
import torch

from paperlab.distances import sliced_wasserstein
from paperlab.models import PointNetAutoencoder

f64 = torch.float64


def test_shapes_and_order_invariant_codes():
    torch.manual_seed(0)
    ae = PointNetAutoencoder(n_points=50, latent=16).double()
    X = torch.randn(4, 64, 3, dtype=f64)
    assert ae(X).shape == (4, 50, 3)
    torch.testing.assert_close(ae.encode(X), ae.encode(X[:, torch.randperm(64)]), rtol=0, atol=1e-12)


def test_it_learns_to_reconstruct_a_fixed_cloud():
    torch.manual_seed(0)
    ae = PointNetAutoencoder(n_points=32, latent=8, encoder_hidden=(16,), decoder_hidden=(32,)).double()
    X = torch.randn(1, 32, 3, generator=torch.Generator().manual_seed(1), dtype=f64)
    optimizer = torch.optim.Adam(ae.parameters(), lr=0.01)
    start = sliced_wasserstein(X, ae(X), seed=0).item()
    for step in range(150):
        loss = sliced_wasserstein(X, ae(X), seed=step).pow(2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert sliced_wasserstein(X, ae(X), seed=0).item() < 0.3 * start


def test_bad_inputs():
    ae = PointNetAutoencoder(n_points=10)
    with pytest.raises(ValueError, match="X must have shape"):
        ae(torch.randn(2, 10, 2))
    with pytest.raises(ValueError, match="X must have 3 dimensions"):
        ae(torch.randn(10, 3))
    with pytest.raises(ValueError, match="n_points must be > 0"):
        PointNetAutoencoder(n_points=0)

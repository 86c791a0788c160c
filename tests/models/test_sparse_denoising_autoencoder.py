import pytest
import torch

from paperlab.models.sparse_denoising_autoencoder import SparseDenoisingAutoencoder, train_sparse_dae


def _low_rank_data(n=300, d=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g) @ torch.randn(3, d, generator=g) / 2


def test_shapes_and_noise():
    model = SparseDenoisingAutoencoder(20, 16, epsilon=2.0, noise=0.5, generator=0)
    x = torch.randn(8, 20)
    assert model(x).shape == (8, 20) and model.encode(x).shape == (8, 16)
    noisy = model.corrupt(x, generator=1)
    assert 0.3 < (noisy - x).std() < 0.7
    assert torch.equal(SparseDenoisingAutoencoder(20, 16, noise=0.0, generator=0).corrupt(x), x)


def test_training_reduces_loss_keeps_density_and_masks():
    x = _low_rank_data()
    model = SparseDenoisingAutoencoder(20, 32, epsilon=3.0, noise=0.1, generator=0)
    n_enc, n_dec = model.encoder.n_active, model.decoder.n_active
    result = train_sparse_dae(model, x, epochs=15, batch_size=50, lr=0.05, zeta=0.2, generator=1)
    assert len(result.losses) == 15 and len(result.replaced) == 14
    assert all(r > 0 for r in result.replaced)
    assert result.losses[-1] < 0.7 * result.losses[0]
    assert (model.encoder.n_active, model.decoder.n_active) == (n_enc, n_dec)
    for layer in (model.encoder, model.decoder):
        assert torch.all(layer.weight[~layer.mask] == 0)


def test_training_is_reproducible():
    x = _low_rank_data()
    runs = []
    for _ in range(2):
        model = SparseDenoisingAutoencoder(20, 16, generator=0)
        runs.append(train_sparse_dae(model, x, epochs=3, generator=5).losses)
    assert runs[0] == runs[1]


def test_bad_inputs():
    with pytest.raises(ValueError, match="activation"):
        SparseDenoisingAutoencoder(5, 4, activation="gelu")
    with pytest.raises(ValueError, match="noise"):
        SparseDenoisingAutoencoder(5, 4, noise=-1.0)
    model = SparseDenoisingAutoencoder(5, 4, generator=0)
    with pytest.raises(ValueError, match="columns"):
        train_sparse_dae(model, torch.randn(10, 6))
    with pytest.raises(ValueError, match="epochs"):
        train_sparse_dae(model, torch.randn(10, 5), epochs=0)
    with pytest.raises(TypeError, match="model"):
        train_sparse_dae(torch.nn.Linear(5, 5), torch.randn(10, 5))
    with pytest.raises(ValueError, match="zeta"):
        train_sparse_dae(model, torch.randn(10, 5), epochs=2, zeta=1.5)

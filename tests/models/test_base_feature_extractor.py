"""Tests for the cross-entropy base-class feature extractor."""

import pytest
import torch

from paperlab.models import EmbeddingMLP, train_base_feature_extractor


def _blobs(n_per_class=40, n_classes=3, dim=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = 3 * torch.randn(n_classes, dim, generator=g, dtype=torch.float64)
    y = torch.arange(n_classes).repeat_interleave(n_per_class)
    return centres[y] + torch.randn(len(y), dim, generator=g, dtype=torch.float64), y


def test_features_separate_the_base_classes():
    x, y = _blobs()
    extractor = train_base_feature_extractor(x, y, out_features=8, epochs=20, seed=0)
    assert isinstance(extractor, EmbeddingMLP) and not extractor.training
    with torch.no_grad():
        features = extractor(x)
    assert features.dtype == torch.float64 and features.shape == (len(x), 8)
    means = torch.stack([features[y == k].mean(0) for k in range(3)])
    accuracy = (torch.cdist(features, means).argmin(1) == y).double().mean()
    assert accuracy > 0.95
    untrained = EmbeddingMLP(10, 8).double()
    with torch.no_grad():
        f0 = untrained(x)
    spread = lambda f: f[y == 0].std(0).mean() / f.std(0).mean()  # noqa: E731
    assert spread(features) < spread(f0)  # training pulls a class together relative to the whole set


def test_same_seed_same_model():
    x, y = _blobs()
    a = train_base_feature_extractor(x, y, epochs=2, seed=5)
    b = train_base_feature_extractor(x, y, epochs=2, seed=5)
    c = train_base_feature_extractor(x, y, epochs=2, seed=6)
    with torch.no_grad():
        assert torch.equal(a(x), b(x)) and not torch.equal(a(x), c(x))


def test_bad_inputs_raise():
    x, y = _blobs()
    with pytest.raises(TypeError, match="y"):
        train_base_feature_extractor(x, y.double())
    with pytest.raises(ValueError, match="y"):
        train_base_feature_extractor(x, y[:-1])
    with pytest.raises(ValueError, match="epochs"):
        train_base_feature_extractor(x, y, epochs=0)
    with pytest.raises(ValueError, match="lr"):
        train_base_feature_extractor(x, y, lr=-1.0)
    with pytest.raises(ValueError, match="x"):
        train_base_feature_extractor(x[:, :, None], y)

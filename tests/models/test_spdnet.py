"""SPDNet layers: BiMap keeps SPD and a Stiefel weight, ReEig floors, LogEig vectorises the logarithm."""

import numpy as np
import pytest
import scipy.linalg
import torch

from paperlab.data import synthetic_spd_classes
from paperlab.models import BiMap, LogEig, ReEig, SPDNet


def test_bimap_weight_stays_on_the_stiefel_manifold_and_output_is_spd():
    layer = BiMap(6, 3, dtype=torch.float64, seed=0)
    x = synthetic_spd_classes(4, n_channels=6, n_samples=12, seed=0).covariances
    out = layer(x)
    assert out.shape == (12, 3, 3)
    torch.testing.assert_close(layer.weight.T @ layer.weight, torch.eye(3, dtype=torch.float64))
    assert float(torch.linalg.eigvalsh(out.detach()).min()) > 0
    w = layer.weight
    torch.testing.assert_close(out, w.T @ x @ w)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    layer(x).pow(2).sum().backward()
    opt.step()
    torch.testing.assert_close(layer.weight.T @ layer.weight, torch.eye(3, dtype=torch.float64))
    assert not torch.allclose(layer.weight, w)


def test_logeig_matches_scipy_and_preserves_the_frobenius_norm():
    x = synthetic_spd_classes(2, n_channels=4, n_samples=10, seed=1).covariances
    features = LogEig()(x)
    assert features.shape == (6, 10)
    for matrix, vector in zip(x, features):
        log = scipy.linalg.logm(matrix.numpy()).real
        np.testing.assert_allclose(float(vector.norm()), np.linalg.norm(log), rtol=1e-8)
        np.testing.assert_allclose(vector[0].item(), log[0, 0], rtol=1e-8)


def test_reeig_floors_eigenvalues():
    x = synthetic_spd_classes(2, n_channels=5, n_samples=5, condition_number=1e6, seed=2).covariances
    assert float(torch.linalg.eigvalsh(ReEig(1e-2)(x)).min()) >= 1e-2 - 1e-12


@pytest.mark.parametrize("norm", [None, "aim", "gbw"])
def test_spdnet_trains_one_step(norm):
    data = synthetic_spd_classes(5, n_channels=6, n_samples=12, seed=3)
    net = SPDNet(6, 3, 3, norm=norm, dtype=torch.float64, seed=0)
    logits = net(data.covariances)
    assert logits.shape == (15, 3)
    loss = torch.nn.functional.cross_entropy(logits, data.labels)
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())


def test_synthetic_spd_classes_shapes_conditioning_and_determinism():
    first = synthetic_spd_classes(10, condition_number=1e3, seed=4)
    second = synthetic_spd_classes(10, condition_number=1e3, seed=4)
    torch.testing.assert_close(first.covariances, second.covariances)
    assert first.covariances.shape == (30, 16, 16) and torch.bincount(first.labels).tolist() == [10, 10, 10]
    conditions = torch.linalg.cond(first.covariances)
    assert float(conditions.median()) > 1e2  # ill-conditioned by construction
    flat = synthetic_spd_classes(10, condition_number=1.0, jitter=0.0, class_separation=0.0, seed=4)
    assert float(torch.linalg.cond(flat.covariances).median()) < float(conditions.median())


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="out_size"):
        BiMap(3, 4)
    with pytest.raises(ValueError, match="norm"):
        SPDNet(4, 2, 2, norm="batch")
    with pytest.raises(ValueError, match="n_samples"):
        synthetic_spd_classes(3, n_channels=8, n_samples=4)
    with pytest.raises(ValueError, match="condition_number"):
        synthetic_spd_classes(3, condition_number=0.5)

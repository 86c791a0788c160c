"""ManifoldClusteringNet: shapes, unit norms, the one-shot init and bad arguments."""

from __future__ import annotations

import pytest
import torch

from paperlab.models import ManifoldClusteringNet
from paperlab.solvers import doubly_stochastic_projection


def test_shapes_unit_norms_and_one_shot_init():
    torch.manual_seed(0)
    net = ManifoldClusteringNet(7, out_features=5, hidden=(16, 12)).double()
    x = torch.randn(9, 7, dtype=torch.float64)
    features, codes = net(x)
    assert features.shape == (9, 5) and codes.shape == (9, 5)
    assert torch.allclose(features.norm(dim=1), torch.ones(9, dtype=torch.float64))
    assert torch.equal(features, codes)  # the cluster head starts as a copy of the feature head
    expected = doubly_stochastic_projection(features @ features.T, reg=0.3, max_iter=50).membership
    assert torch.allclose(net.membership(x, reg=0.3, max_iter=50), expected)


def test_heads_are_separate_parameters():
    net = ManifoldClusteringNet(4, out_features=3, cluster_features=2, hidden=(8,), one_shot_init=False)
    _, codes = net(torch.randn(5, 4))
    assert codes.shape == (5, 2)
    assert net.cluster_head.weight.data_ptr() != net.feature_head.weight.data_ptr()


def test_bad_arguments():
    with pytest.raises(ValueError, match="cluster_features"):
        ManifoldClusteringNet(4, out_features=3, cluster_features=2)
    with pytest.raises(ValueError, match="hidden"):
        ManifoldClusteringNet(4, hidden=())
    with pytest.raises(ValueError, match="x"):
        ManifoldClusteringNet(4, hidden=(8,))(torch.randn(3, 5))

"""Chamfer distance: SciPy KD-tree reference, block invariance, symmetry, batches, gradients, bad inputs."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from paperlab.losses import chamfer_distance

f64 = torch.float64


def reference(X, Y):
    forward = cKDTree(Y).query(X)[0] ** 2
    backward = cKDTree(X).query(Y)[0] ** 2
    return forward.mean() + backward.mean()


@pytest.mark.parametrize("n, m, d", [(1, 1, 3), (123, 77, 3), (252, 507, 2)])
def test_matches_kd_tree_nearest_neighbours(n, m, d):
    g = torch.Generator().manual_seed(n)
    X, Y = torch.randn(n, d, generator=g, dtype=f64), torch.randn(m, d, generator=g, dtype=f64) + 0.3
    expected = reference(X.numpy(), Y.numpy())
    assert chamfer_distance(X, Y).item() == pytest.approx(expected, rel=1e-10)
    assert chamfer_distance(X, Y, block_size=7).item() == pytest.approx(expected, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 10_000))
def test_symmetric_non_negative_and_zero_on_itself(n, m, seed):
    g = torch.Generator().manual_seed(seed)
    X, Y = torch.randn(n, 3, generator=g, dtype=f64), torch.randn(m, 3, generator=g, dtype=f64)
    value = chamfer_distance(X, Y)
    assert value.item() >= 0
    assert value.item() == pytest.approx(chamfer_distance(Y, X).item(), rel=1e-12)
    assert chamfer_distance(X, X[torch.randperm(n, generator=g)]).item() == pytest.approx(0.0, abs=1e-12)


def test_batches_reductions_and_gradient():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 50, 3, generator=g, dtype=f64, requires_grad=True)
    Y = torch.randn(4, 60, 3, generator=g, dtype=f64)
    per_item = chamfer_distance(X, Y, reduction="none")
    expected = [reference(x, y) for x, y in zip(X.detach().numpy(), Y.numpy())]
    np.testing.assert_allclose(per_item.detach().numpy(), expected, rtol=1e-10)
    assert chamfer_distance(X, Y, reduction="sum").item() == pytest.approx(sum(expected), rel=1e-10)
    (grad,) = torch.autograd.grad(chamfer_distance(X, Y), X)
    assert torch.isfinite(grad).all()
    torch.autograd.gradcheck(lambda x: chamfer_distance(x, Y), (X,))


def test_bad_inputs():
    with pytest.raises(ValueError, match="same feature dimension"):
        chamfer_distance(torch.randn(5, 3), torch.randn(5, 2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        chamfer_distance(torch.randn(5, 3), torch.randn(5, 3), reduction="max")
    with pytest.raises(ValueError, match="finite"):
        chamfer_distance(torch.full((5, 3), float("inf")), torch.randn(5, 3))
    with pytest.raises(ValueError, match="block_size must be > 0"):
        chamfer_distance(torch.randn(5, 3), torch.randn(5, 3), block_size=0)

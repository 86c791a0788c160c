"""Tucker HOOI: recovery of planted tensors, agreement with TensorLy's tucker, bad inputs."""

import numpy as np
import pytest
import tensorly as tl
import torch
from tensorly.decomposition import tucker

from paperlab.solvers import tucker_hooi, tucker_to_tensor


def planted_tucker(shape, ranks, seed, noise=0.0):
    g = torch.Generator().manual_seed(seed)
    core = torch.randn(ranks, generator=g, dtype=torch.float64)
    factors = [torch.randn(n, r, generator=g, dtype=torch.float64) for n, r in zip(shape, ranks)]
    tensor = tucker_to_tensor(core, factors)
    if noise:
        tensor = tensor + noise * tensor.std() * torch.randn(shape, generator=g, dtype=torch.float64)
    return tensor


def relative_error(x, y):
    return float(torch.linalg.vector_norm(x - y) / torch.linalg.vector_norm(x))


@pytest.mark.parametrize(("shape", "ranks"), [((10, 12, 14), (2, 3, 4)), ((6, 7, 8, 5), (2, 3, 2, 3))])
@pytest.mark.parametrize("init", ["svd", "random"])
def test_recovers_planted_low_rank_tensor(shape, ranks, init):
    tensor = planted_tucker(shape, ranks, seed=0)
    result = tucker_hooi(tensor, ranks, n_iter_max=50, tol=1e-12, init=init, seed=1)
    assert relative_error(tensor, result.to_tensor()) < 1e-6
    assert result.core.shape == ranks
    for factor in result.factors:
        torch.testing.assert_close(factor.T @ factor, torch.eye(factor.shape[1], dtype=torch.float64))


@pytest.mark.parametrize(("shape", "ranks"), [((12, 10, 9), (3, 4, 2)), ((6, 7, 8, 5), (2, 3, 3, 2))])
def test_matches_tensorly_tucker(shape, ranks):
    tensor = planted_tucker(shape, ranks, seed=2, noise=0.3)
    (core, factors), reference_errors = tucker(
        tensor.numpy(), rank=list(ranks), n_iter_max=10, tol=0, return_errors=True
    )
    ours = tucker_hooi(tensor, ranks, n_iter_max=10, tol=0)
    assert ours.n_iter == 10
    np.testing.assert_allclose(ours.errors, reference_errors, rtol=1e-6)
    np.testing.assert_allclose(ours.to_tensor().numpy(), tl.tucker_to_tensor((core, factors)), atol=1e-8)


def test_reported_errors_are_reconstruction_errors():
    tensor = planted_tucker((8, 9, 10), (3, 3, 3), seed=3, noise=0.5)
    result = tucker_hooi(tensor, 2, n_iter_max=4, tol=0, init="random", seed=0)
    assert len(result.errors) == 4
    assert abs(result.errors[-1] - relative_error(tensor, result.to_tensor())) < 1e-9


def test_bad_inputs_raise():
    tensor = planted_tucker((4, 5, 6), (2, 2, 2), seed=0)
    with pytest.raises(ValueError, match="ranks"):
        tucker_hooi(tensor, (2, 2))
    with pytest.raises(ValueError, match="ranks"):
        tucker_hooi(tensor, (2, 0, 2))
    with pytest.raises(ValueError, match="ranks"):
        tucker_hooi(tensor, (5, 2, 2))
    bad = tensor.clone()
    bad[1, 1, 1] = float("inf")
    with pytest.raises(ValueError, match="tensor"):
        tucker_hooi(bad, 2)
    with pytest.raises(ValueError, match="init"):
        tucker_hooi(tensor, 2, init=[torch.randn(4, 3, dtype=torch.float64)] * 3)

"""Random-subspace training: z = 0 is the original module, gradient oracle, projection norms, bad inputs."""

import math

import pytest
import scipy.linalg
import torch
from torch import nn
from torch.func import functional_call

from paperlab.models import (
    DenseProjection,
    FastfoodProjection,
    SparseProjection,
    SubspaceModel,
    fast_walsh_hadamard,
)

PROJECTIONS = ["dense", "sparse", "fastfood"]


def _conv_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv1d(2, 3, kernel_size=3), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 6, 4)
    ).double()  # 2*3*3 + 3 + 18*4 + 4 = 97 parameters


def _inputs() -> torch.Tensor:
    return torch.randn(5, 2, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_at_z_zero_equals_the_original_module(projection):
    net = _conv_net()
    expected = net(_inputs())
    model = SubspaceModel(net, intrinsic_dim=7, projection=projection, seed=0)
    assert torch.equal(model(_inputs()), expected)
    assert [name for name, p in model.named_parameters() if p.requires_grad] == ["z"]
    assert model.n_parameters == 97 and model.z.shape == (7,)


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_gradient_wrt_z_is_p_transpose_times_gradient_wrt_theta(projection):
    net = _conv_net()
    model = SubspaceModel(net, intrinsic_dim=9, projection=projection, seed=2)
    with torch.no_grad():
        model.z.normal_(generator=torch.Generator().manual_seed(3))
    model(_inputs()).square().sum().backward()
    # oracle: gradient of the same loss wrt the flat parameter vector theta, then P^T
    theta = model.theta().detach().requires_grad_()
    pieces = torch.split(theta, [p.numel() for p in net.parameters()])
    params = {name: piece.view(p.shape) for (name, p), piece in zip(net.named_parameters(), pieces)}
    functional_call(net, params, (_inputs(),)).square().sum().backward()
    P = model.projection.matrix()
    assert P.shape == (97, 9)
    torch.testing.assert_close(model.z.grad, P.T @ theta.grad)
    torch.testing.assert_close(model.theta(), model.theta_0 + P @ model.z)


@pytest.mark.parametrize("projection", ["dense", "sparse"])
def test_dense_and_sparse_columns_have_unit_norm(projection):
    model = SubspaceModel(_conv_net(), intrinsic_dim=20, projection=projection, seed=4)
    norms = torch.linalg.vector_norm(model.projection.matrix(), dim=0)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_sparse_columns_have_about_sqrt_d_non_zeros():
    torch.manual_seed(0)
    D = 2500
    model = SubspaceModel(nn.Linear(D - 1, 1), intrinsic_dim=200, projection="sparse", seed=5)
    non_zeros = (model.projection.matrix() != 0).sum(dim=0).double()  # (200,), each Binomial(D, 1/50)
    standard_error = math.sqrt(D * (1 / 50) * (1 - 1 / 50) / 200)
    assert float(non_zeros.mean()) == pytest.approx(math.sqrt(D), abs=4 * standard_error)


def test_fastfood_columns_have_unit_norm_when_d_is_a_power_of_two():
    model = SubspaceModel(nn.Linear(15, 4).double(), intrinsic_dim=30, projection="fastfood", seed=6)
    assert model.n_parameters == 64
    norms = torch.linalg.vector_norm(model.projection.matrix(), dim=0)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_fastfood_columns_have_unit_expected_squared_norm_after_truncation():
    # D = 600 is truncated from L = 1024 rows; average each seed's mean squared column norm
    seed_means = torch.stack(
        [
            FastfoodProjection(600, 50, seed=seed, dtype=torch.float64).matrix().square().sum(0).mean()
            for seed in range(40)
        ]
    )
    standard_error = float(seed_means.std()) / math.sqrt(40)
    assert float(seed_means.mean()) == pytest.approx(1.0, abs=4 * standard_error)


def test_fastfood_matrix_equals_explicit_h_g_pi_h_b():
    projection = FastfoodProjection(12, 5, seed=7, dtype=torch.float64)
    L = projection.length
    assert L == 16
    H = torch.tensor(scipy.linalg.hadamard(L), dtype=torch.float64)
    Pi = torch.eye(L, dtype=torch.float64)[projection.permutation]  # (Pi x)_i = x[perm[i]]
    G, B = torch.diag(projection.gaussian), torch.diag(projection.signs)
    V = H @ G @ Pi @ H @ B / math.sqrt(12 * float(projection.gaussian.square().sum()))
    torch.testing.assert_close(projection.matrix(), V[:12, :5])


def test_fast_walsh_hadamard_matches_the_hadamard_matrix_and_gradcheck():
    x = torch.randn(3, 32, dtype=torch.float64, requires_grad=True)
    H = torch.tensor(scipy.linalg.hadamard(32), dtype=torch.float64)
    torch.testing.assert_close(fast_walsh_hadamard(x), x @ H.T)
    assert torch.autograd.gradcheck(fast_walsh_hadamard, (x,))
    with pytest.raises(ValueError, match="power-of-two"):
        fast_walsh_hadamard(torch.randn(12))


@pytest.mark.parametrize("projection", PROJECTIONS)
def test_training_z_reaches_the_least_squares_optimum_of_the_subspace(projection):
    # a linear model is linear in theta = theta_0 + P z, so the best z solves a least-squares problem
    g = torch.Generator().manual_seed(8)
    X, y = (
        torch.randn(40, 6, generator=g, dtype=torch.float64),
        torch.randn(40, 1, generator=g, dtype=torch.float64),
    )
    net = nn.Linear(6, 1).double()
    model = SubspaceModel(net, intrinsic_dim=4, projection=projection, seed=9)
    design = torch.cat([X, torch.ones(40, 1, dtype=torch.float64)], dim=1)  # theta = [weight, bias]
    P = model.projection.matrix()
    residual = y[:, 0] - design @ model.theta_0
    best_z = torch.linalg.lstsq(design @ P, residual[:, None]).solution[:, 0]
    optimizer = torch.optim.LBFGS(
        [model.z], max_iter=200, tolerance_grad=1e-12, tolerance_change=0.0, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = (model(X) - y).square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    torch.testing.assert_close(model.z.detach(), best_z, rtol=1e-6, atol=1e-8)


def test_seed_fixes_the_projection():
    def make(seed):
        return SubspaceModel(_conv_net(), 5, "fastfood", seed=seed).projection.matrix()

    assert torch.equal(make(0), make(0))
    assert not torch.equal(make(0), make(1))


def test_module_buffers_are_used_and_updated():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model = SubspaceModel(net, 3, seed=0)
    model(torch.randn(8, 3) + 5)
    assert not torch.equal(net[1].running_mean, torch.zeros(4))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda net: SubspaceModel("net", 3), TypeError),
        (lambda net: SubspaceModel(net, 0), ValueError),
        (lambda net: SubspaceModel(net, 2.0), TypeError),
        (lambda net: SubspaceModel(net, 98), ValueError),
        (lambda net: SubspaceModel(net, 3, projection="orthogonal"), ValueError),
        (lambda net: SubspaceModel(net, 3, seed=-1), ValueError),
        (lambda net: SubspaceModel(nn.Tanh(), 3), ValueError),
        (lambda net: SubspaceModel(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2).double()), 3), ValueError),
    ],
)
def test_bad_inputs(call, error):
    with pytest.raises(error):
        call(_conv_net())


@pytest.mark.parametrize("projection_class", [DenseProjection, SparseProjection, FastfoodProjection])
def test_projections_reject_bad_sizes(projection_class):
    with pytest.raises(ValueError):
        projection_class(10, 11)
    with pytest.raises(ValueError):
        projection_class(0, 1)

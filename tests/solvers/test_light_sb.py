"""LightSB: densities against SciPy, plans and drift against numerical integration, the loss against the closed form."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal

from paperlab.distances import gaussian_entropic_ot
from paperlab.solvers import LightSB, brownian_bridge, light_sb_loss

f64 = torch.float64


def random_model(d=2, n_components=3, reg=0.5, covariance_type="full", seed=0):
    g = torch.Generator().manual_seed(seed)
    model = LightSB(d, n_components, reg, covariance_type, generator=g).double()
    with torch.no_grad():
        model.log_alpha.copy_(torch.randn(n_components, generator=g, dtype=f64))
        model.log_diagonal.copy_(0.3 * torch.randn(n_components, d, generator=g, dtype=f64))
        if covariance_type == "full":
            model.lower.copy_(0.5 * torch.randn(n_components, d, d, generator=g, dtype=f64))
    return model


def grid_2d(half_width=7.0, n=281):
    axis = torch.linspace(-half_width, half_width, n, dtype=f64)
    points = torch.cartesian_prod(axis, axis)  # (n^2, 2)
    return points, (axis[1] - axis[0]) ** 2


@pytest.mark.parametrize("covariance_type", ["diagonal", "full"])
def test_log_potential_matches_scipy_mixture(covariance_type):
    model = random_model(covariance_type=covariance_type)
    y = torch.randn(7, 2, generator=torch.Generator().manual_seed(1), dtype=f64)
    covariances = (model.reg * model.covariances()).detach().numpy()
    alpha = model.log_alpha.detach().exp().numpy()
    means = model.means.detach().numpy()
    expected = np.log(
        sum(a * multivariate_normal(m, c).pdf(y.numpy()) for a, m, c in zip(alpha, means, covariances))
    )
    np.testing.assert_allclose(model.log_potential(y).detach().numpy(), expected, rtol=1e-10)


def test_normalizer_and_plan_match_numerical_integration():
    model = random_model()
    y, cell = grid_2d()
    x = torch.tensor([[0.4, -0.3], [-0.5, 0.2]], dtype=f64)
    with torch.no_grad():
        log_unnormalized = x @ y.T / model.reg + model.log_potential(y)  # (2, grid)
        log_c = torch.logsumexp(log_unnormalized, dim=1) + cell.log()
        torch.testing.assert_close(model.log_normalizer(x), log_c, rtol=1e-6, atol=1e-6)
        density = torch.softmax(log_unnormalized, dim=1)  # pi(y | x) on the grid
        mean = density @ y
        plan = model.conditional_plan(x)
        torch.testing.assert_close(plan.mean(), mean, rtol=1e-6, atol=1e-6)
        centred = y.unsqueeze(0) - mean.unsqueeze(1)  # (2, grid, 2)
        covariance = torch.einsum("ng,ngd,nge->nde", density, centred, centred)
        torch.testing.assert_close(plan.covariance(), covariance, rtol=1e-5, atol=1e-6)


def test_plan_sample_has_the_plan_moments():
    model = random_model()
    x = torch.tensor([[0.4, -0.3]], dtype=f64).repeat(20_000, 1)
    with torch.no_grad():
        plan = model.conditional_plan(x)
        y = plan.sample(generator=0)
    torch.testing.assert_close(y.mean(0), plan.mean()[0], atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(y.T), plan.covariance()[0], atol=0.03, rtol=0.05)


@pytest.mark.parametrize("t", [0.0, 0.3, 0.8])
def test_drift_is_the_gradient_of_the_log_forward_potential(t):
    """In 1-D, g(x, t) = eps d/dx log int N(y | x, (1 - t) eps) v(y) exp(y^2 / (2 eps)) dy, by quadrature."""
    model = random_model(d=1, n_components=3, reg=0.4, covariance_type="diagonal", seed=2)
    y = torch.linspace(-12, 12, 40_001, dtype=f64).unsqueeze(1)
    with torch.no_grad():
        log_phi = model.log_potential(y) + y[:, 0] ** 2 / (2 * model.reg)

    def log_forward(x):
        variance = (1 - t) * model.reg
        return torch.logsumexp(log_phi - (y[:, 0] - x) ** 2 / (2 * variance), dim=0)

    for x in [-0.7, 0.2, 1.1]:
        h = 1e-4
        derivative = (log_forward(x + h) - log_forward(x - h)) / (2 * h)
        drift = model.drift(torch.tensor([[x]], dtype=f64), t)
        assert drift.item() == pytest.approx(model.reg * derivative.item(), rel=1e-5, abs=1e-6)


def test_drift_at_time_zero_points_to_the_conditional_mean():
    model = random_model(d=3, n_components=4)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=f64)
    torch.testing.assert_close(model.drift(x, 0.0), model.conditional_plan(x).mean() - x)


def test_sde_endpoint_follows_the_conditional_plan():
    model = random_model(n_components=2)
    x = torch.tensor([[0.3, 0.1]], dtype=f64).repeat(4000, 1)
    with torch.no_grad():
        path = model.sample_sde(x, n_steps=100, generator=0, return_trajectory=True)
        plan = model.conditional_plan(x[:1])
    assert path.shape == (101, 4000, 2)
    torch.testing.assert_close(path[0], x)
    torch.testing.assert_close(path[-1].mean(0), plan.mean()[0], atol=0.05, rtol=0)
    torch.testing.assert_close(torch.cov(path[-1].T), plan.covariance()[0], atol=0.05, rtol=0.1)


def closed_form_model(result, reg):
    """A one-component LightSB that equals the closed-form Gaussian plan: S = K, r = m1 - K m0."""
    model = LightSB(2, 1, reg, "full").double()
    tril = torch.linalg.cholesky(result.transport)
    with torch.no_grad():
        model.log_diagonal.copy_(torch.diagonal(tril).log().unsqueeze(0))
        model.lower.copy_(tril.unsqueeze(0))
        model.means.copy_((result.mean_target - result.transport @ result.mean_source).unsqueeze(0))
    return model


def test_loss_is_stationary_at_the_closed_form_solution():
    """With one component both log c(x) and log v(y) are quadratics, so moment-matched samples give the exact
    population loss: its gradient vanishes at the Gaussian SB, and moving away raises it."""
    g = torch.Generator().manual_seed(0)
    m0, m1 = torch.tensor([0.5, 0.0], dtype=f64), torch.tensor([1.0, -0.5], dtype=f64)
    c0 = torch.tensor([[1.0, 0.3], [0.3, 0.6]], dtype=f64)
    c1 = torch.tensor([[0.8, -0.4], [-0.4, 1.2]], dtype=f64)
    reg = 0.3
    samples = []
    for mean, cov in [(m0, c0), (m1, c1)]:
        z = torch.randn(500, 2, generator=g, dtype=f64)
        z = z - z.mean(0)
        z = z @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(z.T, correction=0))).T
        samples.append(mean + z @ torch.linalg.cholesky(cov).T)
    model = closed_form_model(gaussian_entropic_ot(m0, c0, m1, c1, reg), reg)
    loss = light_sb_loss(model, *samples)
    grads = torch.autograd.grad(loss, list(model.parameters()))
    assert max(grad.abs().max().item() for grad in grads) < 1e-8
    wrong = closed_form_model(gaussian_entropic_ot(m0, c0, m1, c1, 2 * reg), reg)
    assert light_sb_loss(wrong, *samples).item() > loss.item() + 1e-3


def test_training_recovers_the_gaussian_bridge():
    g = torch.Generator().manual_seed(0)
    m0, m1 = torch.zeros(2, dtype=f64), torch.tensor([1.0, -0.5], dtype=f64)
    c0 = torch.tensor([[1.0, 0.3], [0.3, 0.6]], dtype=f64)
    c1 = torch.tensor([[0.8, -0.4], [-0.4, 1.2]], dtype=f64)
    reg = 0.3
    model = LightSB(2, 2, reg, "full", generator=g).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    chol0, chol1 = torch.linalg.cholesky(c0), torch.linalg.cholesky(c1)
    for _ in range(300):
        x = m0 + torch.randn(256, 2, generator=g, dtype=f64) @ chol0.T
        y = m1 + torch.randn(256, 2, generator=g, dtype=f64) @ chol1.T
        optimizer.zero_grad()
        light_sb_loss(model, x, y).backward()
        optimizer.step()
    test_x = m0 + torch.randn(500, 2, generator=g, dtype=f64) @ chol0.T
    truth = gaussian_entropic_ot(m0, c0, m1, c1, reg)
    with torch.no_grad():
        plan = model.conditional_plan(test_x)
        error = (plan.mean() - truth.conditional_mean(test_x)).norm(dim=1).mean()
        covariance_error = (plan.covariance().mean(0) - truth.conditional_covariance).norm()
    assert error < 0.1
    assert covariance_error < 0.2 * truth.conditional_covariance.norm()


def test_brownian_bridge_moments_and_endpoints():
    x = torch.zeros(20_000, 2, dtype=f64)
    y = torch.ones(20_000, 2, dtype=f64)
    middle = brownian_bridge(x, y, 0.25, reg=0.4, generator=0)
    torch.testing.assert_close(middle.mean(0), torch.full((2,), 0.25, dtype=f64), atol=0.01, rtol=0)
    torch.testing.assert_close(
        middle.var(0), torch.full((2,), 0.4 * 0.25 * 0.75, dtype=f64), atol=0.005, rtol=0
    )
    times = torch.tensor([0.0, 1.0], dtype=f64)
    ends = brownian_bridge(x[:2], y[:2], times, reg=0.4, generator=1)
    torch.testing.assert_close(ends, torch.stack([x[0], y[1]]))


def test_initialize_means_picks_target_rows():
    model = LightSB(2, 3, generator=0).double()
    y = torch.arange(20, dtype=f64).reshape(10, 2)
    model.initialize_means(y, generator=0)
    for row in model.means.detach():
        assert (y == row).all(1).any()


def test_float32_runs_and_gradients_flow():
    model = LightSB(3, 4, 0.1, "diagonal", generator=0)
    x, y = torch.randn(16, 3), torch.randn(16, 3)
    light_sb_loss(model, x, y).backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.sample(x, generator=0).dtype == torch.float32


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="covariance_type"):
        LightSB(2, 3, covariance_type="spherical")
    with pytest.raises(ValueError, match="reg"):
        LightSB(2, 3, reg=-1.0)
    with pytest.raises(TypeError, match="n_components"):
        LightSB(2, 2.5)
    model = LightSB(2, 3)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        model.log_normalizer(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="finite"):
        model.log_potential(torch.tensor([[math.nan, 0.0]]))
    with pytest.raises(ValueError, match="t must be in"):
        model.drift(torch.zeros(1, 2), 1.0)
    with pytest.raises(TypeError, match="LightSB"):
        light_sb_loss(torch.nn.Linear(2, 2), torch.zeros(1, 2), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="at least"):
        model.initialize_means(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="t must lie"):
        brownian_bridge(torch.zeros(2, 2), torch.zeros(2, 2), torch.tensor([0.5, 1.5]), reg=0.1)
    with pytest.raises(ValueError, match="same shape"):
        brownian_bridge(torch.zeros(2, 2), torch.zeros(3, 2), 0.5, reg=0.1)

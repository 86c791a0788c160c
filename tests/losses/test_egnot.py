"""EgNOT: plans of the optimal potential equal the closed-form Gaussian plan; training recovers it."""

import pytest
import torch
from torch import nn

from paperlab.distances import gaussian_entropic_ot
from paperlab.losses import egnot_log_density, egnot_loss, egnot_sample

f64 = torch.float64


def gaussian_problem(d=2):
    m0, m1 = torch.zeros(d, dtype=f64), torch.linspace(1.0, -0.5, d, dtype=f64)
    c0 = torch.eye(d, dtype=f64) + 0.3 * torch.ones(d, d, dtype=f64)
    c1 = torch.eye(d, dtype=f64) * 0.7 - 0.2 * torch.ones(d, d, dtype=f64) + 0.4 * torch.eye(d, dtype=f64)
    return m0, c0, m1, c1


def optimal_potential(result):
    """f*(y) = -(y - r)^T K^{-1} (y - r) / 2 + |y|^2 / 2 with r = m1 - K m0: its plans are the closed form's."""
    K_inv = torch.linalg.inv(result.transport)
    r = result.mean_target - result.transport @ result.mean_source

    def f(y):
        centred = y - r
        return -0.5 * ((centred @ K_inv) * centred).sum(1) + 0.5 * y.pow(2).sum(1)

    return f


def test_log_density_formula():
    f = lambda y: y.sum(1)  # noqa: E731
    x = torch.tensor([[0.0, 1.0], [2.0, -1.0]], dtype=f64)
    y = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=f64)
    expected = (torch.tensor([2.0, 0.0], dtype=f64) - 0.5 * torch.tensor([1.0, 5.0], dtype=f64)) / 0.5
    torch.testing.assert_close(egnot_log_density(f, x, y, 0.5), expected)


def test_langevin_plan_of_the_optimal_potential_is_the_closed_form_plan():
    m0, c0, m1, c1 = gaussian_problem()
    reg = 0.3
    truth = gaussian_entropic_ot(m0, c0, m1, c1, reg)
    x = torch.tensor([[0.5, -0.4]], dtype=f64).repeat(4000, 1)
    y = egnot_sample(optimal_potential(truth), x, reg, n_steps=300, step_size=reg / 40, generator=0)
    torch.testing.assert_close(y.mean(0), truth.conditional_mean(x[:1])[0], atol=0.03, rtol=0)
    torch.testing.assert_close(torch.cov(y.T), truth.conditional_covariance, atol=0.02, rtol=0.08)


def test_loss_gradient_is_the_difference_of_expectations():
    weight = torch.tensor([0.3, -1.0], dtype=f64, requires_grad=True)
    f = lambda y: y @ weight  # noqa: E731
    y_target = torch.randn(10, 2, dtype=f64)
    y_plan = torch.randn(7, 2, dtype=f64, requires_grad=True)
    egnot_loss(f, y_target, y_plan).backward()
    torch.testing.assert_close(weight.grad, y_plan.detach().mean(0) - y_target.mean(0))
    assert y_plan.grad is None  # plan samples are constants of the loss


class Quadratic(nn.Module):
    """f(y) = -a y^2 / 2 + b y in 1-D, the family that holds the Gaussian optimum."""

    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.zeros((), dtype=f64)), nn.Parameter(torch.zeros((), dtype=f64))

    def forward(self, y):
        return -0.5 * self.a * y[:, 0] ** 2 + self.b * y[:, 0]


def test_training_recovers_the_one_dimensional_gaussian_potential():
    m0, c0 = torch.zeros(1, dtype=f64), torch.ones(1, 1, dtype=f64)
    m1, c1 = torch.full((1,), 1.5, dtype=f64), torch.full((1, 1), 0.5, dtype=f64)
    reg = 0.5
    truth = gaussian_entropic_ot(m0, c0, m1, c1, reg)
    K = truth.transport[0, 0].item()
    a_star, b_star = 1 / K - 1, (m1 - truth.transport @ m0).item() / K
    f = Quadratic()
    optimizer = torch.optim.Adam(f.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        x = torch.randn(256, 1, generator=g, dtype=f64)
        y = m1 + c1.sqrt() * torch.randn(256, 1, generator=g, dtype=f64)
        y_plan = egnot_sample(f, x, reg, n_steps=30, step_size=reg / 10, generator=g)
        optimizer.zero_grad()
        egnot_loss(f, y, y_plan).backward()
        optimizer.step()
    assert f.a.item() == pytest.approx(a_star, abs=0.15)
    assert f.b.item() == pytest.approx(b_star, abs=0.15)
    assert abs(a_star) + abs(b_star) > 1  # the optimum is far from the zero start


def test_bad_inputs_raise():
    f = lambda y: y.sum(1)  # noqa: E731
    with pytest.raises(ValueError, match="same shape"):
        egnot_log_density(f, torch.zeros(3, 2), torch.zeros(2, 2), 0.1)
    with pytest.raises(ValueError, match="reg"):
        egnot_sample(f, torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match="same shape"):
        egnot_sample(f, torch.zeros(3, 2), 0.1, init=torch.zeros(3, 1))
    with pytest.raises(ValueError, match="same d"):
        egnot_loss(f, torch.zeros(3, 2), torch.zeros(3, 1))

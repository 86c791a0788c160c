"""RK4: exact on linear ODEs (degree-4 Taylor step) and on cubic time integrands, fourth order, bad inputs."""

import math

import pytest
import torch

from paperlab.solvers import rk4

f64 = torch.float64


def test_linear_ode_step_is_the_degree_four_taylor_polynomial():
    g = torch.Generator().manual_seed(0)
    A = torch.randn(4, 4, generator=g, dtype=f64)
    y0 = torch.randn(4, 3, generator=g, dtype=f64)
    n_steps, t1 = 5, 0.8
    h = t1 / n_steps
    hA = h * A
    identity = torch.eye(4, dtype=f64)
    step = identity + hA + hA @ hA / 2 + hA @ hA @ hA / 6 + hA @ hA @ hA @ hA / 24
    expected = torch.linalg.matrix_power(step, n_steps) @ y0
    solution = rk4(lambda t, y: A @ y, y0, 0.0, t1, n_steps)
    torch.testing.assert_close(solution.y, expected, rtol=1e-13, atol=1e-13)


def test_cubic_time_integrand_is_integrated_exactly():
    coefficients = torch.tensor([0.5, -1.0, 2.0, 3.0], dtype=f64)  # f(t) = sum_k c_k t^k

    def f(t, y):
        return sum(c * t**k for k, c in enumerate(coefficients)) * torch.ones_like(y)

    solution = rk4(f, torch.zeros(2, dtype=f64), 0.3, 1.7, n_steps=3)
    exact = sum(c * (1.7 ** (k + 1) - 0.3 ** (k + 1)) / (k + 1) for k, c in enumerate(coefficients.tolist()))
    torch.testing.assert_close(solution.y, torch.full((2,), exact, dtype=f64), rtol=1e-13, atol=1e-13)


def test_fourth_order_convergence_and_backward_integration():
    y0 = torch.tensor([1.0, 0.0], dtype=f64)
    rotation = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=f64)
    exact = torch.tensor([math.cos(2.0), math.sin(2.0)], dtype=f64)
    errors = [(rk4(lambda t, y: rotation @ y, y0, 0.0, 2.0, n).y - exact).norm().item() for n in (8, 16)]
    assert 14 < errors[0] / errors[1] < 18  # halving h divides the error by 2^4
    back = rk4(lambda t, y: rotation @ y, exact, 2.0, 0.0, 64).y
    torch.testing.assert_close(back, y0, rtol=0, atol=5e-8)  # global error about t h^4 / 120 = 1.6e-8


def test_trajectory_times_and_gradient():
    y0 = torch.tensor([2.0], dtype=f64, requires_grad=True)
    solution = rk4(lambda t, y: -y, y0, 0.0, 1.0, 4, keep_trajectory=True)
    assert solution.trajectory.shape == (5, 1)
    torch.testing.assert_close(solution.times, torch.linspace(0, 1, 5, dtype=f64))
    torch.testing.assert_close(solution.trajectory[-1], solution.y)
    (grad,) = torch.autograd.grad(solution.y.sum(), y0)
    step = 1 - 0.25 + 0.25**2 / 2 - 0.25**3 / 6 + 0.25**4 / 24
    assert grad.item() == pytest.approx(step**4, rel=1e-14)
    short = rk4(lambda t, y: -y, y0, 0.0, 1.0, 4)
    assert short.trajectory.shape == (2, 1) and short.times.tolist() == [0.0, 1.0]


def test_bad_inputs():
    y0 = torch.ones(3)
    with pytest.raises(TypeError, match="func must be callable"):
        rk4(None, y0)
    with pytest.raises(ValueError, match="n_steps must be > 0"):
        rk4(lambda t, y: y, y0, n_steps=0)
    with pytest.raises(TypeError, match="t1 must be a real number"):
        rk4(lambda t, y: y, y0, t1=float("nan"))
    with pytest.raises(ValueError, match="func must return the shape"):
        rk4(lambda t, y: y[:2], y0)
    with pytest.raises(TypeError, match="y0 must be a floating-point tensor"):
        rk4(lambda t, y: y, torch.ones(3, dtype=torch.int64))

"""Unadjusted Langevin dynamics against its closed-form stationary law on a Gaussian target."""

import pytest
import torch

from paperlab.solvers import langevin_sample

f64 = torch.float64


@pytest.mark.parametrize("step_size", [0.3, 0.6])
def test_gaussian_target_reaches_the_ula_stationary_law(step_size):
    """For N(mu, s^2) the chain is y <- (1 - h/2s^2) y + ... with stationary variance h / (1 - (1 - h/2s^2)^2)."""
    mu, variance = 1.5, 0.8
    init = torch.zeros(40_000, 1, dtype=f64)
    samples = langevin_sample(
        lambda y: -((y[:, 0] - mu) ** 2) / (2 * variance), init, step_size, 200, generator=0
    )
    shrink = 1 - step_size / (2 * variance)
    expected_variance = step_size / (1 - shrink**2)
    assert samples.mean().item() == pytest.approx(mu, abs=0.02)
    assert samples.var().item() == pytest.approx(expected_variance, rel=0.03)
    assert (
        abs(expected_variance - variance) > 0.05
    )  # the bias is measurable, so the test sees the update rule


def test_zero_steps_and_zero_noise():
    init = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=f64)
    torch.testing.assert_close(langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.1, 0), init)
    # without noise, y <- y + (h/2) * (-2 y) = (1 - h) y
    out = langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.1, 3, noise_scale=0.0)
    torch.testing.assert_close(out, 0.9**3 * init)
    assert not out.requires_grad


def test_same_seed_same_chain():
    init = torch.zeros(4, 2)
    first = langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.1, 5, generator=3)
    second = langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.1, 5, generator=3)
    torch.testing.assert_close(first, second)


def test_bad_inputs_raise():
    init = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="step_size"):
        langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.0, 5)
    with pytest.raises(ValueError, match="n_steps"):
        langevin_sample(lambda y: -y.pow(2).sum(1), init, 0.1, -1)
    with pytest.raises(ValueError, match="log_density must return shape"):
        langevin_sample(lambda y: -y.pow(2), init, 0.1, 2)
    with pytest.raises(ValueError, match="init"):
        langevin_sample(lambda y: -y.pow(2).sum(1), torch.zeros(4), 0.1, 2)

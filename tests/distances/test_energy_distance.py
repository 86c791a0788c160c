"""Energy distance against SciPy (1-D) and a naive double loop (d-D), with its metric properties."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import energy_distance as scipy_energy_distance

from paperlab.distances import energy_distance

f64 = torch.float64


def test_matches_scipy_in_one_dimension_with_weights():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 1, generator=g, dtype=f64), 1 + 2 * torch.randn(45, 1, generator=g, dtype=f64)
    a, b = torch.rand(30, generator=g, dtype=f64), torch.rand(45, generator=g, dtype=f64)
    expected = scipy_energy_distance(x[:, 0].numpy(), y[:, 0].numpy(), a.numpy(), b.numpy()) ** 2
    assert energy_distance(x, y, a, b).item() == pytest.approx(expected, rel=1e-10)
    expected = scipy_energy_distance(x[:, 0].numpy(), y[:, 0].numpy()) ** 2
    assert energy_distance(x, y).item() == pytest.approx(expected, rel=1e-10)


def test_matches_a_naive_double_loop_in_several_dimensions():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 0.5
    mean = lambda p, q: np.mean([np.linalg.norm(u - v) for u in p for v in q])  # noqa: E731
    expected = 2 * mean(x, y) - mean(x, x) - mean(y, y)
    assert energy_distance(torch.tensor(x), torch.tensor(y)).item() == pytest.approx(expected, rel=1e-10)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 20), m=st.integers(1, 20), d=st.integers(1, 4), seed=st.integers(0, 1000))
def test_symmetric_non_negative_and_zero_on_equal_measures(n, m, d, seed):
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, d, generator=g, dtype=f64), torch.randn(m, d, generator=g, dtype=f64)
    forward, backward = energy_distance(x, y), energy_distance(y, x)
    assert forward.item() == pytest.approx(backward.item(), abs=1e-12)
    assert forward.item() >= -1e-12
    assert abs(energy_distance(x, x).item()) < 1e-12
    assert abs(energy_distance(x, x.repeat(2, 1)).item()) < 1e-8  # duplicating atoms keeps the measure


def test_batched_and_differentiable_at_coincident_points():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 10, 2, generator=g, dtype=f64, requires_grad=True)
    y = torch.randn(3, 8, 2, generator=g, dtype=f64)
    values = energy_distance(x, y)
    assert values.shape == (3,)
    torch.testing.assert_close(values[1], energy_distance(x[1], y[1]))
    values.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="X"):
        energy_distance(torch.zeros(3, 2), torch.zeros(3, 3))
    with pytest.raises(ValueError, match="b must be non-negative"):
        energy_distance(torch.zeros(3, 2), torch.zeros(2, 2), b=torch.tensor([1.0, -1.0]))
    with pytest.raises(ValueError, match="finite"):
        energy_distance(torch.full((3, 2), float("nan")), torch.zeros(2, 2))
    with pytest.raises(TypeError):
        energy_distance(np.zeros((3, 2)), torch.zeros(2, 2))

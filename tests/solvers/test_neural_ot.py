"""Neural OT with the quadratic cost finds the monotone 1-D Gaussian map; the loop's record and bad inputs."""

import pytest
import torch

from paperlab.models import PotentialMLP, StochasticMap
from paperlab.solvers import neural_ot, quadratic_transport_cost


def test_quadratic_cost_learns_the_monotone_gaussian_map():
    """Between N(0, 1) and N(2, 0.5^2) the OT map is T(x) = 2 + x / 2 (increasing): any other pushforward,
    e.g. 2 - x / 2, reaches the target too but costs more."""
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    f, T = PotentialMLP(1, hidden=(32, 32)), StochasticMap(1, noise_dim=0, hidden=(32, 32))
    result = neural_ot(
        f,
        T,
        lambda n: (torch.randn(n, 1, generator=g), None),
        lambda n: 2 + 0.5 * torch.randn(n, 1, generator=g),
        quadratic_transport_cost,
        n_iterations=400,
        transport_steps=1,
        batch_size=256,
        lr=0.003,
        generator=g,
    )
    x = torch.linspace(-2, 2, 41).unsqueeze(1)
    with torch.no_grad():
        mapped = T(x)
    torch.testing.assert_close(mapped, 2 + x / 2, atol=0.2, rtol=0)
    assert result.n_iter == 400 and len(result.costs) == 400 and len(result.dual_gaps) == 400


def test_quadratic_transport_cost_value():
    x, mapped = torch.zeros(2, 2), torch.tensor([[1.0, 1.0], [3.0, 0.0]])
    assert quadratic_transport_cost(x, mapped).item() == pytest.approx((2 + 9) / 4)
    with pytest.raises(ValueError, match="same shape"):
        quadratic_transport_cost(x, mapped[:1])


def test_bad_inputs_raise():
    f, T = PotentialMLP(1), StochasticMap(1)

    def source(n):
        return torch.randn(n, 1), None

    def target(n):
        return torch.randn(n, 1)

    with pytest.raises(ValueError, match="n_iterations"):
        neural_ot(f, T, source, target, quadratic_transport_cost, 0)
    with pytest.raises(ValueError, match="lr"):
        neural_ot(f, T, source, target, quadratic_transport_cost, 1, lr=-1.0)
    with pytest.raises(TypeError, match="transport_steps"):
        neural_ot(f, T, source, target, quadratic_transport_cost, 1, transport_steps=1.5)

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.models.sparse_evolutionary_linear import (
    SparseEvolutionaryLinear,
    erdos_renyi_density,
    erdos_renyi_mask,
)


def test_density_formula_and_clamp():
    assert erdos_renyi_density(100, 50, 2.0) == pytest.approx(2.0 * 150 / 5000)
    assert erdos_renyi_density(4, 4, 13.0) == 1.0


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 60), st.integers(2, 60), st.floats(0.5, 20.0), st.integers(0, 1000))
def test_mask_has_expected_number_of_connections(n_in, n_out, epsilon, seed):
    mask = erdos_renyi_mask(n_in, n_out, epsilon, generator=seed)
    assert mask.shape == (n_out, n_in) and mask.dtype == torch.bool
    expected = max(1, round(erdos_renyi_density(n_in, n_out, epsilon) * n_in * n_out))
    assert int(mask.sum()) == expected


def test_mask_is_seeded_and_spread():
    a = erdos_renyi_mask(200, 100, 5.0, generator=0)
    assert torch.equal(a, erdos_renyi_mask(200, 100, 5.0, generator=0))
    assert not torch.equal(a, erdos_renyi_mask(200, 100, 5.0, generator=1))
    # a uniform topology: every row gets some connections, none gets all
    per_row = a.sum(1)
    assert per_row.min() > 0 and per_row.max() < 200


def test_forward_matches_dense_masked_linear_and_inactive_weights_are_zero():
    layer = SparseEvolutionaryLinear(30, 20, epsilon=3.0, generator=0, dtype=torch.float64)
    assert torch.all(layer.weight[~layer.mask] == 0)
    x = torch.randn(7, 30, dtype=torch.float64)
    expected = x @ (layer.weight * layer.mask).T + layer.bias
    torch.testing.assert_close(layer(x), expected)


def test_gradients_are_masked():
    layer = SparseEvolutionaryLinear(30, 20, epsilon=3.0, generator=0, dtype=torch.float64)
    layer(torch.randn(7, 30, dtype=torch.float64)).square().sum().backward()
    assert torch.all(layer.weight.grad[~layer.mask] == 0)
    assert layer.weight.grad[layer.mask].abs().sum() > 0


def test_gradcheck_masked_layer():
    layer = SparseEvolutionaryLinear(6, 4, epsilon=1.0, generator=0, dtype=torch.float64)
    x = torch.randn(3, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda inp, w: torch.nn.functional.linear(inp, w * layer.mask), (x, layer.weight)
    )


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 0.9), st.integers(0, 1000))
def test_evolve_keeps_density_and_prunes_the_weakest(zeta, seed):
    layer = SparseEvolutionaryLinear(40, 30, epsilon=4.0, generator=seed, dtype=torch.float64)
    before_mask = layer.mask.clone()
    before_weight = layer.weight.detach().clone()
    n_active = layer.n_active
    replaced = layer.evolve(zeta, generator=seed + 1)
    assert layer.n_active == n_active
    assert replaced == round(zeta * n_active)
    assert torch.all(layer.weight[~layer.mask] == 0)
    # every surviving old connection is at least as strong as every removed one (a removed position may be
    # regrown at once, with a fresh weight, so "kept" means active with its old weight)
    kept = before_mask & layer.mask & (layer.weight.detach() == before_weight)
    removed = before_mask & ~kept
    assert int(removed.sum()) == replaced or zeta == 0
    if removed.any() and kept.any():
        assert before_weight[removed].abs().max() <= before_weight[kept].abs().min()


def test_evolve_moves_connections_and_regrown_weights_are_nonzero():
    layer = SparseEvolutionaryLinear(50, 50, epsilon=3.0, generator=0)
    before = layer.mask.clone()
    replaced = layer.evolve(0.3, generator=1)
    new = layer.mask & ~before
    assert replaced > 0 and new.sum() > 0
    assert torch.all(layer.weight[new] != 0)
    assert layer.evolve(0.0) == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="epsilon"):
        SparseEvolutionaryLinear(3, 3, epsilon=-1.0)
    with pytest.raises(TypeError, match="in_features"):
        SparseEvolutionaryLinear(3.5, 3)
    layer = SparseEvolutionaryLinear(5, 3, generator=0)
    with pytest.raises(ValueError, match="zeta"):
        layer.evolve(1.0)
    with pytest.raises(ValueError, match="zeta"):
        layer.evolve(-0.1)
    with pytest.raises(ValueError, match="features"):
        layer(torch.randn(2, 4))
    with pytest.raises(ValueError, match="finite"):
        layer(torch.full((2, 5), float("nan")))
    with pytest.raises(TypeError, match="floating"):
        layer(torch.ones(2, 5, dtype=torch.long))

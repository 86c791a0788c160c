"""Tests of the ALDS min-max allocation of (channel groups, rank) under a global budget."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import (
    LayerOptions,
    alds,
    energy_allocation,
    energy_rank,
    grouped_svd_errors,
    layer_options,
    min_max_allocation,
    uniform_rank_allocation,
)


def _matrix(m, n, seed):
    return torch.randn(m, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@settings(max_examples=25, deadline=None)
@given(m=st.integers(3, 8), n=st.integers(3, 9), k=st.integers(1, 3), seed=st.integers(0, 999))
def test_error_bound_is_exact_for_one_group_and_bounds_the_true_error(m, n, k, seed):
    weight = _matrix(m, n, seed)
    errors = grouped_svd_errors(weight, k)
    groups = torch.tensor_split(weight, k, dim=1)
    norm = torch.linalg.matrix_norm(weight, ord=2)
    for j in range(1, len(errors) + 1):
        approx = []
        for group in groups:
            u, s, vh = torch.linalg.svd(group, full_matrices=False)
            approx.append(u[:, :j] * s[:j] @ vh[:j])
        true_error = torch.linalg.matrix_norm(weight - torch.cat(approx, dim=1), ord=2) / norm
        assert true_error <= errors[j - 1] + 1e-10
        if k == 1:  # Eckart-Young: the spectral error of the rank-j SVD is sigma_{j+1}
            torch.testing.assert_close(true_error, errors[j - 1], atol=1e-10, rtol=1e-8)
    assert bool((errors[:-1] >= errors[1:] - 1e-12).all())
    if k == 1:
        assert errors[-1] < 1e-10  # full rank is exact


def _brute_force(options, budget):
    best = np.inf
    for picks in itertools.product(*[range(len(o.sizes)) for o in options]):
        if sum(int(o.sizes[p]) for o, p in zip(options, picks)) <= budget:
            best = min(best, max(float(o.errors[p]) for o, p in zip(options, picks)))
    return best


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_layers=st.integers(1, 3), slack=st.floats(0.0, 1.0))
def test_min_max_allocation_matches_brute_force_and_respects_the_budget(seed, n_layers, slack):
    g = torch.Generator().manual_seed(seed)
    options = []
    for _ in range(n_layers):
        m = int(torch.randint(2, 6, (1,), generator=g))
        sizes = torch.randint(1, 20, (m,), generator=g)
        errors = torch.rand(m, generator=g, dtype=torch.float64)
        options.append(LayerOptions(torch.ones(m, dtype=torch.long), torch.arange(1, m + 1), sizes, errors))
    cheapest, dearest = sum(int(o.sizes.min()) for o in options), sum(int(o.sizes.max()) for o in options)
    budget = cheapest + int(slack * (dearest - cheapest))
    result = min_max_allocation(options, budget)
    assert result.total_size <= budget
    assert result.max_error == pytest.approx(_brute_force(options, budget), abs=1e-12)


def test_alds_on_real_layers_beats_the_baselines_on_its_objective():
    weights = [_matrix(32, 16, 0), _matrix(32, 32, 1) * 3, _matrix(8, 32, 2)]
    budget = sum(w.numel() for w in weights) // 4
    ours = alds(weights, budget, group_choices=(1, 2, 4))
    assert ours.total_size <= budget
    for baseline in (uniform_rank_allocation(weights, budget), energy_allocation(weights, budget)):
        assert baseline.total_size <= budget
        assert ours.max_error <= baseline.max_error + 1e-12
    single = alds(weights, budget, group_choices=(1,))
    assert ours.max_error <= single.max_error + 1e-12  # more choices cannot hurt
    for w, k, j, size in zip(weights, ours.n_groups, ours.ranks, ours.sizes):
        assert size == j * (k * w.shape[0] + w.shape[1])


def test_baselines_follow_their_rules():
    weights = [_matrix(20, 12, 0), _matrix(20, 20, 1), _matrix(6, 20, 2)]
    budget = 600
    uniform = uniform_rank_allocation(weights, budget)
    r = max(uniform.ranks)
    assert uniform.ranks == [min(r, min(w.shape)) for w in weights]
    bigger = [min(r + 1, min(w.shape)) for w in weights]
    assert sum(j * sum(w.shape) for j, w in zip(bigger, weights)) > budget  # r is the largest that fits
    energy = energy_allocation(weights, budget)
    spectra = [torch.linalg.svdvals(w) for w in weights]
    fractions = [float((s[:j] ** 2).sum() / (s**2).sum()) for s, j in zip(spectra, energy.ranks)]
    e = min(fractions)
    assert energy.ranks == [int(energy_rank(s, e)) for s in spectra]


def test_layer_options_enumerates_groups_and_ranks():
    options = layer_options(_matrix(6, 8, 0), group_choices=(1, 2, 16))
    assert set(options.n_groups.tolist()) == {1, 2}  # 16 > in_features is skipped
    assert len(options.sizes) == 6 + 4
    assert options.sizes[options.n_groups == 2].tolist() == [j * (2 * 6 + 8) for j in range(1, 5)]


def test_bad_inputs():
    w = _matrix(6, 8, 0)
    with pytest.raises(ValueError, match="budget"):
        alds([w], 5)
    with pytest.raises(ValueError, match="budget"):
        uniform_rank_allocation([w], 5)
    with pytest.raises(TypeError, match="weights"):
        alds(w, 100)
    with pytest.raises(ValueError, match="weights\\[0\\]"):
        alds([w[0]], 100)
    with pytest.raises(ValueError, match="n_groups"):
        grouped_svd_errors(w, 9)
    with pytest.raises(ValueError, match="group_choices"):
        layer_options(w, ())
    with pytest.raises(TypeError, match="options"):
        min_max_allocation([], 10)
    with pytest.raises(ValueError, match="finite"):
        alds([w * float("inf")], 100)

"""Greedy rank-increment structure search: finds a planted ring's size, respects budgets, validates input."""

import pytest
import torch

from paperlab.solvers import (
    greedy_tn_structure,
    random_tr_cores,
    ring_edge_ranks,
    tn_parameter_count,
    tr_parameter_count,
    tr_to_tensor,
)


def test_finds_a_planted_ring_with_no_more_parameters_than_needed():
    shape, ring = (6, 6, 6, 6), (1, 2, 3, 1)  # a tensor train inside the ring format
    tensor = tr_to_tensor(random_tr_cores(shape, ring, seed=0))
    result = greedy_tn_structure(tensor, max_iter=6, target_rse=1e-6, seed=0)
    assert result.converged and result.rse <= 1e-6
    assert result.n_params <= tr_parameter_count(shape, ring)
    assert result.n_params == tn_parameter_count(shape, result.ranks)
    assert (
        float(torch.linalg.vector_norm(result.to_tensor() - tensor) / torch.linalg.vector_norm(tensor)) < 1e-5
    )
    assert result.ranks == ring_edge_ranks(ring)  # the only structure of that size that fits


def test_each_step_raises_one_edge_by_one_and_never_increases_the_error():
    tensor = tr_to_tensor(random_tr_cores((5, 5, 5, 5), (2, 2, 2, 2), seed=1))
    result = greedy_tn_structure(tensor, max_iter=4, target_rse=0.0, seed=1)
    assert len(result.history) == 5 and result.history[0].edge is None
    for before, after in zip(result.history, result.history[1:]):
        i, j = after.edge
        assert after.ranks[i][j] == before.ranks[i][j] + 1
        diff = sum(after.ranks[a][b] != before.ranks[a][b] for a in range(4) for b in range(4))
        assert diff == 2  # (i, j) and (j, i)
        assert after.rse <= before.rse + 1e-9
        assert len(after.candidate_rse) == 6
        assert after.rse <= min(after.candidate_rse.values()) + 1e-9


def test_parameter_budget_stops_the_search():
    tensor = tr_to_tensor(random_tr_cores((5, 5, 5), (3, 3, 3), seed=2))
    result = greedy_tn_structure(tensor, max_iter=10, target_rse=0.0, max_params=40, seed=0)
    assert all(step.n_params <= 40 for step in result.history)
    assert not result.converged


def test_same_seed_same_path():
    tensor = tr_to_tensor(random_tr_cores((4, 5, 4), (2, 1, 2), seed=3))
    first = greedy_tn_structure(tensor, max_iter=3, seed=7)
    second = greedy_tn_structure(tensor, max_iter=3, seed=7)
    assert [s.edge for s in first.history] == [s.edge for s in second.history]
    assert first.rse == second.rse


def test_bad_inputs_raise():
    tensor = torch.randn(3, 4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="init_scale"):
        greedy_tn_structure(tensor, init_scale=0.0)
    with pytest.raises(TypeError, match="max_iter"):
        greedy_tn_structure(tensor, max_iter=1.5)
    with pytest.raises(ValueError, match="tensor"):
        greedy_tn_structure(torch.randn(5, dtype=torch.float64))
    with pytest.raises(TypeError, match="tensor"):
        greedy_tn_structure(torch.ones(3, 4, dtype=torch.int64))

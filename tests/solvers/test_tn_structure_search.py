"""Tensor-ring structure search: ring symmetries, the objective, TnALE and TNLS on known optima."""

import itertools

import pytest
import torch

from paperlab.solvers import (
    StructureEvaluation,
    TRStructure,
    TRStructureObjective,
    evaluations_to_reach,
    random_tr_cores,
    structure_search_problem,
    tnale_search,
    tnls_search,
    tr_parameter_count,
    tr_ranks,
    tr_to_tensor,
)


def test_rotations_and_reflections_give_the_same_tensor_and_canonical_form():
    shape, ranks = (2, 3, 4, 5), (2, 3, 1, 4)
    cores = random_tr_cores(shape, ranks, seed=0)
    data = tr_to_tensor(cores)  # data mode k on core k
    reference = TRStructure(ranks, (0, 1, 2, 3)).canonical()
    for shift, reflect in itertools.product(range(4), (False, True)):
        moved = cores[shift:] + cores[:shift]
        perm = tuple(range(4))[shift:] + tuple(range(4))[:shift]
        if reflect:
            moved = [c.transpose(0, 2) for c in moved[::-1]]
            perm = perm[::-1]
        torch.testing.assert_close(tr_to_tensor(moved), data.permute(perm))
        assert TRStructure(tr_ranks(moved), perm).canonical() == reference
    assert TRStructure((2, 3, 1, 4), (1, 0, 2, 3)).canonical() != reference


def test_objective_at_the_true_structure():
    tensor, truth = structure_search_problem((5, 5, 5, 5), (2, 3, 2, 2), seed=1)
    objective = TRStructureObjective(tensor, lam=2.0, n_inits=3, n_iter_max=60, seed=0)
    exact = objective(truth)
    assert exact.rse < 1e-5
    assert exact.n_params == tr_parameter_count(tensor.shape, truth.ranks)
    assert exact.objective == pytest.approx(exact.n_params / tensor.numel() + 2.0 * exact.rse)
    too_small = objective(TRStructure((1, 3, 2, 2), truth.permutation))
    assert too_small.rse > 0.05 and too_small.objective > exact.objective


def quadratic(target_ranks, target_perm):
    """A cheap stand-in objective with a unique optimum up to ring symmetries."""
    key = TRStructure(target_ranks, target_perm).canonical()

    def objective(structure):
        canon = structure.canonical()
        value = sum((a - b) ** 2 for a, b in zip(canon.ranks, key.ranks)) + 3.0 * (
            canon.permutation != key.permutation
        )
        return StructureEvaluation(structure, float(value), rse=float(value), n_params=sum(structure.ranks))

    return objective


def test_tnale_finds_the_optimum_of_a_separable_objective():
    objective = quadratic((3, 5, 2, 4, 1), (0, 1, 2, 3, 4))
    result = tnale_search(objective, TRStructure((1, 1, 1, 1, 1), (0, 1, 2, 3, 4)), budget=200, max_rank=6)
    assert result.best.objective == 0.0
    canon = [e.structure.canonical() for e in result.evaluations]
    assert len(canon) == len(set(canon))  # nothing paid for twice
    best = [b.objective for b in result.best_after]
    assert all(b <= a for a, b in zip(best, best[1:])) and len(best) == result.n_evaluations


def test_tnale_fixes_a_wrong_permutation():
    objective = quadratic((2, 2, 2, 2), (0, 2, 1, 3))
    result = tnale_search(objective, TRStructure((2, 2, 2, 2), (0, 1, 2, 3)), budget=50)
    assert result.best.objective == 0.0


def test_budget_and_stop_are_respected():
    objective = quadratic((3, 5, 2, 4, 1), (0, 1, 2, 3, 4))
    init = TRStructure((1, 1, 1, 1, 1), (4, 3, 2, 0, 1))
    for search in (tnale_search, lambda o, i, **k: tnls_search(o, i, seed=0, **k)):
        assert search(objective, init, budget=7).n_evaluations == 7
        stopped = search(objective, init, budget=500, stop=lambda e: e.objective < 10)
        assert stopped.best.objective < 10 and stopped.n_evaluations < 500
        count = evaluations_to_reach(stopped, lambda e: e.objective < 10, 500)
        assert count == stopped.n_evaluations
    never = tnale_search(objective, init, budget=5)
    assert evaluations_to_reach(never, lambda e: e.objective < 0, 5) == 6


def test_tnls_improves_and_is_reproducible():
    objective = quadratic((3, 3, 3, 3), (0, 1, 2, 3))
    init = TRStructure((1, 1, 1, 1), (0, 1, 2, 3))
    first = tnls_search(objective, init, budget=60, seed=3)
    second = tnls_search(objective, init, budget=60, seed=3)
    assert [e.structure for e in first.evaluations] == [e.structure for e in second.evaluations]
    assert first.best.objective < objective(init).objective


def test_tnale_recovers_a_planted_ring_with_shuffled_modes():
    tensor, truth = structure_search_problem((4, 4, 4, 4), (2, 3, 2, 2), seed=2)
    objective = TRStructureObjective(tensor, lam=1.0, n_inits=2, seed=0)
    result = tnale_search(objective, TRStructure((2, 2, 2, 2), (0, 1, 2, 3)), budget=80)
    assert result.best.rse < 1e-3
    assert result.best.n_params == tr_parameter_count(tensor.shape, truth.ranks)
    assert result.best.structure.canonical() == truth.canonical()


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="permutation"):
        TRStructure((2, 2, 2), (0, 1, 1))
    with pytest.raises(ValueError, match="ranks\\[1\\]"):
        TRStructure((2, 0, 2), (0, 1, 2))
    objective = quadratic((2, 2, 2), (0, 1, 2))
    init = TRStructure((2, 2, 2), (0, 1, 2))
    with pytest.raises(TypeError, match="init"):
        tnale_search(objective, ((2, 2, 2), (0, 1, 2)))
    with pytest.raises(ValueError, match="budget"):
        tnale_search(objective, init, budget=0)
    with pytest.raises(ValueError, match="max_rank"):
        tnls_search(objective, TRStructure((9, 2, 2), (0, 1, 2)), max_rank=4)
    with pytest.raises(ValueError, match="swap_prob"):
        tnls_search(objective, init, swap_prob=1.5)
    tensor = torch.randn(3, 3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="lam"):
        TRStructureObjective(tensor, lam=0.0)
    with pytest.raises(ValueError, match="3 ranks"):
        TRStructureObjective(tensor)(TRStructure((2, 2, 2, 2), (0, 1, 2, 3)))

"""Fully connected tensor networks: contraction against the ring format, counts, ALS and edge growth."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from paperlab.solvers import (
    grow_edge,
    random_tn_cores,
    random_tr_cores,
    ring_edge_ranks,
    tn_als,
    tn_parameter_count,
    tn_ranks,
    tn_to_tensor,
    tr_to_tensor,
)


def ring_to_network(tr_cores):
    """Rewrite TR cores (r_k, I_k, r_{k+1}) in the fully connected layout (rank-1 axes elsewhere)."""
    order = len(tr_cores)
    cores = []
    for k, core in enumerate(tr_cores):
        shape = [1] * order
        shape[k] = core.shape[1]
        shape[(k - 1) % order] = core.shape[0]
        shape[(k + 1) % order] = core.shape[2]
        moved = core.permute(1, 0, 2)  # (I_k, r_k, r_{k+1})
        left, right = (k - 1) % order, (k + 1) % order
        axes = {k: 0, left: 1, right: 2}
        permuted = moved.permute([axes[a] for a in sorted(axes)])
        cores.append(permuted.reshape(shape))
    return cores


@settings(max_examples=25, deadline=None)
@given(order=st.integers(3, 5), data=st.data(), seed=st.integers(0, 1000))
def test_a_ring_contracts_like_tr_to_tensor(order, data, seed):
    shape = data.draw(st.lists(st.integers(1, 4), min_size=order, max_size=order))
    ranks = data.draw(st.lists(st.integers(1, 3), min_size=order, max_size=order))
    tr_cores = random_tr_cores(shape, ranks, seed=seed)
    cores = ring_to_network(tr_cores)
    torch.testing.assert_close(tn_to_tensor(cores), tr_to_tensor(tr_cores))
    assert tn_ranks(cores) == ring_edge_ranks(ranks)


def test_all_ranks_one_is_the_outer_product():
    g = torch.Generator().manual_seed(0)
    vectors = [torch.randn(n, generator=g, dtype=torch.float64) for n in (2, 3, 4, 5)]
    cores = [
        v.reshape([n if j == k else 1 for j in range(4)])
        for k, (v, n) in enumerate(zip(vectors, (2, 3, 4, 5)))
    ]
    torch.testing.assert_close(tn_to_tensor(cores), torch.einsum("i,j,k,l->ijkl", *vectors))


def test_parameter_count_matches_the_cores():
    ranks = [[1, 2, 3, 1], [2, 1, 1, 4], [3, 1, 1, 2], [1, 4, 2, 1]]
    cores = random_tn_cores((5, 6, 7, 3), ranks, seed=1)
    assert tn_parameter_count((5, 6, 7, 3), ranks) == sum(c.numel() for c in cores)
    assert tn_parameter_count((5, 6, 7, 3), ranks) == 5 * 6 + 6 * 8 + 7 * 6 + 3 * 8


def test_als_recovers_a_planted_network_with_a_chord():
    ranks = [[1, 2, 2, 1], [2, 1, 2, 2], [2, 2, 1, 2], [1, 2, 2, 1]]  # ring 0-1-3-2-0 plus the chord (1, 2)
    tensor = tn_to_tensor(random_tn_cores((5, 4, 5, 4), ranks, seed=2))
    best = min(
        (tn_als(tensor, ranks, n_iter_max=80, target_rse=1e-9, seed=s) for s in range(3)), key=lambda r: r.rse
    )
    assert best.rse < 1e-7
    assert all(b <= a + 1e-10 for a, b in zip(best.errors, best.errors[1:]))


def test_fewer_ranks_cannot_fit_it():
    ranks = [[1, 3, 1, 3], [3, 1, 3, 1], [1, 3, 1, 3], [3, 1, 3, 1]]
    tensor = tn_to_tensor(random_tn_cores((5, 5, 5, 5), ranks, seed=3))
    assert tn_als(tensor, ring_edge_ranks([2, 2, 2, 2]), n_iter_max=30, seed=0).rse > 0.05


def test_grow_edge_keeps_the_tensor_and_raises_one_rank():
    cores = random_tn_cores((4, 5, 6), ring_edge_ranks([2, 1, 3]), seed=4)
    grown = grow_edge(cores, (0, 1), scale=1e-4, seed=0)
    before, after = tn_ranks(cores), tn_ranks(grown)
    assert after[0][1] == after[1][0] == before[0][1] + 1
    assert [after[i][j] for i in range(3) for j in range(3) if {i, j} != {0, 1}] == [
        before[i][j] for i in range(3) for j in range(3) if {i, j} != {0, 1}
    ]
    full = tn_to_tensor(cores)
    change = float(torch.linalg.vector_norm(tn_to_tensor(grown) - full) / torch.linalg.vector_norm(full))
    assert change < 1e-6  # second order in the scale
    exact = grow_edge(cores, (2, 0), scale=0.0)
    torch.testing.assert_close(tn_to_tensor(exact), full)


def test_warm_start_does_not_lose_the_fit():
    tensor = tn_to_tensor(random_tn_cores((4, 4, 4, 4), ring_edge_ranks([2, 2, 2, 2]), seed=5))
    coarse = tn_als(tensor, ring_edge_ranks([2, 2, 1, 2]), n_iter_max=20, seed=0)
    warm = tn_als(tensor, init=grow_edge(coarse.cores, (1, 2), scale=1e-3, seed=1), n_iter_max=1, tol=0.0)
    assert warm.rse <= coarse.rse + 1e-6


def test_bad_inputs_raise():
    tensor = torch.randn(3, 4, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="symmetric"):
        tn_als(tensor, [[1, 2, 1], [1, 1, 1], [1, 1, 1]])
    with pytest.raises(ValueError, match="ranks"):
        tn_als(tensor, [[1, 2], [2, 1]])
    with pytest.raises(ValueError, match="neither"):
        tn_als(tensor)
    with pytest.raises(ValueError, match="edge"):
        grow_edge(random_tn_cores((3, 4, 5), ring_edge_ranks([1, 1, 1])), (1, 1))
    with pytest.raises(ValueError, match="edge \\(0, 1\\)"):
        tn_to_tensor([torch.ones(3, 2, 1), torch.ones(3, 4, 1), torch.ones(1, 1, 5)])
    with pytest.raises(ValueError, match="differ"):
        tn_als(
            tensor, ring_edge_ranks([2, 2, 2]), init=random_tn_cores((3, 4, 5), ring_edge_ranks([1, 1, 1]))
        )
    assert math.isfinite(tn_als(tensor, ring_edge_ranks([1, 1, 1]), n_iter_max=2).rse)

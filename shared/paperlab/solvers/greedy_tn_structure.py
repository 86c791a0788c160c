"""Greedy rank-increment search for a tensor-network structure.

From "Adaptive Learning of Tensor Network Structures". Start from the fully connected network with every
edge rank equal to 1 (a rank-one tensor). At each iteration, for every edge :math:`(i, j)`:

1. increase :math:`R_{ij}` by one, filling the new slices with small noise so the current fit is kept
   (the paper's weight transfer);
2. optimise the grown network for a few steps and record its loss;

keep the edge whose loss is lowest, then train that network until the loss plateaus. The structure grows
one rank unit at a time, where it lowers the loss most, until the loss or the parameter budget is met:

.. math::  (i^*, j^*) = \\arg\\min_{(i, j)} \\; \\min_{\\text{few steps}}
           \\big\\| X - \\mathrm{TN}(\\mathcal{G};\\, R + e_{ij}) \\big\\|_F .

Here the loss is the relative error of a decomposition and the optimiser is ALS (:func:`tn_als`), exact
per core, in place of the paper's gradient steps. The paper's extra step that splits cores to discover
internal nodes is not implemented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from .._checks import check_positive, check_tensor
from .._random import as_generator
from .tensor_network import grow_edge, random_tn_cores, tn_als, tn_parameter_count, tn_ranks, tn_to_tensor


@dataclass
class GreedyStep:
    """One greedy iteration: the edge chosen, the ranks and size after it, the error after training."""

    edge: tuple[int, int] | None  # None for the rank-one start
    ranks: list[list[int]]
    n_params: int
    rse: float
    candidate_rse: dict[tuple[int, int], float] = field(
        default_factory=dict
    )  # edge -> error after few sweeps


@dataclass
class GreedyTNResult:
    """Outcome of the greedy search: the final network and the path that led to it."""

    cores: list[torch.Tensor]
    history: list[GreedyStep]
    converged: bool  # True when target_rse was reached

    @property
    def rse(self) -> float:
        return self.history[-1].rse

    @property
    def ranks(self) -> list[list[int]]:
        return tn_ranks(self.cores)

    @property
    def n_params(self) -> int:
        return self.history[-1].n_params

    def to_tensor(self) -> torch.Tensor:
        return tn_to_tensor(self.cores)


def greedy_tn_structure(
    tensor: torch.Tensor,
    *,
    max_iter: int = 12,
    target_rse: float = 1e-2,
    max_params: int | None = None,
    candidate_sweeps: int = 5,
    plateau_sweeps: int = 50,
    tol: float = 1e-4,
    init_scale: float = 1e-2,
    seed=None,
) -> GreedyTNResult:
    """Learn a fully connected tensor network's edge ranks greedily, one rank increment per iteration.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        max_iter: maximum number of rank increments.
        target_rse: stop once the relative error :math:`\\|X - \\hat X\\| / \\|X\\|` is at most this.
        max_params: optional cap; an edge whose increment would exceed it is not tried.
        candidate_sweeps: ALS sweeps given to each candidate edge before they are compared.
        plateau_sweeps: maximum ALS sweeps to train the chosen network.
        tol: the chosen network's training stops when a sweep improves the error by less than this.
        init_scale: relative size of the new slices (weight transfer).
        seed: int, torch.Generator or None, for the rank-one start and the new slices.
    Returns:
        :class:`GreedyTNResult` with the final cores and one :class:`GreedyStep` per iteration (the first
        entry is the rank-one start).
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    check_positive("max_iter", max_iter, integer=True, allow_zero=True)
    check_positive("target_rse", target_rse, allow_zero=True)
    if max_params is not None:
        check_positive("max_params", max_params, integer=True)
    check_positive("candidate_sweeps", candidate_sweeps, integer=True)
    check_positive("plateau_sweeps", plateau_sweeps, integer=True)
    check_positive("tol", tol, allow_zero=True)
    check_positive("init_scale", init_scale)
    generator = as_generator(seed)
    shape = tuple(tensor.shape)
    order = len(shape)
    edges = [(i, j) for i in range(order) for j in range(i + 1, order)]

    ones = [[1] * order for _ in range(order)]
    start = random_tn_cores(shape, ones, dtype=tensor.dtype, device=tensor.device, seed=generator)
    fit = tn_als(tensor, init=start, n_iter_max=plateau_sweeps, tol=tol, target_rse=target_rse)
    history = [GreedyStep(None, fit.ranks, tn_parameter_count(shape, fit.ranks), fit.rse)]
    cores = fit.cores

    for _ in range(max_iter):
        if history[-1].rse <= target_rse:
            break
        best, best_fit, candidate_rse = None, None, {}
        for edge in edges:
            ranks = tn_ranks(cores)
            ranks[edge[0]][edge[1]] += 1
            ranks[edge[1]][edge[0]] += 1
            if max_params is not None and tn_parameter_count(shape, ranks) > max_params:
                continue
            grown = grow_edge(cores, edge, scale=init_scale, seed=generator)
            trial = tn_als(tensor, init=grown, n_iter_max=candidate_sweeps, tol=0.0, target_rse=target_rse)
            candidate_rse[edge] = trial.rse
            if best_fit is None or trial.rse < best_fit.rse:
                best, best_fit = edge, trial
        if best is None:  # every increment would exceed max_params
            break
        fit = tn_als(tensor, init=best_fit.cores, n_iter_max=plateau_sweeps, tol=tol, target_rse=target_rse)
        if not math.isfinite(fit.rse) or fit.rse > best_fit.rse:
            fit = best_fit
        cores = fit.cores
        history.append(
            GreedyStep(best, fit.ranks, tn_parameter_count(shape, fit.ranks), fit.rse, candidate_rse)
        )
    return GreedyTNResult(cores=cores, history=history, converged=history[-1].rse <= target_rse)

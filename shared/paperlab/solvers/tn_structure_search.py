"""Tensor-ring structure search: ranks and mode permutation, by TnALE and by the TNLS baseline.

From "Alternating Local Enumeration (TnALE): Solving Tensor Network Structure Search with Fewer
Evaluations". A structure :math:`x = (r_0, \\dots, r_{N-1}, \\pi)` places data mode :math:`\\pi(k)` on
ring core ``k`` with ring ranks ``r``. Its objective fits the permuted tensor and trades size for error,

.. math::  \\phi(x) = \\frac{\\#\\text{params}(x)}{\\#\\text{entries}} + \\lambda \\,
           \\frac{\\| X - \\hat X_x \\|_F}{\\|X\\|_F},

and every evaluation of :math:`\\phi` costs a full decomposition, so a search is judged by how many
evaluations it needs. TNLS samples random structures around the current centre and moves to the best
sample; TnALE instead updates one variable at a time, enumerating its local neighbourhood with the
others fixed (ranks within a radius, permutations one transposition away), going through the variables
forwards and backwards in turn, with a wider radius in the first round.

Rings are equal under rotation and reversal of the cores, so every structure is reduced to a canonical
form before it is evaluated, and a structure already seen costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_positive, check_tensor
from .._random import as_generator
from .tensor_ring import tr_als, tr_parameter_count


@dataclass(frozen=True)
class TRStructure:
    """Ring ranks (edge k joins cores k - 1 and k) and the data mode held by each core."""

    ranks: tuple[int, ...]
    permutation: tuple[int, ...]

    def __post_init__(self):
        order = len(self.ranks)
        if order < 2 or sorted(self.permutation) != list(range(order)):
            raise ValueError(
                f"permutation must be a permutation of range({order}) matching the {order} ranks, "
                f"got ranks {self.ranks!r} and permutation {self.permutation!r}"
            )
        for k, rank in enumerate(self.ranks):
            check_positive(f"ranks[{k}]", rank, integer=True)

    def canonical(self) -> TRStructure:
        """The smallest of the 2N rotations and reflections of the ring, which all give the same tensor."""
        order = len(self.ranks)
        variants = []
        for ranks, perm in ((self.ranks, self.permutation), self._reversed()):
            for shift in range(order):
                variants.append((perm[shift:] + perm[:shift], ranks[shift:] + ranks[:shift]))
        perm, ranks = min(variants)
        return TRStructure(ranks, perm)

    def _reversed(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        order = len(self.ranks)
        ranks = tuple(self.ranks[(order - m) % order] for m in range(order))  # core m was core N-1-m
        return ranks, self.permutation[::-1]


@dataclass
class StructureEvaluation:
    """One evaluated structure: its objective, fit error and size."""

    structure: TRStructure
    objective: float
    rse: float
    n_params: int


@dataclass
class StructureSearchResult:
    """A search's best structure and every evaluation in the order it was paid for."""

    best: StructureEvaluation
    evaluations: list[StructureEvaluation] = field(default_factory=list)
    best_after: list[StructureEvaluation] = field(default_factory=list)  # best so far after each evaluation

    @property
    def n_evaluations(self) -> int:
        return len(self.evaluations)


class TRStructureObjective:
    """:math:`\\phi(x) = \\#\\text{params} / \\#\\text{entries} + \\lambda\\,\\mathrm{RSE}`, fitted by TR-ALS.

    Each call permutes the tensor's modes as the structure says and fits the ring with the best of
    ``n_inits`` TR-ALS starts, run side by side for at most ``n_iter_max`` sweeps (stopping early when
    one reaches ``target_rse`` or none improves by ``tol`` in a sweep).

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 3, finite and not all zero.
        lam: weight of the relative error, > 0.
        n_inits: random starts per evaluation.
        n_iter_max, target_rse, tol: passed to :func:`tr_als`.
        seed: int, torch.Generator or None, for the starting cores.
    """

    def __init__(
        self,
        tensor: torch.Tensor,
        *,
        lam: float = 1.0,
        n_inits: int = 2,
        n_iter_max: int = 30,
        target_rse: float = 1e-6,
        tol: float = 1e-8,
        seed=None,
    ):
        self.tensor = check_tensor("tensor", tensor, min_dim=3, floating=True)
        self.lam = check_positive("lam", lam)
        self.n_inits = check_positive("n_inits", n_inits, integer=True)
        self.n_iter_max = check_positive("n_iter_max", n_iter_max, integer=True)
        self.target_rse = check_positive("target_rse", target_rse, allow_zero=True)
        self.tol = check_positive("tol", tol, allow_zero=True)
        self.generator = as_generator(seed)

    def __call__(self, structure: TRStructure) -> StructureEvaluation:
        if len(structure.ranks) != self.tensor.dim():
            raise ValueError(f"structure must have {self.tensor.dim()} ranks, got {structure.ranks!r}")
        permuted = self.tensor.permute(structure.permutation)  # core k holds data mode permutation[k]
        fit = tr_als(
            permuted,
            structure.ranks,
            n_iter_max=self.n_iter_max,
            target_rse=self.target_rse,
            tol=self.tol,
            n_inits=self.n_inits,
            seed=self.generator,
        )
        rse = fit.rse
        n_params = tr_parameter_count(permuted.shape, structure.ranks)
        objective = n_params / self.tensor.numel() + self.lam * rse
        return StructureEvaluation(structure, objective, rse, n_params)


class _Ledger:
    """Evaluates structures once each (up to rotation and reflection) and keeps the count and the best."""

    def __init__(self, objective: Callable[[TRStructure], StructureEvaluation], budget: int, stop):
        self.objective = objective
        self.budget = budget
        self.stop = stop
        self.seen: dict[TRStructure, StructureEvaluation] = {}
        self.result = StructureSearchResult(best=None)

    @property
    def done(self) -> bool:
        best = self.result.best
        return len(self.result.evaluations) >= self.budget or (
            best is not None and self.stop is not None and self.stop(best)
        )

    def __call__(self, structure: TRStructure) -> StructureEvaluation | None:
        key = structure.canonical()
        if key in self.seen:
            return self.seen[key]
        if self.done:
            return None
        evaluation = self.objective(structure)
        self.seen[key] = evaluation
        self.result.evaluations.append(evaluation)
        if self.result.best is None or evaluation.objective < self.result.best.objective:
            self.result.best = evaluation
        self.result.best_after.append(self.result.best)
        return evaluation


def _check_search(init, budget, max_rank) -> None:
    if not isinstance(init, TRStructure):
        raise TypeError(f"init must be a TRStructure, got {type(init).__name__}")
    check_positive("budget", budget, integer=True)
    check_positive("max_rank", max_rank, integer=True)
    if max(init.ranks) > max_rank:
        raise ValueError(f"init ranks must be at most max_rank={max_rank}, got {init.ranks!r}")


def _transpositions(permutation: tuple[int, ...]) -> list[tuple[int, ...]]:
    neighbours = []
    for i in range(len(permutation)):
        for j in range(i + 1, len(permutation)):
            swapped = list(permutation)
            swapped[i], swapped[j] = swapped[j], swapped[i]
            neighbours.append(tuple(swapped))
    return neighbours


def tnale_search(
    objective: Callable[[TRStructure], StructureEvaluation],
    init: TRStructure,
    *,
    budget: int = 100,
    max_rank: int = 6,
    radius: int = 1,
    init_radius: int = 2,
    search_permutation: bool = True,
    stop: Callable[[StructureEvaluation], bool] | None = None,
) -> StructureSearchResult:
    """Alternating local enumeration over ring ranks and the mode permutation (TnALE).

    A round visits the variables :math:`r_0, \\dots, r_{N-1}, \\pi` (forwards in even rounds, backwards in
    odd ones); for each it evaluates every value in its neighbourhood with the others fixed and keeps
    the best: :math:`r_i + d` for :math:`|d| \\le` radius (``init_radius`` in the first round), clipped
    to [1, ``max_rank``], and every permutation one transposition away. It stops after a round without
    change, when ``stop(best)`` is true, or when ``budget`` distinct structures have been evaluated.

    Args:
        objective: callable structure -> :class:`StructureEvaluation`, e.g. :class:`TRStructureObjective`.
        init: the starting structure.
        budget: maximum number of (distinct) evaluations.
        max_rank: largest rank tried.
        radius, init_radius: rank neighbourhood radii after and in the first round.
        search_permutation: also search the permutation (TN-PS) or keep ``init.permutation``.
        stop: optional predicate on the best evaluation so far that ends the search.
    Returns:
        :class:`StructureSearchResult`.
    """
    _check_search(init, budget, max_rank)
    check_positive("radius", radius, integer=True)
    check_positive("init_radius", init_radius, integer=True)
    ledger = _Ledger(objective, budget, stop)
    current = ledger(init)
    order = len(init.ranks)
    variables = list(range(order)) + (["permutation"] if search_permutation else [])
    for round_index in range(budget):
        before = current.structure
        step = init_radius if round_index == 0 else radius
        for variable in variables if round_index % 2 == 0 else variables[::-1]:
            ranks, perm = current.structure.ranks, current.structure.permutation
            if variable == "permutation":
                candidates = [TRStructure(ranks, p) for p in _transpositions(perm)]
            else:
                values = range(max(1, ranks[variable] - step), min(max_rank, ranks[variable] + step) + 1)
                candidates = [
                    TRStructure(ranks[:variable] + (v,) + ranks[variable + 1 :], perm) for v in values
                ]
            for candidate in candidates:
                evaluation = ledger(candidate)
                if evaluation is not None and evaluation.objective < current.objective:
                    current = evaluation
            if ledger.done:
                return ledger.result
        if current.structure == before:
            break
    return ledger.result


def tnls_search(
    objective: Callable[[TRStructure], StructureEvaluation],
    init: TRStructure,
    *,
    budget: int = 100,
    max_rank: int = 6,
    n_samples: int = 10,
    swap_prob: float = 0.5,
    search_permutation: bool = True,
    stop: Callable[[StructureEvaluation], bool] | None = None,
    seed=None,
) -> StructureSearchResult:
    """Local sampling (the TNLS baseline): sample around the centre, move to the best sample if better.

    Each iteration draws ``n_samples`` neighbours of the centre: every rank moves by -1, 0 or +1 with
    equal probability (clipped to [1, ``max_rank``]), and with probability ``swap_prob`` two random cores
    swap their modes. All samples are evaluated and the centre moves to the best one if it improves
    the objective. Stops when ``budget`` distinct structures were evaluated or ``stop(best)`` is true.

    Args:
        objective, init, budget, max_rank, search_permutation, stop: as in :func:`tnale_search`.
        n_samples: neighbours drawn per iteration.
        swap_prob: probability that a sample swaps two modes.
        seed: int, torch.Generator or None.
    Returns:
        :class:`StructureSearchResult`.
    """
    _check_search(init, budget, max_rank)
    check_positive("n_samples", n_samples, integer=True)
    if not 0.0 <= swap_prob <= 1.0:
        raise ValueError(f"swap_prob must lie in [0, 1], got {swap_prob!r}")
    generator = as_generator(seed)
    ledger = _Ledger(objective, budget, stop)
    centre = ledger(init)
    order = len(init.ranks)
    stale = 0
    while not ledger.done and stale < 100:  # stale: iterations whose samples were all seen before
        samples = []
        for _ in range(n_samples):
            steps = torch.randint(-1, 2, (order,), generator=generator).tolist()
            ranks = tuple(min(max_rank, max(1, r + d)) for r, d in zip(centre.structure.ranks, steps))
            perm = list(centre.structure.permutation)
            if search_permutation and torch.rand((), generator=generator) < swap_prob:
                i, j = torch.randperm(order, generator=generator)[:2].tolist()
                perm[i], perm[j] = perm[j], perm[i]
            samples.append(TRStructure(ranks, tuple(perm)))
        count = ledger.result.n_evaluations
        evaluations = [e for e in (ledger(s) for s in samples) if e is not None]
        stale = stale + 1 if ledger.result.n_evaluations == count else 0
        best = min(evaluations, key=lambda e: e.objective, default=None)
        if best is not None and best.objective < centre.objective:
            centre = best
    return ledger.result


def evaluations_to_reach(
    result: StructureSearchResult, condition: Callable[[StructureEvaluation], bool], budget: int
) -> int:
    """The number of evaluations after which the best structure so far meets ``condition`` (budget + 1 if never)."""
    for count, best in enumerate(result.best_after, start=1):
        if condition(best):
            return count
    return budget + 1


def structure_search_problem(
    shape: Sequence[int], ranks: Sequence[int], *, dtype=torch.float64, device=None, seed=None
) -> tuple[torch.Tensor, TRStructure]:
    """A tensor made by a ring with the given ranks whose modes are then shuffled, and the true structure.

    Returns:
        (tensor, truth): ``tensor.permute(truth.permutation)`` is the ring tensor with ranks ``ranks``.
    """
    from .tensor_ring import random_tr_cores, tr_to_tensor

    generator = as_generator(seed)
    ring = tr_to_tensor(random_tr_cores(shape, ranks, dtype=dtype, device=device, seed=generator))
    permutation = tuple(torch.randperm(len(shape), generator=generator).tolist())
    inverse = [permutation.index(k) for k in range(len(shape))]
    tensor = ring.permute(inverse)  # data mode permutation[k] holds ring mode k
    return tensor.contiguous(), TRStructure(tuple(ranks), permutation)

"""Generic tensor networks on a fully connected graph: contraction, parameter counts and ALS fitting.

Every mode ``k`` of an order-N tensor gets one core, and every pair of cores ``(i, j)`` is joined by an
edge of rank :math:`R_{ij} \\ge 1` (a rank-1 edge is the same as no edge). Core ``k`` is an N-way tensor
of shape :math:`(R_{0k}, \\dots, R_{k-1,k}, I_k, R_{k,k+1}, \\dots, R_{k,N-1})`: the physical mode sits at
axis ``k`` and axis ``j != k`` is the edge to core ``j``. The network is

.. math::  X[i_0, \\dots, i_{N-1}] = \\sum_{\\text{edge indices}} \\prod_k G_k[\\dots, i_k, \\dots],

so a tensor ring is the network whose only edges of rank > 1 are ``(k, k+1)`` and ``(N-1, 0)``, a tensor
train the same without the closing edge, and CP rank one the network with every rank equal to 1. This
is the search space of "Adaptive Learning of Tensor Network Structures", whose greedy algorithm grows
the ranks of this network from all ones.

Fitting uses alternating least squares: the network is linear in each core, :math:`X_{(k)} = G_{k(k)}
E_k`, where the environment :math:`E_k` contracts every other core and has one row per combination of
core ``k``'s edge indices; each core is the least-squares solution for its environment.
"""

from __future__ import annotations

import math
import string
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_positive, check_tensor
from .._random import as_generator
from .tensor_algebra import unfold
from .tensor_ring import least_squares_rows


def _edge_rank_matrix(ranks, order: int) -> list[list[int]]:
    if isinstance(ranks, torch.Tensor):
        ranks = ranks.tolist()
    if (
        not isinstance(ranks, Sequence)
        or len(ranks) != order
        or any(not isinstance(row, Sequence) or len(row) != order for row in ranks)
    ):
        raise ValueError(
            f"ranks must be an ({order}, {order}) symmetric matrix of positive ints, got {ranks!r}"
        )
    for i in range(order):
        for j in range(order):
            if i != j:
                check_positive(f"ranks[{i}][{j}]", ranks[i][j], integer=True)
                if ranks[i][j] != ranks[j][i]:
                    raise ValueError(
                        f"ranks must be symmetric, got ranks[{i}][{j}]={ranks[i][j]} and "
                        f"ranks[{j}][{i}]={ranks[j][i]}"
                    )
    return [[1 if i == j else int(ranks[i][j]) for j in range(order)] for i in range(order)]


def _check_cores(cores) -> list[torch.Tensor]:
    if isinstance(cores, torch.Tensor) or not isinstance(cores, Sequence) or len(cores) == 0:
        raise TypeError(f"cores must be a non-empty list of tensors, got {type(cores).__name__}")
    order = len(cores)
    checked = [check_tensor(f"cores[{k}]", core, dim=order, finite=False) for k, core in enumerate(cores)]
    for k, core in enumerate(checked):
        if core.dtype != checked[0].dtype or core.device != checked[0].device:
            raise ValueError(
                f"cores[{k}] must share dtype and device with cores[0], got {core.dtype}, {core.device}"
            )
        for j in range(order):
            if j != k and core.shape[j] != checked[j].shape[k]:
                raise ValueError(
                    f"edge ({k}, {j}) has rank {core.shape[j]} in cores[{k}] but {checked[j].shape[k]} in "
                    f"cores[{j}]; got shapes {tuple(core.shape)} and {tuple(checked[j].shape)}"
                )
    return checked


def tn_ranks(cores: Sequence[torch.Tensor]) -> list[list[int]]:
    """The (N, N) edge-rank matrix of a fully connected network (diagonal entries are 1)."""
    cores = _check_cores(cores)
    order = len(cores)
    return [[1 if i == j else cores[i].shape[j] for j in range(order)] for i in range(order)]


def tn_parameter_count(shape: Sequence[int], ranks) -> int:
    """Number of core entries, :math:`\\sum_k I_k \\prod_{j \\ne k} R_{kj}`.

    Args:
        shape: the tensor shape (I_0, ..., I_{N-1}).
        ranks: (N, N) symmetric edge-rank matrix (the diagonal is ignored).
    Returns:
        the parameter count, an int.
    """
    shape = [check_positive(f"shape[{k}]", s, integer=True) for k, s in enumerate(shape)]
    ranks = _edge_rank_matrix(ranks, len(shape))
    return sum(shape[k] * math.prod(ranks[k]) for k in range(len(shape)))


def ring_edge_ranks(ring_ranks: Sequence[int]) -> list[list[int]]:
    """The edge-rank matrix of a tensor ring with ranks (r_0, ..., r_{N-1}); edge k joins cores k-1 and k."""
    order = len(ring_ranks)
    matrix = [[1] * order for _ in range(order)]
    for k, rank in enumerate(ring_ranks):
        left = (k - 1) % order
        if left != k:
            matrix[left][k] = matrix[k][left] = check_positive(f"ring_ranks[{k}]", rank, integer=True)
    return matrix


def _subscripts(order: int) -> tuple[list[str], list[list[str]]]:
    """einsum letters: one per physical mode, and per core the letters of its N axes."""
    letters = iter(string.ascii_letters)
    physical = [next(letters) for _ in range(order)]
    edge = {}
    for i in range(order):
        for j in range(i + 1, order):
            edge[i, j] = edge[j, i] = next(letters)
    axes = [[physical[k] if j == k else edge[k, j] for j in range(order)] for k in range(order)]
    return physical, axes


def tn_to_tensor(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a fully connected tensor network (contract every edge).

    Args:
        cores: list of N cores; core k has N axes, the physical mode I_k at axis k and the edge to core j
            at axis j (see the module docstring).
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    cores = _check_cores(cores)
    physical, axes = _subscripts(len(cores))
    equation = ",".join("".join(a) for a in axes) + "->" + "".join(physical)
    return torch.einsum(equation, *cores)


def _environment(cores: list[torch.Tensor], k: int) -> torch.Tensor:
    """Contract every core but k: a (prod of the other I_j, prod of core k's edge ranks) matrix."""
    order = len(cores)
    physical, axes = _subscripts(order)
    others = [j for j in range(order) if j != k]
    bonds = [axes[k][j] for j in others]
    equation = ",".join("".join(axes[j]) for j in others) + "->" + "".join(physical[j] for j in others)
    equation += "".join(bonds)
    env = torch.einsum(equation, *[cores[j] for j in others])  # (I_others..., R_k,others...)
    n_bond = math.prod(cores[k].shape[j] for j in others)
    return env.reshape(-1, n_bond)  # (prod I_j, prod R_kj)


def random_tn_cores(shape: Sequence[int], ranks, *, dtype=torch.float64, device=None, seed=None):
    """Cores with i.i.d. Gaussian entries scaled by :math:`(\\prod_{j} R_{kj})^{-1/4}`, one per mode.

    Args:
        shape: (I_0, ..., I_{N-1}).
        ranks: (N, N) symmetric edge-rank matrix.
        seed: int, torch.Generator or None (global generator); the draw happens on the CPU.
    Returns:
        list of N cores in the layout of :func:`tn_to_tensor`.
    """
    shape = [check_positive(f"shape[{k}]", s, integer=True) for k, s in enumerate(shape)]
    ranks = _edge_rank_matrix(ranks, len(shape))
    generator = as_generator(seed)
    cores = []
    for k, size in enumerate(shape):
        core_shape = [size if j == k else ranks[k][j] for j in range(len(shape))]
        scale = math.prod(ranks[k]) ** -0.25
        cores.append((torch.randn(core_shape, generator=generator, dtype=dtype) * scale).to(device))
    return cores


@dataclass
class TNResult:
    """A fitted fully connected tensor network: cores, relative error per sweep, how the fit stopped."""

    cores: list[torch.Tensor]  # N cores, layout of tn_to_tensor
    errors: list[float] = field(default_factory=list)  # ||X - X_TN|| / ||X|| after each sweep
    n_iter: int = 0
    converged: bool = False

    @property
    def rse(self) -> float:
        """Relative error :math:`\\|X - X_{TN}\\|_F / \\|X\\|_F` after the last sweep."""
        return self.errors[-1] if self.errors else math.nan

    @property
    def ranks(self) -> list[list[int]]:
        return tn_ranks(self.cores)

    def to_tensor(self) -> torch.Tensor:
        """The reconstructed full tensor."""
        return tn_to_tensor(self.cores)


def tn_als(
    tensor: torch.Tensor,
    ranks=None,
    *,
    init: Sequence[torch.Tensor] | None = None,
    n_iter_max: int = 100,
    tol: float = 1e-10,
    target_rse: float = 0.0,
    seed=None,
) -> TNResult:
    """Fit a fully connected tensor network with fixed edge ranks by alternating least squares.

    Each sweep replaces core k by :math:`\\arg\\min_G \\|X_{(k)} - G E_k^\\top\\|_F` for k = 0..N-1, with
    :math:`E_k` the environment of the other cores. Stops when the relative error reaches ``target_rse``
    or improves by less than ``tol`` in a sweep (``converged=True``), or after ``n_iter_max`` sweeps.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        ranks: (N, N) symmetric edge-rank matrix; may be omitted when ``init`` is given.
        init: optional starting cores (warm start); their ranks must match ``ranks`` when both are given.
        n_iter_max: maximum number of sweeps.
        tol: stop when the relative error improves by less than this in one sweep.
        target_rse: stop as soon as the relative error is at most this.
        seed: int, torch.Generator or None, for random starting cores.
    Returns:
        :class:`TNResult`.
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    shape = tuple(tensor.shape)
    order = len(shape)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    check_positive("target_rse", target_rse, allow_zero=True)
    norm = torch.linalg.vector_norm(tensor)
    if norm == 0:
        raise ValueError("tensor must not be all zeros (the relative error is undefined)")
    if init is None:
        if ranks is None:
            raise ValueError("give ranks or init (starting cores), got neither")
        cores = random_tn_cores(shape, ranks, dtype=tensor.dtype, device=tensor.device, seed=seed)
    else:
        cores = [c.clone().to(tensor.device) for c in _check_cores(init)]
        if len(cores) != order or any(c.shape[k] != shape[k] for k, c in enumerate(cores)):
            raise ValueError(
                f"init must hold {order} cores with physical sizes {shape}, got {[tuple(c.shape) for c in cores]}"
            )
        if cores[0].dtype != tensor.dtype:
            raise ValueError(f"init must have dtype {tensor.dtype}, got {cores[0].dtype}")
        if ranks is not None and _edge_rank_matrix(ranks, order) != tn_ranks(cores):
            raise ValueError(f"init has edge ranks {tn_ranks(cores)}, which differ from ranks={ranks!r}")

    unfoldings = [unfold(tensor, k) for k in range(order)]  # (I_k, prod of the others, increasing order)
    errors: list[float] = []
    converged = False
    for _ in range(n_iter_max):
        for k in range(order):
            design = _environment(cores, k)  # (J, B)
            weights = least_squares_rows(design, unfoldings[k])  # (I_k, B)
            bond_shape = [cores[k].shape[j] for j in range(order) if j != k]
            cores[k] = weights.reshape(shape[k], *bond_shape).movedim(0, k)  # physical axis back at k
        residual = torch.linalg.vector_norm(
            unfoldings[-1] - weights @ design.T
        )  # the last core's fit is the full fit
        errors.append(float(residual / norm))
        if errors[-1] <= target_rse or (len(errors) > 1 and errors[-2] - errors[-1] < tol):
            converged = True
            break
    return TNResult(
        cores=[c.contiguous() for c in cores], errors=errors, n_iter=len(errors), converged=converged
    )


def grow_edge(cores: Sequence[torch.Tensor], edge: tuple[int, int], *, scale: float = 1e-3, seed=None):
    """Increase the rank of one edge by 1, filling the new slices with small noise (weight transfer).

    The new slices of both end cores are drawn with standard deviation ``scale`` times the RMS of the
    core, so the network's tensor changes only at second order in ``scale`` and a fit restarts where it
    stopped, as in "Adaptive Learning of Tensor Network Structures".

    Args:
        cores: list of N cores in the layout of :func:`tn_to_tensor`.
        edge: (i, j) with i != j.
        scale: relative size of the new slices, >= 0.
        seed: int, torch.Generator or None.
    Returns:
        a new list of cores; edge (i, j) has rank one higher.
    """
    cores = _check_cores(cores)
    order = len(cores)
    if not isinstance(edge, Sequence) or len(edge) != 2 or edge[0] == edge[1]:
        raise ValueError(f"edge must be a pair (i, j) of distinct cores, got {edge!r}")
    i, j = (int(edge[0]), int(edge[1]))
    if not (0 <= i < order and 0 <= j < order):
        raise ValueError(f"edge must join cores in [0, {order - 1}], got {edge!r}")
    check_positive("scale", scale, allow_zero=True)
    generator = as_generator(seed)
    grown = list(cores)
    for node, axis in ((i, j), (j, i)):
        core = cores[node]
        slice_shape = list(core.shape)
        slice_shape[axis] = 1
        rms = core.pow(2).mean().sqrt()
        noise = torch.randn(slice_shape, generator=generator, dtype=core.dtype).to(core.device)
        grown[node] = torch.cat([core, noise * scale * rms], dim=axis)  # edge axis one longer
    return grown

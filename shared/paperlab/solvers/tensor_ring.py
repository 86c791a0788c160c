"""Tensor-ring (TR) format: contraction, parameter counts and fitting by alternating least squares.

A tensor ring writes every entry as the trace of a product of matrix slices, one per mode,

.. math::  X[i_0, \\dots, i_{N-1}] = \\operatorname{tr}\\big(G_0[:, i_0, :] \\, G_1[:, i_1, :] \\cdots
           G_{N-1}[:, i_{N-1}, :]\\big),

with core :math:`G_k` of shape :math:`(r_k, I_k, r_{k+1})` and :math:`r_N = r_0`. A tensor train is the
ring with :math:`r_0 = 1`. The ranks :math:`(r_0, \\dots, r_{N-1})` are the bond dimensions of the ring
edges; edge ``k`` joins core ``k - 1`` and core ``k``. This is the structure that "Alternating Local
Enumeration (TnALE): Solving Tensor Network Structure Search with Fewer Evaluations" searches over.

TR-ALS updates one core at a time. With the others fixed, the mode-``k`` unfolding, its columns taken in
the cyclic order :math:`k+1, \\dots, N-1, 0, \\dots, k-1`, is linear in the core,

.. math::  X_{[k]} = G_{k(2)} \\, Q_{\\ne k}^\\top,\\qquad
           Q_{\\ne k}[j, (a, b)] = \\big(G_{k+1} \\cdots G_{k-1}\\big)[b, j, a],

so the core is the least-squares solution :math:`G_{k(2)} = X_{[k]} Q_{\\ne k} (Q_{\\ne k}^\\top Q_{\\ne k})^{+}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from .._checks import check_positive, check_tensor
from .._random import as_generator


def _check_cores(cores) -> list[torch.Tensor]:
    if isinstance(cores, torch.Tensor) or not isinstance(cores, Sequence) or len(cores) == 0:
        raise TypeError(f"cores must be a non-empty list of 3-D tensors, got {type(cores).__name__}")
    checked = [check_tensor(f"cores[{k}]", core, dim=3, finite=False) for k, core in enumerate(cores)]
    for k, core in enumerate(checked):
        following = checked[(k + 1) % len(checked)]
        if core.shape[2] != following.shape[0]:
            raise ValueError(
                f"cores[{k}] ends with rank {core.shape[2]} but cores[{(k + 1) % len(checked)}] starts with "
                f"rank {following.shape[0]}; got shapes {tuple(core.shape)} and {tuple(following.shape)}"
            )
        if core.dtype != checked[0].dtype or core.device != checked[0].device:
            raise ValueError(
                f"cores[{k}] must share dtype and device with cores[0] ({checked[0].dtype}, "
                f"{checked[0].device}), got ({core.dtype}, {core.device})"
            )
    return checked


def _check_ranks(ranks, order: int) -> tuple[int, ...]:
    if isinstance(ranks, torch.Tensor) or not isinstance(ranks, Sequence) or len(ranks) != order:
        raise ValueError(f"ranks must be a list of {order} positive ints (one per ring edge), got {ranks!r}")
    return tuple(check_positive(f"ranks[{k}]", r, integer=True) for k, r in enumerate(ranks))


def tr_ranks(cores: Sequence[torch.Tensor]) -> tuple[int, ...]:
    """The ring ranks :math:`(r_0, \\dots, r_{N-1})` of a list of TR cores (the left rank of each core)."""
    return tuple(core.shape[0] for core in _check_cores(cores))


def tr_parameter_count(shape: Sequence[int], ranks: Sequence[int]) -> int:
    """Number of entries in the TR cores, :math:`\\sum_k r_k I_k r_{k+1}` with :math:`r_N = r_0`.

    Args:
        shape: the tensor shape (I_0, ..., I_{N-1}).
        ranks: the ring ranks (r_0, ..., r_{N-1}).
    Returns:
        the parameter count, an int.
    """
    shape = [check_positive(f"shape[{k}]", s, integer=True) for k, s in enumerate(shape)]
    ranks = _check_ranks(ranks, len(shape))
    return sum(ranks[k] * shape[k] * ranks[(k + 1) % len(shape)] for k in range(len(shape)))


def _chain(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Product of consecutive cores, merged into a (r_first, prod I, r_last) tensor."""
    result = cores[0]
    for core in cores[1:]:
        merged = torch.tensordot(result, core, dims=([2], [0]))  # (r_a, J, I_next, r_c)
        result = merged.reshape(result.shape[0], -1, core.shape[2])  # (r_a, J * I_next, r_c)
    return result


def tr_to_tensor(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a tensor ring, :math:`X[i] = \\operatorname{tr}(G_0[:, i_0, :] \\cdots G_{N-1}[:, i_{N-1}, :])`.

    Args:
        cores: list of N cores, core k of shape (r_k, I_k, r_{k+1}) with r_N = r_0.
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    cores = _check_cores(cores)
    shape = tuple(core.shape[1] for core in cores)
    chain = _chain(cores)  # (r_0, prod I, r_0)
    return torch.diagonal(chain, dim1=0, dim2=2).sum(-1).reshape(shape)  # (I_0, ..., I_{N-1})


def random_tr_cores(
    shape: Sequence[int], ranks: Sequence[int], *, dtype=torch.float64, device=None, seed=None
) -> list[torch.Tensor]:
    """Cores with i.i.d. Gaussian entries of variance :math:`1 / \\sqrt{r_k r_{k+1}}`, so entries stay O(1).

    Args:
        shape: (I_0, ..., I_{N-1}).
        ranks: ring ranks (r_0, ..., r_{N-1}).
        seed: int, torch.Generator or None (global generator); the draw happens on the CPU.
    Returns:
        list of N cores of shape (r_k, I_k, r_{k+1}).
    """
    shape = [check_positive(f"shape[{k}]", s, integer=True) for k, s in enumerate(shape)]
    ranks = _check_ranks(ranks, len(shape))
    generator = as_generator(seed)
    cores = []
    for k, size in enumerate(shape):
        left, right = ranks[k], ranks[(k + 1) % len(shape)]
        core = torch.randn(left, size, right, generator=generator, dtype=dtype) / (left * right) ** 0.25
        cores.append(core.to(device))
    return cores


@dataclass
class TRResult:
    """A fitted tensor ring: cores, the relative error after each sweep, and how the fit stopped."""

    cores: list[torch.Tensor]  # N cores (r_k, I_k, r_{k+1})
    errors: list[float] = field(default_factory=list)  # relative error ||X - X_TR|| / ||X|| per sweep
    n_iter: int = 0
    converged: bool = False

    @property
    def rse(self) -> float:
        """Relative squared-root error :math:`\\|X - X_{TR}\\|_F / \\|X\\|_F` after the last sweep."""
        return self.errors[-1] if self.errors else math.nan

    @property
    def ranks(self) -> tuple[int, ...]:
        return tr_ranks(self.cores)

    def to_tensor(self) -> torch.Tensor:
        """The reconstructed full tensor."""
        return tr_to_tensor(self.cores)


def _least_squares_rows(design: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve min_W ||targets - W design^T|| for W through the pseudo-inverse of the small Gram matrix."""
    gram = design.T @ design  # (B, B)
    weights = targets @ design @ torch.linalg.pinv(gram, hermitian=True)  # (I_k, B)
    residual = torch.linalg.vector_norm(targets - weights @ design.T)
    return weights, residual


def tr_als(
    tensor: torch.Tensor,
    ranks: Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-10,
    target_rse: float = 0.0,
    init: Sequence[torch.Tensor] | None = None,
    seed=None,
) -> TRResult:
    """Fit a tensor ring of the given ranks by alternating least squares (TR-ALS).

    Each sweep solves the least-squares problem of every core in turn (see the module docstring). The
    sweeps stop when the relative error falls to ``target_rse`` or decreases by less than ``tol`` in a
    sweep (``converged=True``), or after ``n_iter_max`` sweeps.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        ranks: ring ranks (r_0, ..., r_{N-1}); ``ranks[0] == 1`` fits a tensor train.
        n_iter_max: maximum number of sweeps.
        tol: stop when the relative error improves by less than this in one sweep.
        target_rse: stop as soon as the relative error is at most this.
        init: optional list of starting cores with the right shapes; otherwise random (see ``seed``).
        seed: int, torch.Generator or None, for the random starting cores.
    Returns:
        :class:`TRResult` with the cores and the relative error after each sweep.
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    shape = tuple(tensor.shape)
    order = len(shape)
    ranks = _check_ranks(ranks, order)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    check_positive("target_rse", target_rse, allow_zero=True)
    norm = torch.linalg.vector_norm(tensor)
    if norm == 0:
        raise ValueError("tensor must not be all zeros (the relative error is undefined)")
    if init is None:
        cores = random_tr_cores(shape, ranks, dtype=tensor.dtype, device=tensor.device, seed=seed)
    else:
        cores = [c.clone() for c in _check_cores(init)]
        expected = [(ranks[k], shape[k], ranks[(k + 1) % order]) for k in range(order)]
        if [tuple(c.shape) for c in cores] != expected or cores[0].dtype != tensor.dtype:
            raise ValueError(
                f"init must hold cores of shapes {expected} and dtype {tensor.dtype}, "
                f"got {[tuple(c.shape) for c in cores]} and {cores[0].dtype}"
            )
        cores = [c.to(tensor.device) for c in cores]

    unfoldings = []
    for k in range(order):
        cyclic = [k] + [(k + m) % order for m in range(1, order)]
        unfoldings.append(tensor.permute(cyclic).reshape(shape[k], -1))  # (I_k, prod of the others)

    errors: list[float] = []
    converged = False
    for _ in range(n_iter_max):
        for k in range(order):
            others = [cores[(k + m) % order] for m in range(1, order)]
            chain = _chain(others)  # (r_{k+1}, J, r_k)
            design = chain.permute(1, 2, 0).reshape(chain.shape[1], -1)  # (J, r_k * r_{k+1})
            weights, residual = _least_squares_rows(design, unfoldings[k])  # (I_k, r_k * r_{k+1})
            cores[k] = weights.reshape(shape[k], ranks[k], -1).permute(1, 0, 2)  # (r_k, I_k, r_{k+1})
        errors.append(float(residual / norm))
        if errors[-1] <= target_rse or (len(errors) > 1 and errors[-2] - errors[-1] < tol):
            converged = True
            break
    return TRResult(
        cores=[c.contiguous() for c in cores], errors=errors, n_iter=len(errors), converged=converged
    )

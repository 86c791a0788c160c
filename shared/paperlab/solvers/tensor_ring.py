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


def tr_to_tensor(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a tensor ring, :math:`X[i] = \\operatorname{tr}(G_0[:, i_0, :] \\cdots G_{N-1}[:, i_{N-1}, :])`.

    Args:
        cores: list of N cores, core k of shape (r_k, I_k, r_{k+1}) with r_N = r_0.
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    cores = _check_cores(cores)
    shape = tuple(core.shape[1] for core in cores)
    chain = _batched_chain([core.unsqueeze(0) for core in cores])[0]  # (r_0, prod I, r_0)
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


def least_squares_rows(design: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Solve :math:`\\min_W \\|T - W D^\\top\\|_F` by the normal equations :math:`W (D^\\top D + \\epsilon I) = T D`.

    The ridge :math:`\\epsilon` is 100 machine epsilons of the mean diagonal of the Gram matrix, enough to
    keep the Cholesky factorization defined when the design is rank deficient (redundant ranks).

    Args:
        design: (..., J, B) design matrix D, optionally batched.
        targets: (I, J) or (..., I, J) right-hand sides T, one row per unknown row of W.
    Returns:
        (..., I, B) matrix W.
    """
    gram = design.mT @ design  # (..., B, B)
    diagonal = gram.diagonal(dim1=-2, dim2=-1)
    ridge = 100 * torch.finfo(gram.dtype).eps * diagonal.mean(-1, keepdim=True) + torch.finfo(gram.dtype).tiny
    diagonal += ridge
    factor, info = torch.linalg.cholesky_ex(gram)
    rhs = (targets @ design).mT  # (..., B, I)
    if bool(info.any()):  # not positive definite even with the ridge: fall back to the pseudo-inverse
        return (torch.linalg.pinv(gram, hermitian=True) @ rhs).mT
    return torch.cholesky_solve(rhs, factor).mT  # (..., I, B)


def _batched_chain(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Product of consecutive batched cores (n, r, I, r'), merged into (n, r_first, prod I, r_last)."""
    result = cores[0]
    for core in cores[1:]:
        n, r_a, size, r_b = result.shape
        merged = result.reshape(n, r_a * size, r_b) @ core.reshape(n, r_b, -1)  # (n, r_a J, I_next r_c)
        result = merged.reshape(n, r_a, -1, core.shape[3])  # (n, r_a, J * I_next, r_c)
    return result


def tr_als(
    tensor: torch.Tensor,
    ranks: Sequence[int],
    *,
    n_iter_max: int = 100,
    tol: float = 1e-10,
    target_rse: float = 0.0,
    init: Sequence[torch.Tensor] | None = None,
    n_inits: int = 1,
    seed=None,
) -> TRResult:
    """Fit a tensor ring of the given ranks by alternating least squares (TR-ALS).

    Each sweep solves the least-squares problem of every core in turn (see the module docstring). With
    ``n_inits > 1`` that many random starts are fitted side by side (one batched computation) and the
    best is returned. The sweeps stop when the best relative error falls to ``target_rse`` or when no
    start improves by ``tol`` or more in a sweep (``converged=True``), or after ``n_iter_max`` sweeps.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 2, finite and not all zero.
        ranks: ring ranks (r_0, ..., r_{N-1}); ``ranks[0] == 1`` fits a tensor train.
        n_iter_max: maximum number of sweeps.
        tol: stop when the relative error improves by less than this in one sweep.
        target_rse: stop as soon as the relative error is at most this.
        init: optional list of starting cores with the right shapes; otherwise random (see ``seed``).
        n_inits: number of random starts (must be 1 when ``init`` is given).
        seed: int, torch.Generator or None, for the random starting cores.
    Returns:
        :class:`TRResult` with the best start's cores and its relative error after each sweep.
    """
    check_tensor("tensor", tensor, min_dim=2, floating=True)
    shape = tuple(tensor.shape)
    order = len(shape)
    ranks = _check_ranks(ranks, order)
    check_positive("n_iter_max", n_iter_max, integer=True)
    check_positive("tol", tol, allow_zero=True)
    check_positive("target_rse", target_rse, allow_zero=True)
    check_positive("n_inits", n_inits, integer=True)
    norm = torch.linalg.vector_norm(tensor)
    if norm == 0:
        raise ValueError("tensor must not be all zeros (the relative error is undefined)")
    if init is None:
        generator = as_generator(seed)
        starts = [random_tr_cores(shape, ranks, dtype=tensor.dtype, seed=generator) for _ in range(n_inits)]
        cores = [torch.stack([start[k] for start in starts]).to(tensor.device) for k in range(order)]
    else:
        if n_inits != 1:
            raise ValueError(f"n_inits must be 1 when init is given, got {n_inits}")
        given = _check_cores(init)
        expected = [(ranks[k], shape[k], ranks[(k + 1) % order]) for k in range(order)]
        if [tuple(c.shape) for c in given] != expected or given[0].dtype != tensor.dtype:
            raise ValueError(
                f"init must hold cores of shapes {expected} and dtype {tensor.dtype}, "
                f"got {[tuple(c.shape) for c in given]} and {given[0].dtype}"
            )
        cores = [c.to(tensor.device).unsqueeze(0).clone() for c in given]  # (1, r_k, I_k, r_{k+1})

    unfoldings = []
    for k in range(order):
        cyclic = [k] + [(k + m) % order for m in range(1, order)]
        unfoldings.append(tensor.permute(cyclic).reshape(shape[k], -1))  # (I_k, prod of the others)

    history = []  # (n_inits,) relative errors after each sweep
    converged = False
    for _ in range(n_iter_max):
        for k in range(order):
            chain = _batched_chain([cores[(k + m) % order] for m in range(1, order)])  # (n, r_{k+1}, J, r_k)
            design = chain.permute(0, 2, 3, 1).reshape(
                chain.shape[0], chain.shape[2], -1
            )  # (n, J, r_k r_{k+1})
            weights = least_squares_rows(design, unfoldings[k])  # (n, I_k, r_k r_{k+1})
            cores[k] = weights.reshape(-1, shape[k], ranks[k], ranks[(k + 1) % order]).transpose(1, 2)
        residual = torch.linalg.vector_norm(unfoldings[-1] - weights @ design.mT, dim=(-2, -1))  # (n,)
        history.append(residual / norm)  # the last core's fit is the full fit
        if bool(history[-1].min() <= target_rse):
            converged = True
            break
        if len(history) > 1 and bool((history[-2] - history[-1] < tol).all()):
            converged = True
            break
    best = int(torch.argmin(history[-1]))
    errors = [float(h[best]) for h in history]
    return TRResult(
        cores=[c[best].contiguous() for c in cores], errors=errors, n_iter=len(errors), converged=converged
    )

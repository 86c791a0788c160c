"""Tensor-train decomposition by sequential truncated SVDs (TT-SVD).

From "Tensor-Train Decomposition" (2011). The tensor is split one mode at a time: the remainder is
reshaped to :math:`(r_{n-1} I_n, \\prod_{m > n} I_m)`, its truncated SVD :math:`U S V^\\top` gives the core
:math:`G_n = U` reshaped to :math:`(r_{n-1}, I_n, r_n)`, and :math:`S V^\\top` carries on. Truncating each
SVD so that the discarded singular values satisfy :math:`\\sum_{j > r_n} \\sigma_j^2 \\le \\delta^2` with
:math:`\\delta = \\varepsilon \\|X\\|_F / \\sqrt{N - 1}` guarantees

.. math::  \\|X - X_{\\mathrm{TT}}\\|_F \\le \\varepsilon \\|X\\|_F,

because the errors of the N - 1 truncations are orthogonal to each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from .._checks import check_positive, check_tensor


def _check_max_rank(max_rank, n_splits: int) -> list[int | None]:
    if max_rank is None:
        return [None] * n_splits
    if isinstance(max_rank, int) and not isinstance(max_rank, bool):
        max_rank = [max_rank] * n_splits
    if not isinstance(max_rank, Sequence) or len(max_rank) != n_splits:
        raise ValueError(
            f"max_rank must be None, an int or {n_splits} ints (one per split), got {max_rank!r}"
        )
    for i, rank in enumerate(max_rank):
        check_positive(f"max_rank[{i}]", rank, integer=True)
    return list(max_rank)


def tt_svd(tensor: torch.Tensor, max_rank=None, eps: float | None = None) -> list[torch.Tensor]:
    """Tensor-train cores of ``tensor`` with the TT-SVD error bound.

    Args:
        tensor: (I_0, ..., I_{N-1}) floating tensor, N >= 1, finite.
        max_rank: None, an int, or N - 1 ints capping the TT ranks r_0, ..., r_{N-2}.
        eps: relative accuracy :math:`\\varepsilon \\ge 0`; None means 0 (keep every nonzero direction).
            The bound :math:`\\|X - X_{TT}\\| \\le \\varepsilon \\|X\\|` holds whenever ``max_rank`` does not cut
            deeper than ``eps`` asks; a binding ``max_rank`` trades the bound for the rank cap.
    Returns:
        list of N cores, core n of shape (r_{n-1}, I_n, r_n) with r_{-1} = r_{N-1} = 1; rebuild the
        tensor with :func:`tt_to_tensor`.
    """
    check_tensor("tensor", tensor, min_dim=1, floating=True)
    eps = 0.0 if eps is None else check_positive("eps", eps, allow_zero=True)
    shape = tuple(tensor.shape)
    caps = _check_max_rank(max_rank, len(shape) - 1)
    delta_sq = (eps * torch.linalg.vector_norm(tensor)) ** 2 / max(len(shape) - 1, 1)

    cores = []
    rank = 1
    remainder = tensor.reshape(1, -1)  # (r_{n-1}, prod I_n..)
    for mode, size in enumerate(shape[:-1]):
        unfolding = remainder.reshape(rank * size, -1)  # (r_{n-1} I_n, prod I_{n+1}..)
        u, s, vh = torch.linalg.svd(unfolding, full_matrices=False)
        tail = torch.flip(torch.cumsum(torch.flip(s**2, [0]), 0), [0])  # tail[j] = sum_{i >= j} s_i^2
        tail = torch.cat([tail[1:], tail.new_zeros(1)])  # error if ranks 0..j are kept
        new_rank = int((tail > delta_sq).sum()) + 1  # smallest rank whose discarded energy <= delta^2
        new_rank = min(new_rank, s.shape[0], caps[mode] or math.inf)
        cores.append(u[:, :new_rank].reshape(rank, size, new_rank))  # (r_{n-1}, I_n, r_n)
        remainder = s[:new_rank, None] * vh[:new_rank]  # (r_n, prod I_{n+1}..)
        rank = new_rank
    cores.append(remainder.reshape(rank, shape[-1], 1))  # (r_{N-2}, I_{N-1}, 1)
    return cores

"""Tensor algebra for the decompositions: unfolding, folding, Khatri-Rao and mode products.

Unfolding convention (the one TensorLy uses, so results cross-check against it): the mode-``n``
unfolding moves axis ``n`` to the front and reshapes in row-major (C) order,

.. math::  X_{(n)}[i_n, j] = X[i_0, \\dots, i_{N-1}],\\quad
           j = \\text{ravel}_C(i_0, \\dots, i_{n-1}, i_{n+1}, \\dots, i_{N-1}),

so the last remaining index varies fastest. This differs from the column-major convention of
"Tensor Decompositions and Applications" (2009) by a permutation of the columns only. With it, a CP
tensor unfolds as :math:`X_{(n)} = A_n \\operatorname{diag}(w) \\, (\\odot_{m \\ne n} A_m)^\\top`, where
the Khatri-Rao product :math:`\\odot` takes its matrices in increasing mode order, the first varying
slowest. Every function here computes on the device and in the dtype of its inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._checks import check_tensor


def _check_mode(mode, ndim: int, name: str = "mode") -> int:
    if isinstance(mode, bool) or not isinstance(mode, int):
        raise TypeError(f"{name} must be an integer, got {mode!r}")
    if not -ndim <= mode < ndim:
        raise ValueError(f"{name} must lie in [{-ndim}, {ndim - 1}] for a tensor of order {ndim}, got {mode}")
    return mode % ndim


def _check_matrices(name: str, matrices, like: torch.Tensor | None = None) -> list[torch.Tensor]:
    if isinstance(matrices, torch.Tensor) or not isinstance(matrices, Sequence) or len(matrices) == 0:
        raise TypeError(f"{name} must be a non-empty list of 2-D tensors, got {type(matrices).__name__}")
    checked = [check_tensor(f"{name}[{i}]", m, dim=2, finite=False) for i, m in enumerate(matrices)]
    reference = like if like is not None else checked[0]
    for i, m in enumerate(checked):
        if m.dtype != reference.dtype or m.device != reference.device:
            raise ValueError(
                f"{name}[{i}] must share dtype and device ({reference.dtype}, {reference.device}), "
                f"got ({m.dtype}, {m.device})"
            )
    return checked


def unfold(tensor: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode-``n`` unfolding (matricization) in TensorLy's row-major convention.

    Args:
        tensor: (I_0, ..., I_{N-1}) tensor.
        mode: the axis that becomes the rows.
    Returns:
        (I_mode, prod of the other sizes) matrix; a view when ``mode == 0`` and ``tensor`` is contiguous.
    """
    check_tensor("tensor", tensor, min_dim=1, finite=False)
    mode = _check_mode(mode, tensor.dim())
    return tensor.movedim(mode, 0).reshape(tensor.shape[mode], -1)  # (I_mode, prod(I_other))


def fold(unfolded: torch.Tensor, mode: int, shape: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`unfold`: ``fold(unfold(X, n), n, X.shape) == X``.

    Args:
        unfolded: (shape[mode], prod of the other sizes) matrix.
        mode: the axis the rows belong to.
        shape: the full shape of the folded tensor.
    Returns:
        tensor of shape ``shape``.
    """
    check_tensor("unfolded", unfolded, dim=2, finite=False)
    shape = tuple(int(s) for s in shape)
    mode = _check_mode(mode, len(shape))
    if unfolded.numel() != torch.Size(shape).numel() or unfolded.shape[0] != shape[mode]:
        raise ValueError(
            f"unfolded must have shape ({shape[mode]}, {torch.Size(shape).numel() // max(shape[mode], 1)}) "
            f"to fold into {shape} along mode {mode}, got {tuple(unfolded.shape)}"
        )
    moved = (shape[mode],) + shape[:mode] + shape[mode + 1 :]
    return unfolded.reshape(moved).movedim(0, mode)  # (I_0, ..., I_{N-1})


def khatri_rao(matrices: Sequence[torch.Tensor], weights: torch.Tensor | None = None) -> torch.Tensor:
    """Column-wise Kronecker product, first matrix varying slowest.

    .. math::  (A \\odot B)[i J + j, r] = A[i, r] \\, B[j, r]

    Args:
        matrices: list of (I_m, R) matrices with the same number of columns R.
        weights: optional (R,) column weights multiplied into the result.
    Returns:
        (prod I_m, R) matrix.
    """
    matrices = _check_matrices("matrices", matrices)
    rank = matrices[0].shape[1]
    for i, m in enumerate(matrices):
        if m.shape[1] != rank:
            raise ValueError(f"matrices[{i}] must have {rank} columns like matrices[0], got {m.shape[1]}")
    result = matrices[0]
    for m in matrices[1:]:
        result = (result[:, None, :] * m[None, :, :]).reshape(-1, rank)  # (rows_so_far * I_m, R)
    if weights is not None:
        check_tensor("weights", weights, dim=1, finite=False)
        if weights.shape[0] != rank:
            raise ValueError(f"weights must have {rank} entries, got shape {tuple(weights.shape)}")
        result = result * weights
    return result


def mode_dot(tensor: torch.Tensor, matrix: torch.Tensor, mode: int) -> torch.Tensor:
    """Mode-``n`` product :math:`(X \\times_n M)[\\dots, j, \\dots] = \\sum_i M[j, i] X[\\dots, i, \\dots]`.

    Args:
        tensor: (I_0, ..., I_{N-1}) tensor.
        matrix: (J, I_mode) matrix, or an (I_mode,) vector, which contracts the mode away.
        mode: the axis to multiply.
    Returns:
        tensor with axis ``mode`` of size J (or removed for a vector).
    """
    check_tensor("tensor", tensor, min_dim=1, finite=False)
    check_tensor("matrix", matrix, min_dim=1, finite=False)
    mode = _check_mode(mode, tensor.dim())
    if matrix.dim() > 2 or matrix.shape[-1] != tensor.shape[mode]:
        raise ValueError(
            f"matrix must have shape (J, {tensor.shape[mode]}) or ({tensor.shape[mode]},) to multiply mode "
            f"{mode} of a tensor of shape {tuple(tensor.shape)}, got {tuple(matrix.shape)}"
        )
    if matrix.dtype != tensor.dtype or matrix.device != tensor.device:
        raise ValueError(
            f"matrix must match tensor's dtype and device, got {matrix.dtype} on {matrix.device}"
        )
    product = torch.tensordot(matrix, tensor, dims=([matrix.dim() - 1], [mode]))  # (J, other axes...)
    return product.movedim(0, mode) if matrix.dim() == 2 else product


def multi_mode_dot(
    tensor: torch.Tensor, matrices: Sequence[torch.Tensor], modes: Sequence[int]
) -> torch.Tensor:
    """Mode products with several matrices, :math:`X \\times_{m_1} M_1 \\times_{m_2} M_2 \\cdots`."""
    if len(matrices) != len(modes):
        raise ValueError(
            f"matrices and modes must have the same length, got {len(matrices)} and {len(modes)}"
        )
    for matrix, mode in zip(matrices, modes):
        tensor = mode_dot(tensor, matrix, mode)
    return tensor


def cp_to_tensor(weights: torch.Tensor | None, factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a CP decomposition :math:`[\\![w; A_0, \\dots, A_{N-1}]\\!] = \\sum_r w_r a_{0r} \\circ \\cdots`.

    Args:
        weights: (R,) component weights, or None for all ones.
        factors: list of (I_n, R) factor matrices.
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    factors = _check_matrices("factors", factors)
    rank = factors[0].shape[1]
    for i, f in enumerate(factors):
        if f.shape[1] != rank:
            raise ValueError(f"factors[{i}] must have {rank} columns like factors[0], got {f.shape[1]}")
    if weights is not None:
        check_tensor("weights", weights, dim=1, finite=False)
        if weights.shape[0] != rank:
            raise ValueError(f"weights must have {rank} entries, one per column, got {tuple(weights.shape)}")
    shape = tuple(f.shape[0] for f in factors)
    first = factors[0] if weights is None else factors[0] * weights
    if len(factors) == 1:
        return first.sum(1)
    rest = khatri_rao(factors[1:])  # (prod I_1.., R)
    return (first @ rest.T).reshape(shape)  # (I_0, ..., I_{N-1})


def tucker_to_tensor(core: torch.Tensor, factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a Tucker decomposition :math:`G \\times_0 A_0 \\times_1 A_1 \\cdots \\times_{N-1} A_{N-1}`.

    Args:
        core: (R_0, ..., R_{N-1}) core tensor.
        factors: list of (I_n, R_n) factor matrices.
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    check_tensor("core", core, min_dim=1, finite=False)
    factors = _check_matrices("factors", factors, like=core)
    if len(factors) != core.dim():
        raise ValueError(f"factors must hold {core.dim()} matrices, one per core mode, got {len(factors)}")
    return multi_mode_dot(core, factors, range(core.dim()))


def tt_to_tensor(cores: Sequence[torch.Tensor]) -> torch.Tensor:
    """Full tensor of a tensor train :math:`X[i_0, \\dots] = G_0[:, i_0, :] G_1[:, i_1, :] \\cdots`.

    Args:
        cores: list of (r_{n-1}, I_n, r_n) cores with r_{-1} = r_{N-1} = 1.
    Returns:
        (I_0, ..., I_{N-1}) tensor.
    """
    if isinstance(cores, torch.Tensor) or not isinstance(cores, Sequence) or len(cores) == 0:
        raise TypeError(f"cores must be a non-empty list of 3-D tensors, got {type(cores).__name__}")
    for i, core in enumerate(cores):
        check_tensor(f"cores[{i}]", core, dim=3, finite=False)
        left = 1 if i == 0 else cores[i - 1].shape[2]
        if core.shape[0] != left:
            raise ValueError(
                f"cores[{i}] must have {left} rows on its first axis, got shape {tuple(core.shape)}"
            )
    if cores[-1].shape[2] != 1:
        raise ValueError(f"the last core must end with rank 1, got shape {tuple(cores[-1].shape)}")
    shape = tuple(core.shape[1] for core in cores)
    result = cores[0].reshape(-1, cores[0].shape[2])  # (I_0, r_0)
    for core in cores[1:]:
        result = (result @ core.reshape(core.shape[0], -1)).reshape(-1, core.shape[2])  # (I_0..I_n, r_n)
    return result.reshape(shape)

"""Row-wise log-sum-exp of a matrix product, computed tile by tile with an exact custom backward.

Contrastive losses need ``lse_i = log sum_j exp(<q_i, k_j>)`` over a batch of B queries and keys;
materializing the B x B logits costs O(B^2) memory in the forward pass and again in autograd. Here
the logits are formed one (chunk x chunk) tile at a time: the forward pass keeps a running
log-sum-exp per row, and the backward pass recomputes each tile to form its share of
``softmax(logits) @ key`` and ``softmax(logits)^T @ query``. Peak memory is O(chunk^2 + B D).
"""

from __future__ import annotations

import torch

from paperlab._checks import check_positive, check_tensor


def _starts(n: int, chunk: int) -> range:
    return range(0, n, chunk)


def _tile_logits(query, key, row, col, chunk, exclude_diagonal):
    """Logits of one tile, (rows, cols), with the global diagonal set to -inf when asked."""
    logits = query[row : row + chunk] @ key[col : col + chunk].T  # (c_rows, c_cols)
    if exclude_diagonal and row == col:
        logits.fill_diagonal_(float("-inf"))
    return logits


class _TiledLogSumExp(torch.autograd.Function):
    """``lse_i = LSE_j <query_i, key_j>`` tile by tile; the backward pass recomputes the tiles."""

    @staticmethod
    def forward(ctx, query, key, chunk, exclude_diagonal):
        lse = torch.empty(query.shape[0], dtype=query.dtype, device=query.device)
        for row in _starts(query.shape[0], chunk):
            running = None
            for col in _starts(key.shape[0], chunk):
                tile = torch.logsumexp(_tile_logits(query, key, row, col, chunk, exclude_diagonal), dim=1)
                running = tile if running is None else torch.logaddexp(running, tile)
            lse[row : row + chunk] = running
        ctx.save_for_backward(query, key, lse)
        ctx.chunk, ctx.exclude_diagonal = chunk, exclude_diagonal
        return lse

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_lse):
        query, key, lse = ctx.saved_tensors
        chunk = ctx.chunk
        grad_query = torch.zeros_like(query) if ctx.needs_input_grad[0] else None
        grad_key = torch.zeros_like(key) if ctx.needs_input_grad[1] else None
        for row in _starts(query.shape[0], chunk):
            rows = slice(row, row + chunk)
            for col in _starts(key.shape[0], chunk):
                cols = slice(col, col + chunk)
                logits = _tile_logits(query, key, row, col, chunk, ctx.exclude_diagonal)
                # d lse_i / d logits_ij = softmax_ij, weighted by the upstream gradient of row i
                weights = torch.exp(logits - lse[rows, None]) * grad_lse[rows, None]  # (c_rows, c_cols)
                if grad_query is not None:
                    grad_query[rows] += weights @ key[cols]
                if grad_key is not None:
                    grad_key[cols] += weights.T @ query[rows]
        return grad_query, grad_key, None, None


def tiled_logsumexp(
    query: torch.Tensor,
    key: torch.Tensor,
    chunk_size: int | None = None,
    exclude_diagonal: bool = False,
) -> torch.Tensor:
    r"""Row-wise log-sum-exp of ``query @ key.T`` without ever holding the full matrix.

    .. math:: \mathrm{lse}_i = \log \sum_{j} \exp(\langle q_i, k_j \rangle)
              \quad (j \ne i \text{ when } \texttt{exclude\_diagonal})

    Args:
        query: (M, D) rows (fold a temperature into them: ``query / temperature``).
        key: (N, D) columns.
        chunk_size: tile side. ``None`` computes the full (M, N) matrix with plain autograd
            (the reference path); an integer never forms more than a (chunk, chunk) tile, in the
            forward or the backward pass, and gives the same value and gradients.
        exclude_diagonal: leave out ``j = i`` (needs M = N), as in self-similarity losses.

    Returns:
        (M,) log-sum-exps, differentiable in ``query`` and ``key`` (first order only when tiled).

    From "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss (2024)".
    """
    check_tensor("query", query, dim=2, floating=True)
    check_tensor("key", key, dim=2, floating=True)
    if query.shape[1] != key.shape[1]:
        raise ValueError(f"query and key must have the same width, got {query.shape[1]} and {key.shape[1]}")
    if query.dtype != key.dtype or query.device != key.device:
        raise ValueError(
            f"query and key must share dtype and device, got {query.dtype}/{query.device} "
            f"and {key.dtype}/{key.device}"
        )
    if exclude_diagonal and (query.shape[0] != key.shape[0] or key.shape[0] < 2):
        raise ValueError(
            "exclude_diagonal needs as many queries as keys, at least 2, "
            f"got {query.shape[0]} and {key.shape[0]}"
        )
    if chunk_size is None:
        logits = query @ key.T  # (M, N)
        if exclude_diagonal:
            eye = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
            logits = logits.masked_fill(eye, float("-inf"))
        return torch.logsumexp(logits, dim=1)
    check_positive("chunk_size", chunk_size, integer=True)
    return _TiledLogSumExp.apply(query, key, chunk_size, exclude_diagonal)

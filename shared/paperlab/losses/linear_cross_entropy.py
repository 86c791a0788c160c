"""Cross-entropy of a linear classifier computed without ever materializing the N x V logits.

From "Cut Your Losses in Large-Vocabulary Language Models" (2024). The logits ``z = e c^T + b`` are
built one vocabulary chunk at a time: the forward pass keeps only a running log-sum-exp per token,
and the backward pass recomputes each chunk, turns it into softmax probabilities and folds it into
the gradients at once. Memory for the loss is O(N * chunk_size) instead of O(N * V).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor

#: Logit entries (tokens x vocabulary columns) held per chunk when ``chunk_size`` is not given.
DEFAULT_CHUNK_ELEMENTS = 2**21
#: Side of the square (tokens x vocabulary columns) tiles that gradient filtering keeps or drops whole.
FILTER_TILE = 128


def linear_cross_entropy(
    e: torch.Tensor,
    c: torch.Tensor,
    targets: torch.Tensor,
    bias: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    chunk_size: int | None = None,
    filter_eps: float | None = None,
) -> torch.Tensor:
    r"""Cross-entropy of the logits ``e @ c.T + bias`` without materializing them.

    Equal to ``F.cross_entropy(e @ c.T + bias, targets, ignore_index=..., reduction=...,
    label_smoothing=...)``. For a token with embedding :math:`e_i` and target :math:`t_i`,

    .. math::

        \ell_i = \operatorname{LSE}_v(z_{iv}) - (1 - s)\, z_{i t_i} - \frac{s}{V} \sum_v z_{iv},
        \qquad z_{iv} = e_i^\top c_v + b_v,

    with label smoothing :math:`s`. Tokens whose target is ``ignore_index`` get a zero loss and no
    gradient, and ``"mean"`` divides by the number of the other tokens, as torch does.

    Args:
        e: embeddings, shape ``(..., D)``; leading dims are flattened to ``N`` tokens.
        c: classifier weights, shape ``(V, D)``, same dtype and device as ``e``.
        targets: class indices in ``[0, V)`` or ``ignore_index``, int64, shape ``e.shape[:-1]``.
        bias: optional classifier bias, shape ``(V,)``.
        ignore_index: target value that marks a token to skip.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per-token losses of shape ``e.shape[:-1]``).
        label_smoothing: :math:`s \in [0, 1]`, mixing the one-hot target with the uniform one.
        chunk_size: vocabulary columns per chunk; by default about ``2**21 / N`` (at least 256).
        filter_eps: if given, the paper's gradient filtering: in the backward pass, every tile of
            ``FILTER_TILE`` tokens x ``FILTER_TILE`` classes whose softmax probabilities are all below
            ``filter_eps`` is dropped from the gradient (and a chunk with no tile left is skipped).

    Returns:
        The reduced loss (a scalar) or, with ``reduction="none"``, a tensor of shape ``e.shape[:-1]``.
    """
    check_tensor("e", e, min_dim=2, floating=True)
    check_tensor("c", c, dim=2, floating=True)
    if c.shape[1] != e.shape[-1]:
        raise ValueError(f"c must have shape (V, {e.shape[-1]}) to match e, got {tuple(c.shape)}")
    _check_same_kind("c", c, e)
    if bias is not None:
        check_tensor("bias", bias, dim=1, floating=True)
        if bias.shape[0] != c.shape[0]:
            raise ValueError(f"bias must have shape ({c.shape[0]},) to match c, got {tuple(bias.shape)}")
        _check_same_kind("bias", bias, e)
    check_reduction(reduction)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise TypeError(f"ignore_index must be an integer, got {ignore_index!r}")
    check_positive("label_smoothing", label_smoothing, allow_zero=True)
    if label_smoothing > 1:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing!r}")
    if chunk_size is not None:
        check_positive("chunk_size", chunk_size, integer=True)
    if filter_eps is not None:
        check_positive("filter_eps", filter_eps, allow_zero=True)
    _check_targets(targets, e.shape[:-1], c.shape[0], ignore_index)

    flat_e = e.reshape(-1, e.shape[-1])  # (N, D)
    flat_targets = targets.reshape(-1)  # (N,)
    valid = flat_targets != ignore_index
    kept = valid.nonzero().squeeze(1)  # (n_valid,) positions of the tokens that count
    all_valid = kept.numel() == flat_targets.numel()
    kept_e = flat_e if all_valid else flat_e.index_select(0, kept)  # (n_valid, D)
    kept_targets = flat_targets if all_valid else flat_targets.index_select(0, kept)  # (n_valid,)
    if chunk_size is None:
        chunk_size = max(256, DEFAULT_CHUNK_ELEMENTS // max(1, kept.numel()))
    losses = _ChunkedLinearCrossEntropy.apply(
        kept_e, c, bias, kept_targets, float(label_smoothing), chunk_size, filter_eps
    )  # (n_valid,)
    if reduction == "mean":
        return losses.sum() / kept.numel()  # 0 / 0 = nan when every token is ignored, as in torch
    if reduction == "sum":
        return losses.sum()
    if all_valid:
        return losses.reshape(targets.shape)
    per_token = losses.new_zeros(flat_targets.shape).index_copy(0, kept, losses)  # (N,)
    return per_token.reshape(targets.shape)


class LinearCrossEntropy(nn.Module):
    """Module form of :func:`linear_cross_entropy`; ``forward(e, c, targets, bias=None)``."""

    def __init__(
        self,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        chunk_size: int | None = None,
        filter_eps: float | None = None,
    ) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.reduction = check_reduction(reduction)
        self.label_smoothing = label_smoothing
        self.chunk_size = chunk_size
        self.filter_eps = filter_eps

    def forward(self, e, c, targets, bias=None):
        return linear_cross_entropy(
            e,
            c,
            targets,
            bias,
            self.ignore_index,
            self.reduction,
            self.label_smoothing,
            self.chunk_size,
            self.filter_eps,
        )


def _check_same_kind(name: str, x: torch.Tensor, e: torch.Tensor) -> None:
    if x.dtype != e.dtype or x.device != e.device:
        raise ValueError(
            f"{name} must have e's dtype and device ({e.dtype}, {e.device}), got ({x.dtype}, {x.device})"
        )


def _check_targets(targets, shape: torch.Size, n_classes: int, ignore_index: int) -> None:
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor, got {type(targets).__name__}")
    if targets.dtype != torch.long:
        raise ValueError(f"targets must be int64 class indices, got dtype {targets.dtype}")
    if targets.shape != shape:
        raise ValueError(f"targets must have shape {tuple(shape)} (e.shape[:-1]), got {tuple(targets.shape)}")
    out_of_range = ((targets < 0) | (targets >= n_classes)) & (targets != ignore_index)
    if bool(out_of_range.any()):
        bad = targets[out_of_range][0].item()
        raise ValueError(
            f"targets must be in [0, {n_classes}) or equal ignore_index={ignore_index}, got {bad}"
        )


def _chunk_logits(e, c, bias, start, stop, dtype):
    """Logits of vocabulary columns ``start:stop`` in the accumulation ``dtype``: shape (N, stop - start)."""
    weights = c[start:stop]  # (chunk, D)
    logits = e @ weights.T if bias is None else torch.addmm(bias[start:stop], e, weights.T)
    return logits.to(dtype)


def _drop_small_tiles(probs: torch.Tensor, eps: float) -> bool:
    """Zero the tiles of ``probs`` (N, chunk) whose entries are all below ``eps``; False if none is left."""
    # (ceil(N / T), ceil(chunk / T)) maxima of the T x T tiles, the last ones clipped at the edges
    tile_max = F.max_pool2d(probs[None, None], FILTER_TILE, ceil_mode=True)[0, 0]
    keep = tile_max >= eps
    if bool(keep.all()):
        return True
    if not bool(keep.any()):
        return False
    n_tokens, n_columns = probs.shape
    mask = keep.repeat_interleave(FILTER_TILE, 0)[:n_tokens].repeat_interleave(FILTER_TILE, 1)[:, :n_columns]
    probs.mul_(mask)  # (N, chunk), tiles below eps set to zero
    return True


class _ChunkedLinearCrossEntropy(torch.autograd.Function):
    """Per-token losses of ``e @ c.T + bias``; forward keeps a running LSE, backward recomputes chunks."""

    @staticmethod
    def forward(ctx, e, c, bias, targets, label_smoothing, chunk_size, filter_eps):
        dtype = torch.promote_types(e.dtype, torch.float32)  # accumulate half precision in float32
        n_tokens, n_classes = e.shape[0], c.shape[0]
        lse = torch.full((n_tokens,), -torch.inf, dtype=dtype, device=e.device)  # (N,)
        for start in range(0, n_classes, chunk_size):
            logits = _chunk_logits(e, c, bias, start, start + chunk_size, dtype)  # (N, chunk)
            lse = torch.logaddexp(lse, torch.logsumexp(logits, dim=1))
        target_logits = (e * c[targets]).sum(1, dtype=dtype)  # (N,)
        if bias is not None:
            target_logits = target_logits + bias[targets]
        losses = lse - (1 - label_smoothing) * target_logits
        if label_smoothing > 0:
            mean_logits = e.to(dtype) @ c.mean(0, dtype=dtype)  # (N,) the average logit over the vocabulary
            if bias is not None:
                mean_logits = mean_logits + bias.mean(dtype=dtype)
            losses = losses - label_smoothing * mean_logits
        ctx.save_for_backward(e, c, bias, targets, lse)
        ctx.options = (label_smoothing, chunk_size, filter_eps)
        return losses.to(e.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_losses):
        e, c, bias, targets, lse = ctx.saved_tensors
        label_smoothing, chunk_size, filter_eps = ctx.options
        need_e, need_c, need_bias = ctx.needs_input_grad[:3]
        dtype = lse.dtype
        n_classes = c.shape[0]
        g = grad_losses.to(dtype)  # (N,) upstream gradient of each token's loss
        grad_e = torch.zeros(e.shape, dtype=dtype, device=e.device) if need_e else None
        grad_c = torch.zeros(c.shape, dtype=dtype, device=c.device) if need_c else None
        grad_bias = torch.zeros(n_classes, dtype=dtype, device=c.device) if need_bias else None
        e_acc = e.to(dtype)
        # d loss_i / d z_iv = p_iv - (1 - s) [v = t_i] - s / V; first the softmax term, chunk by chunk.
        for start in range(0, n_classes, chunk_size):
            stop = min(start + chunk_size, n_classes)
            probs = _chunk_logits(e, c, bias, start, stop, dtype)  # (N, chunk)
            probs.sub_(lse[:, None]).exp_()  # softmax probabilities of this chunk
            if filter_eps is not None and not _drop_small_tiles(probs, filter_eps):
                continue
            probs.mul_(g[:, None])  # (N, chunk) gradient of the summed loss w.r.t. these logits
            if need_e:
                grad_e.addmm_(probs, c[start:stop].to(dtype))
            if need_c:
                torch.mm(probs.T, e_acc, out=grad_c[start:stop])
            if need_bias:
                torch.sum(probs, dim=0, out=grad_bias[start:stop])
        # Then the target term -(1 - s) z_{i t_i} and the smoothing term -(s / V) sum_v z_iv.
        g_target = -(1 - label_smoothing) * g  # (N,)
        if need_e:
            grad_e.addcmul_(g_target[:, None], c[targets].to(dtype))
        if need_c:
            grad_c.index_add_(0, targets, g_target[:, None] * e_acc)
        if need_bias:
            grad_bias.index_add_(0, targets, g_target)
        if label_smoothing > 0:
            g_smooth = -label_smoothing * g  # (N,)
            if need_e:
                grad_e.addcmul_(g_smooth[:, None], c.mean(0, dtype=dtype)[None, :])
            if need_c:
                grad_c.add_((g_smooth @ e_acc)[None, :] / n_classes)
            if need_bias:
                grad_bias.add_(g_smooth.sum() / n_classes)
        return (
            None if grad_e is None else grad_e.to(e.dtype),
            None if grad_c is None else grad_c.to(c.dtype),
            None if grad_bias is None else grad_bias.to(bias.dtype),
            None,
            None,
            None,
            None,
        )

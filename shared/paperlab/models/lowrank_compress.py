r"""Post-training low-rank compression of Linear layers and embedding tables: output features vs weights.

"Unified Low-rank Compression Framework for Click-through Rate Prediction" (2024) compresses the *outputs*
of each layer rather than its weights. On calibration data the layer's outputs $Y$ (n, d) have mean $\mu$
and top-k principal directions $U_k$ (d, k); since $Y \approx \mu + (Y - \mu) U_k U_k^\top$, a Linear layer
$y = W x + b$ becomes the rank-k layer

.. math:: y \approx U_k\, (U_k^\top W)\, x + U_k U_k^\top (b - \mu) + \mu,

and an embedding table $E$ (V, d) becomes codes $(E - \mu) U_k$ (V, k), projection $U_k$ and bias $\mu$.
Because the directions are those of the outputs actually produced (frequent features and typical inputs
weigh more), this keeps more of the model's behaviour than the truncated SVD of the weights (the
baseline, :func:`svd_compress`) at the same size.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from paperlab._checks import check_tensor
from paperlab.solvers.matrix_factorization import truncated_svd

from .lowrank_embedding import LowRankEmbedding, check_rank
from .lowrank_linear import LowRankLinear


def output_pca(outputs: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and top-``rank`` principal directions of a layer's outputs.

    Args:
        outputs: (n, d) outputs on calibration data.
        rank: k, 1 <= k <= min(n, d).

    Returns:
        components (d, k) with orthonormal columns, and the mean (d,).
    """
    check_tensor("outputs", outputs, dim=2, floating=True)
    check_rank(rank, min(outputs.shape))
    mean = outputs.mean(dim=0)
    return truncated_svd(outputs - mean, rank).Vh.T, mean  # (d, k), (d,)


@torch.no_grad()
def feature_lowrank_linear(linear: nn.Linear, inputs: torch.Tensor, rank: int) -> LowRankLinear:
    r"""Rank-k :class:`LowRankLinear` that keeps the top-k principal directions of ``linear``'s outputs.

    $U = U_k$, $V = W^\top U_k$, bias $= U_k U_k^\top (b - \mu) + \mu$.

    Args:
        linear: the trained layer (out, in).
        inputs: (n, in) calibration inputs of the layer.
        rank: k <= min(in, out).

    Returns:
        the compressed layer, on ``linear``'s device and dtype.
    """
    if not isinstance(linear, nn.Linear):
        raise TypeError(f"linear must be an nn.Linear, got {type(linear).__name__}")
    check_tensor("inputs", inputs, dim=2, floating=True)
    if inputs.shape[1] != linear.in_features:
        raise ValueError(f"inputs must have {linear.in_features} columns, got shape {tuple(inputs.shape)}")
    check_rank(rank, min(linear.in_features, linear.out_features))
    components, mean = output_pca(linear(inputs), rank)  # (out, k), (out,)
    bias = linear.bias if linear.bias is not None else torch.zeros_like(mean)
    weight = linear.weight
    layer = LowRankLinear(
        linear.in_features, linear.out_features, rank, generator=0, device=weight.device, dtype=weight.dtype
    )
    layer.U.copy_(components)
    layer.V.copy_(weight.T @ components)  # (in, k)
    layer.bias.copy_(components @ (components.T @ (bias - mean)) + mean)
    return layer


@torch.no_grad()
def feature_lowrank_embedding(embedding: nn.Embedding, ids: torch.Tensor, rank: int) -> LowRankEmbedding:
    r"""Rank-k table from the principal directions of the looked-up embeddings on calibration ids.

    Codes $(E - \mu) U_k$, projection $U_k$, bias $\mu$; the PCA sees each id as often as it occurs.

    Args:
        embedding: the trained (V, d) table.
        ids: int64 calibration ids (any shape).
        rank: k <= d.

    Returns:
        the compressed :class:`LowRankEmbedding`.
    """
    if not isinstance(embedding, nn.Embedding):
        raise TypeError(f"embedding must be an nn.Embedding, got {type(embedding).__name__}")
    check_tensor("ids", ids, min_dim=1)
    check_rank(rank, embedding.embedding_dim)
    outputs = embedding(ids).reshape(-1, embedding.embedding_dim)  # (n, d)
    components, mean = output_pca(outputs, min(rank, len(outputs)))  # (d, k), (d,)
    return LowRankEmbedding((embedding.weight - mean) @ components, components, mean)


@torch.no_grad()
def svd_lowrank_embedding(embedding: nn.Embedding, rank: int) -> LowRankEmbedding:
    """Rank-k table from the truncated SVD of the weights: codes $U_k S_k$, projection $V_k$, no bias."""
    if not isinstance(embedding, nn.Embedding):
        raise TypeError(f"embedding must be an nn.Embedding, got {type(embedding).__name__}")
    check_rank(rank, min(embedding.weight.shape))
    svd = truncated_svd(embedding.weight, rank)
    return LowRankEmbedding(svd.U * svd.S, svd.Vh.T)


def _targets(model: nn.Module, ranks: dict) -> dict:
    if not isinstance(ranks, dict) or not ranks:
        raise TypeError(f"ranks must be a non-empty dict of module name -> rank, got {ranks!r}")
    modules = dict(model.named_modules())
    for name in ranks:
        if name not in modules:
            raise ValueError(f"ranks names a module that does not exist: {name!r}")
        if not isinstance(modules[name], (nn.Linear, nn.Embedding)):
            raise TypeError(
                f"module {name!r} must be an nn.Linear or nn.Embedding, got {type(modules[name]).__name__}"
            )
    return {name: modules[name] for name in ranks}


def _replaced(model: nn.Module, replacements: dict) -> nn.Module:
    compressed = copy.deepcopy(model)
    for name, module in replacements.items():
        parent_name, _, child = name.rpartition(".")
        setattr(compressed.get_submodule(parent_name) if parent_name else compressed, child, module)
    return compressed


@torch.no_grad()
def feature_lowrank_compress(model: nn.Module, calibration_input, ranks: dict) -> nn.Module:
    """Copy of ``model`` with the named Linear / Embedding modules compressed on their output features.

    Every target module's inputs are recorded during one forward pass of the original model on
    ``calibration_input``; each module is then compressed locally (:func:`feature_lowrank_linear`,
    :func:`feature_lowrank_embedding`). The original model is not modified.

    Args:
        model: the trained model.
        calibration_input: a batch that ``model`` accepts.
        ranks: module name (as in ``model.named_modules()``) -> rank.

    Returns:
        the compressed copy.
    """
    targets = _targets(model, ranks)
    recorded, hooks = {}, []
    for name, module in targets.items():
        hooks.append(
            module.register_forward_pre_hook(lambda _, args, name=name: recorded.__setitem__(name, args[0]))
        )
    try:
        model(calibration_input)
    finally:
        for hook in hooks:
            hook.remove()
    replacements = {}
    for name, module in targets.items():
        if isinstance(module, nn.Embedding):
            replacements[name] = feature_lowrank_embedding(module, recorded[name], ranks[name])
        else:
            inputs = recorded[name].reshape(-1, module.in_features)  # (n, in)
            replacements[name] = feature_lowrank_linear(module, inputs, ranks[name])
    return _replaced(model, replacements)


@torch.no_grad()
def svd_compress(model: nn.Module, ranks: dict) -> nn.Module:
    """Copy of ``model`` with the named Linear / Embedding weights replaced by their truncated SVD.

    Args:
        model: the trained model.
        ranks: module name -> rank.

    Returns:
        the compressed copy (the original is not modified).
    """
    targets = _targets(model, ranks)
    replacements = {
        name: svd_lowrank_embedding(module, ranks[name])
        if isinstance(module, nn.Embedding)
        else LowRankLinear.from_linear(module, ranks[name])
        for name, module in targets.items()
    }
    return _replaced(model, replacements)


def multiply_accumulates(model: nn.Module, example_input) -> float:
    """Multiply-accumulates per sample of one forward pass (dense layers and low-rank factors only).

    Counts ``in * out`` per row for ``nn.Linear``, ``r (in + out)`` for :class:`LowRankLinear` and ``k d``
    per lookup for :class:`LowRankEmbedding` (a plain ``nn.Embedding`` lookup costs none), from the
    shapes seen in a forward pass on ``example_input`` (batch dimension first).

    Returns:
        the count divided by the batch size.
    """
    total, hooks = [0], []

    def count(module, args, _output):
        rows = args[0].numel() // (args[0].shape[-1] if not isinstance(module, LowRankEmbedding) else 1)
        if isinstance(module, nn.Linear):
            total[0] += rows * module.in_features * module.out_features
        elif isinstance(module, LowRankLinear):
            total[0] += rows * module.rank * (module.in_features + module.out_features)
        else:
            total[0] += rows * module.rank * module.embedding_dim

    for module in model.modules():
        if isinstance(module, (nn.Linear, LowRankLinear, LowRankEmbedding)):
            hooks.append(module.register_forward_hook(count))
    try:
        with torch.no_grad():
            model(example_input)
    finally:
        for hook in hooks:
            hook.remove()
    return total[0] / len(example_input)

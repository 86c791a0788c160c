r"""Discrete infomax codes: the code-label mutual information of a batch, and retrieval with codes.

From "Discrete Infomax Codes for Supervised Representation Learning". An encoder maps an input
:math:`x` to ``M`` independent ``K``-way categorical distributions :math:`p(c_m \mid x)`, m = 1..M (a
codeword of M blocks, M log2 K bits once each block is rounded to its most likely symbol). Training
maximizes the mutual information between the code and the label, estimated from a batch: with
:math:`\bar p_m = \frac{1}{B} \sum_b p(c_m \mid x_b)` and :math:`\bar p_{m \mid y}` the same mean over the
items of label y,

.. math:: \hat I(Y; C) = \sum_{m=1}^{M} \Big[ H(\bar p_m) - \sum_y \frac{n_y}{B}\, H(\bar p_{m \mid y}) \Big].

Each term is the exact mutual information of the joint :math:`\hat p(y, c_m) = \frac{1}{B} \sum_b
\mathbb{1}[y_b = y]\, p(c_m \mid x_b)`; the sum over blocks is the paper's factorized estimate, exact when
the blocks are independent. The first entropy spreads the symbols over the batch, the second makes
every class use one symbol per block. A pairwise regularizer :math:`\frac{2}{M(M-1)} \sum_{m < m'}
\hat I(C_m; C_{m'})` pushes the blocks towards that independence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab.losses._labelled_batch import check_labelled_batch


def _check_code_logits(name: str, logits: torch.Tensor) -> None:
    check_tensor(name, logits, dim=3, floating=True)
    if logits.shape[1] < 1 or logits.shape[2] < 2:
        raise ValueError(
            f"{name} must have shape (B, M, K) with M >= 1 and K >= 2, got {tuple(logits.shape)}"
        )


def _entropy(p: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (nats) over the last axis, with 0 log 0 = 0."""
    return -torch.special.xlogy(p, p).sum(dim=-1)


def code_label_mutual_information(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    r"""Batch estimate of the mutual information (nats) between labels and M-block discrete codes.

    .. math:: \hat I(Y; C) = \sum_m H(\bar p_m) - \sum_y \frac{n_y}{B} H(\bar p_{m \mid y})

    Args:
        logits: (B, M, K) unnormalized log-probabilities of M blocks of K symbols.
        labels: (B,) integer labels.

    Returns:
        A scalar in [0, M log K], differentiable in ``logits``.
    """
    _check_code_logits("logits", logits)
    check_labelled_batch(logits.flatten(1), labels, min_size=1)
    probs = logits.softmax(dim=-1)  # (B, M, K)
    _, class_of = torch.unique(labels, return_inverse=True)
    members = F.one_hot(class_of).to(probs.dtype)  # (B, C)
    counts = members.sum(dim=0)  # (C,)
    class_sums = torch.einsum("bc,bmk->cmk", members, probs)  # (C, M, K)
    class_means = class_sums / counts[:, None, None]
    marginal_entropy = _entropy(probs.mean(dim=0)).sum()  # sum over blocks of H(p_m)
    conditional_entropy = (counts / probs.shape[0]) @ _entropy(class_means).sum(dim=1)
    return marginal_entropy - conditional_entropy


def code_block_dependence(logits: torch.Tensor) -> torch.Tensor:
    r"""Mean pairwise mutual information (nats) between the code blocks, estimated from a batch.

    .. math:: \frac{2}{M(M-1)} \sum_{m < m'} \sum_{k, l} \hat p_{mm'}(k, l)
              \log \frac{\hat p_{mm'}(k, l)}{\bar p_m(k)\, \bar p_{m'}(l)}, \quad
              \hat p_{mm'} = \frac{1}{B} \sum_b p(c_m \mid x_b)\, p(c_{m'} \mid x_b)^\top

    Args:
        logits: (B, M, K) code logits.

    Returns:
        A non-negative scalar; zero for a single block.
    """
    _check_code_logits("logits", logits)
    n_blocks = logits.shape[1]
    if n_blocks == 1:
        return logits.sum() * 0.0
    probs = logits.softmax(dim=-1)  # (B, M, K)
    joint = torch.einsum("bik,bjl->ijkl", probs, probs) / probs.shape[0]  # (M, M, K, K)
    marginal = probs.mean(dim=0)  # (M, K)
    product = marginal[:, None, :, None] * marginal[None, :, None, :]  # (M, M, K, K)
    tiny = torch.finfo(probs.dtype).tiny
    pair_information = (torch.special.xlogy(joint, joint) - joint * product.clamp_min(tiny).log()).sum((2, 3))
    off_diagonal = ~torch.eye(n_blocks, dtype=torch.bool, device=probs.device)
    return pair_information[off_diagonal].mean()


def discrete_infomax_loss(
    logits: torch.Tensor, labels: torch.Tensor, independence_weight: float = 0.0
) -> torch.Tensor:
    r"""DIMCO loss: minus the code-label mutual information, plus an optional block-independence term.

    .. math:: \mathcal{L} = -\hat I(Y; C) + \lambda \cdot \mathrm{dependence}(C)

    Args:
        logits: (B, M, K) code logits of a labelled batch.
        labels: (B,) integer labels.
        independence_weight: :math:`\lambda \ge 0` times :func:`code_block_dependence` (0 turns it off).

    Returns:
        A scalar.
    """
    check_positive("independence_weight", independence_weight, allow_zero=True)
    loss = -code_label_mutual_information(logits, labels)
    if independence_weight > 0:
        loss = loss + independence_weight * code_block_dependence(logits)
    return loss


class DiscreteInfomaxLoss(nn.Module):
    """Module form of :func:`discrete_infomax_loss`; call as ``loss(logits, labels)``."""

    def __init__(self, independence_weight: float = 0.0):
        super().__init__()
        self.independence_weight = check_positive("independence_weight", independence_weight, allow_zero=True)

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return discrete_infomax_loss(logits, labels, self.independence_weight)


def discrete_codes(logits: torch.Tensor) -> torch.Tensor:
    """The most likely symbol of every block: (B, M, K) logits -> (B, M) int64 codes."""
    _check_code_logits("logits", logits)
    return logits.argmax(dim=-1)


def code_retrieval_scores(query_logits: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    r"""Log-probability of every stored code under every query's code distribution.

    .. math:: s(q, n) = \log p(c = c_n \mid q) = \sum_m \log p(c_m = c_{n,m} \mid q)

    The database holds only the discrete codes (M log2 K bits per item); higher is more similar.

    Args:
        query_logits: (Q, M, K) code logits of the queries.
        codes: (N, M) int64 codes of the database, entries in [0, K).

    Returns:
        (Q, N) scores.
    """
    _check_code_logits("query_logits", query_logits)
    check_tensor("codes", codes, dim=2)
    n_blocks, n_symbols = query_logits.shape[1:]
    if codes.is_floating_point() or codes.dtype == torch.bool:
        raise TypeError(f"codes must be an integer tensor, got dtype {codes.dtype}")
    if codes.shape[1] != n_blocks:
        raise ValueError(
            f"codes must have {n_blocks} blocks like query_logits, got shape {tuple(codes.shape)}"
        )
    if codes.numel() and (bool(codes.min() < 0) or bool(codes.max() >= n_symbols)):
        raise ValueError(f"codes must lie in [0, {n_symbols}), got range [{codes.min()}, {codes.max()}]")
    if codes.device != query_logits.device:
        raise ValueError(f"codes must live on query_logits' device {query_logits.device}, got {codes.device}")
    log_p = query_logits.log_softmax(dim=-1).flatten(1)  # (Q, M * K)
    selected = F.one_hot(codes, n_symbols).to(log_p.dtype).flatten(1)  # (N, M * K)
    return log_p @ selected.T

r"""Number Token Losses: regression-like losses on the number tokens of a language model's head.

From "Regress, Don't Guess -- A Regression-like Loss on Number Tokens for Language Models" (2025).
Cross-entropy is nominal: predicting 3 or 9 for a true 4 costs the same. At every position whose
target is a number token, the number-token loss (NTL) looks at the model's distribution over the number
tokens only, renormalized there (a softmax over their logits, as in the authors' code),

.. math:: \hat p_k = \frac{e^{z_k}}{\sum_{j \in \mathcal{N}} e^{z_j}}, \quad k \in \mathcal{N},

and compares it with the true value :math:`y` on the number line. It is added to cross-entropy,
:math:`L = L_{\text{CE}} + \lambda L_{\text{NTL}}`. Two variants:

- NTL-:math:`L_p`: :math:`|y - \hat y|^p` with :math:`\hat y = \sum_k \hat p_k v_k` (``p = 2`` is the
  paper's NTL-MSE);
- NTL-WAS: the Wasserstein-1 distance between :math:`\hat p` and the one-hot target on the ordered values,
  :math:`W_1 = \sum_k |\hat F_k - F_k|\,(v_{(k+1)} - v_{(k)})` with :math:`F` the CDFs.

Every function takes logits ``input`` of shape ``(N, C)`` or ``(N, C, d1, ...)``, int64 token ids
``target`` of shape ``(N,)`` or ``(N, d1, ...)``, and ``token_values`` of shape ``(C,)``: the numeric value
of each token, NaN for tokens that are not numbers. Positions whose target is not a number token (or is
``ignore_index``) get zero loss and do not count in the mean.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_reduction, check_tensor
from paperlab.losses.polyloss import check_class_scores, reduce_valid


def number_token_loss_lp(
    input: torch.Tensor,
    target: torch.Tensor,
    token_values: torch.Tensor,
    p: float = 2.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""NTL-:math:`L_p`: the :math:`p`-th power distance between the true number and the expected one.

    .. math:: L = |y - \hat y|^p, \qquad \hat y = \sum_{k \in \mathcal{N}} \hat p_k\, v_k

    ``p = 2`` is the paper's NTL-MSE (the authors' code applies a squared error), ``p = 1`` NTL-MAE.
    The loss is zero whenever the *mean* prediction is right, even for a bimodal :math:`\hat p`: the
    weakness that NTL-WAS (:func:`number_token_loss_w1`) removes.

    Args:
        input: logits, shape ``(N, C)`` or ``(N, C, d1, ...)``.
        target: token ids, int64, shape ``(N,)`` or ``(N, d1, ...)``.
        token_values: value of each token, NaN for non-number tokens, shape ``(C,)``.
        p: exponent :math:`p > 0`.
        ignore_index: target id whose positions get zero loss.
        reduction: ``"mean"`` (over number positions; NaN when there are none, as in torch),
            ``"sum"`` or ``"none"``.

    Returns:
        A scalar, or per-position losses of the target's shape (zero off number positions).
    """
    check_positive("p", p)
    log_p, values, y, is_number = _number_token_distribution(
        input, target, token_values, ignore_index, reduction
    )
    expected = (log_p.exp() * values).sum(dim=1)  # (N, ...)
    losses = (expected - y).abs().pow(p).masked_fill(~is_number, 0.0)
    return reduce_valid(losses, is_number, reduction)


def number_token_loss_w1(
    input: torch.Tensor,
    target: torch.Tensor,
    token_values: torch.Tensor,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""NTL-WAS: Wasserstein-1 between the number-token distribution and the one-hot target.

    .. math:: W_1(\hat p, \delta_y) = \sum_{k} |\hat F_k - \mathbb{1}[v_{(k)} \ge y]|\,(v_{(k+1)} - v_{(k)})
              = \sum_{k \in \mathcal{N}} \hat p_k\, |v_k - y|

    The CDF form is the paper's; against a one-hot target it equals the expected absolute error, which
    is what is computed (no sort, no cumulative sum). The authors' code takes unit steps between
    consecutive number tokens; with the digits 0..9 that is the same, and with other values this is the
    true :math:`W_1` on the number line.

    Args:
        input, target, token_values, ignore_index, reduction: as in :func:`number_token_loss_lp`.

    Returns:
        A scalar, or per-position losses of the target's shape (zero off number positions).
    """
    log_p, values, y, is_number = _number_token_distribution(
        input, target, token_values, ignore_index, reduction
    )
    losses = (log_p.exp() * (values - y.unsqueeze(1)).abs()).sum(dim=1)  # (N, ...)
    return reduce_valid(losses.masked_fill(~is_number, 0.0), is_number, reduction)


class NumberTokenLossLp(nn.Module):
    """Module form of :func:`number_token_loss_lp`; ``token_values`` is kept as a buffer."""

    def __init__(self, token_values, p=2.0, ignore_index=-100, reduction="mean"):
        super().__init__()
        check_number_values(token_values, None)
        self.register_buffer("token_values", token_values.clone())
        self.p, self.ignore_index = check_positive("p", p), ignore_index
        self.reduction = check_reduction(reduction)

    def forward(self, input, target):
        return number_token_loss_lp(
            input, target, self.token_values, self.p, self.ignore_index, self.reduction
        )


class NumberTokenLossW1(nn.Module):
    """Module form of :func:`number_token_loss_w1`; ``token_values`` is kept as a buffer."""

    def __init__(self, token_values, ignore_index=-100, reduction="mean"):
        super().__init__()
        check_number_values(token_values, None)
        self.register_buffer("token_values", token_values.clone())
        self.ignore_index, self.reduction = ignore_index, check_reduction(reduction)

    def forward(self, input, target):
        return number_token_loss_w1(input, target, self.token_values, self.ignore_index, self.reduction)


def check_number_values(token_values, input: torch.Tensor | None) -> None:
    """Validate ``token_values``: floating ``(C,)``, NaN or finite, at least two number tokens."""
    check_tensor("token_values", token_values, dim=1, floating=True, finite=False)
    if input is not None:
        if token_values.shape[0] != input.shape[1]:
            raise ValueError(
                f"token_values must have one entry per class, {input.shape[1]}, got {token_values.shape[0]}"
            )
        if token_values.device != input.device:
            raise ValueError(
                f"token_values must be on input's device {input.device}, got {token_values.device}"
            )
    if bool(torch.isinf(token_values).any()):
        raise ValueError("token_values must be finite for number tokens and NaN for the others, got inf")
    if int((~torch.isnan(token_values)).sum()) < 2:
        raise ValueError("token_values must mark at least 2 number tokens (non-NaN entries)")


def _number_token_distribution(input, target, token_values, ignore_index, reduction):
    """Log-probabilities over the number tokens, their values, true values and the number-position mask.

    Returns ``log_p`` ``(N, K, ...)`` (softmax renormalized over the K number tokens), ``values``
    ``(1, K, 1, ...)`` in input's dtype, ``y`` ``(N, ...)`` (0 off number positions) and ``is_number``.
    """
    check_reduction(reduction)
    check_class_scores(input, target, ignore_index)
    check_number_values(token_values, input)
    number_ids = torch.nonzero(~torch.isnan(token_values)).squeeze(1)  # (K,)
    values = token_values[number_ids].to(input.dtype)  # (K,)
    target_values = token_values.to(input.dtype)[target.masked_fill(target == ignore_index, number_ids[0])]
    is_number = (target != ignore_index) & ~torch.isnan(target_values)  # (N, ...)
    y = target_values.masked_fill(~is_number, 0.0)
    log_p = F.log_softmax(input.index_select(1, number_ids), dim=1)  # (N, K, ...)
    return log_p, values.view(1, -1, *([1] * (input.dim() - 2))), y, is_number  # values: (1, K, 1, ...)

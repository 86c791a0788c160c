"""The supervised contrastive loss with the sum over positives inside the log, L_in."""

from __future__ import annotations

import math

import torch

from paperlab._checks import reduce
from paperlab.losses._labelled_batch import check_labelled_batch, check_reduction_of, zero_loss
from paperlab.losses.contrastive import _check_scalar, _unit


def supcon_in_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    temperature: float | torch.Tensor = 0.1,
    normalize: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""Supervised contrastive loss, the :math:`\mathcal{L}^{sup}_{in}` form.

    .. math:: \ell_i = -\log \Big( \frac{1}{|P(i)|} \sum_{p \in P(i)}
              \frac{e^{z_i \cdot z_p/\tau}}{\sum_{a \ne i} e^{z_i \cdot z_a/\tau}} \Big)
              = \mathrm{LSE}_{a \ne i}(z_i \cdot z_a/\tau) - \mathrm{LSE}_{p \in P(i)}(z_i \cdot z_p/\tau)
                + \log |P(i)|

    where ``z`` are the unit embeddings and ``P(i)`` the other items of class ``y_i``. By Jensen's
    inequality it never exceeds :func:`paperlab.losses.supcon_loss` (:math:`\mathcal{L}^{sup}_{out}`,
    the mean of the logs), and the two coincide when every anchor has exactly one positive. The paper
    finds L_in trains worse: its gradient weights the positives by their softmax, so the easiest
    positive dominates. This form builds the B x B similarity matrix.

    Args:
        embeddings: (B, D) embeddings; multi-view batches are stacked as rows with repeated labels.
        labels: (B,) integer class labels.
        temperature: tau > 0, a number or a 0-dim tensor.
        normalize: compare directions (cosine); ``False`` uses raw dot products.
        reduction: ``"mean"`` over anchors with at least one positive, ``"sum"`` or ``"none"`` (B,)
            with 0 for anchors without positives.

    Returns:
        A scalar, or (B,) per-anchor losses. A batch without positive pairs gives zero.

    From "Supervised Contrastive Learning (2020)".
    """
    check_labelled_batch(embeddings, labels)
    temperature = _check_scalar("temperature", temperature, positive=True)
    check_reduction_of(reduction)
    z = _unit(embeddings, normalize)
    logits = z @ z.T / temperature  # (B, B)
    own = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    logits = logits.masked_fill(own, -math.inf)
    positive = (labels[:, None] == labels[None, :]) & ~own  # (B, B)
    n_positives = positive.sum(dim=1)  # (B,)
    valid = n_positives > 0
    # Rows without positives keep all their logits, so that their log-sum-exp stays finite and the
    # branch that torch.where discards has a finite (zero-weighted) gradient.
    positive_logits = logits.masked_fill(~positive & valid[:, None], -math.inf)  # (B, B)
    log_n = n_positives.clamp(min=1).to(logits.dtype).log()  # (B,)
    losses = torch.logsumexp(logits, dim=1) - torch.logsumexp(positive_logits, dim=1) + log_n
    losses = torch.where(valid, losses, torch.zeros_like(losses))
    if reduction == "mean":
        return losses[valid].mean() if bool(valid.any()) else zero_loss(embeddings)
    return reduce(losses, reduction)

r"""NT-Xent with an additive margin on the positive cosine (NT-Xent-AM).

The positive pair of each anchor must beat every negative by at least ``margin`` in cosine
similarity before the loss stops pulling, the CosFace / AM-Softmax margin moved from class
weights to the second view of the same utterance.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, reduce
from paperlab.losses._labelled_batch import check_reduction_of
from paperlab.losses.contrastive import _check_pair, _check_scalar, _unit


def nt_xent_additive_margin_loss(
    query: torch.Tensor,
    key: torch.Tensor,
    margin: float = 0.1,
    temperature: float | torch.Tensor = 0.2,
    symmetric: bool = False,
    normalize: bool = True,
    reduction: str = "mean",
) -> torch.Tensor:
    r"""NT-Xent-AM: InfoNCE on cosine similarities with the positive cosine lowered by ``margin``.

    .. math:: \ell_i = -\log \frac{e^{(\cos(q_i, k_i) - m)/\tau}}
              {e^{(\cos(q_i, k_i) - m)/\tau} + \sum_{j \ne i} e^{\cos(q_i, k_j)/\tau}}

    The default is the one-directional form: each first view ``q_i`` is an anchor whose
    candidates are the second views ``k_j`` (as :func:`paperlab.losses.info_nce`).
    ``symmetric=True`` also uses the second views as anchors against the first views and averages
    the two directions. ``margin = 0`` gives :func:`paperlab.losses.info_nce`.

    Args:
        query: (B, D) embeddings of the first views, B >= 2.
        key: (B, D) embeddings of the second views, paired with ``query`` row by row.
        margin: additive margin m >= 0 on the positive cosine (the paper's best: 0.1).
        temperature: tau > 0, a number or a 0-dim tensor (the paper uses 1/tau = 5).
        symmetric: average the query->key and key->query directions.
        normalize: compare directions (cosine); ``False`` uses raw dot products.
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (B,), per anchor pair.

    Returns:
        A scalar, or (B,) per-pair losses (the mean of the two directions when symmetric).

    From "Additive Margin in Contrastive Self-Supervised Frameworks to Learn Discriminative Speaker
    Representations".
    """
    _check_pair(query, key)
    margin = check_positive("margin", margin, allow_zero=True)
    temperature = _check_scalar("temperature", temperature, positive=True)
    check_reduction_of(reduction)
    q, k = _unit(query, normalize), _unit(key, normalize)
    logits = (q / temperature) @ k.T  # (B, B), row i: anchor q_i, column j: candidate k_j
    logits.diagonal().sub_(margin / temperature)  # in place: the product's backward does not need it
    target = torch.arange(q.shape[0], device=q.device)
    losses = F.cross_entropy(logits, target, reduction="none")  # (B,)
    if symmetric:
        losses = 0.5 * (losses + F.cross_entropy(logits.T, target, reduction="none"))
    return reduce(losses, reduction)


class NTXentAdditiveMarginLoss(nn.Module):
    """Module form of :func:`nt_xent_additive_margin_loss`."""

    def __init__(self, margin=0.1, temperature=0.2, symmetric=False, normalize=True, reduction="mean"):
        super().__init__()
        self.margin = check_positive("margin", margin, allow_zero=True)
        self.temperature = check_positive("temperature", temperature)
        self.symmetric, self.normalize = symmetric, normalize
        self.reduction = check_reduction_of(reduction)

    def forward(self, query, key):
        return nt_xent_additive_margin_loss(
            query, key, self.margin, self.temperature, self.symmetric, self.normalize, self.reduction
        )

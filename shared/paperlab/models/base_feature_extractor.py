"""A feature extractor for few-shot learning: an MLP trained with cross-entropy on the base classes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator
from paperlab.models.embedding_mlp import EmbeddingMLP


def train_base_feature_extractor(
    x: torch.Tensor,
    y: torch.Tensor,
    out_features: int = 32,
    hidden=(128,),
    epochs: int = 30,
    batch_size: int = 64,
    lr: float = 1e-2,
    weight_decay: float = 5e-4,
    seed=None,
) -> EmbeddingMLP:
    r"""Train an :class:`EmbeddingMLP` and a linear head with cross-entropy; return the MLP alone.

    The standard few-shot recipe without episodic training: fit :math:`\min_{f, W}
    \mathbb{E}\,[-\log \mathrm{softmax}(W f(x))_y]` on the base classes, then discard the head and use
    :math:`f(x)` as the features of novel classes.

    From "Transductive Few-Shot Learning: Clustering is All You Need?" (base-class training).

    Args:
        x: base-class inputs, shape (N, D_in).
        y: int64 labels 0..C-1, shape (N,).
        out_features: feature width D.
        hidden: hidden widths of the MLP.
        epochs, batch_size, lr, weight_decay: Adam training schedule.
        seed: None, an int or a torch.Generator for the initialization and the batch order.

    Returns:
        The trained feature extractor in eval mode, mapping (B, D_in) -> (B, D), on the device of x.
    """
    check_tensor("x", x, dim=2, floating=True)
    check_tensor("y", y, dim=1)
    if y.dtype != torch.int64:
        raise TypeError(f"y must be int64 class labels, got dtype {y.dtype}")
    if len(y) != len(x):
        raise ValueError(f"y must have {len(x)} labels (one per row of x), got {len(y)}")
    if bool((y < 0).any()):
        raise ValueError(f"y must hold labels >= 0, got minimum {y.min().item()}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_positive(name, value, integer=True)
    check_positive("lr", lr)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    generator = as_generator(seed)
    n_classes = int(y.max()) + 1

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        extractor = EmbeddingMLP(x.shape[1], out_features, hidden=hidden)
        head = nn.Linear(out_features, n_classes)
    extractor.to(device=x.device, dtype=x.dtype)
    head.to(device=x.device, dtype=x.dtype)
    parameters = list(extractor.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    extractor.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator).to(x.device)
        for start in range(0, len(x), batch_size):
            rows = order[start : start + batch_size]
            loss = F.cross_entropy(head(extractor(x[rows])), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return extractor.eval()

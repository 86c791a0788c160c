r"""SimpleX: a user embedding fused with the mean of the user's interacted-item embeddings.

From "SimpleX: A Simple and Strong Baseline for Collaborative Filtering" (2021). A user is represented by

.. math:: h_u = g\, e_u + (1 - g)\, V \Big(\frac{1}{|H_u|} \sum_{k \in H_u} e_k\Big),

with :math:`e_u` a free user embedding, :math:`H_u` the user's training items, :math:`V` a linear map
and :math:`g \in [0, 1]` a fixed gate; items are plain embeddings :math:`e_i`, and a user-item pair is
scored by the cosine (or, for matrix-factorisation baselines, the dot product) of :math:`h_u` and
:math:`e_i`. With ``gate=1`` the model is plain matrix factorisation.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class SimpleXModel(nn.Module):
    """SimpleX user and item towers over a fixed 0/1 training interaction matrix.

    Args:
        history: (n_users, n_items) 0/1 training interactions; every user needs at least one.
        dim: embedding width D.
        gate: :math:`g \\in [0, 1]`, the weight of the free user embedding.
        dropout: dropout on the user representation during training (the paper uses some).
        init_std: standard deviation of the normal initialisation of the embeddings (V starts at I).
        generator: None, an int seed or a ``torch.Generator`` for the initialisation.

    The history is kept as a row-normalised dense buffer: mean pooling of a batch is one matrix product.
    """

    def __init__(
        self,
        history: torch.Tensor,
        dim: int = 32,
        gate: float = 0.5,
        dropout: float = 0.0,
        init_std: float = 0.1,
        generator=None,
    ):
        super().__init__()
        generator = as_generator(generator)
        check_tensor("history", history, dim=2, floating=True)
        if bool(((history != 0) & (history != 1)).any()):
            raise ValueError("history must hold only 0 and 1 entries")
        counts = history.sum(dim=1, keepdim=True)  # (n_users, 1)
        if bool((counts == 0).any()):
            raise ValueError(
                f"history must give every user at least one item, {int((counts == 0).sum())} have none"
            )
        check_positive("dim", dim, integer=True)
        if isinstance(gate, bool) or not isinstance(gate, (int, float)) or not 0.0 <= gate <= 1.0:
            raise ValueError(f"gate must be a number in [0, 1], got {gate!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        check_positive("init_std", init_std)
        n_users, n_items = history.shape
        self.register_buffer("pooling", history / counts)  # (n_users, n_items), rows sum to 1
        self.gate = float(gate)
        self.user_embedding = nn.Parameter(
            torch.empty(n_users, dim, dtype=history.dtype, device=history.device)
        )
        self.item_embedding = nn.Parameter(
            torch.empty(n_items, dim, dtype=history.dtype, device=history.device)
        )
        self.history_map = nn.Linear(dim, dim, bias=False, dtype=history.dtype, device=history.device)
        self.dropout = nn.Dropout(dropout)
        with torch.no_grad():
            for weight in (self.user_embedding, self.item_embedding):
                weight.copy_(
                    torch.randn(weight.shape, generator=generator, dtype=weight.dtype).to(weight.device)
                )
                weight.mul_(init_std)
            eye = torch.eye(dim, dtype=history.dtype, device=history.device)
            self.history_map.weight.copy_(eye)

    def users(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """User representations h_u, shape (len(index), D) (all users when ``index`` is None)."""
        pooling = self.pooling if index is None else self.pooling[index]  # (b, n_items)
        own = self.user_embedding if index is None else self.user_embedding[index]  # (b, D)
        pooled = self.history_map(pooling @ self.item_embedding)  # (b, D)
        return self.dropout(self.gate * own + (1.0 - self.gate) * pooled)

    def items(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Item embeddings e_i, shape (*index.shape, D) (all items when ``index`` is None)."""
        return self.item_embedding if index is None else self.item_embedding[index]

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The (b, D) user and (*items.shape, D) item representations of a batch."""
        return self.users(users), self.items(items)

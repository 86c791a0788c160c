"""A small deep CTR model: one embedding table per categorical field, concatenated, then an MLP.

The base model of "Unified Low-rank Compression Framework for Click-through Rate Prediction" (2024) in
its simplest form (a DNN): its embedding tables and hidden layers are what the low-rank methods compress.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class CTRDNN(nn.Module):
    r"""Click logit $f(x) = \mathrm{MLP}([E_1[x_1], \dots, E_F[x_F]])$.

    Args:
        field_sizes: vocabulary size of each of the F fields.
        embedding_dim: width d of every field's embedding.
        hidden: widths of the ReLU hidden layers of the MLP.

    Shapes: (B, F) int64 field-local ids -> (B,) logits. ``embeddings[f]`` maps ids of field f to (B, d);
    ``mlp`` maps the (B, F d) concatenation to (B, 1). Both may be swapped for compressed modules of the
    same input and output shapes.
    """

    def __init__(self, field_sizes, embedding_dim: int = 32, hidden=(256, 128)):
        super().__init__()
        field_sizes = list(field_sizes)
        if not field_sizes:
            raise ValueError("field_sizes must not be empty")
        for size in field_sizes:
            check_positive("field_sizes", size, integer=True)
        check_positive("embedding_dim", embedding_dim, integer=True)
        for width in hidden:
            check_positive("hidden", width, integer=True)
        self.field_sizes = field_sizes
        self.embeddings = nn.ModuleList(nn.Embedding(size, embedding_dim) for size in field_sizes)
        for table in self.embeddings:
            nn.init.normal_(table.weight, std=0.01)
        widths = [len(field_sizes) * embedding_dim, *hidden]
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(widths[-1], 1))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, F) ids -> (B, F d) concatenated field embeddings."""
        check_tensor("x", x, dim=2)
        if x.dtype != torch.long or x.shape[1] != len(self.embeddings):
            raise ValueError(
                f"x must be int64 of shape (B, {len(self.embeddings)}), got {x.dtype} {tuple(x.shape)}"
            )
        return torch.cat([table(x[:, f]) for f, table in enumerate(self.embeddings)], dim=1)  # (B, F d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embed(x)).squeeze(-1)  # (B,)

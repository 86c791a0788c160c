r"""An embedding table stored as thin codes times a shared projection: $E \approx C B^\top + \mu$.

"Unified Low-rank Compression Framework for Click-through Rate Prediction" (2024) compresses each
(V, d) table into (V, k) codes and a (d, k) projection with a bias; the weight-SVD baseline is the same
module without the bias.
"""

from __future__ import annotations

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor


class LowRankEmbedding(nn.Module):
    r"""Lookup $e(i) = B\, c_i + \mu$ with codes $C$ (V, k) and a shared projection $B$ (d, k).

    Args:
        codes: (V, k) rows of the compressed table.
        projection: (d, k) shared map from codes to embeddings.
        bias: (d,) added to every embedding, or None.

    Shapes: (...) int64 ids -> (..., d).
    """

    def __init__(self, codes: torch.Tensor, projection: torch.Tensor, bias: torch.Tensor | None = None):
        super().__init__()
        check_tensor("codes", codes, dim=2, floating=True)
        check_tensor("projection", projection, dim=2, floating=True)
        if projection.shape[1] != codes.shape[1]:
            raise ValueError(
                f"projection must have {codes.shape[1]} columns (the codes' width), got shape {tuple(projection.shape)}"
            )
        if bias is not None:
            check_tensor("bias", bias, dim=1, floating=True)
            if bias.shape[0] != projection.shape[0]:
                raise ValueError(
                    f"bias must have {projection.shape[0]} entries, got shape {tuple(bias.shape)}"
                )
        self.codes = nn.Embedding.from_pretrained(codes.detach().clone(), freeze=False)
        self.projection = nn.Parameter(projection.detach().clone())  # (d, k)
        self.bias = nn.Parameter(bias.detach().clone()) if bias is not None else None
        self.num_embeddings, self.rank = codes.shape
        self.embedding_dim = projection.shape[0]

    @property
    def weight(self) -> torch.Tensor:
        """The dense (V, d) table it represents."""
        table = self.codes.weight @ self.projection.T  # (V, d)
        return table + self.bias if self.bias is not None else table

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out = self.codes(ids) @ self.projection.T  # (..., d)
        return out + self.bias if self.bias is not None else out

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}, rank={self.rank}, bias={self.bias is not None}"


def check_rank(rank, limit: int) -> int:
    """Return ``rank`` if it is an int in [1, limit], else raise."""
    check_positive("rank", rank, integer=True)
    if rank > limit:
        raise ValueError(f"rank must be <= {limit}, got {rank}")
    return rank

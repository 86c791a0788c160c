"""A fixed random cross-encoder: an MLP that scores a (query, item) pair jointly, not by a dot product.

Stands in for the pretrained cross-encoder of "Efficient Nearest Neighbor Search for Cross-Encoder
Models using Matrix Factorization". Its score matrix is not of low rank by construction, and a
multiplicative interaction term keeps the ranking query-dependent (an MLP on [q, x] alone tends to be
dominated by item-only terms, which makes every query's top-k nearly the same).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


class SyntheticCrossEncoder(nn.Module):
    """Random one-hidden-layer scorer with an interaction term.

    .. math:: s(q, x) = w^\\top \\tanh\\big(A q + B x + \\gamma\\, C (q \\odot x) + b\\big)

    with Gaussian weights scaled by 1/sqrt(fan-in); :math:`\\gamma` is ``interaction``. The weights are
    buffers: the model is a fixed oracle, not trained.

    Args:
        dim: width d of queries and items.
        hidden: hidden width h.
        interaction: weight :math:`\\gamma \\ge 0` of the product term.
        seed: int seed, torch.Generator or None (global generator).

    Shapes: queries (b, d), items (b, m, d) -> scores (b, m).
    """

    def __init__(self, dim: int, hidden: int = 64, interaction: float = 1.0, seed=None):
        super().__init__()
        check_positive("dim", dim, integer=True)
        check_positive("hidden", hidden, integer=True)
        check_positive("interaction", interaction, allow_zero=True)
        generator = as_generator(seed)

        def gaussian(*shape):
            return torch.randn(*shape, generator=generator) / math.sqrt(shape[-1])

        self.register_buffer("query_weight", gaussian(hidden, dim))  # A (h, d)
        self.register_buffer("item_weight", gaussian(hidden, dim))  # B (h, d)
        self.register_buffer("product_weight", gaussian(hidden, dim))  # C (h, d)
        self.register_buffer("bias", 0.1 * torch.randn(hidden, generator=generator))  # b (h,)
        self.register_buffer("output_weight", gaussian(hidden))  # w (h,)
        self.interaction = float(interaction)
        self.dim = dim

    def forward(self, queries: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of each query against its own m items: (b, d), (b, m, d) -> (b, m)."""
        check_tensor("queries", queries, dim=2, floating=True)
        check_tensor("items", items, dim=3, floating=True)
        if queries.shape[1] != self.dim or items.shape[2] != self.dim or items.shape[0] != queries.shape[0]:
            raise ValueError(
                f"queries must be (b, {self.dim}) and items (b, m, {self.dim}), got "
                f"{tuple(queries.shape)} and {tuple(items.shape)}"
            )
        weights = {name: buf.to(queries.dtype) for name, buf in self.named_buffers()}
        query_part = queries @ weights["query_weight"].T  # (b, h)
        item_part = items @ weights["item_weight"].T  # (b, m, h)
        product = (queries.unsqueeze(1) * items) @ weights["product_weight"].T  # (b, m, h)
        hidden = torch.tanh(
            query_part.unsqueeze(1) + item_part + self.interaction * product + weights["bias"]
        )
        return hidden @ weights["output_weight"]  # (b, m)

    def score_all(self, queries: torch.Tensor, items: torch.Tensor, chunk_size: int = 64) -> torch.Tensor:
        """Exhaustive scores of every query against every item: (b, d), (n, d) -> (b, n).

        ``chunk_size`` queries are scored at a time to bound memory at chunk_size * n * h.
        """
        check_tensor("items", items, dim=2, floating=True)
        check_positive("chunk_size", chunk_size, integer=True)
        check_tensor("queries", queries, dim=2, floating=True)
        blocks = [self(chunk, items.expand(chunk.shape[0], -1, -1)) for chunk in queries.split(chunk_size)]
        return torch.cat(blocks, dim=0)

    def scorer(self, queries: torch.Tensor, items: torch.Tensor):
        """A ``score_fn`` for :func:`paperlab.solvers.anncur_search`: item indices (b, m) -> scores (b, m)."""

        def score_fn(item_indices: torch.Tensor) -> torch.Tensor:
            return self(queries, items[item_indices])  # items[...] is (b, m, d)

        return score_fn

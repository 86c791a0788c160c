"""A tiny causal transformer language model (pre-norm GPT blocks) with a greedy decoder."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from paperlab._checks import check_positive


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t attends only to positions <= t."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)  # each (B, T, D)
        # (B, T, D) -> (B, H, T, D / H)
        q, k, v = (z.view(batch, length, self.n_heads, -1).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, H, T, D / H)
        return self.out(y.transpose(1, 2).reshape(batch, length, width))  # (B, T, D)


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyCausalLM(nn.Module):
    """A small GPT: token + learned position embeddings, causal blocks, a linear head over the vocabulary.

    .. math:: p(x_t \\mid x_{<t}) = \\mathrm{softmax}(W\\, h_t), \\quad h = \\mathrm{Blocks}(E x + P)

    The defaults (d=64, 2 layers, 4 heads, feed-forward width 256) give about 100k parameters.

    Args:
        vocab_size: number of tokens V.
        max_len: longest sequence the position embedding covers.
        d_model, n_layers, n_heads, d_ff: width, depth, heads (dividing ``d_model``), MLP width.

    Shapes: ids ``(B, T)`` int64 -> logits ``(B, T, V)``.
    """

    def __init__(
        self,
        vocab_size: int,
        max_len: int = 32,
        d_model: int = 64,
        n_layers: int = 2,
        n_heads: int = 4,
        d_ff: int = 256,
    ):
        super().__init__()
        sizes = dict(
            vocab_size=vocab_size, max_len=max_len, d_model=d_model, n_layers=n_layers, n_heads=n_heads
        )
        for name, value in {**sizes, "d_ff": d_ff}.items():
            check_positive(name, value, integer=True)
        if d_model % n_heads:
            raise ValueError(f"n_heads must divide d_model={d_model}, got {n_heads}")
        self.vocab_size, self.max_len = vocab_size, max_len
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, d_ff) for _ in range(n_layers))
        self.ln_final = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.hidden_states(ids))  # (B, T, V)

    def hidden_states(self, ids: torch.Tensor) -> torch.Tensor:
        """The final states ``(B, T, D)`` that the head maps to logits.

        A memory-bounded loss such as :func:`paperlab.losses.linear_cross_entropy` takes these with
        ``self.head.weight`` and ``self.head.bias`` instead of the ``(B, T, V)`` logits.
        """
        self._check_ids(ids)
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.token_embedding(ids) + self.position_embedding(positions)  # (B, T, D)
        for block in self.blocks:
            x = block(x)
        return self.ln_final(x)

    @torch.no_grad()
    def generate_greedy(self, prompt: torch.Tensor, n_new: int, allowed: torch.Tensor | None = None):
        """Extend ``prompt`` ``(B, T0)`` by ``n_new`` arg-max tokens -> ``(B, T0 + n_new)``.

        ``allowed`` (int64 ids) restricts each choice to those tokens, e.g. the number tokens.
        """
        check_positive("n_new", n_new, integer=True)
        self._check_ids(prompt)
        if prompt.shape[1] + n_new > self.max_len:
            raise ValueError(
                f"prompt length + n_new must be <= max_len={self.max_len}, got {prompt.shape[1] + n_new}"
            )
        if allowed is not None:
            if not isinstance(allowed, torch.Tensor) or allowed.dtype != torch.long or allowed.dim() != 1:
                raise ValueError(f"allowed must be a 1-D int64 tensor of token ids, got {allowed!r}")
            if allowed.numel() == 0 or bool(((allowed < 0) | (allowed >= self.vocab_size)).any()):
                raise ValueError(f"allowed must hold ids in [0, {self.vocab_size}), got {allowed.tolist()}")
            allowed = allowed.to(prompt.device)
        ids = prompt
        for _ in range(n_new):
            logits = self(ids)[:, -1]  # (B, V)
            if allowed is None:
                next_id = logits.argmax(dim=1)
            else:
                next_id = allowed[logits[:, allowed].argmax(dim=1)]
            ids = torch.cat([ids, next_id.unsqueeze(1)], dim=1)  # (B, T + 1)
        return ids

    def _check_ids(self, ids) -> None:
        if not isinstance(ids, torch.Tensor):
            raise TypeError(f"ids must be a torch.Tensor, got {type(ids).__name__}")
        if ids.dtype != torch.long or ids.dim() != 2 or ids.numel() == 0:
            raise ValueError(
                f"ids must be a non-empty int64 tensor of shape (B, T), got {ids.dtype} {tuple(ids.shape)}"
            )
        if ids.shape[1] > self.max_len:
            raise ValueError(f"ids must have at most max_len={self.max_len} positions, got {ids.shape[1]}")
        if bool(((ids < 0) | (ids >= self.vocab_size)).any()):
            raise ValueError(
                f"ids must be in [0, {self.vocab_size}), got {ids.min().item()}..{ids.max().item()}"
            )

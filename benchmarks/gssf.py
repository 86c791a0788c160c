"""Benchmark: GSSF structural sparse similarity and the hardest-negative hinge vs naive compositions.

Each case runs forward + backward on the same seeded float32 inputs. Time is the best of three runs after
a warm-up; peak memory is the peak bytes of tensors alive at once during one forward + backward
(``paperlab.metrics.peak_tensor_memory``, deterministic). Cases:

- ``gssf_vs_dense``: ``structural_sparse_similarity`` (dynamic mixing) vs writing the two masked matrices
  out densely (``torch.diag`` and ``torch.block_diag``, D x D each) and multiplying.
- ``gssf_vs_broadcast``: the same vs the per-pair broadcast that builds (N, M, D) tensors (only at sizes
  where those fit in about 0.5 GiB).
- ``hardest_negative``: ``hardest_negative_triplet_loss`` vs the plain composition (mask by an identity
  matrix of large values, max, hinge).

    python benchmarks/gssf.py            # N = M = 2048, D = 512, G = 16 (broadcast case at 512)
    python benchmarks/gssf.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header
from paperlab.distances import structural_sparse_similarity
from paperlab.losses import hardest_negative_triplet_loss
from paperlab.metrics import peak_tensor_memory


def dense_composition(x, y, diagonal, blocks, x_mixing, y_mixing):
    x, y = F.normalize(x, dim=1), F.normalize(y, dim=1)
    diagonal_scores = x @ torch.diag(diagonal) @ y.T
    block_scores = x @ torch.block_diag(*blocks) @ y.T
    return (x_mixing[:, :1] * y_mixing[:, 0]) * diagonal_scores + (
        x_mixing[:, 1:] * y_mixing[:, 1]
    ) * block_scores


def broadcast_composition(x, y, diagonal, blocks, x_mixing, y_mixing):
    x, y = F.normalize(x, dim=1), F.normalize(y, dim=1)
    n, dim = x.shape
    n_blocks, group, _ = blocks.shape
    products = x[:, None, :] * y[None, :, :]  # (N, M, D)
    diagonal_scores = (products * diagonal).sum(-1)
    x_mapped = torch.einsum("ngi,gij->ngj", x.reshape(n, n_blocks, group), blocks).reshape(n, dim)
    block_scores = (x_mapped[:, None, :] * y[None, :, :]).sum(-1)  # via (N, M, D)
    return (x_mixing[:, :1] * y_mixing[:, 0]) * diagonal_scores + (
        x_mixing[:, 1:] * y_mixing[:, 1]
    ) * block_scores


def naive_hardest(scores, margin=0.2):
    size = scores.shape[0]
    positives = scores.diagonal()
    blocked = scores - 1e9 * torch.eye(size, dtype=scores.dtype)
    by_row = F.relu(margin + blocked.max(dim=1).values - positives)
    by_column = F.relu(margin + blocked.max(dim=0).values - positives)
    return (by_row + by_column).mean()


def inputs(n, dim, n_blocks, seed=0):
    generator = torch.Generator().manual_seed(seed)
    group = dim // n_blocks
    tensors = [
        torch.randn(n, dim, generator=generator),
        torch.randn(n, dim, generator=generator),
        torch.rand(dim, generator=generator),
        torch.randn(n_blocks, group, group, generator=generator),
        torch.rand(n, 2, generator=generator),
        torch.rand(n, 2, generator=generator),
    ]
    return [t.requires_grad_() for t in tensors]


def forward_backward(fn, args):
    def run():
        for t in args:
            t.grad = None
        fn(*args).sum().backward()

    return run


def compare(name, ours, peer, args):
    ours_run, peer_run = forward_backward(ours, args), forward_backward(peer, args)
    with torch.no_grad():
        error = (ours(*args) - peer(*args)).abs().max().item()
    t_ours, t_peer = best_time_s(ours_run), best_time_s(peer_run)
    m_ours, m_peer = (peak_tensor_memory(run).peak_bytes / 2**20 for run in (ours_run, peer_run))
    print(
        f"{name:<22} ours {t_ours * 1e3:8.2f} ms {m_ours:7.1f} MiB | naive {t_peer * 1e3:8.2f} ms "
        f"{m_peer:7.1f} MiB | time ours/naive {t_ours / t_peer:5.2f} memory ours/naive "
        f"{m_ours / max(m_peer, 1e-9):5.2f} | max |diff| {error:.1e}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    quick = parser.parse_args().quick
    print(header(torch))
    n, dim, n_blocks, n_broadcast = (256, 64, 8, 128) if quick else (2048, 512, 16, 512)
    print(f"sizes: N = M = {n}, D = {dim}, G = {n_blocks}; broadcast case N = M = {n_broadcast}")
    compare("gssf_vs_dense", structural_sparse_similarity, dense_composition, inputs(n, dim, n_blocks))
    compare(
        "gssf_vs_broadcast",
        structural_sparse_similarity,
        broadcast_composition,
        inputs(n_broadcast, dim, n_blocks),
    )
    scores = torch.randn(n, n, generator=torch.Generator().manual_seed(1)).requires_grad_()
    compare("hardest_negative", hardest_negative_triplet_loss, naive_hardest, [scores])


if __name__ == "__main__":
    main()

"""Benchmark: the factorized layers and solvers of SST, DSFormer and ALDS against their peers.

- column sparse coding with n non-zeros (``sparse_code_columns``, batched hard thresholding pursuit)
  against scikit-learn's ``sparse_encode`` with orthogonal matching pursuit, on the same matrix and basis:
  time ratio and both relative errors;
- one training step (forward + backward) of every factorized layer against the dense ``nn.Linear`` of
  the same shape: ``SSTLinear`` (sampled rank r), ``LoRALinear``, ``DenseSparseLinear``, ``STFLinear``
  (its per-step re-factorization included), ``GroupedLowRankLinear``;
- the ALDS allocation (SVDs of every group choice + exact min-max search) for a 4-layer network.

Best wall time of ``--repeats``; peak memory of the sparse-coding pair in a fresh child process.

    python benchmarks/low_rank_factorized_layers.py            # width 1024, batch 2048
    python benchmarks/low_rank_factorized_layers.py --quick    # width 256, a few seconds
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import sklearn
import torch
from sklearn.decomposition import sparse_encode
from torch import nn

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.models import (
    DenseSparseLinear,
    GroupedLowRankLinear,
    LoRALinear,
    SSTLinear,
    STFLinear,
)
from paperlab.solvers import alds, dense_sparse_sizes, sparse_code_columns

N_NONZERO = 8


def coding_inputs(width):
    g = torch.Generator().manual_seed(0)
    weight = torch.randn(width, width, generator=g, dtype=torch.float64)
    basis = torch.randn(width, width // 8, generator=g, dtype=torch.float64)  # (m, k)
    return weight, basis


def ours_coding(weight, basis):
    return sparse_code_columns(weight, basis, N_NONZERO)[0]


def sklearn_coding(weight, basis):
    codes = sparse_encode(weight.T.numpy(), basis.T.numpy(), algorithm="omp", n_nonzero_coefs=N_NONZERO)
    return torch.from_numpy(codes.T)  # (k, n)


def relative_error(weight, basis, codes):
    return float(torch.linalg.matrix_norm(weight - basis @ codes) / torch.linalg.matrix_norm(weight))


def layer_step(layer, x):
    def step():
        layer.zero_grad()
        layer(x).square().mean().backward()

    return step


def layers(width, rank):
    torch.manual_seed(0)
    dense = nn.Linear(width, width)
    budget = rank * 2 * width
    k, n = dense_sparse_sizes(width, width, budget)
    return {
        "nn.Linear (dense)": dense,
        f"SSTLinear r={rank}": SSTLinear(width, width, rank, generator=0),
        f"LoRALinear r={rank}": LoRALinear(nn.Linear(width, width), rank, generator=0),
        f"DenseSparseLinear k={k} n={n}": DenseSparseLinear.from_linear(dense, k, n, n_iter=2),
        f"STFLinear k={k} n={n}": STFLinear(dense, k, n, n_iter_init=2),
        f"GroupedLowRankLinear k=4 r={rank // 4}": GroupedLowRankLinear.from_linear(
            dense, 4, max(1, rank // 4)
        ),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        kind, width = args.child[0], int(args.child[1])
        weight, basis = coding_inputs(width)
        fn = ours_coding if kind == "ours" else sklearn_coding
        print(peak_memory_mib(lambda: fn(weight, basis)))
        return
    width, batch = (256, 512) if args.quick else (1024, 2048)
    rank = 16 if args.quick else 64
    print(header(np, sklearn))
    print(f"sizes: width {width}, batch {batch}, rank {rank}, {N_NONZERO} non-zeros per column\n")

    weight, basis = coding_inputs(width)
    ours, peer = ours_coding(weight, basis), sklearn_coding(weight, basis)
    t_ours = best_time_s(lambda: ours_coding(weight, basis), args.repeats)
    t_peer = best_time_s(lambda: sklearn_coding(weight, basis), args.repeats)
    m_ours = peak_memory_in_child(__file__, "ours", width)
    m_peer = peak_memory_in_child(__file__, "sklearn", width)
    print(f"sparse coding of a {width}x{width} matrix over {basis.shape[1]} atoms")
    for name, seconds, mib, codes in [
        ("ours (hard thresholding pursuit)", t_ours, m_ours, ours),
        ("sklearn sparse_encode (OMP)", t_peer, m_peer, peer),
    ]:
        error = relative_error(weight, basis, codes)
        print(f"  {name:32s} {seconds * 1e3:8.1f} ms  {mib:7.1f} MiB  error {error:.4f}")
    print(f"  ratio ours/sklearn: time {t_ours / t_peer:.2f}, peak memory {m_ours / max(m_peer, 1e-9):.2f}\n")

    x = torch.randn(batch, width, generator=torch.Generator().manual_seed(1))
    print(f"one training step (forward + backward), batch {batch}")
    times = {
        name: best_time_s(layer_step(layer, x), args.repeats) for name, layer in layers(width, rank).items()
    }
    dense_time = times["nn.Linear (dense)"]
    for name, seconds in times.items():
        print(f"  {name:36s} {seconds * 1e3:8.2f} ms   ratio to dense {seconds / dense_time:.2f}")

    g = torch.Generator().manual_seed(2)
    shapes = [(width, 64), (width, width), (width // 2, width), (10, width // 2)]
    weights = [torch.randn(o, i, generator=g) for o, i in shapes]
    budget = sum(w.numel() for w in weights) // 7
    start = time.perf_counter()
    allocation = alds(weights, budget)
    print(
        f"\nALDS allocation, 4 layers, group choices 1/2/4/8: {time.perf_counter() - start:.2f} s "
        f"-> groups {allocation.n_groups}, ranks {allocation.ranks}"
    )


if __name__ == "__main__":
    main()

"""Benchmark: tensor-train matrices against tensorly, and the LoRA / DSEE layers against a dense merge.

1. ``tt_matrix_to_matrix`` (ours, torch) against tensorly's ``tt_matrix_to_matrix`` (numpy backend) on the
   same cores: the dense matrix of a TT-matrix.
2. ``LoRALinear`` (update applied as ``(x A^T) B^T``) against the naive composition that materializes
   ``W + B A`` every step; ``SparseLowRankLinear`` against the same dense formula with ``+ S``.
   Forward + backward, best of ``--repeats``. Peak memory is not measured (CPU run); the adapters store
   ``r (in + out)`` (+ ``n_sparse``) trainable numbers against ``in * out`` for a dense update.

    python benchmarks/peft_adapters.py            # 4096 x 4096 TT matrix, d = 1024 layers
    python benchmarks/peft_adapters.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import platform
import time

import tensorly as tl
import torch
from tensorly.tt_matrix import tt_matrix_to_matrix as tensorly_tt_matrix_to_matrix
from torch import nn

from paperlab.models import LoRALinear, SparseLowRankLinear, TTMatrix, tt_matrix_to_matrix


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def forward_backward(layer, x):
    def step():
        layer.zero_grad(set_to_none=True)
        layer(x).square().mean().backward()

    return step


def dense_forward_backward(layer, x, with_sparse: bool):
    def step():
        layer.zero_grad(set_to_none=True)
        weight = layer.base.weight + layer.scaling * layer.lora_B @ layer.lora_A  # (out, in) every step
        if with_sparse:
            weight = weight + layer.sparse_weight()
        (x @ weight.T + layer.base.bias).square().mean().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    modes, mode_size, tt_rank = (3, 4, 4) if args.quick else (4, 8, 8)
    width, batch, rank = (256, 512, 8) if args.quick else (1024, 4096, 8)
    print(f"machine: {platform.machine()} {platform.processor()}, python {platform.python_version()}")
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), tensorly {tl.__version__} (numpy)")

    layer = TTMatrix([mode_size] * modes, [mode_size] * modes, tt_rank, generator=0, dtype=torch.float64)
    cores = [core.detach() for core in layer.cores]
    numpy_cores = [core.numpy() for core in cores]
    ours = best_time(lambda: tt_matrix_to_matrix(cores), args.repeats)
    peer = best_time(lambda: tensorly_tt_matrix_to_matrix(numpy_cores), args.repeats)
    side = mode_size**modes
    print(f"\nTT-matrix -> dense ({side} x {side}, {modes} cores, TT rank {tt_rank}), float64")
    print(f"  ours {ours * 1e3:8.2f} ms   tensorly {peer * 1e3:8.2f} ms   ours/tensorly {ours / peer:.2f}")

    torch.manual_seed(0)
    x = torch.randn(batch, width)
    n_sparse = width * width // 100
    for name, layer, with_sparse in [
        ("LoRALinear", LoRALinear(nn.Linear(width, width), rank, generator=0), False),
        (
            "SparseLowRankLinear",
            SparseLowRankLinear(nn.Linear(width, width), rank, n_sparse, generator=0),
            True,
        ),
    ]:
        with torch.no_grad():
            layer.lora_B.normal_()
        ours = best_time(forward_backward(layer, x), args.repeats)
        peer = best_time(dense_forward_backward(layer, x, with_sparse), args.repeats)
        print(f"\n{name} d={width}, r={rank}, batch {batch} (forward + backward), float32")
        print(
            f"  ours {ours * 1e3:8.2f} ms   dense merge {peer * 1e3:8.2f} ms   ours/dense {ours / peer:.2f}"
        )


if __name__ == "__main__":
    main()

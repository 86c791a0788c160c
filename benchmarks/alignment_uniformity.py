"""Benchmark: ``alignment_loss`` + ``uniformity_loss`` against the authors' naive composition.

The naive reference is the paper's few-line form, ``(x - y).norm(dim=1).pow(2).mean()`` and
``pdist(x).pow(2).mul(-t).exp().mean().log()`` on both views, the usual training objective
``L_align + (L_uniform(x) + L_uniform(y)) / 2``. Both run forward + backward on the same seeded float32
unit features; each variant's peak memory is measured in its own subprocess (see ``_measure.py``).

    python benchmarks/alignment_uniformity.py            # B = 4096, D = 128
    python benchmarks/alignment_uniformity.py --quick    # B = 512, a few seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib  # noqa: E402

T = 2.0
VARIANTS = ("ours", "naive")


def naive_objective(x, y):
    align = (x - y).norm(p=2, dim=1).pow(2).mean()
    uniform = [torch.pdist(v, p=2).pow(2).mul(-T).exp().mean().log() for v in (x, y)]
    return align + (uniform[0] + uniform[1]) / 2


def ours_objective(x, y):
    from paperlab.losses import alignment_loss, uniformity_loss

    return alignment_loss(x, y) + (uniformity_loss(x, T) + uniformity_loss(y, T)) / 2


def make_step(variant: str, b: int, d: int):
    """Seeded inputs and a closure that runs forward + backward of one variant."""
    generator = torch.Generator().manual_seed(0)
    raw_x = torch.randn(b, d, generator=generator).requires_grad_()
    raw_y = torch.randn(b, d, generator=generator).requires_grad_()
    objective = {"ours": ours_objective, "naive": naive_objective}[variant]

    def step():
        raw_x.grad = raw_y.grad = None
        loss = objective(F.normalize(raw_x, dim=1), F.normalize(raw_y, dim=1))
        loss.backward()
        return loss.item()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # measure one variant's peak memory: rest = variant, b, d
        variant, b, d = args.rest[0], int(args.rest[1]), int(args.rest[2])
        step = make_step(variant, b, d)
        step()  # warm-up
        print(peak_memory_mib(step))
        return
    b, d = (512, 64) if args.quick else (4096, 128)
    print(header())
    print(f"B={b}, D={d}, float32, forward + backward, best of {args.repeats} runs; ratios are ours / naive")
    results = {}
    for variant in VARIANTS:
        loss = make_step(variant, b, d)()
        seconds = best_time_s(make_step(variant, b, d), args.repeats)
        memory = peak_memory_in_child(__file__, "--threads", args.threads, variant, b, d)
        results[variant] = seconds, memory
        print(f"{variant:<6} loss {loss:.6f}, {seconds * 1e3:.1f} ms, {memory:.1f} MiB")
    (ours_time, ours_memory), (naive_time, naive_memory) = results["ours"], results["naive"]
    print(
        f"time ratio {ours_time / naive_time:.2f}, memory ratio {ours_memory / max(naive_memory, 1e-9):.2f}"
    )


if __name__ == "__main__":
    main()

"""Benchmark: paperlab's metric-learning and contrastive losses against pytorch-metric-learning (pml).

Every (case, implementation) pair runs forward + backward in its own subprocess, on the same seeded
float32 inputs. Peak memory is the rise of the process's peak resident set size
(``resource.getrusage(...).ru_maxrss``) during the first forward + backward, over its value once the
inputs exist (after a warm-up call on 32 rows): it sees every CPU allocation torch makes, gradients
included. Time is the best of ``--repeats`` further runs. Cases:

- ``supcon``: ``supcon_loss`` tiled (``--chunk-size``) vs pml ``SupConLoss`` at B = 8192, D = 128.
- ``nt_xent``: ``nt_xent_loss`` tiled on B views vs pml ``SupConLoss`` with pair labels, which is the
  same loss; pml's own ``NTXentLoss`` builds a (pairs x negative pairs) matrix, O(B^3), so it is
  compared at ``--ntxent-b`` only (``nt_xent_small``).
- ``info_nce``: ``info_nce`` tiled on B pairs vs the full-matrix ``F.cross_entropy(q @ k.T / tau)``
  (CLIP style, open_clip's baseline); pml's one-directional form (``SelfSupervisedLoss`` around
  ``NTXentLoss``) has the same O(B^3) matrix as ``NTXentLoss``.
- ``circle`` and ``triplet``: ``circle_loss`` and ``triplet_margin_loss`` (all triplets) vs pml's
  ``CircleLoss`` and ``TripletMarginLoss`` at B = 1024.

    python benchmarks/contrastive.py            # the sizes above
    python benchmarks/contrastive.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from _measure import peak_rss_bytes

TEMPERATURE = 0.1


def build_step(case: str, implementation: str, b: int, d: int, chunk_size: int):
    """Inputs of one case and a closure running forward + backward, returning the loss."""
    from pytorch_metric_learning import losses as pml

    import paperlab.losses as ours

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(b, d, generator=generator).requires_grad_()
    y = torch.randint(0, max(2, b // 16), (b,), generator=generator)  # about 16 items per class
    pairs = torch.arange(b // 2).repeat(2)  # two views per item: rows i and i + b/2 are partners
    half = b // 2
    key = torch.randn(b, d, generator=generator).requires_grad_()  # the B keys paired with x
    chosen = {
        ("supcon", "ours"): lambda: ours.supcon_loss(x, y, TEMPERATURE, chunk_size=chunk_size),
        ("supcon", "pml"): lambda: pml.SupConLoss(TEMPERATURE)(x, y),
        ("nt_xent", "ours"): lambda: ours.nt_xent_loss(
            x[:half], x[half:], TEMPERATURE, chunk_size=chunk_size
        ),
        ("nt_xent", "pml"): lambda: pml.SupConLoss(TEMPERATURE)(x, pairs),
        ("nt_xent_small", "ours"): lambda: ours.nt_xent_loss(x[:half], x[half:], TEMPERATURE),
        ("nt_xent_small", "pml"): lambda: pml.NTXentLoss(TEMPERATURE)(x, pairs),
        ("info_nce", "ours"): lambda: ours.info_nce(x, key, TEMPERATURE, chunk_size=chunk_size),
        ("info_nce", "full"): lambda: full_info_nce(x, key),
        ("circle", "ours"): lambda: ours.circle_loss(x, y, m=0.4, gamma=80.0),
        ("circle", "pml"): lambda: pml.CircleLoss(m=0.4, gamma=80.0)(x, y),
        ("triplet", "ours"): lambda: ours.triplet_margin_loss(x, y, margin=0.05),
        ("triplet", "pml"): lambda: pml.TripletMarginLoss(margin=0.05)(x, y),
    }
    loss_fn = chosen[(case, implementation)]

    def step():
        x.grad, key.grad = None, None
        loss = loss_fn()
        loss.backward()
        return loss.item(), x.grad.norm().item()

    return step


def full_info_nce(query, key):
    """The full-matrix InfoNCE baseline: cross-entropy over the B x B cosine logits."""
    logits = F.normalize(query, dim=1) @ F.normalize(key, dim=1).T / TEMPERATURE  # (B, B)
    return F.cross_entropy(logits, torch.arange(len(query)))


def run_worker(args) -> None:
    """Build the inputs, measure one forward + backward's peak memory, then time the repeats."""
    torch.set_num_threads(args.threads)
    warm_up = build_step(args.case, args.implementation, 32, args.d, 8)
    warm_up()  # first calls initialize lazily allocated library state: keep it out of the measure
    step = build_step(args.case, args.implementation, args.b, args.d, args.chunk_size)
    baseline = peak_rss_bytes()
    loss, grad_norm = step()
    peak = peak_rss_bytes() - baseline
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(json.dumps({"loss": loss, "grad_norm": grad_norm, "peak_bytes": peak, "seconds": min(times)}))


def run_variant(args, case: str, implementation: str, b: int) -> dict:
    command = [
        sys.executable, __file__, "--worker", "--case", case, "--implementation", implementation,
        "--b", str(b), "--d", str(args.d), "--chunk-size", str(args.chunk_size),
        "--threads", str(args.threads), "--repeats", str(args.repeats),
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def describe_machine(args) -> str:
    import pytorch_metric_learning

    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"pytorch-metric-learning {pytorch_metric_learning.__version__}, torch threads {args.threads}, "
        "peak memory = rise of ru_maxrss in a fresh subprocess"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--d", type=int, default=128)
    parser.add_argument("--chunk-size", type=int, default=None, help="tile side of the tiled losses")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--implementation", help=argparse.SUPPRESS)
    parser.add_argument("--b", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args)
        return
    big, pair, small = (512, 256, 64) if args.quick else (8192, 1024, 512)
    args.chunk_size = args.chunk_size or (128 if args.quick else 1024)
    print(describe_machine(args))
    print(f"D={args.d}, chunk_size={args.chunk_size}, best of {args.repeats} runs after the measured one")
    if args.quick:
        print("--quick: smoke sizes; the targets apply to the full sizes (tile loops dominate small batches)")
    cases = [
        ("supcon", "pml", big, "<= 0.20", "<= 1.5"),
        ("nt_xent", "pml", big, "<= 0.20", "<= 1.5"),
        ("nt_xent_small", "pml", small, "", ""),
        ("info_nce", "full", big, "<= 0.20", "<= 1.5"),
        ("circle", "pml", pair, "", "<= 1.0"),
        ("triplet", "pml", pair, "", "<= 1.0"),
    ]
    header = f"{'case':<14}{'peer':<6}{'B':>6}  {'|loss diff|':>11}  {'ours MB':>8}  {'peer MB':>8}"
    header += f"  {'mem ratio':>9}  {'ours s':>7}  {'peer s':>7}  {'time ratio':>10}  target (mem, time)"
    print(header)
    for case, peer, b, memory_target, time_target in cases:
        ours = run_variant(args, case, "ours", b)
        theirs = run_variant(args, case, peer, b)
        memory_ratio = ours["peak_bytes"] / max(theirs["peak_bytes"], 1)
        time_ratio = ours["seconds"] / theirs["seconds"]
        print(
            f"{case:<14}{peer:<6}{b:>6}  {abs(ours['loss'] - theirs['loss']):>11.2e}"
            f"  {ours['peak_bytes'] / 2**20:>8.1f}  {theirs['peak_bytes'] / 2**20:>8.1f}  {memory_ratio:>9.3f}"
            f"  {ours['seconds']:>7.3f}  {theirs['seconds']:>7.3f}  {time_ratio:>10.2f}"
            f"  ({memory_target or '-'}, {time_target or '-'})",
            flush=True,
        )


if __name__ == "__main__":
    main()

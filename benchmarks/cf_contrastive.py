"""Benchmark: ``cosine_contrastive_loss``, ``bpr_loss`` and ``amcl_loss`` against naive compositions of torch ops.

No peer library ships CCL (RecBole is not installed), so the reference is the loss as one would write it
from the paper: ``F.cosine_similarity`` of the user against the concatenated (B, 1 + K, D) items, then
the hinge terms (CCL); or the sigmoid of broadcast score gaps, then the log (BPR); or, for AMCL, a loop over
heads and view directions that gathers each anchor's 2B - 2 negatives by boolean masking (the way the
authors' code is organised), with the same temperature network. Inputs are seeded
float32 embeddings; time is the best of ``--repeats`` forward + backward passes, peak memory the rise of
the resident high-water mark in a fresh subprocess per variant (see ``_measure.py``).

    python benchmarks/cf_contrastive.py            # B = 2048 users, K = 500 negatives, D = 64; AMCL B = 256
    python benchmarks/cf_contrastive.py --quick    # B = 256, K = 100; AMCL B = 64; a few seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib  # noqa: E402

MARGIN, WEIGHT = 0.5, 10.0
VARIANTS = ("ccl_ours", "ccl_naive", "bpr_ours", "bpr_naive", "amcl_ours", "amcl_naive")
HEADS, TOP_K, BETA, TAU_MIN, TAU_MAX = 3, 100, 0.01, 0.05, 1.0


def naive_ccl(user, positive, negative):
    items = torch.cat([positive[:, None], negative], dim=1)  # (B, 1 + K, D)
    cosine = F.cosine_similarity(user[:, None], items, dim=-1)  # (B, 1 + K)
    return (torch.relu(1 - cosine[:, 0]) + WEIGHT * torch.relu(cosine[:, 1:] - MARGIN).mean(1)).mean()


def naive_bpr(user, positive, negative):
    gaps = (user * positive).sum(-1, keepdim=True) - (user[:, None] * negative).sum(-1)  # (B, K)
    return -torch.log(torch.sigmoid(gaps)).mean()


def naive_amcl(z1, z2, phi):
    """Per head and direction: normalise, mask out the negatives, temperatures, top-k, regulariser."""
    b, c, d = z1.shape
    eye = torch.eye(b, dtype=torch.bool)
    total = 0.0
    for h in range(c):
        a_all, p_all = F.normalize(z1[:, h], dim=-1), F.normalize(z2[:, h], dim=-1)
        for anchor, positive in ((a_all, p_all), (p_all, a_all)):
            others = torch.cat(
                [
                    anchor.expand(b, -1, -1)[~eye].view(b, b - 1, d),
                    positive.expand(b, -1, -1)[~eye].view(b, b - 1, d),
                ],
                dim=1,
            )  # (B, 2B - 2, D)
            code = phi(anchor)
            tau_pos = TAU_MIN + (TAU_MAX - TAU_MIN) * torch.sigmoid(-(code * phi(positive)).sum(-1))
            tau_neg = TAU_MIN + (TAU_MAX - TAU_MIN) * torch.sigmoid(-(code[:, None] * phi(others)).sum(-1))
            s_neg = (anchor[:, None] * others).sum(-1)  # (B, 2B - 2)
            values, idx = s_neg.topk(min(TOP_K, 2 * b - 2), dim=1)
            kept = tau_neg.gather(1, idx)
            loss = (
                -(anchor * positive).sum(-1) / tau_pos
                + (values / kept).mean(1)
                + BETA * (d / 2 * tau_pos.log() + 1 / tau_pos)
                - BETA * (kept.log() + 1 / kept).sum(1)
            )
            total = total + loss.mean() / 2
    return total


def make_step(variant: str, b: int, k: int, d: int):
    from paperlab.losses import TemperatureNetwork, amcl_loss, bpr_loss, cosine_contrastive_loss

    g = torch.Generator().manual_seed(0)
    if variant.startswith("amcl"):
        torch.manual_seed(0)
        phi = TemperatureNetwork(d)
        views = [torch.randn(b, HEADS, d, generator=g).requires_grad_() for _ in range(2)]
        loss_fn = {
            "amcl_ours": lambda: amcl_loss(*views, phi, BETA, TAU_MIN, TAU_MAX, TOP_K),
            "amcl_naive": lambda: naive_amcl(*views, phi),
        }[variant]

        def amcl_step():
            for x in views:
                x.grad = None
            loss_fn().backward()

        return amcl_step
    user, positive = torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)
    negative = torch.randn(b, k, d, generator=g)
    inputs = [x.requires_grad_() for x in (user, positive, negative)]
    loss_fn = {
        "ccl_ours": lambda: cosine_contrastive_loss(*inputs, margin=MARGIN, negative_weight=WEIGHT),
        "ccl_naive": lambda: naive_ccl(*inputs),
        "bpr_ours": lambda: bpr_loss(*inputs),
        "bpr_naive": lambda: naive_bpr(*inputs),
    }[variant]

    def step():
        for x in inputs:
            x.grad = None
        loss_fn().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=4, metavar=("VARIANT", "B", "K", "D"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, *sizes = args.child
        step = make_step(variant, *map(int, sizes))
        print(peak_memory_mib(step))
        return
    b, k, d = (256, 100, 32) if args.quick else (2048, 500, 64)
    print(header())
    print(f"B={b} users, K={k} negatives, D={d}, float32, forward + backward")
    amcl_b = 64 if args.quick else 256
    sizes = {v: (amcl_b, 0, 32) if v.startswith("amcl") else (b, k, d) for v in VARIANTS}
    print(f"AMCL: B={amcl_b} images, {HEADS} heads, D=32, top_k={TOP_K}")
    times = {v: best_time_s(make_step(v, *sizes[v]), args.repeats) for v in VARIANTS}
    memory = {v: peak_memory_in_child(__file__, v, *sizes[v]) for v in VARIANTS}
    print(f"{'variant':<10} {'time ms':>9} {'peak MiB':>9}")
    for v in VARIANTS:
        print(f"{v:<10} {1e3 * times[v]:9.2f} {memory[v]:9.1f}")
    for loss in ("ccl", "bpr", "amcl"):
        ours, naive = f"{loss}_ours", f"{loss}_naive"
        print(
            f"{loss}: ours/naive time {times[ours] / times[naive]:.2f}, "
            f"peak memory {memory[ours] / max(memory[naive], 1e-9):.2f}"
        )


if __name__ == "__main__":
    main()

"""Benchmark: the DIMCO infomax loss and the GroCo group-ordering loss against naive compositions.

Neither loss is in pytorch-metric-learning, so each is compared with a naive composition of torch ops
on the same seeded float32 inputs, forward + backward:

- ``discrete_infomax_loss`` against a per-class loop of masked means and entropies (B items, M blocks
  of K symbols, C classes);
- ``group_ordering_loss`` against the same loss with the sorting network written as dense layer
  matrices (one (n, n) matrix per layer and anchor, multiplied in, as a sorting network is usually
  written down).

Each variant's peak memory is measured in its own subprocess (see ``_measure.py``), time is the best of
``--repeats`` runs.

    python benchmarks/dimco_groco.py            # B = 4096 codes (M = 8, K = 16) / 1024 views, N = 12
    python benchmarks/dimco_groco.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib  # noqa: E402

VARIANTS = ("dimco_ours", "dimco_naive", "groco_ours", "groco_naive")
N_NEGATIVES, N_VIEWS, STEEPNESS = 12, 4, 1.0


def naive_infomax(logits, labels):
    """-I(Y; C) with a Python loop over classes."""
    probs = logits.softmax(dim=-1)  # (B, M, K)

    def entropy(p):
        return -(p * p.clamp_min(1e-30).log()).sum(-1)

    information = entropy(probs.mean(0)).sum()
    for c in labels.unique():
        members = probs[labels == c]
        information = information - len(members) / len(labels) * entropy(members.mean(0)).sum()
    return -information


def naive_groco(embeddings, labels, n_negatives, steepness):
    """GroCo with the odd-even network as a product of dense (n, n) layer matrices."""
    unit = F.normalize(embeddings, dim=1)
    similarity = unit @ unit.detach().T
    same = labels[:, None] == labels[None, :]
    own = torch.eye(len(labels), dtype=torch.bool)
    n_positives = int(same[0].sum()) - 1
    positives = similarity[same & ~own].reshape(-1, n_positives).sort(dim=1).values
    hardest = similarity.masked_fill(same, -math.inf).topk(n_negatives, dim=1).values
    scores = torch.cat([hardest.flip(1), positives], dim=1)  # (B, n)
    b, n = scores.shape
    permutation = torch.eye(n).expand(b, n, n)
    for layer in range(n):
        lower = torch.arange(layer % 2, n - 1, 2)
        alpha = torch.atan(steepness * (scores[:, lower + 1] - scores[:, lower])) / math.pi + 0.5  # (B, m)
        matrix = torch.eye(n).repeat(b, 1, 1)  # (B, n, n)
        matrix[:, lower, lower] = alpha
        matrix[:, lower + 1, lower + 1] = alpha
        matrix[:, lower, lower + 1] = 1 - alpha
        matrix[:, lower + 1, lower] = 1 - alpha
        scores = (scores[:, None, :] @ matrix).squeeze(1)
        permutation = permutation @ matrix
    in_top = permutation[:, :, n_negatives:].sum(2).clamp(0, 1)
    target = torch.zeros_like(in_top)
    target[:, n_negatives:] = 1.0
    return F.binary_cross_entropy(in_top, target)


def make_step(variant: str, size: int):
    """Seeded inputs and a closure that runs forward + backward of one variant."""
    from paperlab.losses import discrete_infomax_loss, group_ordering_loss

    generator = torch.Generator().manual_seed(0)
    if variant.startswith("dimco"):
        x = torch.randn(size, 8, 16, generator=generator).requires_grad_()
        y = torch.randint(0, 64, (size,), generator=generator)
        fn = discrete_infomax_loss if variant == "dimco_ours" else naive_infomax
        loss_fn = lambda: fn(x, y)  # noqa: E731
    else:
        x = torch.randn(size, 64, generator=generator).requires_grad_()
        y = torch.arange(size // N_VIEWS).repeat(N_VIEWS)
        if variant == "groco_ours":
            loss_fn = lambda: group_ordering_loss(x, y, N_NEGATIVES, STEEPNESS)  # noqa: E731
        else:
            loss_fn = lambda: naive_groco(x, y, N_NEGATIVES, STEEPNESS)  # noqa: E731

    def step():
        x.grad = None
        loss = loss_fn()
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
    if args.child:  # measure one variant's peak memory: rest = variant, size
        step = make_step(args.rest[0], int(args.rest[1]))
        step()  # warm-up, so lazily allocated library state is not counted
        print(peak_memory_mib(step))
        return
    sizes = {"dimco": 512 if args.quick else 4096, "groco": 128 if args.quick else 1024}
    print(header())
    print(f"float32, forward + backward, best of {args.repeats} runs; ratios are ours / naive")
    for loss in ("dimco", "groco"):
        size = sizes[loss]
        measured = {}
        for variant in (f"{loss}_ours", f"{loss}_naive"):
            value = make_step(variant, size)()
            seconds = best_time_s(make_step(variant, size), args.repeats)
            memory = peak_memory_in_child(__file__, "--threads", args.threads, variant, size)
            measured[variant] = (value, seconds, memory)
            print(f"{variant:<12} B={size}: loss {value:.6f}, {seconds * 1e3:.1f} ms, {memory:.1f} MiB")
        (_, t_ours, m_ours), (_, t_naive, m_naive) = measured.values()
        print(f"{loss}: time ratio {t_ours / t_naive:.2f}, memory ratio {m_ours / max(m_naive, 1e-9):.2f}")


if __name__ == "__main__":
    main()

"""Benchmark: NT-Xent-AM, the SigLIP sigmoid loss and the loss modules against naive torch compositions.

Forward + backward on the same seeded float32 inputs, best of ``--repeats`` wall times, in one process.
Peak memory is measured in a child process per (case, implementation), as the rise of the resident
high-water mark (reset just before) over the first forward + backward at full size. Cases:

- ``nt_xent_am``: ``nt_xent_additive_margin_loss`` vs the formula composed naively (cosine matrix,
  margin on the diagonal through a mask, log-sum-exp), and at m = 0 vs pytorch-metric-learning's
  ``SelfSupervisedLoss(NTXentLoss)`` (same loss, its O(B^3) pair matrix; small B only).
- ``nt_xent_am_symmetric``: the symmetric form vs the naive two-direction composition.
- ``sigmoid``: ``sigmoid_contrastive_loss`` (full matrix) vs ``-logsigmoid(labels * logits).sum() / B``.
- ``sigmoid_chunked``: the chunked sigmoid loss (``--chunk-size``) vs the full naive one: slower,
  but the B x B matrix is never held.
- ``module_overhead``: ``SigmoidContrastiveLoss(learnable=True)`` vs the function with the same tensors.

    python benchmarks/contrastive_margins.py            # B = 4096, D = 128
    python benchmarks/contrastive_margins.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import sys

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib

MARGIN, TEMPERATURE = 0.1, 0.2


def naive_nt_xent_am(q, k, margin, temperature, symmetric=False):
    """The formula composed from torch ops, the peer a user would write."""
    similarity = F.normalize(q, dim=1) @ F.normalize(k, dim=1).T  # (B, B)
    eye = torch.eye(len(q), dtype=torch.bool)
    logits = torch.where(eye, similarity - margin, similarity) / temperature  # (B, B)
    forward = (torch.logsumexp(logits, dim=1) - logits.diagonal()).mean()
    if not symmetric:
        return forward
    return 0.5 * (forward + (torch.logsumexp(logits, dim=0) - logits.diagonal()).mean())


def naive_sigmoid(q, k, scale=10.0, bias=-10.0):
    logits = scale * F.normalize(q, dim=1) @ F.normalize(k, dim=1).T + bias  # (B, B)
    labels = 2 * torch.eye(len(q)) - 1  # (B, B), +1 on the diagonal
    return -F.logsigmoid(labels * logits).sum() / len(q)


def build_step(case: str, implementation: str, b: int, d: int, chunk_size: int):
    """Seeded inputs and a closure running forward + backward of one (case, implementation)."""
    from pytorch_metric_learning import losses as pml

    import paperlab.losses as ours

    generator = torch.Generator().manual_seed(0)
    q = torch.randn(b, d, generator=generator).requires_grad_()
    k = torch.randn(b, d, generator=generator).requires_grad_()
    learnable = ours.SigmoidContrastiveLoss(learnable=True)
    losses = {
        ("nt_xent_am", "ours"): lambda: ours.nt_xent_additive_margin_loss(q, k, MARGIN, TEMPERATURE),
        ("nt_xent_am", "naive"): lambda: naive_nt_xent_am(q, k, MARGIN, TEMPERATURE),
        ("nt_xent_am_m0", "ours"): lambda: ours.nt_xent_additive_margin_loss(q, k, 0.0, TEMPERATURE),
        ("nt_xent_am_m0", "pml"): lambda: pml.SelfSupervisedLoss(
            pml.NTXentLoss(TEMPERATURE), symmetric=False
        )(q, k),
        ("nt_xent_am_symmetric", "ours"): lambda: ours.nt_xent_additive_margin_loss(
            q, k, MARGIN, TEMPERATURE, symmetric=True
        ),
        ("nt_xent_am_symmetric", "naive"): lambda: naive_nt_xent_am(q, k, MARGIN, TEMPERATURE, True),
        ("sigmoid", "ours"): lambda: ours.sigmoid_contrastive_loss(q, k),
        ("sigmoid", "naive"): lambda: naive_sigmoid(q, k),
        ("sigmoid_chunked", "ours"): lambda: ours.sigmoid_contrastive_loss(q, k, chunk_size=chunk_size),
        ("sigmoid_chunked", "naive"): lambda: naive_sigmoid(q, k),
        ("module_overhead", "ours"): lambda: learnable(q, k),
        ("module_overhead", "naive"): lambda: ours.sigmoid_contrastive_loss(
            q, k, learnable.scale, learnable.bias
        ),
    }
    loss = losses[(case, implementation)]

    def step():
        q.grad = k.grad = None
        value = loss()
        value.backward()
        return value

    return step


def child(case, implementation, b, d, chunk_size):
    """Print the peak resident memory (MiB) of one forward + backward above the inputs' level."""
    step = build_step(case, implementation, 32, d, chunk_size)
    step()
    step = build_step(case, implementation, b, d, chunk_size)
    print(peak_memory_mib(step))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, implementation, b, d, chunk = args.child
        return child(case, implementation, int(b), int(d), int(chunk))
    import pytorch_metric_learning

    print(header(torch, pytorch_metric_learning))
    b, d, pml_b = (256, 32, 128) if args.quick else (4096, 128, 512)
    chunk_size = 64 if args.quick else args.chunk_size
    cases = [
        ("nt_xent_am", "naive", b),
        ("nt_xent_am_m0", "pml", pml_b),
        ("nt_xent_am_symmetric", "naive", b),
        ("sigmoid", "naive", b),
        ("sigmoid_chunked", "naive", b),
        ("module_overhead", "naive", b),
    ]
    print(f"{'case':<22}{'peer':<7}{'B':>6}{'ours ms':>10}{'peer ms':>10}{'time ratio':>12}{'mem ratio':>11}")
    for case, peer, size in cases:
        times, memory = {}, {}
        for implementation in ("ours", peer):
            step = build_step(case, implementation, size, d, chunk_size)
            times[implementation] = best_time_s(step, args.repeats)
            memory[implementation] = peak_memory_in_child(__file__, case, implementation, size, d, chunk_size)
        ratio = memory["ours"] / memory[peer] if memory[peer] > 0 else float("nan")
        print(
            f"{case:<22}{peer:<7}{size:>6}{1e3 * times['ours']:>10.2f}{1e3 * times[peer]:>10.2f}"
            f"{times['ours'] / times[peer]:>12.2f}{ratio:>11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

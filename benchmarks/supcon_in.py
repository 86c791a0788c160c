"""Benchmark: ``supcon_in_loss`` (SupCon L_in) against a plain masked-matrix L_in and pml's SupConLoss.

pytorch-metric-learning (pml) has no L_in, so two references run on the same seeded float32 inputs:
``dense``, the usual masked-exponential implementation of L_in (exp of the max-shifted logits, masked
sums, log of their ratio), and pml's ``SupConLoss``, the L_out form at the same batch, as the cost of
the peer's nearest loss. Each variant's forward + backward runs in its own subprocess: peak memory is
the rise of the resident high-water mark (see ``_measure.py``), time the best of ``--repeats`` runs.

    python benchmarks/supcon_in.py            # B = 4096, D = 128, about 16 items per class
    python benchmarks/supcon_in.py --quick    # B = 512, a few seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib  # noqa: E402

TEMPERATURE = 0.1
VARIANTS = ("ours", "dense", "pml_l_out")


def dense_supcon_in(embeddings, labels, temperature):
    """L_in as it is usually written: masked exponentials, then the log of their ratio."""
    z = F.normalize(embeddings, dim=1)
    logits = z @ z.T / temperature  # (B, B)
    logits = logits - logits.max(dim=1, keepdim=True).values.detach()
    not_self = 1.0 - torch.eye(len(labels), dtype=z.dtype)
    positive = (labels[:, None] == labels[None, :]).to(z.dtype) * not_self  # (B, B)
    exp_logits = logits.exp() * not_self
    n_positives = positive.sum(dim=1)
    mean_positive = (exp_logits * positive).sum(dim=1) / n_positives.clamp(min=1)
    losses = -torch.log(mean_positive / exp_logits.sum(dim=1))
    return losses[n_positives > 0].mean()


def make_step(variant: str, b: int, d: int):
    """Seeded inputs and a closure that runs forward + backward of one variant."""
    from pytorch_metric_learning import losses as pml

    from paperlab.losses import supcon_in_loss

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(b, d, generator=generator).requires_grad_()
    y = torch.randint(0, max(2, b // 16), (b,), generator=generator)
    loss_fn = {
        "ours": lambda: supcon_in_loss(x, y, TEMPERATURE),
        "dense": lambda: dense_supcon_in(x, y, TEMPERATURE),
        "pml_l_out": lambda: pml.SupConLoss(TEMPERATURE)(x, y),
    }[variant]

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
    if args.child:  # measure one variant's peak memory: rest = variant, b, d
        variant, b, d = args.rest[0], int(args.rest[1]), int(args.rest[2])
        step = make_step(variant, b, d)
        step()  # warm-up, so lazily allocated library state is not counted
        print(peak_memory_mib(step))
        return
    import pytorch_metric_learning

    b, d = (512, 64) if args.quick else (4096, 128)
    print(header(pytorch_metric_learning))
    print(
        f"B={b}, D={d}, float32, forward + backward, best of {args.repeats} runs; ratios are ours / reference"
    )
    ours_loss = make_step("ours", b, d)()
    ours_time = best_time_s(make_step("ours", b, d), args.repeats)
    ours_memory = peak_memory_in_child(__file__, "--threads", args.threads, "ours", b, d)
    print(f"ours: loss {ours_loss:.6f}, {ours_time * 1e3:.1f} ms, {ours_memory:.1f} MiB")
    for reference in VARIANTS[1:]:
        loss = make_step(reference, b, d)()
        seconds = best_time_s(make_step(reference, b, d), args.repeats)
        memory = peak_memory_in_child(__file__, "--threads", args.threads, reference, b, d)
        same = "same loss" if reference == "dense" else "L_out, a different loss"
        print(
            f"{reference:<10} loss {loss:.6f} ({same}), {seconds * 1e3:.1f} ms, {memory:.1f} MiB"
            f" | time ratio {ours_time / seconds:.2f}, memory ratio {ours_memory / max(memory, 1e-9):.2f}"
        )


if __name__ == "__main__":
    main()

"""Shared harness: classification losses on logits against the naive torch composition they replace.

A benchmark script defines ``pairs(n, c) -> {name: (ours, reference)}``, each a function of logits
``z`` (N, C) and int64 targets ``t`` (N,), and calls :func:`run` from its ``main``. Both sides are
checked equal on the same inputs, then timed (forward + backward, best of ``--repeats``); the peak
memory of each is measured in a fresh child process (the script re-runs itself with ``--child``).
``F.cross_entropy`` is shown for scale.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib


def make_inputs(n: int, c: int):
    """Seeded logits (N, C) that require grad and targets (N,)."""
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, c, generator=g).requires_grad_(), torch.randint(0, c, (n,), generator=g)


def step_fn(loss, z, t):
    """One forward + backward of ``loss(z, t)``, clearing the gradient first."""

    def step():
        z.grad = None
        loss(z, t).backward()

    return step


def _child(pairs, name: str, variant: str, n: int, c: int) -> None:
    z, t = make_inputs(n, c)
    loss = F.cross_entropy if name == "CE" else pairs(n, c)[name][0 if variant == "ours" else 1]
    print(peak_memory_mib(step_fn(loss, z, t)))


def run(script: str, description: str, pairs) -> None:
    """Parse ``--quick / --repeats / --child`` and print the table of ours / reference ratios."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="N=4096, C=100 instead of N=65536, C=1000")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, variant, n, c = args.child
        return _child(pairs, name, variant, int(n), int(c))
    n, c = (4096, 100) if args.quick else (65536, 1000)
    print(header())
    print(f"N={n}, C={c}, float32, forward + backward, best of {args.repeats}")
    z, t = make_inputs(n, c)
    for ours, reference in pairs(n, c).values():  # same values before timing (stateful losses: fresh pairs)
        torch.testing.assert_close(ours(z, t), reference(z, t), rtol=1e-4, atol=1e-5)
    ce_time = best_time_s(step_fn(F.cross_entropy, z, t), args.repeats)
    ce_mem = peak_memory_in_child(script, "CE", "ours", n, c)
    print(f"{'loss':10s} {'ours ms':>8s} {'ref ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    print(f"{'CE':10s} {ce_time * 1e3:8.2f} {'':>8s} {'':>10s} {ce_mem:9.1f}")
    for name, (ours, reference) in pairs(n, c).items():
        times = [best_time_s(step_fn(f, z, t), args.repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(script, name, v, n, c) for v in ("ours", "ref")]
        print(
            f"{name:10s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )

"""Benchmark: StableMax cross-entropy against the naive composition of torch ops it replaces.

No installable peer library ships StableMax; the reference is the direct formulation: the piecewise
s(x) through ``torch.where`` (negative branch clamped, as ours, so both are finite), probabilities
s / sum(s), then -log of the target's probability. Ours sums s(x) and evaluates log s(x) only at the
target, and has a hand-written derivative, so no data-dependent mask (slow on CPUs) is applied. A
second reference, "naive,nowhere", writes s(x) without ``where`` too, to separate the two gains. All are
timed (forward + backward, best of ``--repeats``) on the same inputs, with peak memory
measured in a fresh child process. ``F.cross_entropy`` (softmax) is shown for scale.

    python benchmarks/stablemax.py            # N=65536, C=1000
    python benchmarks/stablemax.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import stablemax_cross_entropy


def naive_stablemax_ce(z, t):
    s = torch.where(z >= 0, z + 1, 1 / (1 - z.clamp_max(0)))
    probs = s / s.sum(1, keepdim=True)
    return -torch.log(probs.gather(1, t[:, None])).mean()


def naive_maskfree_ce(z, t):
    s = (1 + torch.relu(z)) / (1 - z.clamp_max(0))  # same s(x); autograd's slope at exactly 0 is 1 too
    return -torch.log((s / s.sum(1, keepdim=True)).gather(1, t[:, None])).mean()


LOSSES = {
    "ours": stablemax_cross_entropy,
    "naive": naive_stablemax_ce,
    "naive,nowhere": naive_maskfree_ce,
    "softmax CE": F.cross_entropy,
}


def make_inputs(n, c):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, c, generator=g) * 3).requires_grad_(), torch.randint(0, c, (n,), generator=g)


def step_fn(loss, z, t):
    def step():
        z.grad = None
        loss(z, t).backward()

    return step


def child(name, n, c):
    z, t = make_inputs(n, c)
    print(peak_memory_mib(step_fn(LOSSES[name], z, t)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        name, n, c = args.child
        return child(name.replace("_", " "), int(n), int(c))
    n, c = (4096, 100) if args.quick else (65536, 1000)
    print(header())
    print(f"N={n}, C={c}, float32, forward + backward, best of {args.repeats}")
    z, t = make_inputs(n, c)
    for reference in (naive_stablemax_ce, naive_maskfree_ce):  # same values before timing
        torch.testing.assert_close(stablemax_cross_entropy(z, t), reference(z, t), rtol=1e-5, atol=1e-6)
    times = {name: best_time_s(step_fn(loss, z, t), args.repeats) for name, loss in LOSSES.items()}
    mems = {name: peak_memory_in_child(__file__, name.replace(" ", "_"), n, c) for name in LOSSES}
    print(f"{'loss':14s} {'ms':>8s} {'MiB':>8s} {'time / naive':>13s} {'MiB / naive':>12s}")
    for name in LOSSES:
        print(
            f"{name:14s} {times[name] * 1e3:8.2f} {mems[name]:8.1f} "
            f"{times[name] / times['naive']:13.2f} {mems[name] / mems['naive']:12.2f}"
        )


if __name__ == "__main__":
    main()

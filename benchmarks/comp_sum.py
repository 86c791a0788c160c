"""Benchmark: the comp-sum losses against the naive composition of torch ops that defines them.

No installable library implements the comp-sum family. The reference is the paper's formula written with
plain torch ops: :math:`u = \\sum_{k \\ne y} e^{h_k - h_y}` through a dense mask, then
:math:`\\Phi^\\tau(u)`. Ours goes through the log-softmax instead (one fused reduction, no overflow).
Each pair is timed (forward + backward, best of ``--repeats``) on the same inputs, and its peak memory
is measured in a fresh child process. ``F.cross_entropy`` is shown for scale; the target is a time
ratio ours / naive <= 1.2 for every tau.

    python benchmarks/comp_sum.py            # N=65536, C=1000
    python benchmarks/comp_sum.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import comp_sum_loss

TAUS = (0.0, 1.0, 1.5, 2.0)


def naive_comp_sum(z, t, tau):
    h_y = z.gather(1, t.unsqueeze(1))  # (N, 1)
    others = F.one_hot(t, z.shape[1]) == 0  # (N, C)
    u = (torch.exp(z - h_y) * others).sum(1)  # (N,)
    if tau == 1.0:
        return torch.log1p(u).mean()
    return (((1 + u) ** (1 - tau) - 1) / (1 - tau)).mean()


def make_inputs(n, c):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, c, generator=g).requires_grad_(), torch.randint(0, c, (n,), generator=g)


def loss_fn(variant, tau):
    if variant == "ce":
        return F.cross_entropy
    if variant == "ours":
        return lambda z, t: comp_sum_loss(z, t, tau)
    return lambda z, t: naive_comp_sum(z, t, tau)


def step_fn(loss, z, t):
    def step():
        z.grad = None
        loss(z, t).backward()

    return step


def child(variant, tau, n, c):
    z, t = make_inputs(n, c)
    print(peak_memory_mib(step_fn(loss_fn(variant, tau), z, t)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        variant, tau, n, c = args.child
        return child(variant, float(tau), int(n), int(c))
    n, c = (4096, 100) if args.quick else (65536, 1000)
    print(header())
    print(f"N={n}, C={c}, float32, forward + backward, best of {args.repeats}")
    z, t = make_inputs(n, c)
    for tau in TAUS:  # same values before timing
        torch.testing.assert_close(
            loss_fn("ours", tau)(z, t), loss_fn("naive", tau)(z, t), rtol=1e-4, atol=1e-5
        )
    ce_time = best_time_s(step_fn(F.cross_entropy, z, t), args.repeats)
    ce_mem = peak_memory_in_child(__file__, "ce", 1.0, n, c)
    print(
        f"{'loss':10s} {'ours ms':>8s} {'naive ms':>9s} {'time ratio':>10s} {'ours MiB':>9s} {'naive MiB':>9s}"
    )
    print(f"{'CE':10s} {ce_time * 1e3:8.2f} {'':>9s} {'':>10s} {ce_mem:9.1f}")
    for tau in TAUS:
        times = [best_time_s(step_fn(loss_fn(v, tau), z, t), args.repeats) for v in ("ours", "naive")]
        mems = [peak_memory_in_child(__file__, v, tau, n, c) for v in ("ours", "naive")]
        print(
            f"{f'tau={tau:g}':10s} {times[0] * 1e3:8.2f} {times[1] * 1e3:9.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:9.1f}"
        )


if __name__ == "__main__":
    main()

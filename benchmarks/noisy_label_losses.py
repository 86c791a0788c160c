"""Benchmark: the normalized / Active-Passive losses against their one-hot reference formulation.

No installable peer library implements these losses; the reference is the formulation of the authors'
public code, written here from the paper's formulas: softmax, a dense one-hot target, clamped logs and
sums over the class axis. Each pair is timed (forward + backward, best of ``--repeats``) on the same
inputs, and its peak memory is measured in a fresh child process. ``F.cross_entropy`` is shown for scale.

    python benchmarks/noisy_label_losses.py            # N=65536, C=1000
    python benchmarks/noisy_label_losses.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import (
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
)


def one_hot_nce(z, t):
    log_p = F.log_softmax(z, dim=1)
    q = F.one_hot(t, z.shape[1]).to(z.dtype)
    return ((q * -log_p).sum(1) / -log_p.sum(1)).mean()


def one_hot_rce(z, t):
    p = F.softmax(z, dim=1).clamp(min=1e-7, max=1.0)
    q = F.one_hot(t, z.shape[1]).to(z.dtype).clamp(min=1e-4, max=1.0)
    return -(p * torch.log(q)).sum(1).mean() * (4.0 / -torch.log(torch.tensor(1e-4)).item())


def one_hot_mae(z, t):
    p = F.softmax(z, dim=1)
    return (p - F.one_hot(t, z.shape[1]).to(z.dtype)).abs().sum(1).mean()


def one_hot_nfl(z, t, gamma=0.5):
    log_p = F.log_softmax(z, dim=1)
    focal = -((1 - log_p.exp()) ** gamma) * log_p
    return ((F.one_hot(t, z.shape[1]).to(z.dtype) * focal).sum(1) / focal.sum(1)).mean()


PAIRS = {
    "NCE": (normalized_cross_entropy, one_hot_nce),
    "NFL": (normalized_focal_loss, one_hot_nfl),
    "MAE": (mae_loss, one_hot_mae),
    "NCE+RCE": (active_passive_loss, lambda z, t: one_hot_nce(z, t) + one_hot_rce(z, t)),
}


def make_inputs(n, c):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, c, generator=g).requires_grad_(), torch.randint(0, c, (n,), generator=g)


def step_fn(loss, z, t):
    def step():
        z.grad = None
        loss(z, t).backward()

    return step


def child(name, variant, n, c):
    z, t = make_inputs(n, c)
    loss = F.cross_entropy if name == "CE" else PAIRS[name][0 if variant == "ours" else 1]
    print(peak_memory_mib(step_fn(loss, z, t)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        name, variant, n, c = args.child
        return child(name, variant, int(n), int(c))
    n, c = (4096, 100) if args.quick else (65536, 1000)
    print(header())
    print(f"N={n}, C={c}, float32, forward + backward, best of {args.repeats}")
    z, t = make_inputs(n, c)
    for ours, reference in PAIRS.values():  # same values before timing
        torch.testing.assert_close(ours(z, t), reference(z, t), rtol=1e-4, atol=1e-5)
    ce_time = best_time_s(step_fn(F.cross_entropy, z, t), args.repeats)
    ce_mem = peak_memory_in_child(__file__, "CE", "ours", n, c)
    print(f"{'loss':8s} {'ours ms':>8s} {'ref ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    print(f"{'CE':8s} {ce_time * 1e3:8.2f} {'':>8s} {'':>10s} {ce_mem:9.1f}")
    for name, (ours, reference) in PAIRS.items():
        times = [best_time_s(step_fn(f, z, t), args.repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(__file__, name, v, n, c) for v in ("ours", "ref")]
        print(
            f"{name:8s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )


if __name__ == "__main__":
    main()

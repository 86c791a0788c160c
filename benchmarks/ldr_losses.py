"""Benchmark: GCE, LDR-KL and ALDR-KL against the naive composition of torch ops they replace.

No installable peer library implements these losses; the reference is each formula written with plain
torch ops: softmax and pow for GCE; softplus, a dense one-hot margin, exp / mean / log for LDR-KL; the
same plus a softmax-entropy step and a buffer update for ALDR-KL. Each pair is timed (forward + backward,
best of ``--repeats``) on the same inputs, and its peak memory is measured in a fresh child process.
``F.cross_entropy`` is shown for scale.

    python benchmarks/ldr_losses.py            # N=65536, C=1000
    python benchmarks/ldr_losses.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import ALDRKLLoss, generalized_cross_entropy, ldr_kl_loss

LAM, MARGIN, Q, LAM0, ALPHA = 0.5, 0.1, 0.7, 1.0, 2.0


def naive_gce(z, t):
    p_y = F.softmax(z, dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
    return ((1 - p_y**Q) / Q).mean()


def naive_ldr_per_item(s, t, lam):
    """lam * log(mean_k exp(violation_k / lam)) on scores s; lam a number or a (N, 1) column."""
    one_hot = F.one_hot(t, s.shape[1]).to(s.dtype)
    violations = MARGIN * (1 - one_hot) + s - (s * one_hot).sum(dim=1, keepdim=True)
    return (lam * torch.log(torch.exp(violations / lam).mean(dim=1, keepdim=True))).squeeze(1)


def naive_scores(z):
    s = F.softplus(z)
    return s / s.mean(dim=1, keepdim=True)


def naive_ldr(z, t):
    return naive_ldr_per_item(naive_scores(z), t, LAM).mean()


class NaiveALDR:
    """ALDR-KL from the formula: lambda in closed form from softmax(s / lambda_prev), then LDR-KL."""

    def __init__(self, n, k):
        self.lam = torch.full((n,), LAM0)

    def __call__(self, z, t, index):
        s = naive_scores(z)
        with torch.no_grad():
            q = F.softmax(s / self.lam[index][:, None], dim=1)
            kl = (q * torch.log(q * z.shape[1])).sum(dim=1)
            lam = LAM0 * (1 - kl / (ALPHA * math.log(z.shape[1])))
            self.lam[index] = lam
        loss = naive_ldr_per_item(s, t, lam[:, None])
        return (loss - ALPHA * math.log(z.shape[1]) / (2 * LAM0) * (lam - LAM0) ** 2).mean()


def aldr_pair(n, k):
    ours, naive = ALDRKLLoss(n, k, LAM0, ALPHA, MARGIN), NaiveALDR(n, k)
    index = torch.arange(n)
    return (lambda z, t: ours(z, t, index)), (lambda z, t: naive(z, t, index))


def pairs(n, k):
    return {
        "GCE": (lambda z, t: generalized_cross_entropy(z, t, Q), naive_gce),
        "LDR-KL": (lambda z, t: ldr_kl_loss(z, t, LAM, MARGIN), naive_ldr),
        "ALDR-KL": aldr_pair(n, k),
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
    loss = F.cross_entropy if name == "CE" else pairs(n, c)[name][0 if variant == "ours" else 1]
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
    for ours, reference in pairs(n, c).values():  # same values before timing (ALDR: first visit of every id)
        torch.testing.assert_close(ours(z, t), reference(z, t), rtol=1e-4, atol=1e-5)
    ce_time = best_time_s(step_fn(F.cross_entropy, z, t), args.repeats)
    ce_mem = peak_memory_in_child(__file__, "CE", "ours", n, c)
    print(f"{'loss':8s} {'ours ms':>8s} {'ref ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    print(f"{'CE':8s} {ce_time * 1e3:8.2f} {'':>8s} {'':>10s} {ce_mem:9.1f}")
    for name, (ours, reference) in pairs(n, c).items():
        times = [best_time_s(step_fn(f, z, t), args.repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(__file__, name, v, n, c) for v in ("ours", "ref")]
        print(
            f"{name:8s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )


if __name__ == "__main__":
    main()

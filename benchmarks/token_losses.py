"""Benchmark: number-token losses and DIST2Loss against the naive composition of torch ops they replace.

No installable peer library implements these losses; the reference is the formulation of the authors'
code, written here from the papers' formulas: for NTL a softmax over the number-token logits and, for
W1, cumulative sums of the predicted and one-hot distributions; for DIST2 a dense soft-target matrix
``softmax(-D[y] / tau)`` fed to ``F.kl_div``. Each pair runs forward + backward on the same language-model
shaped logits ``(B, V, T)`` (best of ``--repeats``), peak memory in a fresh child process.

    python benchmarks/token_losses.py            # B=64, T=128, V=1024 (100 number tokens)
    python benchmarks/token_losses.py --quick    # B=16, T=32, V=256, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import dist2_loss, metric_token_distances, number_token_loss_lp, number_token_loss_w1

N_NUMBERS = 100
TAU = 1.0


def vocabulary(n_vocab):
    """Token values: the first N_NUMBERS tokens are the numbers 0..99, the rest are text (NaN)."""
    values = torch.full((n_vocab,), float("nan"))
    values[:N_NUMBERS] = torch.arange(N_NUMBERS, dtype=torch.float32)
    return values


def naive_lp(z, t, values):
    number_ids = torch.nonzero(~torch.isnan(values)).squeeze(1)
    logits = z.transpose(1, 2)[..., number_ids]  # (B, T, K)
    y = values[t.clamp_min(0)]
    keep = (t != -100) & ~torch.isnan(y)
    expected = (F.softmax(logits, dim=-1) * values[number_ids]).sum(-1)
    return F.mse_loss(expected[keep], y[keep])


def naive_w1(z, t, values):
    number_ids = torch.nonzero(~torch.isnan(values)).squeeze(1)  # values sorted by id here
    probs = F.softmax(z.transpose(1, 2)[..., number_ids], dim=-1)  # (B, T, K)
    y = values[t.clamp_min(0)]
    keep = (t != -100) & ~torch.isnan(y)
    target = F.one_hot(t.clamp_min(0), len(values)).to(z.dtype)[..., number_ids]  # (B, T, K)
    w1 = (probs.cumsum(-1) - target.cumsum(-1)).abs().sum(-1)
    return w1[keep].mean()


def naive_dist2(z, t, distances):
    keep = t != -100
    q = F.softmax(-distances[t.clamp_min(0)] / TAU, dim=-1)  # (B, T, V)
    kl = F.kl_div(F.log_softmax(z.transpose(1, 2), dim=-1), q, reduction="none").sum(-1)
    return kl[keep].mean()


def make_inputs(b, t, v):
    g = torch.Generator().manual_seed(0)
    z = torch.randn(b, v, t, generator=g).requires_grad_()  # (B, V, T), torch's class-on-dim-1 layout
    target = torch.randint(0, v, (b, t), generator=g)
    number_positions = torch.rand(b, t, generator=g) < 0.5
    target[number_positions] = torch.randint(0, N_NUMBERS, (int(number_positions.sum()),), generator=g)
    target[:, 0] = -100
    return z, target


def pairs(values, distances):
    return {
        "NTL-L2": (lambda z, t: number_token_loss_lp(z, t, values), lambda z, t: naive_lp(z, t, values)),
        "NTL-W1": (lambda z, t: number_token_loss_w1(z, t, values), lambda z, t: naive_w1(z, t, values)),
        "DIST2": (lambda z, t: dist2_loss(z, t, distances, TAU), lambda z, t: naive_dist2(z, t, distances)),
    }


def step_fn(loss, z, t):
    def step():
        z.grad = None
        loss(z, t).backward()

    return step


def child(name, variant, b, t, v):
    z, target = make_inputs(b, t, v)
    values = vocabulary(v)
    table = pairs(values, metric_token_distances(values))
    loss = (
        (lambda a, c: F.cross_entropy(a, c)) if name == "CE" else table[name][0 if variant == "ours" else 1]
    )
    print(peak_memory_mib(step_fn(loss, z, target)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        name, variant, *sizes = args.child
        return child(name, variant, *map(int, sizes))
    b, t, v = (16, 32, 256) if args.quick else (64, 128, 1024)
    print(header())
    print(
        f"logits (B={b}, V={v}, T={t}), {N_NUMBERS} number tokens, float32, forward + backward, best of {args.repeats}"
    )
    z, target = make_inputs(b, t, v)
    values = vocabulary(v)
    table = pairs(values, metric_token_distances(values))
    for ours, reference in table.values():  # same values before timing
        torch.testing.assert_close(ours(z, target), reference(z, target), rtol=1e-4, atol=1e-4)
    ce_time = best_time_s(step_fn(F.cross_entropy, z, target), args.repeats)
    ce_mem = peak_memory_in_child(__file__, "CE", "ours", b, t, v)
    print(
        f"{'loss':8s} {'ours ms':>8s} {'naive ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'naive MiB':>9s}"
    )
    print(f"{'CE':8s} {ce_time * 1e3:8.2f} {'':>8s} {'':>10s} {ce_mem:9.1f}")
    for name, (ours, reference) in table.items():
        times = [best_time_s(step_fn(f, z, target), args.repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(__file__, name, variant, b, t, v) for variant in ("ours", "naive")]
        print(
            f"{name:8s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:9.1f}"
        )


if __name__ == "__main__":
    main()

"""Benchmark: the spherical losses and the spherical trick against their naive formulations.

Part 1 times the Z-loss, the Taylor-softmax loss and the squared error (forward + backward, best of
``--repeats``) against the naive composition of torch ops they replace (dense one-hot target,
explicit standardization or normalization), on the same inputs; peak memory is measured in a fresh
child process. No installable peer library implements these losses.

Part 2 times one SGD step of a linear output layer with D classes under the Z-loss: the naive dense
layer (all D scores, autograd, dense update) against :class:`SphericalOutputLayer` (O(d^2) per item),
and prints the multiply-add counts of both at D = 2k and 20k.

    python benchmarks/spherical_losses.py            # N=16384, C=1000; D=20000, d=64, m=64
    python benchmarks/spherical_losses.py --quick    # N=2048, C=200; D=2000, d=32, m=32
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import spherical_squared_error, taylor_softmax_cross_entropy, z_loss
from paperlab.solvers import SphericalOutputLayer, step_cost

A, B = 0.1, 10.0


def naive_z_loss(o, t):
    z = (o - o.mean(1, keepdim=True)) / o.std(1, correction=0, keepdim=True)
    z_target = (z * F.one_hot(t, o.shape[1]).to(o.dtype)).sum(1)
    return (F.softplus(A * (B - z_target)) / A).mean()


def naive_squared_error(o, t):
    return F.mse_loss(o, F.one_hot(t, o.shape[1]).to(o.dtype), reduction="none").sum(1).mean()


def naive_taylor_softmax(o, t):
    numerators = 1 + o + o * o / 2
    log_p = numerators.log() - numerators.sum(1, keepdim=True).log()
    return -(F.one_hot(t, o.shape[1]).to(o.dtype) * log_p).sum(1).mean()


PAIRS = {
    "z_loss": (lambda o, t: z_loss(o, t, A, B), naive_z_loss),
    "taylor": (taylor_softmax_cross_entropy, naive_taylor_softmax),
    "sq_error": (spherical_squared_error, naive_squared_error),
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
    print(peak_memory_mib(step_fn(PAIRS[name][0 if variant == "ours" else 1], z, t)))


def dense_layer_step(weight, hidden, target, lr):
    """Naive reference: all D scores, autograd through the Z-loss, dense update of W."""
    weight.grad = None
    z_loss(hidden @ weight.T, target, A, B).backward()
    with torch.no_grad():
        weight -= lr * weight.grad


def compare_losses(n, c, repeats):
    z, t = make_inputs(n, c)
    for ours, reference in PAIRS.values():  # same values before timing
        torch.testing.assert_close(ours(z, t), reference(z, t), rtol=1e-4, atol=1e-5)
    print(f"\nPart 1: losses, N={n}, C={c}, float32, forward + backward, best of {repeats}")
    print(
        f"{'loss':9s} {'ours ms':>8s} {'naive ms':>9s} {'time ratio':>10s} {'ours MiB':>9s} {'naive MiB':>9s}"
    )
    for name, (ours, reference) in PAIRS.items():
        times = [best_time_s(step_fn(f, z, t), repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(__file__, name, v, n, c) for v in ("ours", "ref")]
        print(
            f"{name:9s} {times[0] * 1e3:8.2f} {times[1] * 1e3:9.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:9.1f}"
        )


def compare_output_layer(n_classes, d, m, repeats):
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(n_classes, d, generator=g) / d**0.5
    hidden = torch.randn(m, d, generator=g)
    target = torch.randint(0, n_classes, (m,), generator=g)
    dense = weight.clone().requires_grad_()
    layer = SphericalOutputLayer(weight, "z_loss", a=A, b=B)
    lr = 1e-3
    dense_time = best_time_s(lambda: dense_layer_step(dense, hidden, target, lr), repeats)
    trick_time = best_time_s(lambda: layer.step(hidden, target, lr), repeats)
    drift = ((layer.weight() - dense.detach()).norm() / dense.detach().norm()).item()
    print(
        f"\nPart 2: one SGD step of the output layer under the Z-loss, D={n_classes}, d={d}, m={m}, float32"
    )
    print(f"dense {dense_time * 1e3:.2f} ms, spherical trick {trick_time * 1e3:.2f} ms, ")
    print(
        f"time ratio trick/dense {trick_time / dense_time:.3f}; weight rel. diff after equal steps {drift:.1e}"
    )
    print(f"{'D':>7s} {'naive MACs':>12s} {'trick MACs':>12s} {'speedup':>8s}  (d={d}, m={m})")
    for n in (2_000, 20_000):
        cost = step_cost(n, d, m)
        print(f"{n:7d} {cost.naive:12.3e} {cost.spherical:12.3e} {cost.speedup:8.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=4)
    args = parser.parse_args()
    if args.child:
        name, variant, n, c = args.child
        return child(name, variant, int(n), int(c))
    print(header())
    n, c = (2048, 200) if args.quick else (16384, 1000)
    compare_losses(n, c, args.repeats)
    n_classes, d, m = (2_000, 32, 32) if args.quick else (20_000, 64, 64)
    compare_output_layer(n_classes, d, m, args.repeats)


if __name__ == "__main__":
    main()

"""Benchmark: Grassmann class logits and one Riemannian SGD step against their naive compositions.

No installed peer implements the Grassmann class head (geoopt, the natural peer for the optimizer, is
not a dependency). The references are the plain torch compositions the functions replace, on the same
inputs: ``einsum('nd,cdk->nck')`` of the normalized features followed by a norm over ``k`` for the
logits, and, for scale, a linear softmax head ``F.linear`` of the same width (``C`` logits from ``C``
class vectors instead of ``C`` subspaces of dimension ``k``). The optimizer step is compared with
``torch.optim.SGD`` (same momentum) on a parameter of the frames' shape: the price of the tangent
projection, the batched QR and the momentum transport. Forward + backward and optimizer steps are
timed (best of ``--repeats`` rounds that alternate between the candidates); peak memory is measured
in a fresh child process.

    python benchmarks/grassmann.py            # N=4096, d=512, C=1000, k=8
    python benchmarks/grassmann.py --quick    # N=512, d=64, C=100, k=4, a few seconds
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from _measure import header, peak_memory_in_child, peak_memory_mib
from paperlab.losses.grassmann import grassmann_class_logits, random_frames
from paperlab.solvers.grassmann_rsgd import GrassmannRSGD

SCALE = 16.0


def naive_logits(features, frames, weight):
    coordinates = torch.einsum("nd,cdk->nck", F.normalize(features, dim=1), frames)  # (N, C, k)
    return SCALE * coordinates.norm(dim=2)


def ours_logits(features, frames, weight):
    return grassmann_class_logits(features, frames, SCALE)


def linear_logits(features, frames, weight):
    return F.linear(features, weight)


HEADS = {"ours": ours_logits, "naive einsum": naive_logits, "linear head": linear_logits}


def make_inputs(n, d, c, k):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(n, d, generator=g).requires_grad_()
    frames = random_frames(c, d, k, generator=g).requires_grad_()
    weight = (torch.randn(c, d, generator=g) / d**0.5).requires_grad_()
    target = torch.randint(0, c, (n,), generator=g)
    return features, frames, weight, target


def head_step(head, features, frames, weight, target):
    def step():
        for t in (features, frames, weight):
            t.grad = None
        F.cross_entropy(head(features, frames, weight), target).backward()

    return step


def optimizer_step(kind, d, c, k):
    param = torch.nn.Parameter(random_frames(c, d, k, generator=1))
    param.grad = torch.randn(c, d, k, generator=torch.Generator().manual_seed(2))
    if kind == "rsgd":
        param.manifold = "grassmann"
        optimizer = GrassmannRSGD([param], lr=0.1, momentum=0.9)
    else:
        optimizer = torch.optim.SGD([param], lr=0.1, momentum=0.9)
    return optimizer.step


def interleaved_best_s(fns: dict, repeats: int) -> dict:
    """Best wall time of each function over ``repeats`` rounds that call them in turn.

    Calling the candidates alternately, rather than one after the other, spreads a load spike on a
    shared machine over all of them instead of charging it to whichever ran at the time.
    """
    best = {name: float("inf") for name in fns}
    for fn in fns.values():  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def child(name, n, d, c, k):
    if name in ("rsgd", "sgd"):
        print(peak_memory_mib(optimizer_step(name, d, c, k)))
        return
    features, frames, weight, target = make_inputs(n, d, c, k)
    print(peak_memory_mib(head_step(HEADS[name], features, frames, weight, target)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        name, *sizes = args.child
        return child(name, *map(int, sizes))
    n, d, c, k = (512, 64, 100, 4) if args.quick else (4096, 512, 1000, 8)
    print(header())
    print(f"N={n}, d={d}, C={c}, k={k}, float32, best of {args.repeats}")
    features, frames, weight, target = make_inputs(n, d, c, k)
    torch.testing.assert_close(
        ours_logits(features, frames, weight), naive_logits(features, frames, weight), rtol=1e-4, atol=1e-4
    )
    print(f"{'forward + backward':20s} {'ms':>8s} {'ours / this':>11s} {'MiB':>8s}")
    steps = {name: head_step(h, features, frames, weight, target) for name, h in HEADS.items()}
    times = interleaved_best_s(steps, args.repeats)
    for name in HEADS:
        memory = peak_memory_in_child(__file__, name, n, d, c, k)
        print(f"{name:20s} {times[name] * 1e3:8.2f} {times['ours'] / times[name]:11.2f} {memory:8.1f}")
    print(f"{'optimizer step':20s} {'ms':>8s} {'ours / this':>11s} {'MiB':>8s}")
    steps = interleaved_best_s(
        {kind: optimizer_step(kind, d, c, k) for kind in ("rsgd", "sgd")}, args.repeats
    )
    for kind, label in (("rsgd", "GrassmannRSGD"), ("sgd", "torch SGD")):
        memory = peak_memory_in_child(__file__, kind, n, d, c, k)
        print(f"{label:20s} {steps[kind] * 1e3:8.2f} {steps['rsgd'] / steps[kind]:11.2f} {memory:8.1f}")


if __name__ == "__main__":
    main()

"""Imbalanced transductive few-shot: the balanced Sinkhorn baseline (ours batched vs POT per episode) and PUTM.

    python benchmarks/putm.py [--quick] [--threads N]

E episodes of 5-way 1-shot with 75 queries (64 features). The balanced baseline alternates a Sinkhorn plan
with a prototype update; ours solves every episode's plan in one batched call of paperlab.solvers.sinkhorn,
the peer loops over episodes with POT's ot.sinkhorn (log-domain, same reg and iteration count, no early
stop on either side), and the final plans are checked to agree. PUTM's EM (paperlab only, no installable
peer) is timed for scale. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import ot
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import class_prototypes, putm_em, sinkhorn_prototypes

VARIANTS = ("ours balanced Sinkhorn", "POT balanced Sinkhorn", "ours PUTM EM")
REG, OUTER, INNER = 0.5, 10, 100


def make_episodes(n_episodes: int):
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(n_episodes, 5, 64, generator=g, dtype=torch.float64)
    support_labels = torch.arange(5).expand(n_episodes, -1).contiguous()
    query_labels = torch.randint(5, (n_episodes, 75), generator=g)
    gather = lambda labels: torch.stack([c[l] for c, l in zip(centres, labels)])  # noqa: E731
    support = gather(support_labels) + 0.5 * torch.randn(n_episodes, 5, 64, generator=g, dtype=torch.float64)
    query = gather(query_labels) + 0.5 * torch.randn(n_episodes, 75, 64, generator=g, dtype=torch.float64)
    return support, support_labels, query


def pot_balanced(support, labels, query):
    """The same alternation as sinkhorn_prototypes, one episode at a time with ot.sinkhorn."""
    plans = []
    for s, y, x in zip(support.numpy(), labels.numpy(), query.numpy()):
        sums = np.stack([s[y == k].sum(0) for k in range(5)])
        counts = np.bincount(y, minlength=5).astype(float)
        prototypes = sums / counts[:, None]
        a, b = np.full(len(x), 1 / len(x)), np.full(5, 0.2)
        for step in range(OUTER + 1):
            plan = ot.sinkhorn(
                a, b, ot.dist(x, prototypes), REG, method="sinkhorn_log", numItermax=INNER, stopThr=0
            )
            if step < OUTER:
                w = len(x) * plan
                prototypes = (sums + w.T @ x) / (counts + w.sum(0))[:, None]
        plans.append(plan)
    return np.stack(plans)


def make_runs(n_episodes: int) -> dict:
    support, labels, query = make_episodes(n_episodes)
    return {
        "ours balanced Sinkhorn": lambda: sinkhorn_prototypes(
            support, labels, query, REG, max_iter=OUTER, tol=0.0, sinkhorn_iter=INNER, sinkhorn_tol=0.0
        ),
        "POT balanced Sinkhorn": lambda: pot_balanced(support, labels, query),
        "ours PUTM EM": lambda: putm_em(support, labels, query, temperature=0.5, max_iter=OUTER, tol=0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        variant, n = args.child[0].replace("_", " "), int(args.child[1])
        print(peak_memory_mib(make_runs(n)[variant]))
        return
    print(header(ot, np))
    _ = class_prototypes  # the prototypes both sides start from
    warnings.simplefilter("ignore", UserWarning)  # POT warns on every solve stopped at numItermax (stopThr=0)
    sizes = [5, 20] if args.quick else [50, 200]
    for n in sizes:
        runs = make_runs(n)
        gap = np.abs(runs["ours balanced Sinkhorn"]().plan.numpy() - runs["POT balanced Sinkhorn"]()).max()
        times = {
            name: best_time_s(fn, repeats=1 if "POT" in name or n >= 200 else 3) for name, fn in runs.items()
        }
        memory = {name: peak_memory_in_child(__file__, name.replace(" ", "_"), n) for name in VARIANTS}
        print(f"\nE={n} episodes (largest plan difference ours vs POT {gap:.1e})")
        for name in VARIANTS:
            print(f"  {name:24s} {times[name] * 1e3:9.1f} ms  peak {memory[name]:7.1f} MiB")
        ratio_t = times["POT balanced Sinkhorn"] / times["ours balanced Sinkhorn"]
        ratio_m = memory["POT balanced Sinkhorn"] / max(memory["ours balanced Sinkhorn"], 1e-3)
        print(f"  POT/ours balanced Sinkhorn: time x{ratio_t:.1f}, peak memory x{ratio_m:.2f}")


if __name__ == "__main__":
    sys.exit(main())

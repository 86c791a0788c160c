"""Imbalanced transductive few-shot: the balanced Sinkhorn baseline (ours batched vs POT per episode) and PUTM.

    python benchmarks/putm.py [--quick] [--threads N]

E episodes of 5-way 1-shot with 75 queries (64 features). The balanced baseline alternates a Sinkhorn plan
with a prototype update; ours solves every episode's plan in one batched call of paperlab.solvers.sinkhorn,
the peer loops over episodes with POT's ot.sinkhorn (log-domain, same reg and iteration count, no early
stop on either side), and the final plans are checked to agree. PUTM's EM (paperlab only, no installable
peer) is timed for scale. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import ot

from _fewshot import gaussian_episodes, run
from paperlab.solvers import putm_em, sinkhorn_prototypes

REG, OUTER, INNER = 0.5, 10, 100


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
    support, labels, query = gaussian_episodes(n_episodes, centre_scale=1.0, noise_scale=0.5)
    return {
        "ours balanced Sinkhorn": lambda: sinkhorn_prototypes(
            support, labels, query, REG, max_iter=OUTER, tol=0.0, sinkhorn_iter=INNER, sinkhorn_tol=0.0
        ),
        "POT balanced Sinkhorn": lambda: pot_balanced(support, labels, query),
        "ours PUTM EM": lambda: putm_em(support, labels, query, temperature=0.5, max_iter=OUTER, tol=0.0),
    }


def plan_gap(n_episodes: int) -> str:
    runs = make_runs(n_episodes)
    gap = np.abs(runs["ours balanced Sinkhorn"]().plan.numpy() - runs["POT balanced Sinkhorn"]()).max()
    return f"largest plan difference ours vs POT {gap:.1e}"


def main() -> None:
    warnings.simplefilter("ignore", UserWarning)  # POT warns on every solve stopped at numItermax (stopThr=0)
    run(
        __file__,
        __doc__.splitlines()[0],
        make_runs,
        ours="ours balanced Sinkhorn",
        peer="POT balanced Sinkhorn",
        sizes=([5, 20], [50, 200]),
        check=plan_gap,
        repeats=lambda name, n: 1 if "POT" in name or n >= 200 else 3,
        modules=(ot, np),
    )


if __name__ == "__main__":
    sys.exit(main())

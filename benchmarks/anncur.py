"""ANNCUR top-k retrieval vs exhaustive cross-encoder scoring: calls, time and recall per query batch.

    python benchmarks/anncur.py [--quick] [--threads N]

On `SyntheticCrossEncoder` (64-dim queries and items), for each item count n: exhaustive scoring
(n calls per query, exact top-k) against ANNCUR with k_i = 25 anchor items and budgets B (B calls per
query; its time includes the anchor calls and the pseudo-inverse). Times are the best of 3 wall times;
ratios > 1 mean ANNCUR is faster. Peak memory is the process peak resident size after each n.
The offline cost (k_q anchor queries x n items) is reported separately, not amortized.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch

from _measure import best_time_s, header, peak_rss_bytes
from paperlab.models import SyntheticCrossEncoder
from paperlab.solvers import anncur_search, topk_recall

DIM, K, N_ANCHOR_QUERIES, N_ANCHOR_ITEMS = 64, 20, 100, 25


def _anncur(score_fn, R, anchors, n_queries, budget):
    anchor_scores = score_fn(anchors.expand(n_queries, -1))  # (b, k_i) exact calls on the anchor items
    return anncur_search(score_fn, R, anchors, anchor_scores, budget, K)


def measure(model, n: int, n_queries: int, generator) -> None:
    """Print one row per budget for n items."""
    items, anchor_q, test_q = (
        torch.randn(m, DIM, generator=generator) for m in (n, N_ANCHOR_QUERIES, n_queries)
    )
    offline = best_time_s(partial(model.score_all, anchor_q, items), repeats=1)
    R = model.score_all(anchor_q, items)
    exhaustive_s = best_time_s(lambda: model.score_all(test_q, items).topk(K, dim=1), repeats=3)
    S = model.score_all(test_q, items)
    anchors = torch.randperm(n, generator=generator)[:N_ANCHOR_ITEMS]
    score_fn = model.scorer(test_q, items)
    for budget in (100, 200):
        run = partial(_anncur, score_fn, R, anchors, n_queries, budget)
        anncur_s = best_time_s(run, repeats=3)
        recall = float(topk_recall(run().indices, S, K).mean())
        print(
            f"{n:>6} {budget:>5} {budget:>5} / {n:<5} {exhaustive_s:>13.4f} {anncur_s:>9.4f} "
            f"{exhaustive_s / anncur_s:>10.2f} {recall:>9.3f} {offline:>9.3f}"
        )
    print(f"peak RSS after n={n}: {peak_rss_bytes() / 2**20:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, runs in seconds")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(header())
    generator = torch.Generator().manual_seed(0)
    model = SyntheticCrossEncoder(DIM, seed=0)
    print(
        f"{'n':>6} {'B':>5} {'calls/query':>12} {'exhaustive s':>13} {'anncur s':>9} {'time ratio':>10} "
        f"{'recall@20':>9} {'offline s':>9}"
    )
    for n in [1000] if args.quick else [2000, 8000]:
        measure(model, n, 20 if args.quick else 100, generator)


if __name__ == "__main__":
    main()

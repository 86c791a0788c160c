"""Shared harness of the few-shot benchmarks: Gaussian episodes, the command line and the results table.

A benchmark script defines ``make_runs(n_episodes) -> {variant: fn}`` and calls :func:`run` from its
``main``. Every variant is timed (best of a few calls after a warm-up) and its peak memory measured in a
fresh child process (the script re-runs itself with ``--child VARIANT N``); the table ends with the
peer / ours ratios of time and memory. Ratios > 1 mean paperlab is faster or leaner.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib


def gaussian_episodes(
    n_episodes: int, centre_scale: float, noise_scale: float, n_way: int = 5, n_query: int = 75, dim: int = 64
):
    """E seeded 1-shot episodes: class centres ~ N(0, centre_scale^2 I), points ~ N(centre, noise_scale^2 I).

    Returns:
        support (E, n_way, dim) float64, support labels (E, n_way) (one shot of each class, in order),
        query (E, n_query, dim) float64 with uniformly drawn classes.
    """
    g = torch.Generator().manual_seed(0)
    centres = centre_scale * torch.randn(n_episodes, n_way, dim, generator=g, dtype=torch.float64)
    support_labels = torch.arange(n_way).expand(n_episodes, -1).contiguous()
    query_labels = torch.randint(n_way, (n_episodes, n_query), generator=g)
    gather = lambda labels: torch.stack([c[l] for c, l in zip(centres, labels)])  # noqa: E731
    support_noise = torch.randn(n_episodes, n_way, dim, generator=g, dtype=torch.float64)
    support = gather(support_labels) + noise_scale * support_noise
    query_noise = torch.randn(n_episodes, n_query, dim, generator=g, dtype=torch.float64)
    query = gather(query_labels) + noise_scale * query_noise
    return support, support_labels, query


def run(
    script: str,
    description: str,
    make_runs: Callable[[int], dict],
    *,
    ours: str,
    peer: str,
    sizes: tuple[list[int], list[int]],
    check: Callable[[int], str],
    repeats: Callable[[str, int], int],
    modules: tuple = (),
) -> None:
    """Parse ``--quick / --threads / --child`` and print, for every size, times, peak memory and ratios.

    Args:
        script: the calling script's ``__file__`` (re-run for the memory children).
        description: the first line of its docstring.
        make_runs: episodes count -> {variant name: function to time}.
        ours, peer: the two variants whose ratios are printed.
        sizes: episode counts of the quick run and of the full run.
        check: episodes count -> a note on the agreement of ours and the peer, printed with the size.
        repeats: (variant, episodes count) -> timed calls after the warm-up.
        modules: peer libraries whose versions the header prints.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        variant, n = args.child[0].replace("_", " "), int(args.child[1])
        print(peak_memory_mib(make_runs(n)[variant]))
        return
    print(header(*modules))
    for n in sizes[0] if args.quick else sizes[1]:
        note = check(n)
        runs = make_runs(n)
        times = {name: best_time_s(fn, repeats=repeats(name, n)) for name, fn in runs.items()}
        memory = {name: peak_memory_in_child(script, name.replace(" ", "_"), n) for name in runs}
        print(f"\nE={n} episodes ({note})")
        width = max(map(len, runs))
        for name in runs:
            print(f"  {name:{width}s} {times[name] * 1e3:9.1f} ms  peak {memory[name]:7.1f} MiB")
        ratio_t = times[peer] / times[ours]
        ratio_m = memory[peer] / max(memory[ours], 1e-3)
        print(f"  {peer} / {ours}: time x{ratio_t:.1f}, peak memory x{ratio_m:.2f}")

"""Label sharpness (empirical label Lipschitz constant) vs the naive SciPy composition.

    python benchmarks/label_sharpness.py [--quick] [--repeats 3]

Compares on the same inputs, in one run:
  - paperlab.metrics.label_sharpness (blocked exact distances in torch, no n x n matrix)
  - SciPy: the full cdist matrix, the label-change matrix, then the largest ratio (numpy)
n points of dimension 64 (8x8 images) with binary labels, float64. Times are the best of ``--repeats``
runs after a warm-up; peak memory is measured in a fresh child process per call (see _measure.py).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 64)), rng.integers(0, 2, n)


def ours(X, y):
    import torch

    from paperlab.metrics import label_sharpness

    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    return lambda: float(label_sharpness(Xt, yt))


def peer(X, y):
    from scipy.spatial.distance import cdist

    def run():
        distances = cdist(X, X)
        changes = np.abs(y[:, None] - y[None, :]).astype(float)
        mask = changes > 0
        return float((changes[mask] / distances[mask]).max())

    return run


def child(which: str, n: int) -> None:
    X, y = make_data(n)
    fn = ours(X, y) if which == "ours" else peer(X, y)
    print(peak_memory_mib(fn))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import scipy
    import torch

    print(header(torch, np, scipy))
    sizes = [1_000] if args.quick else [2_000, 8_000]
    print(
        f"{'n':>6s} {'ours s':>9s} {'scipy s':>9s} {'time ratio':>10s} "
        f"{'ours MiB':>9s} {'scipy MiB':>9s} {'mem ratio':>9s}"
    )
    for n in sizes:
        X, y = make_data(n)
        a, b = ours(X, y), peer(X, y)
        assert abs(a() - b()) <= 1e-9 * abs(b()), "the two implementations disagree"
        t_ours, t_peer = best_time_s(a, args.repeats), best_time_s(b, args.repeats)
        m_ours = peak_memory_in_child(__file__, "ours", n)
        m_peer = peak_memory_in_child(__file__, "peer", n)
        print(
            f"{n:6d} {t_ours:9.4f} {t_peer:9.4f} {t_ours / t_peer:10.2f} {m_ours:9.1f} {m_peer:9.1f} "
            f"{m_ours / max(m_peer, 1e-9):9.2f}"
        )
    print(f"torch threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()

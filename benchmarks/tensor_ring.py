"""Benchmark: TR-ALS (paperlab.solvers.tr_als) against TensorLy's tensor_ring_als on identical inputs.

Both start from the same cores (TensorLy's random start, captured through its callback) and run the
same number of sweeps with tol=0, so they do the same work; TensorLy runs on its numpy backend (least
squares by ``lstsq``, its default) and on its pytorch backend. Times are the best of ``--repeats``; peak
memory is measured in a fresh child process per run. The final relative errors are printed as a check
that both computed the same thing. Also timed: paperlab's fully connected network ALS (tn_als) on the
same ring, the generic fit the greedy structure search uses.

    python benchmarks/tensor_ring.py            # 32^4 tensor, ranks 6, 20 sweeps; 12^6, ranks 4
    python benchmarks/tensor_ring.py --quick    # 10^4, ranks 3, 5 sweeps: a few seconds
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import tensorly as tl
import torch
from tensorly.decomposition import tensor_ring_als

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.solvers import random_tr_cores, ring_edge_ranks, tn_als, tr_als, tr_to_tensor


def problem(size: int, order: int, rank: int):
    """A planted ring plus 1% noise, and TensorLy's random starting cores for it (numpy, float64)."""
    cores = random_tr_cores((size,) * order, (rank,) * order, seed=0)
    tensor = tr_to_tensor(cores)
    tensor = tensor + 0.01 * tensor.norm() / tensor.numel() ** 0.5 * torch.randn(
        tensor.shape, dtype=tensor.dtype
    )
    starts = []
    tl.set_backend("numpy")
    tensor_ring_als(
        tensor.numpy(),
        rank,
        n_iter_max=1,
        tol=0.0,
        random_state=0,
        callback=lambda d, e: starts.append([np.array(c) for c in d]) or True,
    )
    return tensor, [torch.from_numpy(c) for c in starts[0]]


def runners(size: int, order: int, rank: int, sweeps: int):
    tensor, init = problem(size, order, rank)
    ranks = (rank,) * order

    def ours():
        return tr_als(tensor, ranks, init=init, n_iter_max=sweeps, tol=0.0).rse

    def tensorly_numpy():
        tl.set_backend("numpy")
        out = tensor_ring_als(tensor.numpy(), rank, n_iter_max=sweeps, tol=0.0, random_state=0)
        return float(np.linalg.norm(tl.tr_to_tensor(out) - tensor.numpy()) / np.linalg.norm(tensor.numpy()))

    def tensorly_torch():
        tl.set_backend("pytorch")
        out = tensor_ring_als(tensor, rank, n_iter_max=sweeps, tol=0.0, random_state=0)
        result = float(torch.linalg.vector_norm(tl.tr_to_tensor(out) - tensor) / tensor.norm())
        tl.set_backend("numpy")
        return result

    def network():
        embedded = [c.permute(1, 0, 2) for c in init]  # (I, r_k, r_{k+1})
        cores = []
        for k, core in enumerate(
            embedded
        ):  # the fully connected layout: physical axis k, ring edges k-1, k+1
            left, right = (k - 1) % order, (k + 1) % order
            labels = {k: 0, left: 1, right: 2}
            shape = [core.shape[labels[j]] if j in labels else 1 for j in range(order)]
            cores.append(core.permute([labels[j] for j in sorted(labels)]).reshape(shape))
        return tn_als(tensor, ring_edge_ranks(ranks), init=cores, n_iter_max=sweeps, tol=0.0).rse

    return {
        "paperlab tr_als": ours,
        "tensorly numpy": tensorly_numpy,
        "tensorly pytorch": tensorly_torch,
        "paperlab tn_als": network,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("rest", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        size, order, rank, sweeps, name = args.rest
        fn = runners(int(size), int(order), int(rank), int(sweeps))[name]
        print(peak_memory_mib(fn))
        return
    print(header(tl, np))
    configs = [(10, 4, 3, 5)] if args.quick else [(32, 4, 6, 20), (12, 6, 4, 10)]
    for size, order, rank, sweeps in configs:
        print(f"\n{size}^{order} tensor, TR ranks {rank}, {sweeps} sweeps from the same start (float64)")
        fns = runners(size, order, rank, sweeps)
        rows = {}
        for name, fn in fns.items():
            seconds = best_time_s(fn, args.repeats)
            memory = peak_memory_in_child(
                __file__, "--threads", args.threads, size, order, rank, sweeps, name
            )
            rows[name] = (seconds, memory, fn())
        base_t, base_m, _ = rows["paperlab tr_als"]
        print(
            f"{'implementation':<18} {'time s':>9} {'peak MiB':>9} {'final RSE':>10} {'time/ours':>9} {'mem/ours':>9}"
        )
        for name, (seconds, memory, rse) in rows.items():
            ratio_t, ratio_m = seconds / base_t, memory / max(base_m, 1e-9)
            print(f"{name:<18} {seconds:9.4f} {memory:9.1f} {rse:10.3e} {ratio_t:9.2f} {ratio_m:9.2f}")


if __name__ == "__main__":
    sys.exit(main())

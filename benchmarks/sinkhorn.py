"""Benchmark paperlab's Sinkhorn solvers against POT on the same tensors (GeomLoss: benchmarks/sinkhorn_geomloss.py).

    python benchmarks/sinkhorn.py [--quick]

1. Dense log-domain Sinkhorn, 200 fixed iterations: paperlab.solvers.sinkhorn vs POT's
   ot.sinkhorn(method="sinkhorn_log") on the same torch tensors (time ratio, largest plan difference).
2. Memory: paperlab.solvers.sinkhorn_samples (chunked costs) vs POT's dense log-domain Sinkhorn on
   point clouds, same fixed iterations (chunks of about 1M costs); peak memory is the peak resident
   set size (VmHWM, reset just before solving) of a fresh subprocess minus its resident size just
   before solving (inputs and imports excluded).
3. Sinkhorn-Newton-Sparse vs plain Sinkhorn: iterations and time (best of 3 runs, wall and CPU) to
   marginal error 1e-8, same inputs and stopping criterion for both (``--sns`` runs only this part).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings

import ot
import torch

from paperlab.distances import cost_matrix
from paperlab.solvers import sinkhorn, sinkhorn_newton_sparse, sinkhorn_samples


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    """Peak resident set size (VmHWM) of this process in MiB; unlike ru_maxrss it is not inherited."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def reset_peak_rss() -> None:
    """Reset VmHWM to the current resident size (Linux >= 4.0), so the peak counts only what follows."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def clouds(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g, dtype=torch.float64), torch.rand(
        n, d, generator=g, dtype=torch.float64
    )


def timed(fn, repeats=1, clock=time.perf_counter):
    """Result of ``fn()`` and its best time over ``repeats`` runs (the machine may be shared)."""
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        out = fn()
        best = min(best, clock() - start)
    return out, best


def dense_speed(sizes, dims, reg_fractions, n_iter=200):
    print(
        f"\n## 1. Dense log-domain Sinkhorn, {n_iter} fixed iterations, float64, best of 3 runs (1 at n=5000)"
    )
    print(f"{'n=m':>6} {'d':>4} {'reg/max M':>10} {'ours s':>9} {'POT s':>9} {'POT/ours':>9} {'max|dP|':>9}")
    for n in sizes:
        for d in dims:
            X, Y = clouds(n, d)
            M = cost_matrix(X, Y)
            a = torch.full((n,), 1 / n, dtype=M.dtype)
            for fraction in reg_fractions:
                reg = fraction * M.max().item()
                repeats = 3 if n <= 2000 else 1
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ours, t_ours = timed(
                        lambda a=a, M=M, reg=reg: sinkhorn(a, a, M, reg, n_iter, tol=0), repeats
                    )
                    theirs, t_pot = timed(
                        lambda a=a, M=M, reg=reg: ot.sinkhorn(
                            a, a, M, reg, method="sinkhorn_log", numItermax=n_iter, stopThr=0
                        ),
                        repeats,
                    )
                diff = (ours.plan - theirs).abs().max().item()
                print(
                    f"{n:>6} {d:>4} {fraction:>10.0e} {t_ours:>9.3f} {t_pot:>9.3f} {t_pot / t_ours:>9.1f} {diff:>9.1e}"
                )


def memory_child(which, n, n_iter):
    """Run one solver in this (fresh) process and print its peak memory and value as JSON."""
    X, Y = clouds(n, 3, seed=1)
    reg = 0.05
    reset_peak_rss()
    before = rss_mib()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if which == "ours":
            chunk_size = max(1, 2**20 // n)  # about 1M costs (8 MiB in float64) per block
            value = sinkhorn_samples(X, Y, reg, max_iter=n_iter, tol=0, chunk_size=chunk_size).value.item()
        else:
            M = ot.dist(X, Y)
            a = torch.full((n,), 1 / n, dtype=X.dtype)
            plan = ot.sinkhorn(a, a, M, reg, method="sinkhorn_log", numItermax=n_iter, stopThr=0)
            value = (plan * M).sum().item()
    peak = peak_rss_mib()
    print(json.dumps({"peak_mib": peak - before, "value": value}))


def memory(n, n_iter):
    print(
        f"\n## 2. Memory: sinkhorn_samples vs POT dense sinkhorn_log, n=m={n}, d=3, {n_iter} fixed iterations"
    )
    print("peak = VmHWM of a fresh subprocess (reset before solving) minus its RSS just before solving")
    results = {}
    for which in ("ours", "pot"):
        command = [sys.executable, __file__, "--memory-child", which, str(n), str(n_iter)]
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results[which] = json.loads(out.strip().splitlines()[-1]) | {"seconds": time.perf_counter() - started}
    ours, pot = results["ours"], results["pot"]
    relative = abs(ours["value"] - pot["value"]) / abs(pot["value"])
    print(f"ours: {ours['peak_mib']:.1f} MiB in {ours['seconds']:.1f} s (subprocess, imports included)")
    print(f"POT:  {pot['peak_mib']:.1f} MiB in {pot['seconds']:.1f} s (subprocess, imports included)")
    ratio = ours["peak_mib"] / pot["peak_mib"]
    print(f"memory ours/POT = {ratio:.3f} (target <= 0.10); cost relative difference {relative:.1e}")


def newton_vs_sinkhorn(n, regs, tol=1e-8, repeats=3):
    print(
        f"\n## 3. Sinkhorn-Newton-Sparse vs Sinkhorn to marginal error {tol:g}, n=m={n}, 2-D uniform clouds"
    )
    print(f"reg is absolute (the squared-distance costs lie in [0, 2]); best of {repeats} runs")
    header = ("reg", "Sinkhorn it", "wall s", "cpu s", "SNS it", "wall s", "cpu s", "it ratio", "wall ratio")
    print(" ".join(f"{h:>11}" for h in header) + f" {'cpu ratio':>11} {'|d cost|':>11}")
    X, Y = clouds(n, 2, seed=2)
    M = cost_matrix(X, Y)
    for reg in regs:

        def plain_run(reg=reg):
            return sinkhorn(None, None, M, reg, max_iter=100_000, tol=tol)

        def newton_run(reg=reg):
            return sinkhorn_newton_sparse(None, None, M, reg, tol=tol, max_iter=1000)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            plain, t_plain = timed(plain_run, repeats)
            newton, t_newton = timed(newton_run, repeats)
            _, c_plain = timed(plain_run, repeats, time.process_time)
            _, c_newton = timed(newton_run, repeats, time.process_time)
        gap = abs(plain.value.item() - newton.value.item())
        converged = "" if plain.converged and newton.converged else "  (not converged)"
        print(
            f"{reg:>11.0e} {plain.n_iter:>11} {t_plain:>11.3f} {c_plain:>11.3f} {newton.n_iter:>11} "
            f"{t_newton:>11.3f} {c_newton:>11.3f} {plain.n_iter / newton.n_iter:>11.1f} "
            f"{t_plain / t_newton:>11.2f} {c_plain / c_newton:>11.2f} {gap:>11.1e}{converged}"
        )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, runs in seconds")
    parser.add_argument("--memory-n", type=int, default=None, help="points per cloud in the memory test")
    parser.add_argument("--sns", action="store_true", help="only part 3 (Sinkhorn-Newton-Sparse)")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        which, n, n_iter = args.memory_child
        memory_child(which, int(n), int(n_iter))
        return
    print(
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs, {platform.system()}"
    )
    print(f"python {platform.python_version()}, torch {torch.__version__}, POT {ot.__version__}")
    print(f"torch threads: {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")
    if args.sns:
        newton_vs_sinkhorn(300 if args.quick else 1000, [1e-2, 5e-3, 2e-3, 1e-3])
    elif args.quick:
        dense_speed([200, 500], [2, 64], [1e-2, 1e-3], n_iter=50)
        memory(args.memory_n or 2000, 10)
        newton_vs_sinkhorn(300, [2e-3])
    else:
        dense_speed([500, 2000], [2, 64], [1e-2, 1e-3])
        dense_speed([5000], [2, 64], [1e-2])
        # the n=20,000 needs about 12 GB for POT's dense solver: pass --memory-n 20000 where it fits
        memory(args.memory_n or 10_000, 10)
        newton_vs_sinkhorn(1000, [1e-2, 5e-3, 2e-3, 1e-3])


if __name__ == "__main__":
    main()

"""CP-ALS and Tucker-HOOI: paperlab against TensorLy (numpy and pytorch backends) on identical inputs.

    python benchmarks/tensor_decomposition.py [--quick] [--threads N] [--device cpu|cuda]

CP: 100^3 and 200^3 tensors (planted rank R plus 10% noise), R in {10, 50}, 100 sweeps from the same
random initial factors, tol=0 so every implementation runs exactly the same number of sweeps. Tucker:
100^3, ranks 10 and 30, 100 sweeps from the HOSVD initialization. TensorLy is asked for its error
history (``return_errors=True``), as paperlab always records it; both compute it from quantities the
sweep already has, so the work compared is the same. Each run happens in a fresh process so that its
peak memory (resident set for the CPU, allocator peak for CUDA) is its own; the tensor is loaded from
disk before the measurement starts, so the peak counts the working memory above the input.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path


def set_threads(threads: int) -> None:
    """Pin every threading layer (torch, OpenMP, the BLAS behind numpy) to the same count."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)


class ResidentPeak:
    """Peak resident memory of this process while the block runs, sampled every millisecond (Linux)."""

    def __enter__(self):
        self.start = self.peak = self.resident_mb()
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.resident_mb())

    @staticmethod
    def resident_mb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20

    def _poll(self):
        while self.running:
            self.peak = max(self.peak, self.resident_mb())
            time.sleep(0.001)


def run_one(task: dict) -> dict:
    """Run one implementation on one problem inside a fresh process; return time, memory and error."""
    set_threads(task["threads"])
    import numpy as np
    import tensorly as tl
    import torch
    from tensorly.decomposition import parafac, tucker

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))
    from paperlab.solvers import cp_als, tucker_hooi

    device, impl, kind = task["device"], task["impl"], task["kind"]
    tensor_np = np.load(task["tensor_path"])
    init_np = [np.load(p) for p in task.get("init_paths", [])]
    if impl == "tensorly-numpy":
        tl.set_backend("numpy")
        tensor, init = tensor_np, init_np
    else:
        tensor = torch.from_numpy(tensor_np).to(device)
        init = [torch.from_numpy(f).to(device) for f in init_np]
        if impl == "tensorly-pytorch":
            tl.set_backend("pytorch")

    def decompose(x, factors, n_iter):
        if kind == "cp" and impl == "paperlab":
            return cp_als(x, task["rank"], n_iter_max=n_iter, tol=0, init=factors).errors
        if kind == "cp":
            weights = tl.ones(task["rank"], **tl.context(x))
            start = tl.cp_tensor.CPTensor((weights, [tl.copy(f) for f in factors]))
            return parafac(x, task["rank"], n_iter_max=n_iter, init=start, tol=0, return_errors=True)[1]
        if impl == "paperlab":
            return tucker_hooi(x, task["rank"], n_iter_max=n_iter, tol=0, init="svd").errors
        return tucker(
            x, rank=[task["rank"]] * x.ndim, n_iter_max=n_iter, tol=0, init="svd", return_errors=True
        )[1]

    def synchronize():
        if device == "cuda":
            torch.cuda.synchronize()

    small = min(task["rank"] + 2, tensor.shape[0])
    warm_up = (
        tensor[:small, :small, :small].copy()
        if impl == "tensorly-numpy"
        else tensor[:small, :small, :small].contiguous()
    )
    decompose(warm_up, [f[:small] for f in init], 2)  # library loading, kernels
    synchronize()
    times, cpu_times, extras = [], [], []
    for _ in range(task["repeats"]):  # the fastest repeat: the machine may be shared
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
            baseline = torch.cuda.memory_allocated() / 2**20
        with ResidentPeak() as resident:
            start, cpu_start = time.perf_counter(), time.process_time()
            errors = decompose(tensor, init, task["n_iter"])
            synchronize()
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
        if device == "cuda":
            extras.append(torch.cuda.max_memory_allocated() / 2**20 - baseline)
        else:
            extras.append(resident.peak - resident.start)
    return {
        "seconds": min(times),
        "cpu_seconds": min(cpu_times),
        "peak_mb": max(max(extras), 0.0),
        "error": float(errors[-1]),
        "n": len(errors),
    }


def blas_calibration(size: int, rank: int) -> str:
    """Time the matrix product that dominates an MTTKRP in torch's BLAS and in numpy's BLAS.

    TensorLy's numpy backend and paperlab call different BLAS libraries (numpy's and torch's), so
    per-flop speed differs by machine; this line shows how much of a ratio is the library, not the method.
    """
    import numpy as np
    import torch

    def best(product, repeats=5):
        product()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            product()
            times.append(time.perf_counter() - start)
        return min(times)

    left = np.random.default_rng(0).standard_normal((size * size, size))
    right = np.random.default_rng(1).standard_normal((size, rank))
    numpy_time = best(lambda: left @ right)
    left_t, right_t = torch.from_numpy(left), torch.from_numpy(right)
    torch_time = best(lambda: left_t @ right_t)
    ratio = numpy_time / torch_time
    times = f"torch {torch_time * 1e3:.1f} ms, numpy {numpy_time * 1e3:.1f} ms"
    return f"I={size}, R={rank}: {times} (numpy/torch {ratio:.2f})"


def make_problem(kind: str, size: int, rank: int, folder: Path, seed: int = 0) -> dict:
    """Planted low-rank tensor plus 10% Gaussian noise, and uniform [0, 1) initial CP factors, saved as .npy."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if kind == "cp":
        factors = [rng.standard_normal((size, rank)) for _ in range(3)]
        tensor = np.einsum("ir,jr,kr->ijk", *factors, optimize=True)
    else:
        core = rng.standard_normal((rank,) * 3)
        factors = [np.linalg.qr(rng.standard_normal((size, rank)))[0] for _ in range(3)]
        tensor = np.einsum("abc,ia,jb,kc->ijk", core, *factors, optimize=True)
    tensor += 0.1 * tensor.std() * rng.standard_normal(tensor.shape)
    paths = {"tensor_path": str(folder / f"{kind}_{size}_{rank}.npy")}
    np.save(paths["tensor_path"], tensor)
    if kind == "cp":
        paths["init_paths"] = []
        for mode in range(3):
            path = folder / f"{kind}_{size}_{rank}_init{mode}.npy"
            np.save(path, rng.random((size, rank)))
            paths["init_paths"].append(str(path))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run of a few seconds")
    parser.add_argument("--threads", type=int, default=1, help="threads for torch, OpenMP and BLAS alike")
    parser.add_argument("--repeats", type=int, default=1, help="runs per measurement; the fastest is kept")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device of the torch runs")
    args = parser.parse_args()
    set_threads(args.threads)
    import numpy as np
    import tensorly
    import threadpoolctl
    import torch

    if args.quick:
        cp_problems = [(30, 5), (40, 10)]
        tucker_problems = [(30, 3), (30, 8)]
        n_iter = 20
    else:
        cp_problems = [(100, 10), (100, 50), (200, 10), (200, 50)]
        tucker_problems = [(100, 10), (100, 30)]
        n_iter = 100
    impls = ["paperlab", "tensorly-pytorch"] + (["tensorly-numpy"] if args.device == "cpu" else [])

    blas = [(i["internal_api"], i["num_threads"]) for i in threadpoolctl.threadpool_info()]
    print(f"machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}")
    if args.device == "cuda":
        print(f"gpu: {torch.cuda.get_device_name()}")
    print(f"versions: torch {torch.__version__}, numpy {np.__version__}, tensorly {tensorly.__version__}")
    print(f"threads: torch {torch.get_num_threads()}, BLAS/OpenMP pools {blas}")
    print(
        f"device: {args.device}, dtype float64, {n_iter} sweeps, tol=0, identical inputs and initial factors"
    )
    print("ratios are TensorLy / paperlab (time > 1: paperlab faster; memory > 1: paperlab uses less)")
    print(
        "cpu s is the process CPU time: on a shared machine it is less inflated by contention than wall time\n"
    )

    for rank in (10, 50) if not args.quick else (10,):
        calibration = blas_calibration(200 if not args.quick else 40, rank)
        print(f"calibration, one float64 product (I^2 x I) @ (I x R): {calibration}")
    print()

    columns = [("problem", "<22"), ("implementation", "<18"), ("time s", ">9"), ("ratio", ">8")]
    columns += [("cpu s", ">9"), ("ratio", ">8")]
    columns += [("peak MB", ">10"), ("ratio", ">8"), ("final error", ">14"), ("|d err|", ">10")]
    header = "".join(f"{name:{spec}}" for name, spec in columns)
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        for kind, problems in (("cp", cp_problems), ("tucker", tucker_problems)):
            print(header)
            for size, rank in problems:
                paths = make_problem(kind, size, rank, Path(folder))
                results = {}
                for impl in impls:
                    task = {
                        "kind": kind,
                        "impl": impl,
                        "rank": rank,
                        "n_iter": n_iter,
                        "threads": args.threads,
                        "repeats": args.repeats,
                        "device": args.device,
                        **paths,
                    }
                    with context.Pool(1) as pool:
                        results[impl] = pool.apply(run_one, (task,))
                ours = results["paperlab"]
                name = f"{kind} {size}^3 rank {rank}"
                for impl, r in results.items():
                    time_ratio = r["seconds"] / ours["seconds"]
                    cpu_ratio = r["cpu_seconds"] / ours["cpu_seconds"]
                    memory_ratio = r["peak_mb"] / ours["peak_mb"] if ours["peak_mb"] > 0 else float("nan")
                    difference = abs(r["error"] - ours["error"])
                    print(
                        f"{name:<22}{impl:<18}{r['seconds']:>9.3f}{time_ratio:>8.2f}"
                        f"{r['cpu_seconds']:>9.3f}{cpu_ratio:>8.2f}{r['peak_mb']:>10.1f}"
                        f"{memory_ratio:>8.2f}{r['error']:>14.8f}{difference:>10.1e}"
                    )
                    assert r["n"] == n_iter, f"{impl} ran {r['n']} sweeps instead of {n_iter}"
            print()


if __name__ == "__main__":
    main()

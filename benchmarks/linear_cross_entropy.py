"""Benchmark: chunked linear cross-entropy against the dense ``F.cross_entropy(e @ c.T, t)``.

Each variant runs forward + backward in its own subprocess. Peak memory is the rise of the process's
peak resident set size (``resource.getrusage(...).ru_maxrss``) over its value once the inputs exist,
so it counts every allocation torch makes on the CPU, gradients included (both variants allocate the
same ``e.grad`` and ``c.grad``). Time is the best of ``--repeats`` runs after that first one.

    python benchmarks/linear_cross_entropy.py            # N=4096, D=512, V=131072, float32
    python benchmarks/linear_cross_entropy.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

from _measure import peak_rss_bytes
from paperlab.losses.linear_cross_entropy import linear_cross_entropy


def run_worker(args) -> None:
    """Build the inputs, measure one forward + backward's peak memory, then time the repeats."""
    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    # Built in place, so that no freed temporary is left for the loss to reuse below the baseline.
    e = torch.randn(args.n, args.d, generator=generator).requires_grad_()
    c = torch.randn(args.v, args.d, generator=generator).div_(args.d**0.5).requires_grad_()
    targets = torch.randint(0, args.v, (args.n,), generator=generator)
    chunk_size = None if args.chunk_size == 0 else args.chunk_size

    def step():
        e.grad, c.grad = None, None
        if args.variant == "dense":
            loss = F.cross_entropy(e @ c.T, targets)
        else:
            loss = linear_cross_entropy(e, c, targets, chunk_size=chunk_size)
        loss.backward()
        return loss.item()

    baseline = peak_rss_bytes()
    loss = step()
    peak = peak_rss_bytes() - baseline
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    record = {
        "loss": loss,
        "grad_e_norm": e.grad.norm().item(),
        "grad_c_norm": c.grad.norm().item(),
        "peak_bytes": peak,
        "seconds": min(times),
    }
    print(json.dumps(record))


def run_variant(args, variant: str, chunk_size: int) -> dict:
    command = [
        sys.executable, __file__, "--worker", "--variant", variant, "--chunk-size", str(chunk_size),
        "--n", str(args.n), "--d", str(args.d), "--v", str(args.v),
        "--threads", str(args.threads), "--repeats", str(args.repeats),
    ]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--n", type=int, default=None, help="tokens (default 4096, quick 512)")
    parser.add_argument("--d", type=int, default=None, help="embedding size (default 512, quick 64)")
    parser.add_argument("--v", type=int, default=None, help="vocabulary size (default 131072, quick 8192)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per variant")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed runs per variant (default 2, quick 3)"
    )
    parser.add_argument(
        "--chunk-sizes", type=int, nargs="+", default=[0], help="chunk sizes to try; 0 means the default"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="dense", help=argparse.SUPPRESS)
    parser.add_argument("--chunk-size", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.n = args.n or (512 if args.quick else 4096)
    args.d = args.d or (64 if args.quick else 512)
    args.v = args.v or (8192 if args.quick else 131072)
    args.repeats = args.repeats or (3 if args.quick else 2)
    if args.worker:
        run_worker(args)
        return

    print(
        f"machine: {platform.machine()} {platform.processor() or ''} | {os.cpu_count()} cores | {platform.system()}"
    )
    print(
        f"python {platform.python_version()} | torch {torch.__version__} | torch threads per variant: {args.threads}"
    )
    print(
        f"N={args.n} D={args.d} V={args.v} float32, forward+backward of the mean loss, best of {args.repeats}"
    )
    print("peak memory: rise of ru_maxrss (peak RSS) over the inputs, one subprocess per variant")
    try:
        import cut_cross_entropy  # noqa: F401

        print("cut_cross_entropy is installed, but its kernels need a CUDA GPU (Triton): not run here")
    except ImportError:
        print("Cut Cross-Entropy (package cut_cross_entropy) is not installed: peer comparison skipped")

    dense = run_variant(args, "dense", 0)
    print(
        f"\n{'variant':<22}{'time s':>9}{'peak MiB':>11}{'time ratio':>12}{'memory ratio':>14}{'|loss diff|':>13}"
    )
    print(f"{'dense F.cross_entropy':<22}{dense['seconds']:>9.3f}{dense['peak_bytes'] / 2**20:>11.1f}")
    for chunk_size in args.chunk_sizes:
        ours = run_variant(args, "chunked", chunk_size)
        name = f"chunked ({'default' if chunk_size == 0 else chunk_size})"
        print(
            f"{name:<22}{ours['seconds']:>9.3f}{ours['peak_bytes'] / 2**20:>11.1f}"
            f"{ours['seconds'] / dense['seconds']:>12.2f}{ours['peak_bytes'] / dense['peak_bytes']:>14.3f}"
            f"{abs(ours['loss'] - dense['loss']):>13.2e}"
        )
        for key in ("grad_e_norm", "grad_c_norm"):
            relative = abs(ours[key] - dense[key]) / dense[key]
            if relative > 1e-4:
                print(f"  warning: {key} differs from dense by a relative {relative:.2e}")
    gradients = 4 * (args.n + args.v) * args.d / 2**20
    print(
        f"\nboth peaks include the gradients e.grad and c.grad ({gradients:.1f} MiB), which any method returns"
    )
    print("targets at the full size: time ratio <= 1.3, memory ratio <= 0.10")


if __name__ == "__main__":
    main()

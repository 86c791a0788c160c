"""Shared measuring tools for the benchmarks: wall time, peak resident memory, machine header.

Peak memory is the rise of the process's resident-set high-water mark (VmHWM) over its resident size
before the call, after resetting the mark through /proc/self/clear_refs (Linux). It sees every
allocation, numpy's and torch's alike, which tracemalloc does not. Elsewhere it reports NaN. Memory that
an earlier call freed stays resident and would hide a later call's peak, so each measurement runs in a
fresh child process (:func:`peak_memory_in_child`).
"""

from __future__ import annotations

import gc
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

STATUS = Path("/proc/self/status")


def status_kib(field: str) -> int:
    """A memory field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak_rss() -> int:
    """Reset the resident-set high-water mark (VmHWM) to the current resident size; return that size in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return status_kib("VmRSS")


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def peak_memory_mib(fn) -> float:
    """Peak resident memory (MiB) that ``fn()`` adds above the process's current resident size."""
    if not STATUS.exists():
        return float("nan")
    gc.collect()
    try:
        before = reset_peak_rss()
    except OSError:
        return float("nan")
    fn()
    return max(status_kib("VmHWM") - before, 0) / 1024


def peak_memory_in_child(script: str, *args) -> float:
    """Run ``python script --child *args`` and read the peak MiB it prints on its last line."""
    out = subprocess.run([sys.executable, script, "--child", *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"memory child {args} failed:\n{out.stderr[-2000:]}")
    return float(out.stdout.strip().splitlines()[-1])


def best_time_s(fn, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls of ``fn()`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def header(*modules) -> str:
    """Machine, Python, library versions and thread counts, printed at the top of every benchmark."""
    import torch

    lines = [
        f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}",
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), "
        + ", ".join(f"{m.__name__} {getattr(m, '__version__', '?')}" for m in modules),
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}",
    ]
    return "\n".join(lines)

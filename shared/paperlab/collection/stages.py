"""`make test`: run the test stages in order, print each one's duration, fail if any stage failed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from paperlab.collection.runner import ONE_THREAD

NO_TESTS_COLLECTED = 5  # pytest's exit code when nothing ran: a failure here, never a green run


def test_stages(jobs: str) -> list[tuple[str, list[str], dict]]:
    """The stages of `make test`, as (name, command, extra environment) run from the repository root."""
    python = sys.executable
    workers = str(os.cpu_count() or 1) if jobs == "auto" else jobs
    nbval = "--nbval-lax --sanitize-with tests/nbval_sanitize.cfg --dist loadscope".split()
    return [
        ("lint", [python, "-m", "ruff", "check", "."], {}),
        ("format", [python, "-m", "ruff", "format", "--check", "."], {}),
        ("unit tests", [python, "-m", "pytest", "tests", "-q", "-n", jobs, "-p", "no:cacheprovider"], {}),
        (
            "nbval",
            [python, "-m", "pytest", "papers", *nbval, "-q", "-n", jobs, "-p", "no:cacheprovider"],
            ONE_THREAD,
        ),
        (
            "collection seed=1",
            [python, "-m", "paperlab.collection", "run", "--seed", "1", "--jobs", workers],
            {},
        ),
    ]


def run_stages(stages: list[tuple[str, list[str], dict]]) -> int:
    """Run each stage, print its duration, and return 0 only when every stage passed."""
    timings, failed = [], None
    for name, command, extra_env in stages:
        print(f"\n=== stage: {name} ===\n$ {' '.join(command)}", flush=True)
        started = time.perf_counter()
        code = subprocess.call(command, env={**os.environ, "PYTHONUNBUFFERED": "1", **extra_env})
        timings.append((name, time.perf_counter() - started, code))
        print(f"=== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {timings[-1][1]:.1f} s ===")
        if code == NO_TESTS_COLLECTED:
            print(f"=== {name}: no tests were collected, which counts as a failure ===")
        if code != 0:
            failed = name
    print("\nstage durations:")
    for name, seconds, code in timings:
        print(f"  {name:<20} {seconds:7.1f} s  {'ok' if code == 0 else 'FAILED'}")
    passed = sum(code == 0 for _, _, code in timings)
    print(f"stages: {passed} passed, {len(stages) - passed} failed")
    return 0 if failed is None else 1

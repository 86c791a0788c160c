"""Seeding, device choice, profiles and claim checking for every notebook.

A notebook starts with ``exp = setup(seed=seed, device=device, profile=profile)`` and ends with
``exp.report()``, which prints the checked claims and fails the notebook when one does not hold.
"""

from __future__ import annotations

import json
import math
import os
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

PROFILES = ("ci", "paper")


def require(condition: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``condition`` holds (for notebook parameters)."""
    if not condition:
        raise ValueError(message)


def resolve_device(device: str | torch.device) -> torch.device:
    """Turn ``"auto"`` into cuda when available, else cpu; reject devices this machine lacks."""
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was asked for but CUDA is not available; use 'auto' or 'cpu'")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'mps', got {device!r}")
    return resolved


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def round_sig(value: float, digits: int = 3) -> float:
    """Round ``value`` to ``digits`` significant digits (0, inf and NaN are returned as they are)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        if value.numel() != 1:
            raise ValueError(f"a claim's value must be a scalar, got a tensor of shape {tuple(value.shape)}")
        value = value.item()
    return float(value)


@dataclass
class Claim:
    """One measurable claim: its name, whether it held, the measured value and the expectation.

    A claim that is not ``required`` is one the paper makes but this scale does not support: it is
    measured and reported ("NOT REPRODUCED" when it fails) without failing the notebook.
    """

    name: str
    passed: bool
    value: float | None
    expect: str
    required: bool = True

    @property
    def result(self) -> str:
        if self.passed:
            return "PASS"
        return "FAIL" if self.required else "NOT REPRODUCED"


@dataclass
class Experiment:
    """The handle a notebook works with: seed, device, profile, generators and the claim record."""

    seed: int
    device: torch.device
    profile: str
    slug: str
    generator: torch.Generator
    rng: np.random.Generator
    claims: list[Claim] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def pick(self, *, ci, paper):
        """Return the value for the current profile: ``n = exp.pick(ci=500, paper=20_000)``."""
        return ci if self.profile == "ci" else paper

    def check(self, name: str, condition, value=None, expect: str = "", required: bool = True) -> None:
        """Record a claim; ``condition`` says whether it held, ``value`` is the measured number.

        ``required=False`` marks a claim of the paper that this run measures but does not reproduce
        reliably at its scale: the notebook must say why. It is reported, and never fails the run.
        """
        if isinstance(condition, torch.Tensor):
            condition = condition.item()
        if not isinstance(name, str) or not name:
            raise ValueError(f"a claim needs a non-empty name, got {name!r}")
        self.claims.append(Claim(name, bool(condition), _as_float(value), expect, bool(required)))

    def check_below(self, name: str, value, bound: float, required: bool = True) -> None:
        """Record the claim ``value < bound`` (the expectation is written from ``bound``)."""
        self.check(name, value < bound, value=value, expect=f"< {bound:g}", required=required)

    def check_above(self, name: str, value, bound: float, required: bool = True) -> None:
        """Record the claim ``value > bound`` (the expectation is written from ``bound``)."""
        self.check(name, value > bound, value=value, expect=f"> {bound:g}", required=required)

    def table(self) -> str:
        """The claims as a fixed-width text table, values rounded to 3 significant digits."""
        rows = [("claim", "value", "expect", "result")]
        for c in self.claims:
            shown = "" if c.value is None else f"{round_sig(c.value):.3g}"
            rows.append((c.name, shown, c.expect, c.result))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def record(self) -> dict:
        """Everything the collection report needs about this run."""
        return {
            "slug": self.slug,
            "claims": [{**c.__dict__, "result": c.result} for c in self.claims],
            "passed": all(c.passed or not c.required for c in self.claims),
            "seed": self.seed,
            "profile": self.profile,
            "device": str(self.device),
            "torch": torch.__version__,
            "python": platform.python_version(),
            "wall_time_s": round(time.perf_counter() - self.started, 2),
        }

    def report(self) -> None:
        """Print the claims table, write the JSON record, and fail if any claim failed."""
        if not self.claims:
            raise AssertionError("no claim was checked: call exp.check(...) before exp.report()")
        print(self.table())
        folder = os.environ.get("PAPERLAB_RESULTS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"{self.slug}.json").write_text(json.dumps(self.record(), indent=2))
        failed = [c.name for c in self.claims if c.result == "FAIL"]
        if failed:
            raise AssertionError(f"claims that did not hold: {', '.join(failed)}")


def setup(seed: int = 0, device: str = "auto", profile: str = "ci", slug: str | None = None) -> Experiment:
    """Seed everything, pick the device, apply the plotting style and return the experiment handle.

    ``profile="ci"`` pins torch to one thread so that checked numbers do not depend on the machine's
    core count; ``"paper"`` leaves torch its threads. ``slug`` names the JSON record and defaults to
    the ``PAPERLAB_SLUG`` environment variable that the collection runner sets.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    resolved = resolve_device(device)
    if profile == "ci":
        torch.set_num_threads(1)
    if resolved.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(seed)
    from paperlab.plotting import apply_style

    apply_style()
    return Experiment(
        seed=seed,
        device=resolved,
        profile=profile,
        slug=slug or os.environ.get("PAPERLAB_SLUG", "notebook"),
        generator=torch.Generator().manual_seed(seed),
        rng=np.random.default_rng(seed),
    )

"""Randomness helpers: every random draw in paperlab goes through an explicit generator."""

from __future__ import annotations

import torch


def as_generator(seed) -> torch.Generator:
    """A CPU ``torch.Generator`` from an int seed, an existing generator, or None.

    None means torch's global CPU generator, which ``experiment.setup`` seeds, so that unseeded calls in
    a notebook are reproducible too. Draw on the CPU and move the result to the target device, so that
    one seed gives the same numbers on every device.
    """
    if isinstance(seed, torch.Generator):
        return seed
    if seed is None:
        return torch.default_generator
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be None, a non-negative int or a torch.Generator, got {seed!r}")
    return torch.Generator().manual_seed(seed)

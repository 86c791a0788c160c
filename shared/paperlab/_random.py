"""Randomness helpers: every random draw in paperlab goes through an explicit generator."""

from __future__ import annotations

import torch


def as_generator(seed) -> torch.Generator:
    """A CPU ``torch.Generator`` from an int seed, an existing generator, or None (fresh entropy).

    Draw on the CPU and move the result to the target device, so that one seed gives the same
    numbers on every device.
    """
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    elif isinstance(seed, int) and not isinstance(seed, bool):
        generator.manual_seed(seed)
    else:
        raise TypeError(f"seed must be None, an int or a torch.Generator, got {seed!r}")
    return generator

"""Test-wide settings: hypothesis draws the same examples on every run, so CI cannot flake on a new draw."""

from hypothesis import settings

settings.register_profile("paperlab", derandomize=True, deadline=None)
settings.load_profile("paperlab")

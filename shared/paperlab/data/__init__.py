"""Deterministic synthetic generators and loaders for bundled datasets."""

from .point_clouds import point_cloud, random_rigid_motion, random_rotation

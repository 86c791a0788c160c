"""Deterministic synthetic generators and loaders for bundled datasets."""

from .point_clouds import point_cloud, random_rigid_motion, random_rotation
from .augment import augment_digits
from .label_noise import DIGITS_CLASS_MAP, corrupt_labels
from .graphs import LabelledGraph, stochastic_block_model

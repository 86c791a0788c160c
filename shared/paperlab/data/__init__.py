"""Deterministic synthetic generators and loaders for bundled datasets."""

from .point_clouds import point_cloud, random_rigid_motion, random_rotation
from .augment import augment_digits, view_pair_batches
from .digits import DigitSplit, digit_images
from .label_noise import DIGITS_CLASS_MAP, corrupt_labels
from .graphs import LabelledGraph, stochastic_block_model
from .arithmetic_language import (
    ArithmeticBatch,
    ArithmeticVocabulary,
    digit_equations,
    digits_to_numbers,
    number_prompts,
)
from .modular_arithmetic import ModularArithmetic, modular_arithmetic, one_hot_pairs
from .curvilinear import CurvilinearImages, curvilinear_images, ring_mask, segment_mask
from .synthetic_shapes import SHAPE_CLASSES, synthetic_shapes
from .implicit_feedback import ImplicitFeedback, TripleBatch, sample_triples, synthetic_implicit_feedback
from .cluttered_sets import ClutteredSets, cluttered_sets
from .synthetic_speakers import SpeakerUtterances, crop_and_noise, synthetic_speakers
from .multi_factor_pairs import FactorPairs, multi_factor_pairs
from .two_view_digits import TwoViewDigits, two_view_digits
from .knn_pairs import knn_neighbours, knn_pair_batch, knn_pairs
from .meshes import TriangleMesh, bumpy_sphere, icosphere, radial_bumps
from .mesh_geometry import SurfaceSample, face_areas, face_normals, mesh_edges, sample_surface, vertex_areas
from .fewshot_episodes import FewShotEpisodes, fewshot_episodes
from .toy_2d import LabelledSample, eight_gaussians, gaussian_mixture, two_moons
from .union_of_manifolds import ManifoldSample, union_of_manifolds
from .shape_clouds import ShapeClouds, shape_clouds
from .synthetic_spd import SPDDataset, synthetic_spd_classes
from .latent_manifold_images import LatentImages, latent_manifold_images
from .labelled_mixtures import LabelledMixturePair, labelled_gaussian_mixtures
from .synthetic_ctr import CTRData, synthetic_ctr
from .correspondence_shapes import (
    CorrespondenceShape,
    correspondence_shapes,
    ground_truth_map,
    sphere_hull_mesh,
)

"""Distances between distributions: the sliced Wasserstein family, 1-D optimal transport, costs."""

from .sliced import projected_wasserstein, random_projections, sliced_wasserstein
from .sliced_cv import sliced_wasserstein_cv
from .wasserstein_1d import wasserstein_1d
from .cost import cost_matrix
from .sinkhorn_divergence import sinkhorn_divergence
from .gaussian import bures_wasserstein, gaussian_kl, psd_sqrt
from .max_sliced import max_sliced_wasserstein
from .vmf import sample_vmf, vmf_sliced_wasserstein
from .structural_sparse import BilinearSimilarity, GSSFSimilarity, structural_sparse_similarity
from .poincare import mobius_add, poincare_cdist, poincare_distance, poincare_exp0, poincare_log0
from .mesh_measures import MeshMeasure, mesh_measure, mesh_sliced_wasserstein
from .gaussian_entropic_ot import GaussianEntropicOT, gaussian_entropic_ot
from .conditional_transport import Navigators, conditional_transport, ct_navigators
from .energy_distance import energy_distance
from .amortized_sliced import amortized_max_sliced_wasserstein, amortized_vmf_sliced_wasserstein, vmf_around
from .elastic_costs import (
    elastic_cost,
    elastic_cost_grad,
    elastic_cost_matrix,
    elastic_regularizer,
    prox_elastic,
)

"""Iterative solvers: Sinkhorn and variants, tensor decompositions, embeddings."""

from .sinkhorn import OTResult, sinkhorn
from .sinkhorn_samples import sinkhorn_samples
from .sinkhorn_newton_sparse import hessian_sparsification_error, sinkhorn_newton_sparse, sparsify_plan
from .tensor_algebra import (
    cp_to_tensor,
    fold,
    khatri_rao,
    mode_dot,
    multi_mode_dot,
    tt_to_tensor,
    tucker_to_tensor,
    unfold,
)
from .cp_als import CPResult, cp_als
from .tucker import TuckerResult, tucker_hooi
from .tensor_train import tt_svd
from .matrix_factorization import SVD, CURResult, cur, randomized_svd, truncated_svd
from .matrix_completion import CompletionResult, altmin_completion, altmin_multiply_adds
from .random_projection import (
    gaussian_random_matrix,
    gaussian_random_projection,
    jl_failure_bound,
    johnson_lindenstrauss_min_dim,
    sparse_random_matrix,
    sparse_random_projection,
)
from .fastrp import degrees, fastrp, fastrp_similarity, transition_matrix
from .random_walk_embedding import positive_pmi, random_walk_embedding, random_walks, window_cooccurrence
from .perp_grad import PerpGrad, project_out_weight_direction_
from .spherical_trick import SphericalGradient, SphericalOutputLayer, StepCost, step_cost
from .grassmann_rsgd import GrassmannRSGD, grassmann_exp, qr_retraction, tangent_projection
from .trained_rank_pruning import (
    LowRankProjection,
    TRPResult,
    add_nuclear_subgradient_,
    energy_rank,
    low_rank_projection,
    nuclear_norm_subgradient,
    train_trained_rank_pruning,
    trp_project_,
)
from .anncur import ANNCURIndex, ANNCURResult, anncur_index, anncur_search, topk_recall
from .tree_embedding import MDSResult, TreeEmbedding, classical_mds, combinatorial_tree_embedding, h_mds
from .rk4 import ODESolution, rk4
from .transductive_clustering import (
    KMeansResult,
    LaplacianKMeansResult,
    class_prototypes,
    knn_affinity,
    laplacian_kmeans_bound,
    nearest_prototype,
    seeded_kmeans,
)
from .magnitude_pruning import magnitude_mask, prune_linear_layers_, row_norm_mask
from .light_sb import GaussianMixturePlan, LightSB, brownian_bridge, light_sb_loss
from .tensor_ring import TRResult, random_tr_cores, tr_als, tr_parameter_count, tr_ranks, tr_to_tensor
from .tensor_network import (
    TNResult,
    grow_edge,
    random_tn_cores,
    ring_edge_ranks,
    tn_als,
    tn_parameter_count,
    tn_ranks,
    tn_to_tensor,
)
from .greedy_tn_structure import GreedyStep, GreedyTNResult, greedy_tn_structure
from .doubly_stochastic import DoublyStochasticResult, doubly_stochastic_projection
from .tsne_perplexity import perplexity_conditionals, symmetrize_conditionals, tsne_affinities
from .fft_interpolation import Repulsion, fft_interpolation_repulsion
from .tsne_forces import TSNEGradient, attractive_forces, exact_repulsion, tsne_gradient, tsne_kl_divergence
from .tsne_optimizer import TSNESchedule, tsne_descent
from .tsne_embedding import TSNEResult, tsne
from .tn_structure_search import (
    StructureEvaluation,
    StructureSearchResult,
    TRStructure,
    TRStructureObjective,
    evaluations_to_reach,
    structure_search_problem,
    tnale_search,
    tnls_search,
)
from .putm import PUTMResult, SinkhornPrototypesResult, putm_em, sinkhorn_prototypes
from .langevin import langevin_sample
from .dense_sparse_factorization import (
    DenseSparseFactorization,
    dense_sparse_factorize,
    dense_sparse_sizes,
    sparse_code_columns,
)
from .spd_functions import (
    rectify_eigenvalues,
    spd_inv_sqrt,
    spd_log,
    spd_power,
    spd_sqrt,
    spectral_function,
    sym_exp,
    symmetrize,
)
from .spd_geometry import (
    SPDMeanResult,
    airm_distance,
    airm_geodesic,
    airm_mean,
    bw_barycenter,
    bw_geodesic,
    bw_transport_map,
    gbw_barycenter,
    gbw_distance,
)
from .alds import (
    Allocation,
    LayerOptions,
    alds,
    energy_allocation,
    grouped_svd_errors,
    layer_options,
    min_max_allocation,
    uniform_rank_allocation,
)
from .entropic_map import EntropicMap, elastic_entropic_map
from .neural_ot import NeuralOTResult, neural_ot, quadratic_transport_cost
from .laplace_beltrami import LBEigenpairs, cotangent_laplacian, laplace_beltrami_eigenpairs
from .spectral_descriptors import heat_kernel_signature, wave_kernel_signature
from .functional_map import (
    FMapPenalties,
    fmap_penalties,
    fmap_to_pointwise,
    functional_map,
    spectral_coefficients,
)

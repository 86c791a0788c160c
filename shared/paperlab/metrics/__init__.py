"""Evaluation metrics: retrieval, neighbourhood preservation, intrinsic dimension."""

from .retrieval import kmeans_nmi, knn_accuracy, map_at_r, recall_at_k
from .intrinsic_dimension import mle_levina_bickel, twonn
from .neighbourhood import knn_preservation, trustworthiness
from .landscape_dimension import intrinsic_dim_90
from .memory import PeakMemory, peak_tensor_memory
from .excess_risk import (
    comp_sum_bayes_risk,
    comp_sum_error_transform,
    comp_sum_excess_risk,
    comp_sum_gamma,
    zero_one_excess_risk,
)
from .softmax_collapse import softmax_collapse_fraction
from .cubical_persistence import Barcode, cubical_persistence
from .betti_matching import BettiMatchingResult, betti_matching, betti_matching_error, betti_number_error
from .barcode_wasserstein import BarcodeMatching, barcode_wasserstein_distance, wasserstein_matching
from .feature_transfer import intra_class_variability, linear_probe_accuracy
from .segmentation import confusion_matrix, mean_iou
from .tolerance import tolerance
from .recommendation import TopKMetrics, recall_ndcg_at_k
from .embedding_spectrum import condition_number, covariance_spectrum, effective_rank
from .verification import equal_error_rate
from .principal_angles import principal_angles
from .neuron_strength import neuron_strength, top_k_features
from .laplacian_score import laplacian_score
from .distortion import average_distortion, graph_reconstruction_map, worst_case_distortion
from .hausdorff import directed_hausdorff, hausdorff_distance
from .mesh_quality import MeshQuality, face_adjacency, mesh_quality
from .clustering import adjusted_rand_index, clustering_accuracy, contingency_matrix, normalized_mutual_info
from .label_sharpness import label_sharpness
from .robustness import robust_accuracy
from .roc_auc import roc_auc
from .geodesic_error import geodesic_error, mesh_area, mesh_geodesic_distances

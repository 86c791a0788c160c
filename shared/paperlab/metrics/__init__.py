"""Evaluation metrics: retrieval, neighbourhood preservation, intrinsic dimension."""

from .retrieval import kmeans_nmi, knn_accuracy, map_at_r, recall_at_k
from .intrinsic_dimension import mle_levina_bickel, twonn
from .neighbourhood import knn_preservation, trustworthiness
from .landscape_dimension import intrinsic_dim_90
from .memory import PeakMemory, peak_tensor_memory

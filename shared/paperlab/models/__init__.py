"""Small reusable networks and layers."""

from .subspace import (
    DenseProjection,
    FastfoodProjection,
    SparseProjection,
    SubspaceModel,
    fast_walsh_hadamard,
)
from .embedding_mlp import EmbeddingMLP
from .tiny_causal_lm import TinyCausalLM
from .tiny_unet import TinyUNet
from .stacked_mlp import StackedMLP
from .conv_segmenter import ConvSegmenter
from .simplex_cf import SimpleXModel
from .generalized_sum_pooling import (
    GeneralizedSumPooling,
    GSPTransport,
    generalized_sum_pooling,
    gsp_transport,
)
from .bilinear_critic import BilinearCritic
from .multi_head_projector import MultiHeadProjector
from .twin_dimred import LinearEncoderProjector
from .lowrank_linear import LowRankLinear
from .ordered_lowrank_linear import OrderedLowRankLinear
from .sparse_evolutionary_linear import SparseEvolutionaryLinear, erdos_renyi_density, erdos_renyi_mask
from .sparse_denoising_autoencoder import SparseDAETraining, SparseDenoisingAutoencoder, train_sparse_dae
from .synthetic_cross_encoder import SyntheticCrossEncoder
from .manifold_clustering import ManifoldClusteringNet
from .base_feature_extractor import train_base_feature_extractor

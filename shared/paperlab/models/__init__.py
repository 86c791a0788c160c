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
from .neural_ode_deformer import NeuralODEDeformer, VelocityField
from .base_feature_extractor import train_base_feature_extractor
from .lora import LoRALinear, count_trainable_parameters, merged_linear, replace_linear_layers
from .tt_matrix import TTMatrix, balanced_factors, tt_matrix_to_matrix
from .loretta import TTAdapter, TTLoRALinear
from .dsee import SparseLowRankLinear, residual_support
from .said import StructureAwareSubspaceModel
from .manifold_clustering import ManifoldClusteringNet
from .finetuning import (
    PretrainedEquationLM,
    SequenceClassifier,
    answer_token_accuracy,
    language_model_loss,
    pretrain_equation_lm,
    set_trainable_,
    train_equation_lm,
    train_steps,
)
from .classifier_training import classifier_accuracy, train_classifier
from .sst_linear import SSTLinear, sst_linear
from .relora import relora_restart_, reset_optimizer_state_
from .flora import FLoRA, flora_parameter_count
from .reshaped_lora import ReshapedLoRA, reshaped_lora_parameter_count
from ._adapted_layer import AdaptedLayer, adapt_layers
from .potential_mlp import PotentialMLP
from .digit_cnn import DigitCNN
from .dense_sparse_linear import DenseSparseLinear
from .straight_through_factorizer import STFLinear
from .amortized_slicer import EfficientAttentionPooling, SelfAttentionAmortizer
from .pointnet_ae import PointNetAutoencoder
from .spd_batchnorm import AIMBatchNorm, GBWBatchNorm
from .spdnet import BiMap, LogEig, ReEig, SPDNet
from .grouped_lowrank_linear import GroupedLowRankLinear
from .stochastic_map import StochasticMap
from .ctr_dnn import CTRDNN
from .lowrank_embedding import LowRankEmbedding
from .lowrank_compress import (
    feature_lowrank_compress,
    feature_lowrank_embedding,
    feature_lowrank_linear,
    multiply_accumulates,
    output_pca,
    svd_compress,
    svd_lowrank_embedding,
)

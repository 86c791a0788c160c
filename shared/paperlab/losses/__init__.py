"""Loss functions: classification, regression, metric-learning and contrastive losses."""

from .pair_losses import contrastive_loss, triplet_margin_loss
from .circle import circle_classification_loss, circle_loss, unified_pair_loss
from .tiled_logsumexp import tiled_logsumexp
from .contrastive import info_nce, nt_xent_loss, sigmoid_contrastive_loss, supcon_loss
from .linear_cross_entropy import LinearCrossEntropy, linear_cross_entropy
from .polyloss import (
    Poly1CrossEntropyLoss,
    PolyNCrossEntropyLoss,
    poly1_cross_entropy,
    poly_loss,
    polyn_cross_entropy,
)
from .focal import FocalLoss, Poly1FocalLoss, focal_loss, poly1_focal_loss
from .supcon_in import supcon_in_loss
from .noisy_labels import (
    ActivePassiveLoss,
    MAELoss,
    NormalizedCrossEntropyLoss,
    NormalizedFocalLoss,
    ReverseCrossEntropyLoss,
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
    reverse_cross_entropy,
)
from .box_iou import CIoULoss, DIoULoss, GIoULoss, IoULoss, box_iou, ciou_loss, diou_loss, giou_loss, iou_loss
from .generalized_cross_entropy import GeneralizedCrossEntropyLoss, generalized_cross_entropy
from .ldr import ALDRKLLoss, LDRKLLoss, crammer_singer_hinge, ldr_kl_loss
from .number_token import NumberTokenLossLp, NumberTokenLossW1, number_token_loss_lp, number_token_loss_w1
from .dist2 import Dist2Loss, dist2_loss, distance_soft_targets, metric_token_distances
from .comp_sum import CompSumLoss, comp_sum_loss
from .adversarial import (
    AdversarialCompSumLoss,
    TradesLoss,
    adversarial_comp_sum_loss,
    pgd_attack,
    trades_loss,
)
from .stablemax import StableMaxCrossEntropyLoss, log_stablemax, stablemax, stablemax_cross_entropy
from .z_loss import ZLoss, z_loss, z_loss_from_sums
from .spherical import (
    SphericalSquaredError,
    TaylorSoftmaxCrossEntropy,
    spherical_squared_error,
    taylor_softmax_cross_entropy,
)
from .betti_matching import BettiMatchingLoss, betti_matching_loss
from .dice import DiceLoss, soft_dice_loss
from .grassmann import GrassmannClassHead, grassmann_class_logits, random_frames
from .jaccard import JaccardMetricLoss, SoftJaccardLoss, jaccard_metric_loss, soft_jaccard_loss
from .alignment_uniformity import AlignmentLoss, UniformityLoss, alignment_loss, uniformity_loss
from .modules import (
    CircleClassificationLoss,
    CircleLoss,
    ContrastiveLoss,
    InfoNCELoss,
    NTXentLoss,
    SigmoidContrastiveLoss,
    SupConInLoss,
    SupConLoss,
    TripletMarginLoss,
    UnifiedPairLoss,
)
from .additive_margin_ntxent import NTXentAdditiveMarginLoss, nt_xent_additive_margin_loss
from .discrete_infomax import (
    DiscreteInfomaxLoss,
    code_block_dependence,
    code_label_mutual_information,
    code_retrieval_scores,
    discrete_codes,
    discrete_infomax_loss,
)
from .cosine_contrastive import BPRLoss, CosineContrastiveLoss, bpr_loss, cosine_contrastive_loss
from .adaface import (
    AdaFaceLoss,
    ArcFaceLoss,
    CosFaceLoss,
    adaface_loss,
    adaface_margin_scaler,
    arcface_loss,
    cosface_loss,
    margin_softmax_logits,
)
from .snr_distance import (
    SNRContrastiveLoss,
    SNRTripletLoss,
    snr_contrastive_loss,
    snr_distance,
    snr_triplet_loss,
    zero_mean_regularizer,
)
from .whitening import WMSELoss, w_mse_loss, whiten
from .spectral_transformation import (
    INTLLoss,
    NewtonInverseSqrt,
    SpectralTransformation,
    default_trade_off,
    intl_loss,
    newton_inverse_sqrt,
    spectral_transformation,
    trace_loss,
)
from .mean_field import (
    MeanFieldClassWiseMultiSimilarityLoss,
    MeanFieldContrastiveLoss,
    mean_field_classwise_ms_loss,
    mean_field_contrastive_loss,
)
from .group_ordering import (
    GroupOrderingLoss,
    RelaxedSort,
    differentiable_sort,
    group_ordering_loss,
    top_rank_mass,
)
from .decoupled_softmax import (
    DecoupledSoftmaxLoss,
    MultiLabelSoftmaxLoss,
    SoftTopKLoss,
    decoupled_softmax_loss,
    log_soft_topk,
    multilabel_softmax_loss,
    soft_topk,
    soft_topk_loss,
)
from .wasserstein_dependency import (
    WassersteinPredictiveCoding,
    critic_gradient_penalty,
    wasserstein_predictive_coding_loss,
)
from .adaptive_multihead import AMCLLoss, TemperatureNetwork, amcl_loss, pair_temperatures
from .hardest_negative_triplet import HardestNegativeTripletLoss, hardest_negative_triplet_loss
from .barlow_twins import BarlowTwinsLoss, barlow_twins_cross_correlation, barlow_twins_loss
from .chamfer import chamfer_distance
from .mcr2 import MCR2Loss, coding_rate, compressed_coding_rate, mlc_loss, rate_reduction
from .egnot import egnot_log_density, egnot_loss, egnot_sample
from .class_guided_cost import class_guided_cost

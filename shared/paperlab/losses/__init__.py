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

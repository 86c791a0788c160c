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
    NormalizedCrossEntropyLoss,
    NormalizedFocalLoss,
    ReverseCrossEntropyLoss,
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
    reverse_cross_entropy,
)
from .box_iou import box_iou, ciou_loss, diou_loss, giou_loss, iou_loss

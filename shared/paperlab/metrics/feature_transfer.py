r"""How transferable a network's features are: intra-class variability and a linear probe.

From "Get the Best of Both Worlds: Improving Accuracy and Transferability by Grassmann Class
Representation" (2023), which relates the transfer accuracy of features to how much they still vary
within a class: features collapsed to their class means keep little information for new tasks.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from paperlab._checks import check_positive, check_tensor


def intra_class_variability(
    features: torch.Tensor, labels: torch.Tensor, normalize: bool = True
) -> torch.Tensor:
    r"""Within-class over total feature variance, every class weighted equally.

    .. math::

        \frac{\bar d_{\text{within}}}{\bar d_{\text{total}}}
        = \frac{\frac1K \sum_k \frac{1}{N_k} \sum_{i \in k} \lVert f_i - \mu_k \rVert^2}
               {\frac1K \sum_k \frac{1}{N_k} \sum_{i \in k} \lVert f_i - \bar\mu \rVert^2},
        \qquad \bar\mu = \frac1K \sum_k \mu_k .

    Equivalently the ratio of the mean half squared distance between two features of one class to
    that between two features of any two classes (pairs drawn class-balanced, self-pairs included). On
    unit features (``normalize=True``) half the squared distance is the cosine distance
    :math:`1 - \cos`, so this is the average within-class cosine distance over the average total one,
    the variability measure of the transferability literature (one minus the "class separation"
    :math:`R^2`). 0 means every class collapsed to a point; values near 1 mean the labels explain
    none of the spread.

    Args:
        features: shape ``(N, d)``.
        labels: integer class labels, shape ``(N,)``; at least two distinct classes.
        normalize: L2-normalize the features first.

    Returns:
        A scalar tensor in :math:`[0, 1]`.
    """
    check_tensor("features", features, dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if labels.shape[0] != features.shape[0]:
        raise ValueError(
            f"labels must have one entry per row of features ({features.shape[0]}), got shape {tuple(labels.shape)}"
        )
    classes, class_of, counts = torch.unique(
        labels.to(features.device), return_inverse=True, return_counts=True
    )
    if len(classes) < 2:
        raise ValueError(f"labels must hold at least two classes, got {classes.tolist()}")
    if normalize:
        features = F.normalize(features, dim=1)
    counts = counts.to(features.dtype)
    sums = torch.zeros(len(classes), features.shape[1], dtype=features.dtype, device=features.device)
    means = sums.index_add(0, class_of, features) / counts.unsqueeze(1)  # (K, d)
    within_per_item = (features - means[class_of]).pow(2).sum(1)  # (N,)
    within = (torch.zeros_like(counts).index_add(0, class_of, within_per_item) / counts).mean()
    between = (means - means.mean(0)).pow(2).sum(1).mean()  # class-balanced spread of the class means
    total = within + between
    if total <= 0:
        raise ValueError("features must not all be equal: the total variance is 0")
    return within / total


def linear_probe_accuracy(
    train_features,
    train_labels,
    test_features,
    test_labels,
    C: float = 1.0,
    max_iter: int = 1000,
    standardize: bool = True,
    n_threads: int | None = 1,
) -> float:
    r"""Test accuracy of a multinomial logistic regression fit on frozen features.

    The transfer protocol: features of a (new) task are extracted by a frozen network, standardized
    with the training mean and standard deviation, and a linear softmax classifier with L2 penalty
    :math:`\frac{1}{2C}\lVert W \rVert^2` (scikit-learn's ``LogisticRegression``, L-BFGS) is fit on them.

    Args:
        train_features, test_features: tensors or arrays of shape ``(N_train, d)`` and ``(N_test, d)``.
        train_labels, test_labels: integer labels, shapes ``(N_train,)`` and ``(N_test,)``; every test
            class must occur in training.
        C: inverse regularization strength, > 0.
        max_iter: L-BFGS iterations.
        standardize: standardize features with the training statistics.
        n_threads: BLAS / OpenMP threads for the fit; one by default, since probes are small and
            threads only oversubscribe a shared machine; None keeps the process's setting.

    Returns:
        The fraction of test items classified correctly.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    check_positive("C", C)
    check_positive("max_iter", max_iter, integer=True)
    if n_threads is not None:
        check_positive("n_threads", n_threads, integer=True)
    x_train, y_train = _probe_split("train", train_features, train_labels)
    x_test, y_test = _probe_split("test", test_features, test_labels)
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            f"test_features must have {x_train.shape[1]} columns like train_features, got {x_test.shape[1]}"
        )
    if len(np.unique(y_train)) < 2:
        raise ValueError(f"train_labels must hold at least two classes, got {np.unique(y_train).tolist()}")
    unseen = np.setdiff1d(np.unique(y_test), np.unique(y_train))
    if len(unseen):
        raise ValueError(f"test_labels must only hold classes seen in training, got unseen {unseen.tolist()}")
    if standardize:
        mean, std = x_train.mean(0), x_train.std(0)
        std[std == 0] = 1.0
        x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    with threadpool_limits(limits=n_threads):
        probe = LogisticRegression(C=C, max_iter=max_iter).fit(x_train, y_train)
        return float((probe.predict(x_test) == y_test).mean())


def _probe_split(split: str, features, labels):
    """Features and labels of one split as float64 / int64 numpy arrays, validated."""
    x = _as_numpy(f"{split}_features", features).astype(np.float64)
    y = _as_numpy(f"{split}_labels", labels)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{split}_features must have shape (N, d) with N, d > 0, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{split}_features must contain only finite values (no NaN or inf)")
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{split}_labels must be a 1-D integer array, got shape {y.shape}, dtype {y.dtype}")
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"{split}_labels must have one entry per row of {split}_features ({x.shape[0]}), got {y.shape[0]}"
        )
    return x, y


def _as_numpy(name: str, values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    if isinstance(values, np.ndarray):
        return values
    raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(values).__name__}")

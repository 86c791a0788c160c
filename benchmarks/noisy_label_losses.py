"""Benchmark: the normalized / Active-Passive losses against their one-hot reference formulation.

No installable peer library implements these losses; the reference is the formulation of the authors'
public code, written here from the paper's formulas: softmax, a dense one-hot target, clamped logs and
sums over the class axis. Each pair is timed (forward + backward, best of ``--repeats``) on the same
inputs, and its peak memory is measured in a fresh child process. ``F.cross_entropy`` is shown for scale.

    python benchmarks/noisy_label_losses.py            # N=65536, C=1000
    python benchmarks/noisy_label_losses.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from _logit_loss_pairs import run
from paperlab.losses import (
    active_passive_loss,
    mae_loss,
    normalized_cross_entropy,
    normalized_focal_loss,
)


def one_hot_nce(z, t):
    log_p = F.log_softmax(z, dim=1)
    q = F.one_hot(t, z.shape[1]).to(z.dtype)
    return ((q * -log_p).sum(1) / -log_p.sum(1)).mean()


def one_hot_rce(z, t):
    p = F.softmax(z, dim=1).clamp(min=1e-7, max=1.0)
    q = F.one_hot(t, z.shape[1]).to(z.dtype).clamp(min=1e-4, max=1.0)
    return -(p * torch.log(q)).sum(1).mean() * (4.0 / -torch.log(torch.tensor(1e-4)).item())


def one_hot_mae(z, t):
    p = F.softmax(z, dim=1)
    return (p - F.one_hot(t, z.shape[1]).to(z.dtype)).abs().sum(1).mean()


def one_hot_nfl(z, t, gamma=0.5):
    log_p = F.log_softmax(z, dim=1)
    focal = -((1 - log_p.exp()) ** gamma) * log_p
    return ((F.one_hot(t, z.shape[1]).to(z.dtype) * focal).sum(1) / focal.sum(1)).mean()


PAIRS = {
    "NCE": (normalized_cross_entropy, one_hot_nce),
    "NFL": (normalized_focal_loss, one_hot_nfl),
    "MAE": (mae_loss, one_hot_mae),
    "NCE+RCE": (active_passive_loss, lambda z, t: one_hot_nce(z, t) + one_hot_rce(z, t)),
}


def pairs(n, c):
    return PAIRS


if __name__ == "__main__":
    run(__file__, __doc__.splitlines()[0], pairs)

"""Benchmark: GCE, LDR-KL and ALDR-KL against the naive composition of torch ops they replace.

No installable peer library implements these losses; the reference is each formula written with plain
torch ops: softmax and pow for GCE; softplus, a dense one-hot margin, exp / mean / log for LDR-KL; the
same plus a softmax-entropy step and a buffer update for ALDR-KL. Each pair is timed (forward + backward,
best of ``--repeats``) on the same inputs, and its peak memory is measured in a fresh child process.
``F.cross_entropy`` is shown for scale.

    python benchmarks/ldr_losses.py            # N=65536, C=1000
    python benchmarks/ldr_losses.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from _logit_loss_pairs import run
from paperlab.losses import ALDRKLLoss, generalized_cross_entropy, ldr_kl_loss

LAM, MARGIN, Q, LAM0, ALPHA = 0.5, 0.1, 0.7, 1.0, 2.0


def naive_gce(z, t):
    p_y = F.softmax(z, dim=1).gather(1, t.unsqueeze(1)).squeeze(1)
    return ((1 - p_y**Q) / Q).mean()


def naive_ldr_per_item(s, t, lam):
    """lam * log(mean_k exp(violation_k / lam)) on scores s; lam a number or a (N, 1) column."""
    one_hot = F.one_hot(t, s.shape[1]).to(s.dtype)
    violations = MARGIN * (1 - one_hot) + s - (s * one_hot).sum(dim=1, keepdim=True)
    return (lam * torch.log(torch.exp(violations / lam).mean(dim=1, keepdim=True))).squeeze(1)


def naive_scores(z):
    s = F.softplus(z)
    return s / s.mean(dim=1, keepdim=True)


def naive_ldr(z, t):
    return naive_ldr_per_item(naive_scores(z), t, LAM).mean()


class NaiveALDR:
    """ALDR-KL from the formula: lambda in closed form from softmax(s / lambda_prev), then LDR-KL."""

    def __init__(self, n, k):
        self.lam = torch.full((n,), LAM0)

    def __call__(self, z, t, index):
        s = naive_scores(z)
        with torch.no_grad():
            q = F.softmax(s / self.lam[index][:, None], dim=1)
            kl = (q * torch.log(q * z.shape[1])).sum(dim=1)
            lam = LAM0 * (1 - kl / (ALPHA * math.log(z.shape[1])))
            self.lam[index] = lam
        loss = naive_ldr_per_item(s, t, lam[:, None])
        return (loss - ALPHA * math.log(z.shape[1]) / (2 * LAM0) * (lam - LAM0) ** 2).mean()


def aldr_pair(n, k):
    ours, naive = ALDRKLLoss(n, k, LAM0, ALPHA, MARGIN), NaiveALDR(n, k)
    index = torch.arange(n)
    return (lambda z, t: ours(z, t, index)), (lambda z, t: naive(z, t, index))


def pairs(n, k):
    return {
        "GCE": (lambda z, t: generalized_cross_entropy(z, t, Q), naive_gce),
        "LDR-KL": (lambda z, t: ldr_kl_loss(z, t, LAM, MARGIN), naive_ldr),
        "ALDR-KL": aldr_pair(n, k),
    }


if __name__ == "__main__":
    run(__file__, __doc__.splitlines()[0], pairs)

"""Benchmark: the comp-sum losses against the naive composition of torch ops that defines them.

No installable library implements the comp-sum family. The reference is the paper's formula written with
plain torch ops: :math:`u = \\sum_{k \\ne y} e^{h_k - h_y}` through a dense mask, then
:math:`\\Phi^\\tau(u)`. Ours goes through the log-softmax instead (one fused reduction, no overflow).
Each pair is timed (forward + backward, best of ``--repeats``) on the same inputs, and its peak memory
is measured in a fresh child process. ``F.cross_entropy`` is shown for scale; the target is a time
ratio ours / naive <= 1.2 for every tau.

    python benchmarks/comp_sum.py            # N=65536, C=1000
    python benchmarks/comp_sum.py --quick    # N=4096, C=100, a few seconds
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from _logit_loss_pairs import run
from paperlab.losses import comp_sum_loss

TAUS = (0.0, 1.0, 1.5, 2.0)


def naive_comp_sum(z, t, tau):
    h_y = z.gather(1, t.unsqueeze(1))  # (N, 1)
    others = F.one_hot(t, z.shape[1]) == 0  # (N, C)
    u = (torch.exp(z - h_y) * others).sum(1)  # (N,)
    if tau == 1.0:
        return torch.log1p(u).mean()
    return (((1 + u) ** (1 - tau) - 1) / (1 - tau)).mean()


def pairs(n, c):
    return {
        f"tau={tau:g}": (
            lambda z, t, tau=tau: comp_sum_loss(z, t, tau),
            lambda z, t, tau=tau: naive_comp_sum(z, t, tau),
        )
        for tau in TAUS
    }


if __name__ == "__main__":
    run(__file__, __doc__.splitlines()[0], pairs)

"""Benchmark generalized sum pooling and Wasserstein predictive coding against naive compositions.

    python benchmarks/gsp_wdm.py [--quick]

1. GSP forward + backward: paperlab.models.generalized_sum_pooling (Sinkhorn for the selection
   threshold, implicit gradient) vs the naive composition, the full (features x prototypes) plan of
   the partial transport by its KKT fixed point in the exponential domain (the authors' scheme),
   differentiated by autograd through 100 unrolled iterations. Largest weight difference printed.
2. WPC loss forward + backward (InfoNCE + gradient penalty, double backward) vs the same objective
   composed by hand from F.cross_entropy and a paired critic evaluation.
Times are best of 3 after a warm-up; peak memory is the peak of live tensor bytes
(paperlab.metrics.peak_tensor_memory), deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from paperlab.losses import wasserstein_predictive_coding_loss
from paperlab.metrics import peak_tensor_memory
from paperlab.models import BilinearCritic, EmbeddingMLP, generalized_sum_pooling, gsp_transport

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header  # noqa: E402


def naive_gsp(features, prototypes, mu, reg, n_iter=100):
    """GSP weights from the full plan: rho_i = (1/n) / (1 + lam K_i.), lam = mu / sum_i rho_i K_i."""
    x, w = F.normalize(features, dim=-1), F.normalize(prototypes, dim=-1)
    kernel = torch.exp(-(x.unsqueeze(2) - w).square().sum(-1) / reg)  # (B, n, m)
    row_sums = kernel.sum(-1)  # (B, n)
    n = features.shape[1]
    lam = torch.ones(features.shape[0], 1, dtype=features.dtype)
    for _ in range(n_iter):
        rho = (1.0 / n) / (1.0 + lam * row_sums)
        lam = mu / (rho * row_sums).sum(-1, keepdim=True)
    plan = lam.unsqueeze(-1) * ((1.0 / n) / (1.0 + lam * row_sums)).unsqueeze(-1) * kernel  # (B, n, m)
    weights = plan.sum(-1) / mu  # (B, n)
    return (weights.unsqueeze(-1) * features).sum(1), weights


def naive_wpc(x, y, critic, gp_weight, generator):
    """InfoNCE as cross-entropy over the score matrix plus WGAN-GP on a paired critic evaluation."""
    batch = x.shape[0]
    loss = F.cross_entropy(critic(x, y), torch.arange(batch))
    t = torch.rand(batch, generator=generator).unsqueeze(1)
    partner = torch.randperm(batch, generator=generator)
    x_hat = x.detach().requires_grad_(True)
    y_hat = (t * y + (1 - t) * y[partner]).requires_grad_(True)
    paired = ((critic.x_encoder(x_hat) @ critic.weight) * critic.y_encoder(y_hat)).sum(1)  # (B,)
    gx, gy = torch.autograd.grad(paired.sum(), (x_hat, y_hat), create_graph=True)
    norms = torch.cat([gx, gy], 1).norm(dim=1)
    return loss + gp_weight * ((norms - 1) ** 2).mean()


def bench_gsp(batch, n, m, d, mu=0.25, reg=0.1):
    g = torch.Generator().manual_seed(0)
    features = torch.randn(batch, n, d, generator=g, requires_grad=True)
    prototypes = torch.randn(m, d, generator=g, requires_grad=True)

    def ours():
        generalized_sum_pooling(features, prototypes, mu, reg).square().sum().backward()

    def naive():
        naive_gsp(features, prototypes, mu, reg)[0].square().sum().backward()

    with torch.no_grad():
        diff = (
            gsp_transport(features, prototypes, mu, reg).weights - naive_gsp(features, prototypes, mu, reg)[1]
        )
    t_ours, t_naive = best_time_s(ours), best_time_s(naive)
    m_ours, m_naive = peak_tensor_memory(ours).peak_bytes, peak_tensor_memory(naive).peak_bytes
    print(
        f"GSP  B={batch} n={n} m={m} d={d}: ours {t_ours * 1e3:.1f} ms, naive {t_naive * 1e3:.1f} ms, "
        f"time ours/naive {t_ours / t_naive:.2f}, peak memory ours/naive {m_ours / m_naive:.2f} "
        f"({m_ours / 2**20:.1f} / {m_naive / 2**20:.1f} MiB), max |weight diff| {diff.abs().max():.1e}"
    )


def bench_wpc(batch, dim_in, gp_weight=10.0):
    torch.manual_seed(0)
    critic = BilinearCritic(EmbeddingMLP(dim_in, 32, (128,)), EmbeddingMLP(dim_in, 32, (128,)), 32)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(batch, dim_in, generator=g), torch.randn(batch, dim_in, generator=g)

    def ours():
        wasserstein_predictive_coding_loss(x, y, critic, gp_weight, generator=0).backward()

    def naive():
        naive_wpc(x, y, critic, gp_weight, torch.Generator().manual_seed(0)).backward()

    gap = (
        wasserstein_predictive_coding_loss(x, y, critic, gp_weight, generator=0)
        - naive_wpc(x, y, critic, gp_weight, torch.Generator().manual_seed(0))
    ).abs()
    t_ours, t_naive = best_time_s(ours), best_time_s(naive)
    m_ours, m_naive = peak_tensor_memory(ours).peak_bytes, peak_tensor_memory(naive).peak_bytes
    print(
        f"WPC  B={batch} D_in={dim_in}: ours {t_ours * 1e3:.1f} ms, naive {t_naive * 1e3:.1f} ms, "
        f"time ours/naive {t_ours / t_naive:.2f}, peak memory ours/naive {m_ours / m_naive:.2f}, "
        f"|loss diff| {gap.item():.1e}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run in seconds")
    args = parser.parse_args()
    print(header(torch))
    if args.quick:
        bench_gsp(8, 16, 8, 32)
        bench_wpc(32, 64)
        return
    for batch, n, m, d in [(32, 49, 16, 128), (64, 49, 32, 128)]:
        bench_gsp(batch, n, m, d)
    for batch, dim_in in [(128, 256), (512, 256)]:
        bench_wpc(batch, dim_in)


if __name__ == "__main__":
    main()

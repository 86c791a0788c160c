"""Benchmark: SNR-distance and mean-field losses against pytorch-metric-learning (pml) or the naive composition.

Each case runs forward + backward on the same seeded float32 inputs. Time is the best of three runs after
a warm-up; peak memory is the rise of the resident set (VmHWM) during one forward + backward. Cases:

- ``snr_distance``: ``snr_distance`` vs pml ``SNRDistance(normalize_embeddings=False)`` (which builds the
  (B, B, D) difference tensor).
- ``snr_triplet``: ``snr_triplet_loss`` (all triplets) vs pml ``TripletMarginLoss(distance=SNRDistance)``.
- ``mf_contrastive`` / ``mf_classwise_ms``: the mean-field losses vs the authors' formulas written as a
  plain composition of torch ops (direct exponentials, one-hot masks).

    python benchmarks/metric_losses.py            # B = 1024 (pml triplet at 512), D = 128, C = 100
    python benchmarks/metric_losses.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_mib


def naive_mf_contrastive(x, y, w, pos_margin=0.0, neg_margin=1.0, mf_reg=1.0):
    xs, ws = F.normalize(x, dim=1), F.normalize(w, dim=1)
    d = 1 - xs @ ws.T
    mask = F.one_hot(y, w.shape[0]).to(x.dtype)
    loss = (F.relu(d - pos_margin) * mask + F.relu(neg_margin - d) * (1 - mask)).sum(1).mean()
    off = 1 - torch.eye(w.shape[0], dtype=x.dtype)
    return loss + mf_reg * (F.relu(neg_margin - (1 - ws @ ws.T)) * off).sum(1).mean()


def naive_mf_classwise_ms(x, y, w, alpha=2.0, beta=50.0, base=0.5, mf_reg=1.0):
    xs, ws = F.normalize(x, dim=1), F.normalize(w, dim=1)
    d = 1 - xs @ ws.T
    mask = F.one_hot(y, w.shape[0]).to(x.dtype)
    normalized = mask / mask.sum(0).clamp_min(1)
    eye = torch.eye(w.shape[0], dtype=x.dtype)
    pos = normalized.T @ torch.exp(alpha * (d + base - 1))
    neg = normalized.T @ torch.exp(-beta * (d + base - 1))
    neg = neg + neg.T
    k = len(torch.unique(y))
    loss = torch.log1p(pos * eye).sum() / (alpha * k) + torch.log1p(neg * (1 - eye)).sum() / (2 * beta * k)
    reg = (F.softplus(1 - base - (1 - ws @ ws.T), beta=beta) * (1 - eye)).sum(1).mean()
    return loss + mf_reg * reg


def cases(b, b_pml, d, c):
    from pytorch_metric_learning import distances as pml_distances
    from pytorch_metric_learning import losses as pml_losses

    import paperlab.losses as ours

    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, d, generator=g).requires_grad_()
    x_small = x.detach()[:b_pml].clone().requires_grad_()
    y = torch.randint(0, max(2, b // 16), (b,), generator=g)
    w = torch.randn(c, d, generator=g).requires_grad_()
    y_fields = torch.randint(0, c, (b,), generator=g)
    snr = pml_distances.SNRDistance(normalize_embeddings=False)
    triplet = pml_losses.TripletMarginLoss(margin=0.1, distance=snr)
    return {
        "snr_distance": (lambda: ours.snr_distance(x, x).sum(), lambda: snr(x).sum(), (x,)),
        "snr_triplet (B_pml)": (
            lambda: ours.snr_triplet_loss(x_small, y[:b_pml], 0.1),
            lambda: triplet(x_small, y[:b_pml]),
            (x_small,),
        ),
        "mf_contrastive": (
            lambda: ours.mean_field_contrastive_loss(x, y_fields, w),
            lambda: naive_mf_contrastive(x, y_fields, w),
            (x, w),
        ),
        "mf_classwise_ms": (
            lambda: ours.mean_field_classwise_ms_loss(x, y_fields, w),
            lambda: naive_mf_classwise_ms(x, y_fields, w),
            (x, w),
        ),
    }


def step(fn, inputs):
    def run():
        for t in inputs:
            t.grad = None
        fn().backward()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    import pytorch_metric_learning

    import paperlab

    b, b_pml, d, c = (256, 128, 32, 20) if args.quick else (1024, 512, 128, 100)
    print(header(torch, pytorch_metric_learning, paperlab))
    print(f"B={b} (pml triplet B={b_pml}), D={d}, C={c}, float32, forward + backward")
    print(
        f"{'case':22s} {'ours ms':>9s} {'peer ms':>9s} {'time ratio':>10s} {'ours MiB':>9s} {'peer MiB':>9s}"
    )
    for name, (ours_fn, peer_fn, inputs) in cases(b, b_pml, d, c).items():
        ours_run, peer_run = step(ours_fn, inputs), step(peer_fn, inputs)
        t_ours, t_peer = best_time_s(ours_run, repeats=10), best_time_s(peer_run, repeats=10)
        m_ours, m_peer = peak_memory_mib(ours_run), peak_memory_mib(peer_run)
        print(
            f"{name:22s} {1e3 * t_ours:9.2f} {1e3 * t_peer:9.2f} {t_ours / t_peer:10.2f} {m_ours:9.1f} {m_peer:9.1f}"
        )


if __name__ == "__main__":
    main()

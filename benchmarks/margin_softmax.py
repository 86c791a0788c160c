"""Benchmark: margin softmax heads (ArcFace, CosFace, AdaFace) and the multi-label XMC losses.

Peers: pytorch-metric-learning's ``ArcFaceLoss`` and ``CosFaceLoss`` (same class proxies); AdaFace has no
installable peer, so its reference is the authors' formulation written with plain torch ops (dense
one-hot margin matrices, arccos of the whole cosine matrix). The decoupled softmax is compared with a
naive composition that builds a (B, L) negative-logsumexp matrix per positive by masking, and with
``F.cross_entropy``-style multi-label softmax for scale. Every pair runs forward + backward (best of
``--repeats``) on the same float32 inputs; peak memory is measured in a fresh child process.

    python benchmarks/margin_softmax.py            # B=1024, D=128, C=10000; XMC B=512, L=20000
    python benchmarks/margin_softmax.py --quick    # small sizes, a few seconds
"""

from __future__ import annotations

import argparse
import math

import pytorch_metric_learning
import torch
import torch.nn.functional as F
from pytorch_metric_learning import losses as pml

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import (
    adaface_loss,
    arcface_loss,
    cosface_loss,
    decoupled_softmax_loss,
    multilabel_softmax_loss,
    soft_topk_loss,
)

M_ARC, M_COS, M_ADA, H, SCALE = 0.5, 0.35, 0.4, 0.333, 64.0


def naive_adaface(x, y, w):
    """The authors' head: dense one-hot margins and arccos over the whole (B, C) cosine matrix."""
    eps = 1e-3
    cosine = (F.normalize(x, dim=1) @ F.normalize(w, dim=1).T).clamp(-1 + eps, 1 - eps)
    norms = x.detach().norm(dim=1, keepdim=True).clamp(1e-3, 100)
    scaler = (H * (norms - norms.mean()) / (norms.std() + eps)).clamp(-1, 1)
    one_hot = F.one_hot(y, w.shape[0]).to(x.dtype)
    theta = (cosine.acos() + one_hot * (-M_ADA * scaler)).clamp(eps, math.pi - eps)
    logits = SCALE * (theta.cos() - one_hot * (M_ADA * scaler + M_ADA))
    return F.cross_entropy(logits, y)


def pml_head(cls, w, **kwargs):
    loss = cls(num_classes=w.shape[0], embedding_size=w.shape[1], scale=SCALE, **kwargs)
    loss.W = torch.nn.Parameter(w.detach().T.clone())
    return loss


def naive_decoupled(s, t):
    """Per-positive masked logsumexp: every positive's row with the other positives set to -inf."""
    rows, cols = t.nonzero(as_tuple=True)
    masked = s[rows].masked_fill(t[rows], float("-inf"))  # (P, L), negatives only
    masked[torch.arange(len(rows)), cols] = s[rows, cols]  # put the positive itself back
    log_prob = s[rows, cols] - masked.logsumexp(dim=1)
    per_query = torch.zeros(s.shape[0], dtype=s.dtype).index_add(0, rows, -log_prob)
    return (per_query / t.sum(dim=1)).mean()


def head_inputs(b, d, c):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(b, d, generator=g).requires_grad_()
    w = torch.randn(c, d, generator=g).requires_grad_()
    return x, torch.randint(0, c, (b,), generator=g), w


def xmc_inputs(b, n_labels):
    g = torch.Generator().manual_seed(0)
    s = (3 * torch.randn(b, n_labels, generator=g)).requires_grad_()
    t = torch.rand(b, n_labels, generator=g) < 5.0 / n_labels
    t[:, 0] = True
    return s, t


def cases(sizes):
    """name -> (ours, reference, reference name, inputs builder)."""
    b, d, c, xb, n_labels = sizes
    x, y, w = head_inputs(b, d, c)
    arc, cos = (
        pml_head(pml.ArcFaceLoss, w, margin=math.degrees(M_ARC)),
        pml_head(pml.CosFaceLoss, w, margin=M_COS),
    )
    s, t = xmc_inputs(xb, n_labels)
    return {
        "ArcFace": (lambda: arcface_loss(x, y, w, M_ARC, SCALE), lambda: arc(x, y), "pml", (x, w, arc.W)),
        "CosFace": (lambda: cosface_loss(x, y, w, M_COS, SCALE), lambda: cos(x, y), "pml", (x, w, cos.W)),
        "AdaFace": (
            lambda: adaface_loss(x, y, w, M_ADA, H, SCALE),
            lambda: naive_adaface(x, y, w),
            "naive",
            (x, w),
        ),
        "DecoupledSoftmax": (
            lambda: decoupled_softmax_loss(s, t),
            lambda: naive_decoupled(s, t),
            "naive",
            (s,),
        ),
        "SoftTopK(k=5)": (
            lambda: soft_topk_loss(s, t, 5),
            lambda: multilabel_softmax_loss(s, t),
            "ml-softmax",
            (s,),
        ),
    }


def step_fn(loss, leaves):
    def step():
        for leaf in leaves:
            leaf.grad = None
        loss().backward()

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=7)
    args = parser.parse_args()
    if args.child:
        name, variant, *sizes = args.child
        ours, reference, _, leaves = cases(tuple(map(int, sizes)))[name]
        return print(peak_memory_mib(step_fn(ours if variant == "ours" else reference, leaves)))
    sizes = (256, 64, 1000, 128, 2000) if args.quick else (1024, 128, 10000, 512, 20000)
    print(header(pytorch_metric_learning))
    print(
        f"heads: B={sizes[0]}, D={sizes[1]}, C={sizes[2]}; XMC: B={sizes[3]}, L={sizes[4]}, ~5 positives/query"
    )
    print(f"float32, forward + backward, best of {args.repeats}")
    print(
        f"{'loss':17s} {'ref':>10s} {'ours ms':>8s} {'ref ms':>8s} {'ratio':>6s} {'ours MiB':>9s} {'ref MiB':>8s}"
    )
    for name, (ours, reference, ref_name, leaves) in cases(sizes).items():
        if ref_name != "ml-softmax":  # the soft top-k row compares cost only, not values
            torch.testing.assert_close(ours(), reference(), rtol=1e-4, atol=1e-4)
        times = [best_time_s(step_fn(f, leaves), args.repeats) for f in (ours, reference)]
        mems = [peak_memory_in_child(__file__, name, v, *sizes) for v in ("ours", "ref")]
        print(
            f"{name:17s} {ref_name:>10s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:6.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )


if __name__ == "__main__":
    main()

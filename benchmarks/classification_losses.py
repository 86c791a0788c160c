"""Benchmark: PolyLoss, focal, box IoU and Jaccard losses against the naive torch compositions they replace.

No installable peer library ships these losses for plain PyTorch (torchvision, which has the box losses,
is not a dependency), so each reference is the direct composition of torch ops written from the paper's
formula: softmax probabilities gathered at the target, cross-entropy from ``F.cross_entropy``, box
coordinates unbound column by column, one-hot segmentation labels summed per class over the batch.
Each pair is timed (forward + backward, best of ``--repeats`` interleaved calls) on the same inputs,
and its peak memory is measured in a fresh child process. ``F.cross_entropy`` is shown for scale.

    python benchmarks/classification_losses.py            # N=65536, C=1000; 2**20 box pairs; 8x19x256x256
    python benchmarks/classification_losses.py --quick    # N=4096, C=100; 2**14 box pairs; 2x19x32x32
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import (
    ciou_loss,
    diou_loss,
    focal_loss,
    giou_loss,
    iou_loss,
    jaccard_metric_loss,
    poly1_cross_entropy,
    poly1_focal_loss,
    polyn_cross_entropy,
    soft_jaccard_loss,
)

EPS = 1e-7


def naive_pt(z, t):
    return F.softmax(z, dim=1).gather(1, t[:, None]).squeeze(1)


def naive_poly1(z, t, epsilon=1.0):
    return (F.cross_entropy(z, t, reduction="none") + epsilon * (1 - naive_pt(z, t))).mean()


def naive_polyn(z, t, epsilons=(1.0, 0.5, 0.25)):
    one_minus_pt = 1 - naive_pt(z, t)
    series = sum(e * one_minus_pt ** (j + 1) for j, e in enumerate(epsilons))
    return (F.cross_entropy(z, t, reduction="none") + series).mean()


def naive_focal(z, t, gamma=2.0):
    log_pt = F.log_softmax(z, dim=1).gather(1, t[:, None]).squeeze(1)
    return (-((1 - log_pt.exp()) ** gamma) * log_pt).mean()


def naive_poly1_focal(z, t, epsilon=1.0, gamma=2.0):
    log_pt = F.log_softmax(z, dim=1).gather(1, t[:, None]).squeeze(1)
    one_minus_pt = 1 - log_pt.exp()
    return (one_minus_pt**gamma * (epsilon * one_minus_pt - log_pt)).mean()


def naive_box_terms(b, g):
    """IoU, union, enclosing width/height, centre distance squared; columns unbound as in the formulas."""
    x1, y1, x2, y2 = b.unbind(-1)
    gx1, gy1, gx2, gy2 = g.unbind(-1)
    inter = (torch.min(x2, gx2) - torch.max(x1, gx1)).clamp(min=0) * (
        torch.min(y2, gy2) - torch.max(y1, gy1)
    ).clamp(min=0)
    union = (x2 - x1) * (y2 - y1) + (gx2 - gx1) * (gy2 - gy1) - inter
    iou = inter / (union + EPS)
    cw, ch = torch.max(x2, gx2) - torch.min(x1, gx1), torch.max(y2, gy2) - torch.min(y1, gy1)
    rho2 = ((x1 + x2 - gx1 - gx2) ** 2 + (y1 + y2 - gy1 - gy2) ** 2) / 4
    return iou, union, cw, ch, rho2


def naive_iou(b, g):
    return (1 - naive_box_terms(b, g)[0]).mean()


def naive_giou(b, g):
    iou, union, cw, ch, _ = naive_box_terms(b, g)
    area = cw * ch
    return (1 - iou + (area - union) / (area + EPS)).mean()


def naive_diou(b, g):
    iou, _, cw, ch, rho2 = naive_box_terms(b, g)
    return (1 - iou + rho2 / (cw**2 + ch**2 + EPS)).mean()


def naive_ciou(b, g):
    iou, _, cw, ch, rho2 = naive_box_terms(b, g)
    w, h, gw, gh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1], g[:, 2] - g[:, 0], g[:, 3] - g[:, 1]
    v = (4 / math.pi**2) * (torch.atan(gw / (gh + EPS)) - torch.atan(w / (h + EPS))) ** 2
    with torch.no_grad():
        alpha = torch.where(v > 0, v / ((1 - iou) + v + EPS), 0.0)
    return (1 - iou + rho2 / (cw**2 + ch**2 + EPS) + alpha * v).mean()


def naive_region_terms(p, t):
    """One-hot labels and the per-class sums over batch and pixels, as segmentation code writes them."""
    y = F.one_hot(t, p.shape[1]).permute(0, 3, 1, 2).to(p.dtype)  # (N, C, H, W)
    dims = (0, 2, 3)
    return y, dims, y.sum(dims) > 0


def naive_soft_jaccard(p, t, smooth=1.0):
    y, dims, present = naive_region_terms(p, t)
    intersection = (p * y).sum(dims)
    union = p.sum(dims) + y.sum(dims) - intersection
    return (1 - (intersection + smooth) / (union + smooth))[present].mean()


def naive_jml1(p, t, smooth=1.0):
    y, dims, present = naive_region_terms(p, t)
    total, difference = (p + y).sum(dims), (p - y).abs().sum(dims)
    return (1 - (total - difference + smooth) / (total + difference + smooth))[present].mean()


def naive_jml2(p, t, smooth=1.0):
    y, dims, present = naive_region_terms(p, t)
    intersection, difference = (p * y).sum(dims), (p - y).abs().sum(dims)
    return (1 - (intersection + smooth) / (intersection + difference + smooth))[present].mean()


CLASS_PAIRS = {
    "poly1": (poly1_cross_entropy, naive_poly1),
    "polyN": (lambda z, t: polyn_cross_entropy(z, t, (1.0, 0.5, 0.25)), naive_polyn),
    "focal": (focal_loss, naive_focal),
    "poly1_focal": (poly1_focal_loss, naive_poly1_focal),
}
BOX_PAIRS = {
    "iou": (iou_loss, naive_iou),
    "giou": (giou_loss, naive_giou),
    "diou": (diou_loss, naive_diou),
    "ciou": (ciou_loss, naive_ciou),
}

SEGMENTATION_PAIRS = {
    "soft_jaccard": (soft_jaccard_loss, naive_soft_jaccard),
    "jml1": (jaccard_metric_loss, naive_jml1),
    "jml2": (lambda p, t: jaccard_metric_loss(p, t, "jml2"), naive_jml2),
}


def make_probability_maps(n, c, size):
    g = torch.Generator().manual_seed(0)
    probs = torch.randn(n, c, size, size, generator=g).softmax(1)
    return probs.requires_grad_(), torch.randint(0, c, (n, size, size), generator=g)


def make_logits(n, c):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, c, generator=g).requires_grad_(), torch.randint(0, c, (n,), generator=g)


def make_boxes(n):
    g = torch.Generator().manual_seed(0)

    def boxes():
        corner = torch.rand(n, 2, generator=g) * 10
        return torch.cat([corner, corner + torch.rand(n, 2, generator=g) * 3 + 0.1], dim=1)  # (n, 4)

    return boxes().requires_grad_(), boxes()


def step_fn(loss, x, t):
    def step():
        x.grad = None
        loss(x, t).backward()

    return step


def paired_best_times(functions, repeats):
    """Best wall time of each function, calls interleaved so that a change in machine load hits all alike."""
    times = [[] for _ in functions]
    for function in functions:  # warm-up
        function()
    for _ in range(repeats):
        for function, measured in zip(functions, times):
            measured.append(best_time_s(function, 1))
    return [min(measured) for measured in times]


def inputs_for(name, sizes):
    n, c, n_boxes = sizes
    if name in SEGMENTATION_PAIRS:  # (N, C, H, W) maps of C = 19 classes, Cityscapes-like
        return make_probability_maps(8, 19, 256) if n_boxes > 2**14 else make_probability_maps(2, 19, 32)
    return make_boxes(n_boxes) if name in BOX_PAIRS else make_logits(n, c)


def child(name, variant, n, c, n_boxes):
    x, t = inputs_for(name, (n, c, n_boxes))
    pairs = {**CLASS_PAIRS, **BOX_PAIRS, **SEGMENTATION_PAIRS}
    loss = F.cross_entropy if name == "CE" else pairs[name][0 if variant == "ours" else 1]
    print(peak_memory_mib(step_fn(loss, x, t)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        name, variant, *sizes = args.child
        return child(name, variant, *map(int, sizes))
    sizes = (4096, 100, 2**14) if args.quick else (65536, 1000, 2**20)
    print(header())
    print(
        f"logits N={sizes[0]}, C={sizes[1]}; {sizes[2]} box pairs; float32, forward + backward, "
        f"best of {args.repeats}"
    )
    z, t = make_logits(*sizes[:2])
    ce_time = best_time_s(step_fn(F.cross_entropy, z, t), args.repeats)
    ce_mem = peak_memory_in_child(__file__, "CE", "ours", *sizes)
    print(f"{'loss':12s} {'ours ms':>8s} {'ref ms':>8s} {'time ratio':>10s} {'ours MiB':>9s} {'ref MiB':>8s}")
    print(f"{'CE':12s} {ce_time * 1e3:8.2f} {'':>8s} {'':>10s} {ce_mem:9.1f}")
    for name, (ours, reference) in {**CLASS_PAIRS, **BOX_PAIRS, **SEGMENTATION_PAIRS}.items():
        x, target = inputs_for(name, sizes)
        torch.testing.assert_close(ours(x, target), reference(x, target), rtol=1e-4, atol=1e-5)
        times = paired_best_times([step_fn(f, x, target) for f in (ours, reference)], args.repeats)
        mems = [peak_memory_in_child(__file__, name, v, *sizes) for v in ("ours", "ref")]
        print(
            f"{name:12s} {times[0] * 1e3:8.2f} {times[1] * 1e3:8.2f} {times[0] / times[1]:10.2f} "
            f"{mems[0]:9.1f} {mems[1]:8.1f}"
        )


if __name__ == "__main__":
    main()

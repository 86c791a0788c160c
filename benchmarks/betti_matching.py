"""Benchmark: one Betti matching evaluation against gudhi's persistence alone and against the Dice loss.

No installable peer computes the Betti matching (the authors' implementation is a C++ extension that is
not on PyPI); gudhi computes the cubical persistence it builds on. Rows, on the same random
likelihood map and binary target of each size (one image):

* ``persistence``: our barcodes of one image (dimensions 0 and 1) vs gudhi's ``CubicalComplex`` on the
  same image: a like-for-like ratio;
* ``matching``: :func:`betti_matching` (three images' barcodes and two image barcodes) vs gudhi's
  persistence of the prediction alone: what the matching costs over the least any method must do;
* ``BM loss``: forward + backward of :func:`betti_matching_loss` vs :func:`soft_dice_loss`.

Peak memory is measured in a fresh child process for each call.

    python benchmarks/betti_matching.py            # 32x32, 64x64, 128x128
    python benchmarks/betti_matching.py --quick    # 32x32, 64x64, a few seconds
"""

from __future__ import annotations

import argparse

import gudhi
import numpy as np
import torch

from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib
from paperlab.losses import betti_matching_loss, soft_dice_loss
from paperlab.metrics import betti_matching, cubical_persistence


def make_inputs(size):
    generator = torch.Generator().manual_seed(0)
    pred = torch.rand(1, size, size, generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand(1, size, size, generator=generator) > 0.5).double()
    return pred, target


def calls(size):
    pred, target = make_inputs(size)
    image = pred.detach()[0]
    array = -image.numpy()

    def gudhi_persistence():
        gudhi.CubicalComplex(top_dimensional_cells=array).persistence()

    def loss_step(loss):
        def step():
            pred.grad = None
            loss(pred, target).backward()

        return step

    return {
        "ours persistence": lambda: cubical_persistence(image),
        "gudhi persistence": gudhi_persistence,
        "betti matching": lambda: betti_matching(image, target[0]),
        "BM loss": loss_step(betti_matching_loss),
        "dice loss": loss_step(soft_dice_loss),
    }


def same_bars(size):
    """Check that ours and gudhi agree before timing."""
    image = make_inputs(size)[0].detach()[0]
    ours = sorted(b for bars in cubical_persistence(image) for b in zip(-bars.birth, -bars.death))
    theirs = sorted(
        (birth, death)
        for _, (birth, death) in gudhi.CubicalComplex(top_dimensional_cells=-image.numpy()).persistence()
        if death > birth
    )
    np.testing.assert_allclose(np.array(ours), np.array(theirs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--child", nargs=2)
    args = parser.parse_args()
    if args.child:
        name, size = args.child
        return print(peak_memory_mib(calls(int(size))[name]))
    sizes = (32, 64) if args.quick else (32, 64, 128)
    repeats = 3 if args.quick else args.repeats
    print(header(gudhi, np))
    print(f"one image, float64, best of {repeats}; ratios: ours / reference")
    print(
        f"{'size':>5s} {'row':12s} {'ours ms':>9s} {'ref ms':>9s} {'ratio':>7s} {'ours MiB':>9s} {'ref MiB':>8s}"
    )
    rows = [
        ("persistence", "ours persistence", "gudhi persistence"),
        ("matching", "betti matching", "gudhi persistence"),
        ("BM loss", "BM loss", "dice loss"),
    ]
    for size in sizes:
        same_bars(size)
        fns = calls(size)
        times = {name: best_time_s(fn, repeats) for name, fn in fns.items()}
        mems = {name: peak_memory_in_child(__file__, name, size) for name in fns}
        for row, ours, ref in rows:
            print(
                f"{size:5d} {row:12s} {times[ours] * 1e3:9.2f} {times[ref] * 1e3:9.2f} "
                f"{times[ours] / times[ref]:7.1f} {mems[ours]:9.1f} {mems[ref]:8.1f}"
            )


if __name__ == "__main__":
    main()

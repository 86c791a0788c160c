"""Benchmark: W-MSE and INTL losses against naive compositions and eigendecomposition whitening.

Two losses, forward + backward on the same seeded float32 views (K = 2, N samples, D features):

* ``w_mse_loss`` (batched Cholesky over all sub-batches and views at once) against ``loops`` (the
  authors' recipe: Python loops over sub-batches and views, one Cholesky and explicit inverse each) and
  ``eigh`` (the same loss with ZCA whitening by a symmetric eigendecomposition, the usual alternative);
* ``intl_loss`` (T = 4 Newton steps) against ``matrix_power`` (the authors' recipe with
  ``torch.matrix_power``) and ``eigh`` (exact inverse square root by eigendecomposition).

Each variant's peak memory is measured in its own subprocess (see ``_measure.py``); time is the best
of ``--repeats`` runs.

    python benchmarks/whitening_ssl.py            # N = 4096, D = 128, w_size = 512
    python benchmarks/whitening_ssl.py --quick    # N = 512, D = 32, a few seconds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _measure import best_time_s, header, peak_memory_in_child, peak_memory_mib  # noqa: E402

VARIANTS = {"w_mse": ("ours", "loops", "eigh"), "intl": ("ours", "matrix_power", "eigh")}
N_ITER = 4


def loop_w_mse(a, b, w_size, generator):
    """W-MSE with a loop over sub-batches and views, Cholesky and explicit inverse per sub-batch."""
    n, d = a.shape
    order = torch.randperm(n, generator=generator)
    white = [torch.empty_like(a), torch.empty_like(b)]
    for idx in order.view(-1, w_size):
        for view, out in zip((a, b), white):
            centred = view[idx] - view[idx].mean(dim=0)
            cov = centred.T @ centred / (w_size - 1)
            out[idx] = centred @ torch.linalg.inv(torch.linalg.cholesky(cov)).T
    return 2 - 2 * (F.normalize(white[0], dim=1) * F.normalize(white[1], dim=1)).sum(dim=1).mean()


def eigh_w_mse(a, b, w_size, generator):
    """W-MSE with ZCA whitening (symmetric inverse root by eigendecomposition), batched over sub-batches."""
    n, d = a.shape
    order = torch.randperm(n, generator=generator)
    groups = torch.stack([a, b])[:, order].reshape(2, n // w_size, w_size, d)  # (2, G, w, D)
    centred = groups - groups.mean(dim=2, keepdim=True)
    eigenvalues, vectors = torch.linalg.eigh(centred.transpose(-2, -1) @ centred / (w_size - 1))
    root = vectors @ torch.diag_embed(eigenvalues.rsqrt()) @ vectors.transpose(-2, -1)  # (2, G, D, D)
    white = (centred @ root).reshape(2, n, d)
    return 2 - 2 * (F.normalize(white[0], dim=1) * F.normalize(white[1], dim=1)).sum(dim=1).mean()


def _trace_loss(z):
    return (z.var(dim=0) - 1).pow(2).sum()


def _intl_from_root(views, root_fn, beta):
    transformed = []
    for z in views:
        centred = z - z.mean(dim=0)
        transformed.append(centred @ root_fn(centred.T @ centred / (z.shape[0] - 1)))
    cosine = (F.normalize(transformed[0], dim=1) * F.normalize(transformed[1], dim=1)).sum(dim=1).mean()
    return 2 - 2 * cosine + beta * (_trace_loss(transformed[0]) + _trace_loss(transformed[1]))


def matrix_power_root(cov):
    """The authors' recipe: trace-normalize, Newton steps with torch.matrix_power, rescale."""
    trace = torch.trace(cov)
    p = torch.eye(cov.shape[0], dtype=cov.dtype)
    for _ in range(N_ITER):
        p = torch.addmm(p, torch.matrix_power(p, 3), cov / trace, beta=1.5, alpha=-0.5)
    return p / trace.sqrt()


def eigh_root(cov):
    eigenvalues, vectors = torch.linalg.eigh(cov)
    return vectors @ torch.diag(eigenvalues.clamp_min(1e-12).rsqrt()) @ vectors.T


def make_step(loss: str, variant: str, n: int, d: int, w_size: int):
    """Seeded views and a closure that runs forward + backward of one variant."""
    from paperlab.losses import default_trade_off, intl_loss, w_mse_loss

    generator = torch.Generator().manual_seed(0)
    base = torch.randn(n, d, generator=generator)
    a = (base + 0.3 * torch.randn(n, d, generator=generator)).requires_grad_()
    b = (base + 0.3 * torch.randn(n, d, generator=generator)).requires_grad_()
    beta = default_trade_off(n, d)
    if loss == "w_mse":
        fn = {
            "ours": lambda: w_mse_loss(a, b, w_size=w_size, generator=torch.Generator().manual_seed(1)),
            "loops": lambda: loop_w_mse(a, b, w_size, torch.Generator().manual_seed(1)),
            "eigh": lambda: eigh_w_mse(a, b, w_size, torch.Generator().manual_seed(1)),
        }[variant]
    else:
        fn = {
            "ours": lambda: intl_loss(a, b, n_iter=N_ITER),
            "matrix_power": lambda: _intl_from_root((a, b), matrix_power_root, beta),
            "eigh": lambda: _intl_from_root((a, b), eigh_root, beta),
        }[variant]

    def step():
        a.grad = b.grad = None
        value = fn()
        value.backward()
        return value.item()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:  # rest = loss, variant, n, d, w_size
        loss, variant, n, d, w_size = args.rest[0], args.rest[1], *map(int, args.rest[2:5])
        step = make_step(loss, variant, n, d, w_size)
        step()
        print(peak_memory_mib(step))
        return
    n, d, w_size = (512, 32, 128) if args.quick else (4096, 128, 512)
    print(header())
    print(
        f"N={n}, D={d}, w_size={w_size}, K=2 views, float32, forward + backward, best of {args.repeats} runs"
    )
    for loss, variants in VARIANTS.items():
        sizes = (n, d, w_size)
        results = {}
        for variant in variants:
            value = make_step(loss, variant, *sizes)()
            seconds = best_time_s(make_step(loss, variant, *sizes), args.repeats)
            memory = peak_memory_in_child(__file__, "--threads", args.threads, loss, variant, *sizes)
            results[variant] = (value, seconds, memory)
        ours = results["ours"]
        print(f"{loss}: ours loss {ours[0]:.5f}, {ours[1] * 1e3:.2f} ms, {ours[2]:.1f} MiB")
        for variant in variants[1:]:
            value, seconds, memory = results[variant]
            memory_ratio = f"{ours[2] / memory:.2f}" if memory >= 1.0 else "n/a (< 1 MiB)"
            print(
                f"  {variant:<12} loss {value:.5f}, {seconds * 1e3:.2f} ms, {memory:.1f} MiB"
                f" | ours/{variant}: time {ours[1] / seconds:.2f}, memory {memory_ratio}"
            )


if __name__ == "__main__":
    main()

"""Entropic OT at equal accuracy: paperlab.solvers.sinkhorn beside GeomLoss's SamplesLoss("sinkhorn").

    python benchmarks/sinkhorn_geomloss.py [--quick]

GeomLoss is an optional, benchmark-only peer (``pip install geomloss``); the script says so and stops
when it is missing. It solves the same entropic problem with epsilon-scaling on the cost |x - y|^2 / 2.
With our cost C = |x - y|^2 and regularization eps, GeomLoss's blur is sqrt(eps / 2) and its value is
half ours: OT_eps(C) = 2 OT_{eps/2}(C / 2). Both solvers are compared on the entropic objective
<P, C> + eps KL(P | a x b) (GeomLoss with debias=False), against a reference from our log-domain
Sinkhorn run to marginal error 1e-12. GeomLoss's speed/accuracy knob is its scaling (0.5 by default);
ours is the number of iterations (200 fixed, as in benchmarks/sinkhorn.py part 1) or a tolerance.
Times include building the cost matrix on both sides (GeomLoss builds it inside).
"""

from __future__ import annotations

import argparse
import warnings

import torch

from _measure import best_time_s, header
from paperlab.distances import cost_matrix
from paperlab.solvers import sinkhorn


def clouds(n, d, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, d, generator=g, dtype=torch.float64), torch.rand(
        n, d, generator=g, dtype=torch.float64
    )


def timed(fn, repeats):
    """Result of ``fn()`` and its best wall time (:func:`_measure.best_time_s`) over ``repeats`` runs."""
    results = []
    seconds = best_time_s(lambda: results.append(fn()), repeats)
    return results[-1], seconds


def entropic_objective(plan, M, reg, a, b):
    """<P, M> + reg KL(P | a b^T) of a plan (zero entries contribute nothing)."""
    ratio = plan / (a[:, None] * b[None, :])
    return float((plan * M).sum() + reg * torch.special.xlogy(plan, ratio).sum())


def ours(X, Y, reg, max_iter, tol):
    M = cost_matrix(X, Y)
    a = torch.full((X.shape[0],), 1 / X.shape[0], dtype=X.dtype)
    b = torch.full((Y.shape[0],), 1 / Y.shape[0], dtype=Y.dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sinkhorn(a, b, M, reg, max_iter=max_iter, tol=tol)
    return entropic_objective(result.plan, M, reg, a, b), result.n_iter


def geomloss_value(X, Y, reg, scaling):
    from geomloss import SamplesLoss

    loss = SamplesLoss(
        "sinkhorn", p=2, blur=(reg / 2) ** 0.5, scaling=scaling, debias=False, backend="tensorized"
    )
    return 2 * float(loss(X, Y))


def solver_rows(X, Y, reg, scalings, repeats):
    """(name, seconds, entropic objective) for our two stopping rules and each GeomLoss scaling."""
    (value, _), seconds = timed(lambda: ours(X, Y, reg, 200, 0.0), repeats)
    rows = [("paperlab, 200 iterations", seconds, value)]
    (value, n_iter), seconds = timed(lambda: ours(X, Y, reg, 100_000, 1e-6), repeats)
    rows.append((f"paperlab, tol 1e-6 ({n_iter} it)", seconds, value))
    for scaling in scalings:
        value, seconds = timed(lambda s=scaling: geomloss_value(X, Y, reg, s), repeats)
        rows.append((f"GeomLoss, scaling {scaling:g}", seconds, value))
    return rows


def compare(sizes, dims, reg_fraction, scalings, repeats):
    print(
        f"\nreg = {reg_fraction:g} x max cost; relative error of the entropic objective vs the 1e-12 reference"
    )
    print(f"{'n=m':>6} {'d':>4} {'solver':>28} {'seconds':>9} {'rel. error':>11} {'time / ours(200 it)':>20}")
    for n in sizes:
        for d in dims:
            X, Y = clouds(n, d)
            reg = reg_fraction * float(cost_matrix(X, Y).max())
            reference, _ = ours(X, Y, reg, max_iter=100_000, tol=1e-12)
            rows = solver_rows(X, Y, reg, scalings, repeats)
            base = rows[0][1]
            for name, seconds, value in rows:
                error = abs(value - reference) / abs(reference)
                print(f"{n:>6} {d:>4} {name:>28} {seconds:>9.3f} {error:>11.1e} {seconds / base:>20.2f}")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, runs in seconds")
    args = parser.parse_args()
    try:
        import geomloss
    except ImportError:
        print("GeomLoss is not installed (pip install geomloss): nothing to compare")
        return
    print(header(geomloss))
    if args.quick:
        compare([300], [2], 1e-2, [0.5, 0.9], repeats=1)
    else:
        compare([500, 2000, 5000], [2, 64], 1e-2, [0.5, 0.8, 0.9, 0.95], repeats=3)


if __name__ == "__main__":
    main()

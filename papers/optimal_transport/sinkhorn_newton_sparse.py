# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Accelerating Sinkhorn Algorithm with Sparse Newton Iterations
# *2024* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Entropic optimal transport between weights $a \in \Delta_n$, $b \in \Delta_m$ with costs $M$ and
# regularization $\varepsilon$ has a concave dual. In log-scalings $\alpha, \beta$ (the plan is
# $P = \exp(-M/\varepsilon + \alpha \oplus \beta)$) it reads
#
# $$\phi(\alpha, \beta) = \langle a, \alpha\rangle + \langle b, \beta\rangle - \sum_{ij} P_{ij}, \qquad
#   \nabla\phi = (a - P\mathbf 1,\ b - P^\top \mathbf 1).$$
#
# Sinkhorn is exact block-coordinate ascent on $\phi$: it alternately zeroes each half of the gradient.
# Its convergence is linear, with a rate that degrades badly as $\varepsilon$ shrinks, so thousands of
# iterations are common at small $\varepsilon$. Newton's method on $\phi$ would converge quadratically,
# but its Hessian
#
# $$\nabla^2\phi = -\begin{pmatrix} \mathrm{diag}(P\mathbf 1) & P \\ P^\top & \mathrm{diag}(P^\top\mathbf 1)\end{pmatrix}$$
#
# is a dense $(n+m)^2$ matrix. The paper's observation: after a few Sinkhorn steps, $P$ (hence the
# Hessian) is *approximately sparse* when $\varepsilon$ is small: mass concentrates near the
# optimal transport map. **Sinkhorn-Newton-Sparse (SNS)** therefore runs a short Sinkhorn warm-up, then
# Newton steps in which $P$ is truncated to its largest entries, the Newton system is solved by
# conjugate gradient (each product costs the number of kept entries), and a backtracking line search
# keeps $\phi$ increasing. The cost per iteration stays $O(nm)$ (one pass to form $P$), like Sinkhorn,
# while the number of iterations collapses.
#
# `paperlab.solvers.sinkhorn_newton_sparse` implements it. Two choices of ours: the truncation keeps
# the largest entries of every row and column (a global top-$k$ left low-mass rows without neighbours
# and stalled on our 1-D problem), and a Newton step whose line search had to shrink below $0.1$ is
# followed by one Sinkhorn step. The baseline is `paperlab.solvers.sinkhorn` (log-domain Sinkhorn, the
# iterates of POT's `sinkhorn_log`).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
reg_clouds = 2e-3  # entropic regularization for the 2-D point clouds in the unit square
reg_densities = 2e-4  # entropic regularization for the 1-D densities on [0, 1]
density = None  # fraction of each row's and column's plan entries kept; None: 10 entries (ci), 2% (paper)
n_warmup = 20  # Sinkhorn iterations before the Newton steps
tol = 1e-9  # target marginal error

# %%
import matplotlib.pyplot as plt
import torch

from paperlab.distances import cost_matrix
from paperlab.experiment import require, setup
from paperlab.solvers import hessian_sparsification_error, sinkhorn, sinkhorn_newton_sparse

exp = setup(seed=seed, device=device, profile=profile)
require(
    reg_clouds > 0 and reg_densities > 0,
    f"reg_clouds and reg_densities must be > 0, got {reg_clouds}, {reg_densities}",
)
require(
    isinstance(n_warmup, int) and n_warmup >= 0, f"n_warmup must be a non-negative integer, got {n_warmup}"
)
require(0 < tol < 1e-3, f"tol must be in (0, 1e-3), got {tol}")
n = exp.pick(ci=300, paper=2000)  # points per cloud and bins per density
if density is None:
    density = exp.pick(ci=10 / n, paper=0.02)  # 10 entries per row = the plan's 2% of 500 points
require(isinstance(density, (int, float)) and 0 < density <= 1, f"density must be in (0, 1], got {density!r}")
dtype = torch.float64  # marginal errors of 1e-9 need double precision

# %% [markdown]
# ## Two problems
#
# As in the plan: two clouds of $n$ uniform points in the unit square, and two discretized 1-D densities
# (mixtures of two Gaussian bumps with random centres and widths, plus a small floor) on $n$ bins of
# $[0, 1]$, both with the squared Euclidean cost.


# %%
def mixture_on_grid(grid, generator):
    centres = 0.2 + 0.6 * torch.rand(2, generator=generator, dtype=dtype)
    widths = 0.04 + 0.08 * torch.rand(2, generator=generator, dtype=dtype)
    weights = torch.exp(-0.5 * ((grid[:, None] - centres) / widths) ** 2).sum(1) + 1e-3
    return weights / weights.sum()


X = torch.rand(n, 2, generator=exp.generator, dtype=dtype)
Y = torch.rand(n, 2, generator=exp.generator, dtype=dtype)
grid = torch.linspace(0, 1, n, dtype=dtype)
source, target = mixture_on_grid(grid, exp.generator), mixture_on_grid(grid, exp.generator)
problems = {
    "point clouds (2-D)": (None, None, cost_matrix(X, Y).to(exp.device), reg_clouds),
    "densities (1-D)": (
        source.to(exp.device),
        target.to(exp.device),
        cost_matrix(grid[:, None], grid[:, None]).to(exp.device),
        reg_densities,
    ),
}

# %% [markdown]
# ## Sinkhorn vs SNS to marginal error 1e-9
#
# Both record the marginal error $\lVert(P\mathbf 1 - a, P^\top\mathbf 1 - b)\rVert_2$ as they go:
# Sinkhorn every 10 iterations (its rows are exact after each update), SNS at every iteration.

# %%
runs = {}
for name, (a, b, M, reg) in problems.items():
    plain_history, newton_history = [], []
    plain = sinkhorn(a, b, M, reg, tol=tol, max_iter=200_000, history=plain_history)
    newton = sinkhorn_newton_sparse(
        a, b, M, reg, tol=tol, max_iter=2000, n_warmup=n_warmup, density=density, history=newton_history
    )
    runs[name] = dict(
        plain=plain,
        newton=newton,
        plain_history=plain_history,
        newton_history=newton_history,
        hessian_error=hessian_sparsification_error(newton.plan, density).item(),
    )
    print(
        f"{name}: Sinkhorn {plain.n_iter} iterations, SNS {newton.n_iter} iterations "
        f"(final marginal error {newton.marginal_error:.1e}), cost gap {abs(plain.value - newton.value).item():.1e}"
    )

# %%
fig, axes = plt.subplots(2, 2, figsize=(10, 7))
for column, (name, run) in enumerate(runs.items()):
    for key, label in (("plain_history", "Sinkhorn"), ("newton_history", "Sinkhorn-Newton-Sparse")):
        iterations, errors, seconds = zip(*run[key])
        axes[0, column].semilogy(iterations, errors, label=label)
        axes[1, column].semilogy(seconds, errors, label=label)
    axes[0, column].axvline(n_warmup, color="grey", linestyle=":", label="end of warm-up")
    axes[0, column].set(title=f"{name}, n = {n}", xlabel="iteration", ylabel="marginal error")
    axes[1, column].set(title=f"{name}: wall time (this machine)", xlabel="seconds", ylabel="marginal error")
    for ax in axes[:, column]:
        ax.axhline(tol, color="black", linewidth=0.8, linestyle="--")
        ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# The plan's check: SNS reaches marginal error $< 10^{-9}$ in at least 10x fewer total iterations
# (warm-up included) than Sinkhorn on both problems, the transport costs agree to $10^{-6}$, and the
# sparsified Hessian is close to the full one (relative Frobenius error $< 0.1$, at the final plan).
# Wall time is shown in the figure but not checked: it depends on the machine.

# %%
# marginal errors and cost gaps near 1e-10 are rounding-level numbers that differ between machines,
# so the table shows only whether they pass (their values are printed above)
for label, name in (("clouds", "point clouds (2-D)"), ("densities", "densities (1-D)")):
    run = runs[name]
    plain, newton = run["plain"], run["newton"]
    exp.check(f"sns_converged_{label}", newton.converged and newton.marginal_error < tol, expect=f"< {tol:g}")
    ratio = plain.n_iter / newton.n_iter
    exp.check(f"iteration_ratio_{label}", plain.converged and ratio >= 10, value=ratio, expect=">= 10")
    gap = abs(plain.value - newton.value).item()
    exp.check(f"cost_gap_{label}", gap < 1e-6, expect="< 1e-6")
    exp.check(
        f"hessian_error_{label}", run["hessian_error"] < 0.1, value=run["hessian_error"], expect="< 0.1"
    )

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - At $n = 300$ and small $\varepsilon$, SNS needs 25 to 55 times fewer iterations than
#   Sinkhorn on both problems (seeds 0 and 1), with the same transport cost: the paper's central claim
#   holds at this scale. The Newton phase converges superlinearly but not cleanly quadratically: the
#   Hessian is truncated and the conjugate-gradient solves are inexact.
# - An SNS iteration costs more than a Sinkhorn iteration (CG products with the sparse Hessian,
#   line-search passes, and now and then a top-$k$ re-selection), so fewer iterations do not
#   automatically mean less time. Our SNS keeps the plan as scalings of an absorbed plan (marginals
#   and line-search values are matrix-vector products), re-selects the kept entries only when the
#   plan has moved by more than a factor 2, and runs CG on sparse CSR matrices. Our Sinkhorn uses the
#   same matrix-vector trick, which makes it a strong baseline: at $n = 300$ on one CPU core SNS took
#   about half of Sinkhorn's CPU time on the point clouds (~0.04 s vs ~0.08 s) and 1.0-1.7x more on
#   the 1-D densities, where its Newton phase first wanders (fallback Sinkhorn steps) for a few dozen
#   iterations before converging fast. At $n = 1000$ on point clouds (marginal error $10^{-8}$),
#   `benchmarks/sinkhorn.py --sns` measured SNS about 5x faster (CPU time) than our Sinkhorn at
#   $\varepsilon = 10^{-3}$, 2.5x faster at $2\cdot10^{-3}$, on par at $5\cdot10^{-3}$ and about 25x
#   slower at $10^{-2}$, where 2% of the entries miss much of the plan's mass: the Newton phase then
#   converges only linearly and re-selects its entries at almost every step. The speed-up is where
#   the paper claims it: small $\varepsilon$.
# - The truncation rule is ours (row- and column-wise top entries rather than a global top-$k$), and so
#   is the fallback Sinkhorn step after a heavily damped Newton step; with a global top-2% the 1-D problem
#   stalled for hundreds of iterations.
# - Sparsity level: the plan keeps ~2% of the entries at 500 points, i.e. 10 per row. The ci profile has
#   300 points and keeps the same 10 entries per row (3.3%). With 2% of 300 (6 per row), seed 1's point
#   clouds stalled near marginal error 2e-4 for hundreds of iterations and the 1-D Hessian error reached
#   0.1: too few entries per row and the truncated Hessian misleads Newton. The paper profile keeps 2%.
# - The Hessian check uses the final plan; early in the Newton phase the plan is less concentrated.

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
# # Low Rank Matrix Completion via Robust Alternating Minimization in Nearly Linear Time
# *2023* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# Matrix completion asks for a rank-$k$ matrix $M \in \mathbb{R}^{m \times n}$ from the entries in a
# random set $\Omega$. Alternating minimization (AltMin) writes $\hat M = U V^\top$ and alternates two
# least-squares problems,
#
# $$V \leftarrow \arg\min_V \|P_\Omega(U V^\top - M)\|_F^2, \qquad
#   U \leftarrow \arg\min_U \|P_\Omega(U V^\top - M)\|_F^2 .$$
#
# Each splits into one small regression per row: row $i$ of $U$ solves the $k \times k$ normal
# equations $H_i u_i = b_i$ with $H_i = \sum_{j \in \Omega_i} v_j v_j^\top$ and
# $b_i = \sum_{j \in \Omega_i} M_{ij} v_j$. Solving them exactly means forming every $H_i$:
# $O(|\Omega| k^2)$ work per half-step. The classical guarantee for AltMin relies on these solves being
# exact. The paper shows that the argument survives **approximate** solves: if each regression is
# solved to moderate accuracy, the iterates still approach the true subspaces, so a fast approximate
# solver brings the cost per iteration to $\tilde O(|\Omega| k)$, nearly the time needed just to
# check a candidate $U V^\top$ on $\Omega$.
#
# Here the approximate solver is a few conjugate-gradient (CG) steps per row, warm-started from the
# previous factor, with the Hessian applied implicitly as $H_i d = V_{\Omega_i}^\top (V_{\Omega_i} d)$:
# $T$ steps cost about $(2T + 1)|\Omega| k$ multiply-adds, against $|\Omega| k^2 + (m + n) k^3 / 3$ for
# the exact update. (The paper's solver uses a sketching preconditioner; with the fixed factor
# orthonormalized, $H_i$ is already close to a multiple of the identity on incoherent matrices, so we
# use plain CG.) `paperlab.solvers.altmin_completion` implements both updates.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
rank = 5  # k, the rank of the planted matrix
oversampling = 2.4  # |Omega| / (m + n - k) k, observed entries per degree of freedom
n_iter = 30  # outer AltMin iterations (each updates V, then U)
cg_steps = 2  # T, CG steps per row solve in the approximate update
n_trials = 3  # independent planted problems
cost_ranks = [5, 10, 20, 40]  # ranks for the multiply-add count comparison

# %%
import matplotlib.pyplot as plt
import torch

from paperlab.experiment import require, setup
from paperlab.solvers import altmin_completion, altmin_multiply_adds

exp = setup(seed=seed, device=device, profile=profile)
size = exp.pick(ci=300, paper=3000)  # m = n
require(
    isinstance(rank, int) and 1 <= rank <= size // 10,
    f"rank must be an integer in [1, {size // 10}], got {rank!r}",
)
require(
    isinstance(oversampling, (int, float)) and oversampling > 1,
    f"oversampling must be a number > 1 (fewer samples than degrees of freedom cannot determine M), got {oversampling!r}",
)
require(isinstance(n_iter, int) and n_iter >= 1, f"n_iter must be a positive integer, got {n_iter!r}")
require(
    isinstance(cg_steps, int) and 1 <= cg_steps < rank,
    f"cg_steps must be an integer in [1, rank), got {cg_steps!r}",
)
require(isinstance(n_trials, int) and n_trials >= 1, f"n_trials must be a positive integer, got {n_trials!r}")
require(
    all(isinstance(k, int) and k >= 1 for k in cost_ranks),
    f"cost_ranks must be positive integers, got {cost_ranks!r}",
)
n_trials = exp.pick(ci=n_trials, paper=max(n_trials, 5))
# The samples needed grow like n k log n, faster than the degrees of freedom: at 3000 x 3000, rank 5, a
# CPU probe with 2.4 samples per degree of freedom did not recover M, while 4 did (to 1e-8).
oversampling = exp.pick(ci=oversampling, paper=max(oversampling, 4.0))
degrees_of_freedom = (2 * size - rank) * rank
fraction = min(oversampling * degrees_of_freedom / size**2, 1.0)
print(
    f"{size} x {size}, rank {rank}: {degrees_of_freedom} degrees of freedom, {fraction:.1%} of the entries observed"
)

# %% [markdown]
# ## A planted incoherent matrix and the two AltMin variants
#
# $M = A B^\top$ with Gaussian $A, B$ (incoherent with high probability) and each entry observed
# independently with probability $p$. Both variants start from the same spectral initialization (the
# top-$k$ SVD of $P_\Omega(M)/p$) and run the same number of outer iterations; we record the true
# relative error $\|U V^\top - M\|_F / \|M\|_F$ after each one, and how inexact the CG solves are: the
# mean relative residual $\|H_i u_i - b_i\| / \|b_i\|$ of the normal equations.


# %%
def planted_problem(generator):
    """Rank-k Gaussian factors and a uniform observation mask (glue for this notebook)."""
    a = torch.randn(size, rank, generator=generator, dtype=torch.float64)
    b = torch.randn(size, rank, generator=generator, dtype=torch.float64)
    mask = torch.rand(size, size, generator=generator) < fraction
    return (a @ b.T).to(exp.device), mask.to(exp.device)


def run(truth, mask, solver, trial_seed):
    errors = []

    def record(iteration, u, v):
        errors.append(float(torch.linalg.matrix_norm(u @ v.T - truth) / torch.linalg.matrix_norm(truth)))

    result = altmin_completion(
        truth, mask, rank, n_iter=n_iter, solver=solver, cg_steps=cg_steps, seed=trial_seed, callback=record
    )
    return errors, result


histories = {"exact": [], "cg": []}
first_residuals = []
for trial in range(n_trials):
    truth, mask = planted_problem(exp.generator)
    trial_seed = seed * 1000 + trial
    for solver in histories:
        errors, result = run(truth, mask, solver, trial_seed)
        histories[solver].append(errors)
        if solver == "cg":
            first_residuals.append(result.solve_residuals[0])
final_exact = max(h[-1] for h in histories["exact"])
final_cg = max(h[-1] for h in histories["cg"])
print(f"worst final error: exact {final_exact:.2e}, CG with T={cg_steps}: {final_cg:.2e}")
print(
    f"mean relative normal-equation residual of the CG solves, first iteration: {min(first_residuals):.2e} (smallest trial)"
)

# %% [markdown]
# ## Cost per iteration
#
# The leading multiply-add counts of one outer iteration, for this problem's $|\Omega|$ and a range of
# ranks. They are formulas, not timings: at small $k$ and $T = 2$ or 3 the two are comparable, and the
# gap opens linearly in $k$.

# %%
n_observed = int(mask.sum())
costs = {
    "exact": [altmin_multiply_adds(n_observed, size, size, k, "exact") for k in cost_ranks],
    f"CG, T={cg_steps}": [
        altmin_multiply_adds(n_observed, size, size, k, "cg", cg_steps) for k in cost_ranks
    ],
}
for k, exact_cost, cg_cost in zip(cost_ranks, *costs.values()):
    print(
        f"k={k:>3}: exact {exact_cost:.2e}, CG {cg_cost:.2e} multiply-adds, ratio {exact_cost / cg_cost:.1f}"
    )

# %%
fig, (ax_error, ax_cost) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
iterations = range(1, n_iter + 1)
for solver, color, label in (
    ("exact", "C0", "exact row solves"),
    ("cg", "C1", f"{cg_steps} CG steps per row"),
):
    for trial, errors in enumerate(histories[solver]):
        ax_error.semilogy(iterations, errors, color=color, alpha=0.8, label=label if trial == 0 else None)
ax_error.set(
    xlabel="outer iteration",
    ylabel=r"$\|UV^\top - M\|_F / \|M\|_F$",
    title="AltMin error, exact vs approximate",
)
ax_error.legend()
for (name, values), marker in zip(costs.items(), "os"):
    ax_cost.loglog(cost_ranks, values, marker=marker, label=name)
ax_cost.set(
    xlabel="rank k", ylabel="multiply-adds per iteration", title=f"Cost formulas at |Ω| = {n_observed}"
)
ax_cost.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# The paper's claim, made measurable: AltMin with approximate least-squares updates still recovers the
# matrix. Both variants must reach a relative error below $10^{-3}$ after the given iterations on every
# trial, and the approximate solves must be genuinely inexact (mean relative residual above $10^{-3}$ in
# the first iteration), otherwise the comparison would be exact vs exact.

# %%
exp.check("exact_altmin_recovers", final_exact < 1e-3, value=final_exact, expect="< 1e-3")
exp.check("approx_altmin_recovers", final_cg < 1e-3, value=final_cg, expect="< 1e-3")
exp.check("approx_solves_inexact", min(first_residuals) > 1e-3, value=min(first_residuals), expect="> 1e-3")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - At 300 x 300, rank 5 and 2.4 observed entries per degree of freedom (about 8% of the entries),
#   AltMin with two CG steps per row solve, which leave the normal equations with residuals of a few
#   percent, recovers the matrix about as fast as AltMin with exact solves. That is the robustness the
#   paper proves. Its sample bound, inherited from the earlier analysis of exact AltMin, carries high
#   powers of $k$ and logarithmic factors, far more samples than this run uses: the run shows the
#   behaviour, not the regime of the theorem.
# - The paper's speed claim is about asymptotic cost. Here it appears only as operation counts: at
#   $k = 5$ the two updates cost about the same, and the CG update is cheaper by a factor growing like
#   $k / (2T + 1)$. Wall-clock times at this size are dominated by overheads and are not compared.
# - The paper's solver is a sketch-preconditioned high-accuracy regression solver with fresh samples
#   per iteration (sample splitting) in the analysis; we use plain warm-started CG and reuse $\Omega$,
#   as practical implementations do.
# - The `paper` profile scales to 3000 x 3000 with 5 trials and at least 4 samples per degree of
#   freedom (1.3% of the entries): the sample requirement grows like $n k \log n$, and 2.4 per degree of
#   freedom is below it at that size (a probe on CPU did not recover the matrix).

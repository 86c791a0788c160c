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
# # Adaptive Learning of Tensor Network Structures
# *year not listed in the catalog* · topic `tensor_networks` · verdict **reproduce**
#
# ## The idea
#
# A tensor network (TN) writes an order-$N$ tensor as a contraction of $N$ small cores, one per mode,
# joined by edges. On the fully connected graph, every pair of cores $(i, j)$ shares an edge of rank
# $R_{ij} \ge 1$ (rank 1 means no edge), and core $k$ has shape $(R_{0k}, \dots, I_k, \dots, R_{k,N-1})$:
#
# $$X[i_0, \dots, i_{N-1}] = \sum_{\text{edge indices}} \prod_{k} G_k[\dots, i_k, \dots], \qquad
#   \#\text{params} = \sum_k I_k \prod_{j \ne k} R_{kj}.$$
#
# Tensor trains (TT), tensor rings (TR) and CP rank one are all points of this space, which differ only
# in their rank matrix $R$. Which $R$ to use is usually fixed by hand. The paper learns it **greedily**:
#
# 1. start from $R = \mathbf{1}$ (a rank-one tensor) and fit it;
# 2. for every edge $(i, j)$, raise $R_{ij}$ by one, initialise the new slices near zero so the current
#    fit is kept (*weight transfer*), optimise a few steps and record the loss;
# 3. keep the edge with the lowest loss, train that network until the loss plateaus, and repeat.
#
# $$(i^*, j^*) = \arg\min_{(i,j)} \; \min_{\text{few steps}} \big\| X - \mathrm{TN}(\mathcal G;\, R + e_{ij})\big\|_F .$$
#
# Each iteration adds the rank unit that buys the largest drop in error, so the structure grows only
# where the data needs it. The paper's claim: this finds structures with **few parameters** that fit
# the data, better than fixed TT structures (and much faster than evolutionary topology search,
# which is not run here).
#
# We decompose a synthetic tensor made by a tensor ring with known ranks, and compare the greedy
# structure with the cheapest TT-SVD that reaches the same error. The inner optimiser is ALS
# (`paperlab.solvers.tn_als`), exact per core, in place of the paper's gradient steps.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
mode_size = 8  # every mode of the order-4 target tensor
ring_ranks = [2, 3, 4, 2]  # the generating tensor ring's ranks, one per ring edge
target_rse = 0.01  # the relative error the search must reach
max_iter = 12  # greedy iterations (rank increments)
candidate_sweeps = 5  # ALS sweeps per candidate edge
plateau_sweeps = 50  # ALS sweeps to train the chosen network

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch

from paperlab.experiment import require, setup
from paperlab.solvers import (
    greedy_tn_structure,
    random_tr_cores,
    tr_parameter_count,
    tr_to_tensor,
    tt_svd,
    tt_to_tensor,
)

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(mode_size, int) and mode_size >= 2, f"mode_size must be an int >= 2, got {mode_size!r}")
require(
    isinstance(ring_ranks, list)
    and len(ring_ranks) >= 3
    and all(isinstance(r, int) and r >= 1 for r in ring_ranks),
    f"ring_ranks must be a list of at least 3 positive ints, got {ring_ranks!r}",
)
require(0 < target_rse < 1, f"target_rse must lie in (0, 1), got {target_rse!r}")
for name, value in [
    ("max_iter", max_iter),
    ("candidate_sweeps", candidate_sweeps),
    ("plateau_sweeps", plateau_sweeps),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive int, got {value!r}")

ranks = exp.pick(ci=ring_ranks, paper=ring_ranks + [3, 2])  # order 4 on CPU, order 6 for the paper profile
max_iter = exp.pick(ci=max_iter, paper=4 * max_iter)
candidate_sweeps = exp.pick(ci=candidate_sweeps, paper=4 * candidate_sweeps)
shape = (mode_size,) * len(ranks)
dtype = torch.float64

# %% [markdown]
# ## The target tensor
#
# A tensor ring with random Gaussian cores and ranks `ring_ranks`: the smallest network known to fit
# it exactly. A TT needs its ranks multiplied by the closing rank $r_0$, so fixed-TT methods pay extra.

# %%
planted = random_tr_cores(shape, ranks, dtype=dtype, device=exp.device, seed=exp.generator)
tensor = tr_to_tensor(planted)
planted_params = tr_parameter_count(shape, ranks)
print(f"tensor {tuple(shape)}, generating ring ranks {ranks}: {planted_params} parameters")

# %% [markdown]
# ## Greedy structure search

# %%
result = greedy_tn_structure(
    tensor,
    max_iter=max_iter,
    target_rse=target_rse,
    candidate_sweeps=candidate_sweeps,
    plateau_sweeps=plateau_sweeps,
    seed=exp.generator,
)
path = pd.DataFrame(
    [
        {"iteration": i, "edge": step.edge, "params": step.n_params, "rse": step.rse}
        for i, step in enumerate(result.history)
    ]
)
print(path.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
edges = {
    (i, j): result.ranks[i][j]
    for i in range(len(shape))
    for j in range(i + 1, len(shape))
    if result.ranks[i][j] > 1
}
print("edges of rank > 1 found:", edges)

# %% [markdown]
# ## Baseline: TT-SVD at increasing ranks
#
# For each uniform TT-rank cap, TT-SVD gives the best TT with those ranks up to the usual quasi-optimality
# factor; one more run lets the TT-SVD error bound pick every rank for `target_rse`. We keep the cheapest
# TT reaching `target_rse`.

# %%
tt_rows = []
for cap in range(1, mode_size ** (len(shape) // 2) + 1):
    cores = tt_svd(tensor, max_rank=cap)
    rse = float(torch.linalg.vector_norm(tt_to_tensor(cores) - tensor) / torch.linalg.vector_norm(tensor))
    tt_rows.append({"cap": cap, "params": sum(c.numel() for c in cores), "rse": rse})
    if rse < 1e-10:
        break
cores = tt_svd(tensor, eps=target_rse)  # per-split ranks chosen by the TT-SVD error bound
rse = float(torch.linalg.vector_norm(tt_to_tensor(cores) - tensor) / torch.linalg.vector_norm(tensor))
tt_rows.append({"cap": "eps", "params": sum(c.numel() for c in cores), "rse": rse})
tt = pd.DataFrame(tt_rows)
tt_fitting = tt[tt.rse <= target_rse]
tt_params = int(tt_fitting.params.min()) if len(tt_fitting) else float("inf")
print(tt.to_string(index=False, float_format=lambda v: f"{v:.3g}"))

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
ax.semilogy(path.params, path.rse.clip(lower=1e-16), "o-", label="greedy TN (one step per rank increment)")
capped = tt[tt.cap != "eps"]
ax.semilogy(capped.params, capped.rse.clip(lower=1e-16), "s--", label="TT-SVD, uniform rank cap")
ax.axhline(target_rse, color="grey", lw=0.8, ls=":", label=f"target RSE {target_rse:g}")
ax.axvline(planted_params, color="tab:green", lw=0.8, ls=":", label=f"generating ring ({planted_params})")
ax.set_xlabel("number of parameters")
ax.set_ylabel("relative error ||X - X_hat|| / ||X||")
ax.set_title("Error against size: greedy structure vs fixed TT")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# The greedy search must reach the target error within `max_iter` increments, with fewer parameters
# than the cheapest TT-SVD at that error. Whether it lands exactly on the generating ring's size is
# reported as a non-required check: the paper claims small structures, not the minimal one, and a
# greedy path can pick an edge early that the final structure does not need.

# %%
exp.check_below("greedy RSE after at most max_iter increments", result.rse, target_rse * (1 + 1e-12))
exp.check_below("greedy params / cheapest TT-SVD params at the target", result.n_params / tt_params, 1.0)
exp.check(
    "greedy params <= generating ring params",
    result.n_params <= planted_params,
    value=result.n_params,
    expect=f"<= {planted_params}",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On an order-4 tensor made by a tensor ring, the greedy search grows a network from rank one that
#   reaches the target error with fewer parameters than any uniformly capped TT-SVD reaching it. The TT
#   baseline pays for the missing closing edge by multiplying its ranks; the greedy search may add that
#   edge (or a chord) when it helps.
# - The greedy path is not guaranteed to find the generating ring: with some seeds an early increment on
#   a chord is kept, and the final network is a little larger than the ring (the last check reports it).
# - Deviations: ALS replaces the paper's gradient-based inner optimisation (exact per core on a
#   decomposition task), the paper's core-splitting step that discovers internal nodes is not
#   implemented, and the tensor is synthetic and noise free rather than an image. The comparison with
#   evolutionary topology search (and its speed-up) is not run.

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
# # Sliced Wasserstein Estimation with Control Variates
# *2023* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# The sliced Wasserstein distance compares two measures $\mu, \nu$ on $\mathbb{R}^d$ through their
# one-dimensional projections, where optimal transport is solved by sorting:
#
# $$SW_2^2(\mu, \nu) = \mathbb{E}_{\theta \sim \mathcal{U}(S^{d-1})}\big[ Z(\theta) \big], \qquad
#   Z(\theta) = W_2^2(\theta_\#\mu, \theta_\#\nu).$$
#
# The expectation over directions has no closed form, so it is estimated by Monte Carlo with $L$
# random directions, $\widehat{SW}_2^2 = \frac1L \sum_l Z(\theta_l)$. Its error shrinks like
# $\sqrt{\mathrm{Var}(Z)/L}$: halving the error costs four times the projections.
#
# The paper's remedy is a **control variate**: a function $G(\theta)$ that moves with $Z(\theta)$ and
# whose mean over the sphere is known exactly. Fit a Gaussian to each projected measure,
# $\theta_\#\mu \approx \mathcal{N}(\theta^\top m_1, \theta^\top \Sigma_1 \theta)$ (likewise for $\nu$).
# The 2-Wasserstein distance between two 1-D Gaussians is
# $(\theta^\top(m_1 - m_2))^2 + (\sqrt{\theta^\top\Sigma_1\theta} - \sqrt{\theta^\top\Sigma_2\theta})^2$;
# its square roots have no closed-form mean, but two bounds do, since
# $\mathbb{E}[\theta\theta^\top] = I/d$:
#
# | variate | $G(\theta)$ | $\mathbb{E}[G]$ |
# |---|---|---|
# | lower | $(\theta^\top(m_1 - m_2))^2$ | $\lVert m_1 - m_2 \rVert^2 / d$ |
# | upper | $(\theta^\top(m_1 - m_2))^2 + \theta^\top(\Sigma_1 + \Sigma_2)\theta$ | $(\lVert m_1 - m_2\rVert^2 + \mathrm{tr}\,\Sigma_1 + \mathrm{tr}\,\Sigma_2)/d$ |
#
# The control-variate estimator subtracts the part of the Monte Carlo error that $G$ predicts:
#
# $$\widehat{SW}_{2,\mathrm{CV}}^2 = \bar Z - \hat\gamma\,(\bar G - \mathbb{E}[G]), \qquad
#   \hat\gamma = \widehat{\mathrm{Cov}}(Z, G) / \widehat{\mathrm{Var}}(G).$$
#
# Its variance is $\mathrm{Var}(Z)(1 - \rho^2)/L$, with $\rho$ the correlation of $Z$ and $G$ over
# directions. Both $G$ cost $O(Ld)$ on top of the $O(L n \log n)$ of the projections, so the reduction is
# almost free. `paperlab.distances.sliced_wasserstein_cv` implements both variates.
#
# One subtlety: $\hat\gamma$ is fitted on the same $L$ directions it corrects, so $\hat\gamma$ and
# $\bar G - \mathbb{E}[G]$ are correlated and the estimator has a bias of order $1/L$. Fitting, for each
# direction $l$, a $\hat\gamma_{-l}$ on the other $L-1$ directions removes it exactly, since
# $\mathbb{E}[\hat\gamma_{-l}(G_l - \mathbb{E}[G])] = \mathbb{E}[\hat\gamma_{-l}]\,\mathbb{E}[G_l - \mathbb{E}[G]] = 0$.
# We run both: the paper's in-sample coefficient and this leave-one-out variant (`coefficient="leave-one-out"`).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_points = 200  # points per cloud in the swiss roll / S-curve pair
n_repeats = 200  # independent estimates per estimator, to measure variances
projection_counts = [10, 20, 50]  # L values for the variance study
claim_projections = 20  # the L at which the variance claims are checked
flow_steps = 100  # steps of the gradient flow
flow_projections = 10  # L used by the flow's estimators
flow_seeds = 3  # independent flows per estimator
mean_gap = 2.0  # distance between the centroids of the moved pair (the clouds are about 1 across)

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.data import point_cloud, random_rigid_motion
from paperlab.distances import (
    projected_wasserstein,
    random_projections,
    sliced_wasserstein,
    sliced_wasserstein_cv,
)
from paperlab.experiment import require, setup

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(n_points, int) and n_points >= 10, f"n_points must be an integer >= 10, got {n_points!r}")
require(
    isinstance(n_repeats, int) and n_repeats >= 10, f"n_repeats must be an integer >= 10, got {n_repeats!r}"
)
require(
    all(isinstance(L, int) and L >= 2 for L in projection_counts),
    f"projection_counts must be integers >= 2, got {projection_counts!r}",
)
require(claim_projections in projection_counts, f"claim_projections must be one of {projection_counts}")
require(
    isinstance(flow_steps, int) and flow_steps >= 1,
    f"flow_steps must be a positive integer, got {flow_steps!r}",
)
require(
    isinstance(flow_projections, int) and flow_projections >= 2, "flow_projections must be an integer >= 2"
)
require(
    isinstance(flow_seeds, int) and flow_seeds >= 1,
    f"flow_seeds must be a positive integer, got {flow_seeds!r}",
)

n_points = exp.pick(ci=n_points, paper=max(n_points, 5_000))
flow_steps = exp.pick(ci=flow_steps, paper=max(flow_steps, 1_000))
n_reference = exp.pick(ci=50_000, paper=1_000_000)  # directions of the reference value
dtype = torch.float64  # variances of estimators are compared: keep rounding out of them

# %% [markdown]
# ## Three pairs of measures
#
# A swiss roll against an S-curve (3-D, `n_points` each, both centred near the same point); the same pair
# after rotating the S-curve at random about its centroid and placing that centroid `mean_gap` away from the
# roll's in a random direction, so that part of the distance is a gap between the means; and 200
# handwritten-digit images of the classes 0-4 against 200 of the classes 5-9 (64-D, pixels scaled to [0, 1]).

# %%
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=dtype)
low = images[digits.target <= 4]
high = images[digits.target >= 5]
pick = lambda rows: rows[torch.randperm(len(rows), generator=exp.generator)[:200]]  # noqa: E731

roll = point_cloud("swiss_roll", n_points, seed=exp.generator, dtype=dtype, device=exp.device)
curve = point_cloud("s_curve", n_points, seed=exp.generator, dtype=dtype, device=exp.device)
direction = torch.randn(3, generator=exp.generator, dtype=dtype).to(exp.device)
turned = random_rigid_motion(curve - curve.mean(0), seed=exp.generator, max_shift=0.0)
pairs = {
    "point clouds": (roll, curve),
    "moved point clouds": (roll, turned + roll.mean(0) + mean_gap * direction / direction.norm()),
    "digits": (pick(low).to(exp.device), pick(high).to(exp.device)),
}

fig = plt.figure(figsize=(7.5, 2.5))
for i, pair in enumerate(["point clouds", "moved point clouds"]):
    ax = fig.add_subplot(1, 3, i + 1, projection="3d")
    for name, cloud in zip(["swiss roll", "S-curve"], pairs[pair]):
        ax.scatter(*cloud.cpu().T, s=1, label=name)
    ax.set_title(pair)
    ax.legend(loc="upper left", fontsize=8, markerscale=4)
ax = fig.add_subplot(1, 3, 3)
rows_of_digits = [pairs["digits"][k][:6].reshape(6, 8, 8).permute(1, 0, 2).reshape(8, 48) for k in (0, 1)]
ax.imshow(torch.cat(rows_of_digits).cpu(), cmap="gray_r")
ax.set_title("digits: 0-4 (top) vs 5-9")
ax.axis("off")
plt.show()

# %% [markdown]
# ## A reference value
#
# $SW_2^2$ itself is unknown, so we estimate it once with `n_reference` directions, in chunks, and keep
# its standard error: every estimator below is compared with this value.

# %%
reference = {}
for name, (X, Y) in pairs.items():
    values = []
    for _ in range(n_reference // 10_000):
        theta = random_projections(X.shape[1], 10_000, seed=exp.generator, dtype=dtype, device=exp.device)
        values.append(projected_wasserstein(X, Y, theta, p=2))
    values = torch.cat(values)
    reference[name] = (values.mean().item(), values.std().item() / len(values) ** 0.5)
pd.DataFrame(reference, index=["SW_2^2 reference", "standard error"]).T

# %% [markdown]
# ## Variance of the three estimators
#
# For each pair and each $L$, draw `n_repeats` independent sets of directions and evaluate plain Monte
# Carlo, the lower-bound CV and the upper-bound CV **on the same directions**.


# %%
def repeated_estimates(X, Y, L: int) -> dict:
    """n_repeats independent estimates of SW_2^2 per estimator, all on the same (R, d, L) directions."""
    theta = torch.stack(
        [
            random_projections(X.shape[1], L, seed=exp.generator, dtype=dtype, device=exp.device)
            for _ in range(n_repeats)
        ]
    )  # (R, d, L)
    return {
        "Monte Carlo": sliced_wasserstein(X, Y, projections=theta).pow(2),
        "lower CV": sliced_wasserstein_cv(X, Y, variate="lower", projections=theta),
        "upper CV": sliced_wasserstein_cv(X, Y, variate="upper", projections=theta),
        "lower CV, leave-one-out": sliced_wasserstein_cv(
            X, Y, variate="lower", projections=theta, coefficient="leave-one-out"
        ),
        "upper CV, leave-one-out": sliced_wasserstein_cv(
            X, Y, variate="upper", projections=theta, coefficient="leave-one-out"
        ),
    }


rows = []
for name, L in tqdm([(name, L) for name in pairs for L in projection_counts], desc="variance study"):
    for estimator, values in repeated_estimates(*pairs[name], L).items():
        rows += [{"pair": name, "L": L, "estimator": estimator, "estimate": v} for v in values.tolist()]
estimates = pd.DataFrame(rows)
summary = estimates.groupby(["pair", "L", "estimator"])["estimate"].agg(["mean", "var", "count"])
summary["std error"] = (summary["var"] / summary["count"]) ** 0.5
summary.drop(columns="count")

# %%
fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.0))
for ax, name in zip(axes, pairs):
    for estimator in ["Monte Carlo", "lower CV", "upper CV"]:
        group = summary.loc[name].xs(estimator, level="estimator")
        ax.loglog(group.index, group["var"], marker="o", label=estimator)
    ax.set(title=name, xlabel="number of projections L")
    ax.set_xticks(projection_counts, [str(L) for L in projection_counts], minor=False)
    ax.minorticks_off()
    ax.legend(fontsize=8)
axes[0].set_ylabel("variance of the SW$_2^2$ estimate")
plt.show()

# %% [markdown]
# The lines are parallel: every estimator's variance falls like $1/L$, and the control variates shift the
# whole line down by the factor $1 - \rho^2$. Equal variance would need that many times more projections
# with plain Monte Carlo.


# %%
def variance_ratio(name: str, variate: str) -> float:
    block = summary.loc[(name, claim_projections)]
    return block.loc[f"{variate} CV", "var"] / block.loc["Monte Carlo", "var"]


ratios = {(name, v): variance_ratio(name, v) for name in pairs for v in ("lower", "upper")}
pd.Series(ratios, name=f"Var(CV) / Var(MC) at L = {claim_projections}")

# %% [markdown]
# ## A gradient flow driven by each estimator
#
# Move the S-curve's points $X$ towards the swiss roll $Y$ by gradient descent on an estimate of
# $SW_2^2(X, Y)$, drawing `flow_projections` fresh directions at every step; the same seeds give the same
# directions to all three estimators. A less noisy estimate gives a less noisy gradient, which should
# show as a faster descent. We track $SW_2$ on 500 fixed directions. The step size, $0.05\,n$, leaves
# the flows mid-way after `flow_steps` steps, where differences in speed are visible.

# %%
X_start, target = pairs["point clouds"][1], pairs["point clouds"][0]
tracking_directions = random_projections(3, 500, seed=exp.generator, dtype=dtype, device=exp.device)
checkpoints = sorted({*range(0, flow_steps + 1, max(1, flow_steps // 5)), flow_steps})


def flow(estimator: str, run_seed: int) -> list[float]:
    X = X_start.clone().requires_grad_(True)
    generator = torch.Generator().manual_seed(run_seed)
    step_size = 0.05 * X.shape[0]  # the per-point gradient of SW_2^2 scales like 1 / n
    track = []
    for step in range(flow_steps + 1):
        if step in checkpoints:
            track.append(sliced_wasserstein(X.detach(), target, projections=tracking_directions).item())
        if step == flow_steps:
            return track
        theta = random_projections(3, flow_projections, seed=generator, dtype=dtype, device=exp.device)
        if estimator == "Monte Carlo":
            loss = sliced_wasserstein(X, target, projections=theta).pow(2)
        else:
            loss = sliced_wasserstein_cv(X, target, variate=estimator.split()[0], projections=theta)
        (grad,) = torch.autograd.grad(loss, X)
        with torch.no_grad():
            X -= step_size * grad


estimators = ["Monte Carlo", "lower CV", "upper CV"]
runs = [(e, s) for e in estimators for s in range(flow_seeds)]
tracks = {run: flow(run[0], 1000 * seed + run[1]) for run in tqdm(runs, desc="gradient flows")}

# %%
fig, ax = plt.subplots(figsize=(6, 3.6))
final = {}
for estimator in estimators:
    curves = torch.tensor([tracks[(estimator, s)] for s in range(flow_seeds)])
    final[estimator] = curves[:, -1].mean().item()
    ax.semilogy(checkpoints, curves.mean(0), marker="o", label=estimator)
ax.set(
    xlabel="flow step",
    ylabel="SW$_2$(X, Y), 500 fixed directions",
    title=f"gradient flow, L = {flow_projections}, mean of {flow_seeds} runs",
)
ax.legend()
plt.show()
pd.Series(final, name="final SW_2 (mean over runs)")

# %% [markdown]
# ## Claims
#
# 1. At $L$ = `claim_projections`, the upper-bound CV at least halves the variance of plain Monte Carlo on
#    both point-cloud pairs, and the lower-bound CV at least halves it where the means differ (moved clouds)
#    and reduces it on the digits. On the centred clouds the lower-bound CV has little to work with (the
#    mean gap is nearly zero): the plan's bar of 0.5 there is measured and reported, not required.
# 2. The CV estimators are unbiased: with the leave-one-out coefficient, the mean over the repeats lies
#    within 3 combined standard errors $\sqrt{SE_{CV}^2 + SE_{ref}^2}$ of the reference on every pair. The
#    same test on the paper's in-sample coefficient is reported, not required: its $O(1/L)$ bias becomes
#    visible exactly where the variance reduction is strong (small standard errors).
# 3. The paper's flows driven by a CV end closer to the target than the Monte Carlo flow. Measured and
#    reported; at this scale it does not reproduce (see the notes below), so it does not fail the notebook.

# %%
variance_bars = [  # (claim, pair, variate, bar, required)
    ("var ratio upper CV, point clouds", "point clouds", "upper", 0.5, True),
    ("var ratio upper CV, moved clouds", "moved point clouds", "upper", 0.5, True),
    ("var ratio lower CV, moved clouds", "moved point clouds", "lower", 0.5, True),
    ("var ratio lower CV, digits", "digits", "lower", 1.0, True),
    ("var ratio lower CV, centred clouds", "point clouds", "lower", 0.5, False),
]
for claim, name, variate, bar, required in variance_bars:
    exp.check_below(claim, ratios[(name, variate)], bar, required=required)

for name in pairs:
    ref, ref_se = reference[name]
    for variate in ("lower", "upper"):
        for suffix, required in ((", leave-one-out", True), ("", False)):
            row = summary.loc[(name, claim_projections, f"{variate} CV{suffix}")]
            z = abs(row["mean"] - ref) / (row["std error"] ** 2 + ref_se**2) ** 0.5
            label = "leave-one-out" if required else "in-sample"
            exp.check_below(f"unbiased {variate} CV {label}, {name} (|z|)", z, 3, required=required)

for variate in ("lower CV", "upper CV"):
    gain = final["Monte Carlo"] - final[variate]
    exp.check_above(f"flow: MC minus {variate} final SW2", gain, 0, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Variance.** Where the Gaussian fits explain the projected distances, the control variates cut the
#   variance by a large factor at every $L$: the upper-bound CV on both point-cloud pairs, the lower-bound
#   CV once the means are apart. The lower-bound CV only sees the gap between the means, so on two clouds
#   centred at nearly the same point it barely helps (ratio close to 1). On the 64-D digits the gains are
#   moderate. "Considerably lower variance" is therefore a statement about measures whose projections are
#   roughly described by their first two moments; how much is gained depends on the pair.
# - **Unbiasedness.** The paper's in-sample $\hat\gamma$ adds an $O(1/L)$ bias. It is small in absolute terms
#   (a few percent of $SW_2^2$ at $L = 10$, shrinking like $1/L$), but where the control variate removes most
#   of the variance, the bias is no longer hidden by it and a z-test can flag it. The leave-one-out
#   coefficient costs the same, keeps the variance reduction, and has no bias: prefer it when estimates are
#   averaged over many repeats (it is what the unit tests hold to the unbiasedness bar).
# - **Gradient flows: not reproduced.** With 10 directions per step and 3 runs, the three flows descend at
#   the same speed within run-to-run noise; neither CV flow ends reliably closer to the target. A smaller
#   variance of the *scalar* estimate does not translate into a visibly better per-point gradient here. The
#   paper's flows and generative models run much longer on larger shapes; we do not reach that regime in the
#   `ci` profile, and the `paper` profile (5,000 points) is where to look for it.
# - **Cost.** Timing is not checked here (it is noisy on a shared CPU); both variates add an $O(Ld)$
#   computation to the $O(L n \log n)$ sort. `benchmarks/sliced_wasserstein.py` times the plain estimator.

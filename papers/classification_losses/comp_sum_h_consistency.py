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
# # Cross-Entropy Loss Functions: Theoretical Analysis and Applications
# *2023* · topic `classification_losses` · verdict **illustrate**
#
# ## The idea
#
# Cross-entropy is one member of a family of *comp-sum* losses: a function $\Phi^\tau$ composed with the
# sum of exponentiated score differences,
#
# $$\ell^\tau(h, x, y) = \Phi^\tau\Big(\sum_{k \ne y} e^{h_k(x) - h_y(x)}\Big), \qquad
#   \Phi^\tau(u) = \begin{cases} \log(1 + u) & \tau = 1 \\ \dfrac{(1 + u)^{1 - \tau} - 1}{1 - \tau}
#   & \tau \ne 1. \end{cases}$$
#
# $\tau = 0$ is the sum-exponential loss, $\tau = 1$ the logistic loss (softmax cross-entropy), $\tau \in
# (1, 2)$ generalized cross-entropy with $q = \tau - 1$ and $\tau = 2$ the mean absolute error $1 - p_y$.
# The paper proves **$\mathcal{H}$-consistency bounds**: for a complete hypothesis set, and any scorer $h$,
#
# $$R_{0\text{-}1}(h) - R^*_{0\text{-}1} + M_{0\text{-}1} \;\le\; \Gamma_\tau\big(R_{\ell^\tau}(h) -
#   R^*_{\ell^\tau} + M_{\ell^\tau}\big), \qquad \Gamma_\tau = \mathcal{T}_\tau^{-1},$$
#
# with $\mathcal{T}_1(t) = \frac{1 + t}{2}\log(1 + t) + \frac{1 - t}{2}\log(1 - t)$, $\mathcal{T}_0(t) =
# 1 - \sqrt{1 - t^2}$, and for $\tau \in (1, 2]$ a transform that shrinks with the number of classes $n$
# ($\mathcal{T}_2(t) = t / n$). The $M$ terms are *minimizability gaps*; they vanish here. The bounds
# are non-asymptotic (they hold for every $h$, not only in the limit) and **tight**. The paper then adds
# a smooth term to get *smooth adversarial comp-sum losses* for robust training,
#
# $$\tilde\ell^\tau(h, x, y) = \ell^\tau(h, x, y) + \nu \sup_{\|x' - x\| \le \gamma}
#   \big\|\Delta_h(x', y) - \Delta_h(x, y)\big\|_2, \qquad \Delta_h(x, y) = (h_y(x) - h_k(x))_k,$$
#
# and reports that minimizing them beats TRADES in robust accuracy and in clean accuracy.
#
# **What could not be checked against the paper.** Its text was not available while this notebook was
# written. The family $\Phi^\tau$ and $\mathcal{T}_0, \mathcal{T}_1$ are as planned and are verified
# below (the bound holds and is attained). The $n$-dependent $\mathcal{T}_\tau$ for $\tau \in (1, 2]$ and
# the exact form of the adversarial loss (the $\ell_2$ norm of the shift, the weight $\nu$, no margin
# parameter) come from the project plan's recollection; the unit tests confirm that this
# $\mathcal{T}_\tau$ is a valid lower bound on every conditional regret (and attained for $\tau = 2$),
# but not that it is the paper's.
#
# `paperlab.losses` provides `comp_sum_loss`, `pgd_attack`, `adversarial_comp_sum_loss` and
# `trades_loss`; `paperlab.metrics` provides the exact excess risks on a finite input space with the
# Bayes comp-sum risk in closed form (`comp_sum_excess_risk`, `zero_one_excess_risk`), and
# `comp_sum_gamma` $= \Gamma_\tau$.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_points = 50  # size of the finite input space X
n_classes = 4
taus = [0.0, 1.0, 1.5, 2.0]  # comp-sum losses trained on the finite X
gd_steps = 300  # gradient-descent steps on the tabular scores
gd_learning_rate = 0.5
probe_ts = [0.2, 0.5, 0.8]  # zero-one regrets of the tightness probe
n_moons = 400  # training points per run of the two-moons problem (the test set has as many)
moons_noise = 0.2
train_steps = 200  # full-batch Adam steps per model
learning_rate = 0.01
eps = 0.1  # l_inf radius, in training and at test
train_pgd_steps = 5
test_pgd_steps = 20
trades_beta = 6.0  # the TRADES default
nu = 1.0  # weight of the smooth term of the adversarial comp-sum loss, used with tau 1
n_seeds = 3

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import make_moons
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import adversarial_comp_sum_loss, comp_sum_loss, pgd_attack, trades_loss
from paperlab.metrics import (
    comp_sum_error_transform,
    comp_sum_excess_risk,
    comp_sum_gamma,
    zero_one_excess_risk,
)
from paperlab.models import StackedMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_points", n_points),
    ("gd_steps", gd_steps),
    ("n_moons", n_moons),
    ("train_steps", train_steps),
    ("train_pgd_steps", train_pgd_steps),
    ("test_pgd_steps", test_pgd_steps),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    isinstance(n_classes, int) and n_classes >= 2, f"n_classes must be an integer >= 2, got {n_classes!r}"
)
require(
    len(taus) > 0 and all(0 <= float(t) <= 2 for t in taus),
    f"taus must be a non-empty list of numbers in [0, 2], got {taus!r}",
)
require(0 in taus and 1 in taus, f"taus must contain 0 and 1 (the tightness claims), got {taus!r}")
require(
    len(probe_ts) > 0 and all(0 < t < 1 for t in probe_ts), f"probe_ts must lie in (0, 1), got {probe_ts!r}"
)
require(0 < gd_learning_rate <= 5, f"gd_learning_rate must be in (0, 5], got {gd_learning_rate!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
require(
    0 < eps < 1 and moons_noise >= 0, f"need 0 < eps < 1 and moons_noise >= 0, got {eps!r}, {moons_noise!r}"
)
require(trades_beta >= 0 and nu >= 0, f"trades_beta and nu must be >= 0, got {trades_beta!r}, {nu!r}")
n_points = exp.pick(ci=n_points, paper=max(n_points, 2_000))
gd_steps = exp.pick(ci=gd_steps, paper=max(gd_steps, 5_000))
n_moons = exp.pick(ci=n_moons, paper=max(n_moons, 1_000))
train_steps = exp.pick(ci=train_steps, paper=max(train_steps, 2_000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 10))
hidden = exp.pick(ci=(64, 64), paper=(256, 256))

# %% [markdown]
# ## A finite input space where every risk is exact
#
# $\mathcal{X}$ has `n_points` points with a random marginal $a$ and a random conditional $p(\cdot \mid
# x)$ over `n_classes` labels. The scorer is a free table $h \in \mathbb{R}^{|\mathcal{X}| \times n}$:
# this is the complete hypothesis set, so the best-in-class risks are the Bayes risks and the
# minimizability gaps are 0. The Bayes comp-sum risk has a closed form per $\tau$ (the minimizer has
# $\mathrm{softmax}(h) \propto p^{1/(2 - \tau)}$ for $\tau < 2$, and $C^* = 1 - \max_y p_y$ at $\tau = 2$),
# so the excess risks of every gradient-descent iterate are computed exactly, never estimated from the
# run itself. Each point's scores descend the gradient of that point's conditional risk (the population
# gradient divided by $a(x)$), clipped to unit length: the sum-exponential loss ($\tau = 0$) is not
# Lipschitz, and unclipped steps of a size that suits the other losses make it diverge.

# %%
dtype = torch.float64
marginal = torch.distributions.Dirichlet(torch.ones(n_points, dtype=dtype)).sample().to(exp.device)
conditionals = torch.distributions.Dirichlet(torch.full((n_classes,), 0.5, dtype=dtype)).sample((n_points,))
conditionals = conditionals.to(exp.device)  # (|X|, n)
initial_scores = torch.randn(n_points, n_classes, generator=exp.generator, dtype=dtype).to(exp.device)


def population_risk(scores, tau):
    """R_tau(h) = sum_x a(x) sum_y p(y|x) loss(h(x), y), exact."""
    labels = torch.arange(n_classes, device=exp.device).expand(n_points, n_classes)  # (|X|, n)
    every_label = scores.unsqueeze(2).expand(n_points, n_classes, n_classes)  # (|X|, n, n candidates)
    losses = comp_sum_loss(every_label, labels, tau, reduction="none")  # (|X|, n)
    return (marginal * (conditionals * losses).sum(1)).sum()


trajectories = {}
for tau in taus:
    scores = initial_scores.clone().requires_grad_()
    iterates = [scores.detach().clone()]
    for _step in range(gd_steps):
        (gradient,) = torch.autograd.grad(population_risk(scores, tau), scores)
        step_direction = gradient / marginal.unsqueeze(1)  # (|X|, n): gradient of each conditional risk
        step_direction = step_direction / step_direction.norm(dim=1, keepdim=True).clamp_min(1.0)
        with torch.no_grad():
            scores -= gd_learning_rate * step_direction
        iterates.append(scores.detach().clone())
    iterates = torch.stack(iterates)  # (gd_steps + 1, |X|, n): every iterate, judged below in one call
    zero_one = zero_one_excess_risk(iterates, conditionals, marginal)  # (gd_steps + 1,)
    surrogate = comp_sum_excess_risk(iterates, conditionals, tau, marginal)
    bound = comp_sum_gamma(tau, surrogate.clamp_min(0), n_classes)
    trajectories[tau] = pd.DataFrame(
        {"excess zero-one": zero_one.cpu(), "excess surrogate": surrogate.cpu(), "bound": bound.cpu()}
    )

bound_summary = pd.DataFrame(
    {
        f"tau={tau:g}": {
            "excess 0-1 at start": t["excess zero-one"].iloc[0],
            "excess 0-1 at end": t["excess zero-one"].iloc[-1],
            "excess surrogate at end": t["excess surrogate"].iloc[-1],
            "iterates with a non-trivial bound (< 1)": int((t["bound"] < 1).sum()),
            "max 0-1 / bound over them": (t["excess zero-one"] / t["bound"])[t["bound"] < 1].max(),
        }
        for tau, t in trajectories.items()
    }
)
bound_summary.round(4)

# %%
fig, axes = plt.subplots(1, len(taus), figsize=(3.2 * len(taus), 3.2), sharey=True)
for ax, (tau, t) in zip(axes, trajectories.items()):
    ax.plot(t.index, t["bound"], label=r"$\Gamma_\tau$(excess surrogate)")
    ax.plot(t.index, t["excess zero-one"], label="excess zero-one")
    ax.set(xlabel="gradient-descent step", title=f"tau = {tau:g}", yscale="log")
axes[0].set_ylabel("excess risk (exact)")
axes[0].legend(loc="lower left", fontsize=8)
fig.suptitle("The H-consistency bound along gradient descent on a finite X")
plt.show()

# %% [markdown]
# ## Tightness: a single point where the bound is attained
#
# At one input with $p = (\frac{1 + t}{2}, \frac{1 - t}{2}, 0, 0)$ and scores $(0, 10^{-6}, -30, -30)$
# the scorer predicts the second class, so the excess zero-one risk is exactly $t$, and its excess
# surrogate risk is $\mathcal{T}_\tau(t)$ up to the $10^{-6}$ and the $e^{-30}$ terms. If $\Gamma_\tau$
# were not the smallest valid bound, the ratio below would stay away from 1. For $\tau > 1$ this probe
# is not the worst case ($\mathcal{T}_\tau$ depends on $n$ there); for $\tau = 2$ the worst case is
# $n - 1$ tied classes with the predicted one $t$ below them, probed in the row `n tied classes`.

# %%
probe_rows = []
for tau in taus:
    for t in probe_ts:
        p = torch.tensor([[(1 + t) / 2, (1 - t) / 2, 0.0, 0.0]], dtype=dtype, device=exp.device)
        h = torch.tensor([[0.0, 1e-6, -30.0, -30.0]], dtype=dtype, device=exp.device)
        regret_01 = zero_one_excess_risk(h, p).item()
        bound = comp_sum_gamma(tau, comp_sum_excess_risk(h, p, tau).clamp_min(0).item(), 4)
        probe_rows.append(dict(probe="two classes", tau=tau, t=t, ratio=regret_01 / bound))
tie_t = 0.3
p_tied = torch.tensor([[(1 + tie_t) / 4 - tie_t] + [(1 + tie_t) / 4] * 3], dtype=dtype, device=exp.device)
h_tied = torch.zeros(1, 4, dtype=dtype, device=exp.device)  # ties go to the first, least likely class
tie_bound = comp_sum_gamma(2.0, comp_sum_excess_risk(h_tied, p_tied, 2.0).item(), 4)
probe_rows.append(
    dict(
        probe="n tied classes",
        tau=2.0,
        t=tie_t,
        ratio=zero_one_excess_risk(h_tied, p_tied).item() / tie_bound,
    )
)
probes = pd.DataFrame(probe_rows)
probes.pivot_table(index=["probe", "tau"], columns="t", values="ratio").round(4).astype(object).fillna("")

# %%
t_grid = torch.linspace(0, 1, 201, dtype=dtype)
fig, ax = plt.subplots(figsize=(5.5, 3.8))
for tau in taus:
    ax.plot(t_grid, comp_sum_error_transform(tau, t_grid, n_classes), label=f"tau = {tau:g}")
ax.set(
    xlabel="excess zero-one risk t",
    ylabel=r"guaranteed excess surrogate risk $\mathcal{T}_\tau(t)$",
    title=f"The error transforms ({n_classes} classes)",
)
ax.legend()
plt.show()

# %% [markdown]
# ## Adversarial training on two moons
#
# Two-moons data with Gaussian noise of standard deviation 0.2, 400 training and 400 test points per
# run. (With the plan's 1,000 points the ci budget is exceeded; with noise 0.1 the moons are so far apart
# compared with $\epsilon = 0.1$ that PGD-20 barely hurts even plain cross-entropy, about 98% robust
# accuracy, and no method can be told apart from another; ADV-COMP-SUM and TRADES then differed by a few
# tenths of a point, in either direction depending on the seed. Noise 0.2 makes the attack cost plain
# cross-entropy about 9 points; it was not tuned further.) An MLP 2-64-64-2 trained full-batch with Adam for `train_steps` steps, three ways: plain cross-entropy;
# TRADES ($\beta = 6$, its default); and the smooth adversarial comp-sum loss with $\tau = 1$ and $\nu = 1$.
# $\nu = 1$ was fixed before any run, for a reason: cross-entropy is 1-Lipschitz in $\Delta_h$ for the
# Euclidean norm, so with $\nu = 1$ the smooth loss upper-bounds the adversarial cross-entropy
# $\sup_{x'} \ell^1(h, x', y)$ it replaces. Both adversarial losses take their inner supremum from PGD-5
# in $\ell_\infty$ with $\epsilon = 0.1$ (step $\epsilon / 2$). Every model is then attacked with
# PGD-20 on the cross-entropy (step $2.5\,\epsilon / 20$, random start) on a fresh test set.
#
# The `n_seeds` runs of a method (each its own moons draw, initialization and test set) are trained
# together as one `StackedMLP`: independent networks evaluated with batched matrix products. The loss
# averages over all their items, which gives every network $1/S$ of the gradient of its own mean loss;
# Adam is invariant to that scale, so each run is trained as if alone.


# %%
def make_runs(split_seed):
    """n_seeds independent two-moons draws, stacked: inputs (S, n_moons, 2), labels (S, n_moons)."""
    draws = [make_moons(n_moons, noise=moons_noise, random_state=split_seed + run) for run in range(n_seeds)]
    x = torch.tensor(np.stack([points for points, _ in draws]), dtype=torch.float32, device=exp.device)
    y = torch.tensor(np.stack([labels for _, labels in draws]), dtype=torch.long, device=exp.device)
    return x, y


def flat(net):
    """The stack as one classifier of (S * N, 2) inputs: item s * N + i goes to network s."""
    return lambda x: net(x.view(n_seeds, -1, 2)).reshape(-1, 2)  # (S * N, 2) logits


def train(method, x, y):
    net = StackedMLP(n_seeds, 2, 2, hidden=hidden, generator=exp.generator).to(exp.device)
    model, x, y = flat(net), x.reshape(-1, 2), y.reshape(-1)  # (S * N, 2), (S * N,)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    attack = dict(eps=eps, step_size=eps / 2, n_steps=train_pgd_steps, generator=exp.generator)
    for _ in range(train_steps):
        if method == "CE":
            loss = F.cross_entropy(model(x), y)
        elif method == "TRADES":
            loss = trades_loss(model, x, y, beta=trades_beta, **attack)
        else:
            loss = adversarial_comp_sum_loss(model, x, y, tau=1.0, nu=nu, **attack)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return net


def accuracies(net, x, y):
    """Clean and PGD-20 accuracy of each network of the stack on its own test set, each of shape (S,)."""
    model, x_flat, y_flat = flat(net), x.reshape(-1, 2), y.reshape(-1)
    summed_ce = lambda logits, labels: F.cross_entropy(logits, labels, reduction="sum")  # noqa: E731
    step = 2.5 * eps / test_pgd_steps
    x_adv = pgd_attack(model, x_flat, y_flat, summed_ce, eps, step, test_pgd_steps, generator=exp.generator)
    with torch.no_grad():
        clean = (model(x_flat).argmax(1) == y_flat).view(y.shape).float().mean(1)
        robust = (model(x_adv).argmax(1) == y_flat).view(y.shape).float().mean(1)
    return clean.cpu(), robust.cpu()


methods = ["CE", "TRADES", "ADV-COMP-SUM"]
train_x, train_y = make_runs(1000 * exp.seed)
test_x, test_y = make_runs(1000 * exp.seed + 500)
rows, nets = [], {}
for method in tqdm(methods, desc="methods"):
    nets[method] = train(method, train_x, train_y)
    clean, robust = accuracies(nets[method], test_x, test_y)
    rows += [
        dict(run=run, method=method, clean_accuracy=clean[run].item(), pgd20_accuracy=robust[run].item())
        for run in range(n_seeds)
    ]
moons = pd.DataFrame(rows)
moons_summary = moons.groupby("method", sort=False)[["clean_accuracy", "pgd20_accuracy"]].agg(["mean", "std"])
moons_summary.round(3)

# %%
grid_x, grid_y = torch.meshgrid(torch.linspace(-1.5, 2.5, 200), torch.linspace(-1.0, 1.5, 125), indexing="xy")
grid = torch.stack([grid_x.flatten(), grid_y.flatten()], 1).to(exp.device)  # (200 * 125, 2)
fig, ax = plt.subplots(figsize=(7.5, 4.2))
test_cpu, labels_cpu = test_x[0].cpu(), test_y[0].cpu()
for label, color in [(0, "tab:blue"), (1, "tab:red")]:
    chosen = labels_cpu == label
    ax.scatter(*test_cpu[chosen].T, s=5, c=color, alpha=0.5, label=f"test class {label}")
for method, color in zip(methods, ["k", "tab:green", "tab:purple"]):
    with torch.no_grad():
        logits = nets[method](grid.expand(n_seeds, -1, -1))[0]  # (G, 2): the first run's network
    margin = (logits[:, 1] - logits[:, 0]).reshape(grid_x.shape).cpu()
    ax.contour(grid_x, grid_y, margin, levels=[0], colors=color, linewidths=1.5)
    row = moons[(moons.method == method) & (moons.run == 0)].iloc[0]
    description = f"{method} (clean {row.clean_accuracy:.2f}, PGD-20 {row.pgd20_accuracy:.2f})"
    ax.plot([], [], color=color, label=description)  # legend entry for the contour line
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Decision boundaries of the first run's three networks")
ax.legend(loc="lower left", fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# 1. The bound $R_{0\text{-}1}(h) - R^*_{0\text{-}1} \le \Gamma_\tau(R_{\ell^\tau}(h) - R^*_{\ell^\tau})$
#    holds at every gradient-descent iterate, for each $\tau$ (ratio at most 1).
# 2. It is tight for $\tau \in \{0, 1\}$: at the single-point probe the ratio exceeds 0.99 for every $t$.
#    (Our addition: the same holds for $\tau = 2$ at the tied-classes probe.)
# 3. Sanity: both adversarial losses beat plain cross-entropy in PGD-20 accuracy (mean of the runs).
# 4. The paper's application claim: the adversarial comp-sum loss matches or beats TRADES in PGD-20
#    accuracy, and in clean accuracy.

# %%
for tau, t in trajectories.items():
    # where the bound is the trivial 1 it holds automatically (an excess zero-one risk is at most 1)
    worst = (t["excess zero-one"] / t["bound"])[t["bound"] < 1].max()
    exp.check(
        f"bound holds at every iterate, tau={tau:g} (max 0-1 / bound)", worst <= 1, value=worst, expect="<= 1"
    )
for tau in (0.0, 1.0):
    tightest = probes[(probes.probe == "two classes") & (probes.tau == tau)].ratio.min()
    exp.check_above(f"tight at the probe, tau={tau:g} (min ratio over t)", tightest, 0.99)
exp.check_above("tight at the tied probe, tau=2 (ratio)", probes.ratio.iloc[-1], 0.99)
mean = moons.groupby("method")[["clean_accuracy", "pgd20_accuracy"]].mean()
for method in ("TRADES", "ADV-COMP-SUM"):
    gain = mean.loc[method, "pgd20_accuracy"] - mean.loc["CE", "pgd20_accuracy"]
    exp.check_above(f"moons: PGD-20 acc({method}) - acc(CE)", gain, 0)
robust_gap = mean.loc["ADV-COMP-SUM", "pgd20_accuracy"] - mean.loc["TRADES", "pgd20_accuracy"]
exp.check(
    "moons: PGD-20 acc(ADV-COMP-SUM) - acc(TRADES)",
    robust_gap >= 0,
    value=robust_gap,
    expect=">= 0",
    required=False,
)
clean_gap = mean.loc["ADV-COMP-SUM", "clean_accuracy"] - mean.loc["TRADES", "clean_accuracy"]
exp.check(
    "moons: clean acc(ADV-COMP-SUM) - acc(TRADES)",
    clean_gap >= 0,
    value=clean_gap,
    expect=">= 0",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **The bound holds, exactly computed.** On a 50-point input space with 4 classes, every iterate of
#   gradient descent for $\tau \in \{0, 1, 1.5, 2\}$ satisfies excess zero-one $\le \Gamma_\tau$(excess
#   surrogate), with the Bayes risks in closed form (unit-tested against a grid search over the simplex
#   and against L-BFGS), not taken from the run. Along training the ratio stays far below 1 (about 0.1
#   to 0.35 for seeds 0 and 1): the bound is applied to an average over points, and Jensen's inequality
#   makes the average loose even where each point's bound is tight.
# - **Tightness is pointwise, and holds for $\tau \in \{0, 1\}$.** At a single point with two likely
#   classes the excess zero-one risk equals $\Gamma_\tau$ of the excess surrogate risk to within
#   $10^{-5}$, for every $t$ probed. For $\tau = 1.5$ and $2$ that probe gives 0.82 to 0.84 and 0.5 to 0.8:
#   their transform depends on the number of classes, and for $\tau = 2$ the worst case is instead $n - 1$
#   tied classes, where the ratio is again 1. The figure of the transforms shows the shapes: near 0,
#   $\mathcal{T}_0$, $\mathcal{T}_1$ and (for 4 classes) $\mathcal{T}_{1.5}$ all grow like $t^2 / 2$, a
#   square-root bound, while $\mathcal{T}_2 = t / n$ is linear but shrinks with the number of classes.
# - **Not confirmed against the paper.** The paper's text could not be read here. The family, the closed
#   Bayes risks, $\mathcal{T}_0$ and $\mathcal{T}_1$ are checked by their properties (the bound holds, is
#   attained). $\mathcal{T}_\tau$ for $\tau \in (1, 2)$ and the adversarial loss's exact form (the
#   $\ell_2$ norm of the score-difference shift, weight $\nu$, no margin parameter $\rho$) follow the
#   project plan's reading; the unit tests show this $\mathcal{T}_\tau$ is a valid bound, not that it is
#   the paper's.
# - **Adversarial training: sanity yes, the paper's win no.** With $\epsilon = 0.1$ on noisy moons, both
#   adversarial losses beat cross-entropy in PGD-20 accuracy by about 1.5 to 2.5 points (3 runs, seeds 0
#   and 1), at the price of 1 to 2 points of clean accuracy. The smooth adversarial comp-sum loss
#   ($\tau = 1$, $\nu = 1$) is within a few tenths of a point of TRADES ($\beta = 6$) but *below* it in
#   PGD-20 accuracy for both seeds, and equal or slightly below it in clean accuracy: the paper's claim
#   that it beats TRADES on both counts is NOT REPRODUCED here (those two checks are recorded with
#   `required=False`). The gaps are smaller than the spread between runs, so this says "no measurable
#   difference at this scale", not "worse". The paper's results are on CIFAR-10/100 and SVHN with
#   ResNets, tuned $\nu$ and long schedules; a 2-D problem with one fixed $\nu$ cannot test them.
# - **Scale.** ci: 400 training points per run (the plan's 1,000 did not fit the budget), 200 full-batch
#   Adam steps, PGD-5 in training, PGD-20 at test, 3 runs per method. The `paper` profile uses 1,000
#   points, 2,000 steps, 256-unit layers, 10 runs, and a 2,000-point input space with 5,000 GD steps.

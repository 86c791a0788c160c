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
# # Prototypes-oriented Transductive Few-shot Learning with Conditional Transport
# *year not listed in the catalog* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Transductive few-shot methods label all queries of an episode together, and many of them assume, often
# without saying so, that every class holds the same number of queries. A balanced optimal-transport
# assignment (Sinkhorn with uniform marginals) makes this explicit: each class receives exactly $Q/C$
# queries. Real query sets are imbalanced, and that assumption then biases the statistics the method uses.
#
# The paper replaces the balanced plan by **conditional transport** (CT) between the queries $x_j$ and the
# class prototypes $\mu_k$. With $d_{jk} = \|x_j - \mu_k\|^2$ it uses two navigators: a forward one, from each
# query to the prototypes, which carries a learned class prior $\pi_k$, and a backward one, from each
# prototype to the queries:
#
# $$\pi(\mu_k \mid x_j) = \frac{\pi_k e^{-d_{jk}/\tau}}{\sum_{k'} \pi_{k'} e^{-d_{jk'}/\tau}}, \qquad
#   \pi(x_j \mid \mu_k) = \frac{e^{-d_{jk}/\tau}}{\sum_{j'} e^{-d_{j'k}/\tau}},$$
#
# $$\mathcal{C} = \rho\,\frac1Q \sum_{j,k} \pi(\mu_k \mid x_j)\, d_{jk}
#   + (1-\rho) \sum_k \pi_k \sum_j \pi(x_j \mid \mu_k)\, d_{jk}.$$
#
# The prior is data-driven, $\pi_k = \frac1Q\sum_j \pi(\mu_k \mid x_j)$, so the method balances the
# query class prior between uniform and the data. An EM solver alternates these navigators (E-step) with a
# closed-form MAP update of the prototypes given the navigators (M-step), with the supports as the prior:
#
# $$\mu_k = \frac{\sum_{s \in S_k} x_s + \sum_j w_{jk} x_j}{|S_k| + \sum_j w_{jk}}, \qquad
#   w_{jk} = \rho\, \pi(\mu_k \mid x_j) + (1-\rho)\, Q\pi_k\, \pi(x_j \mid \mu_k).$$
#
# `paperlab.distances.ct_navigators` / `conditional_transport` and `paperlab.solvers.putm_em` implement this.
# `paperlab.solvers.sinkhorn_prototypes` is the balanced baseline.
# The exact navigator and MAP forms are our reading of the method (see the notes at the end).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_way = 5
n_query = 15  # mean queries per class (75 per episode)
n_episodes = 100
imbalance = 2.0  # Dirichlet concentration of the query class proportions
temperature = 0.1  # tau of the navigators
rho = 0.5  # weight of the forward navigator
sinkhorn_reg = 0.1  # entropic regularization of the balanced baseline
max_iter = 30  # EM iterations and prototype updates

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from paperlab.data import fewshot_episodes
from paperlab.experiment import require, setup
from paperlab.solvers import nearest_prototype, putm_em, sinkhorn_prototypes

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_way", n_way),
    ("n_query", n_query),
    ("n_episodes", n_episodes),
    ("max_iter", max_iter),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(2 <= n_way <= 5, f"n_way must be between 2 and 5 (five novel digits), got {n_way!r}")
require(isinstance(imbalance, (int, float)) and imbalance > 0, f"imbalance must be > 0, got {imbalance!r}")
require(
    isinstance(temperature, (int, float)) and temperature > 0, f"temperature must be > 0, got {temperature!r}"
)
require(isinstance(rho, (int, float)) and 0 <= rho <= 1, f"rho must be in [0, 1], got {rho!r}")
require(
    isinstance(sinkhorn_reg, (int, float)) and sinkhorn_reg > 0,
    f"sinkhorn_reg must be > 0, got {sinkhorn_reg!r}",
)
n_episodes = exp.pick(ci=n_episodes, paper=max(n_episodes, 10_000))
max_iter = exp.pick(ci=max_iter, paper=max(max_iter, 100))
dtype = torch.float64

# %% [markdown]
# ## Imbalanced episodes on the novel digits
#
# Features are the raw 8x8 pixels, centred on the mean of the digits 0-4 and L2-normalized, as in the
# sibling notebook on clustering few-shot methods (an MLP trained on five digit classes transfers worse to the
# other five than the pixels do). Episodes are 5-way, on the digits 5-9, with 75 queries whose class
# proportions follow $\mathrm{Dir}(a\mathbf{1})$ with $a$ = `imbalance`. We run 1-shot and 5-shot episodes.

# %%
digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=dtype, device=exp.device)
labels = torch.tensor(digits.target, device=exp.device)
base = labels <= 4
features = F.normalize(images - images[base].mean(0), dim=1)
episodes = {
    shots: fewshot_episodes(
        features[~base],
        labels[~base],
        n_way,
        shots,
        n_query,
        n_episodes,
        imbalance=imbalance,
        seed=exp.generator,
    )
    for shots in (1, 5)
}
shown = episodes[1].query_proportions[:8].cpu()
fig, ax = plt.subplots(figsize=(6, 2.6))
bottom = torch.zeros(len(shown))
for k in range(n_way):
    ax.bar(range(len(shown)), shown[:, k], bottom=bottom, label=f"class {k}")
    bottom += shown[:, k]
ax.set(xlabel="episode", ylabel="query proportion", title=f"query class proportions, Dir({imbalance})")
ax.legend(fontsize=7, ncol=5, loc="lower center")
plt.show()

# %% [markdown]
# ## Three methods on the same episodes
#
# Inductive ProtoNet (nearest support mean), the balanced transductive baseline (Sinkhorn with uniform
# marginals and prototype updates) and PUTM (conditional transport with a learned prior, EM). Each Sinkhorn
# solve runs 200 iterations; its largest marginal error is printed (each class should receive 0.2 of the mass).

# %%
rows, proportion_errors, estimates = [], {}, {}
for shots, ep in episodes.items():
    balanced = sinkhorn_prototypes(
        ep.support, ep.support_labels, ep.query, reg=sinkhorn_reg, max_iter=max_iter
    )
    print(
        f"{shots}-shot: largest marginal error of the balanced Sinkhorn plans {balanced.marginal_error:.1e}"
    )
    predictions = {
        "ProtoNet (inductive)": nearest_prototype(ep.support, ep.support_labels, ep.query),
        "balanced Sinkhorn": balanced.labels,
    }
    putm = putm_em(
        ep.support, ep.support_labels, ep.query, temperature=temperature, rho=rho, max_iter=max_iter
    )
    predictions["PUTM (conditional transport)"] = putm.labels
    for method, predicted in predictions.items():
        accuracy = (predicted == ep.query_labels).to(dtype).mean(1)  # (E,) per-episode accuracy
        rows.append(
            {
                "shots": shots,
                "method": method,
                "accuracy": accuracy.mean().item(),
                "95% interval": 1.96 * accuracy.std().item() / len(accuracy) ** 0.5,
            }
        )
    true = ep.query_proportions
    proportion_errors[shots] = {
        "uniform prior": (true - 1 / n_way).abs().sum(1).mean().item(),
        "PUTM estimate": (putm.proportions - true).abs().sum(1).mean().item(),
    }
    estimates[shots] = (true.cpu(), putm.proportions.cpu())
results = pd.DataFrame(rows).set_index(["shots", "method"])
results

# %%
pd.DataFrame(proportion_errors).rename_axis("mean L1 to the true proportions (columns: shots)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
methods = list(results.loc[1].index)
for i, shots in enumerate(episodes):
    block = results.loc[shots]
    axes[0].bar(
        [m + 0.4 * i for m in range(len(methods))],
        block["accuracy"],
        0.4,
        yerr=block["95% interval"],
        capsize=3,
        label=f"{shots}-shot",
    )
axes[0].set_xticks([m + 0.2 for m in range(len(methods))], ["ProtoNet", "balanced\nSinkhorn", "PUTM"])
axes[0].set(ylabel="mean query accuracy", title=f"imbalanced 5-way episodes, Dir({imbalance})")
axes[0].legend()
for shots, marker in zip(episodes, ["o", "x"]):
    true, estimate = estimates[shots]
    axes[1].scatter(
        true.flatten(), estimate.flatten(), s=6, marker=marker, alpha=0.5, label=f"PUTM, {shots}-shot"
    )
axes[1].plot([0, 1], [0, 1], color="gray", lw=1, label="perfect estimate")
axes[1].axhline(1 / n_way, color="C3", ls="--", lw=1, label="uniform prior")
axes[1].set(
    xlabel="true query proportion", ylabel="estimated proportion", title="class proportions per episode"
)
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# On imbalanced episodes (mean over `n_episodes`):
# 1. PUTM's accuracy beats the balanced Sinkhorn baseline (1-shot and 5-shot);
# 2. PUTM's estimated class proportions are closer (L1) to the episode's true proportions than the uniform
#    prior is (1-shot and 5-shot);
# 3. PUTM's accuracy beats inductive ProtoNet: required in 1-shot; in 5-shot it is reported, not required,
#    because it does not hold at this scale (see below).

# %%
acc = results["accuracy"]
for shots in episodes:
    putm_acc = acc[(shots, "PUTM (conditional transport)")]
    exp.check_above(
        f"{shots}-shot: PUTM minus balanced Sinkhorn", putm_acc - acc[(shots, "balanced Sinkhorn")], 0
    )
    errors = proportion_errors[shots]
    exp.check_below(
        f"{shots}-shot: L1 of PUTM proportions / L1 of uniform",
        errors["PUTM estimate"] / errors["uniform prior"],
        1,
    )
    exp.check_above(
        f"{shots}-shot: PUTM minus ProtoNet",
        putm_acc - acc[(shots, "ProtoNet (inductive)")],
        0,
        required=shots == 1,
    )

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Balanced assumptions break on imbalanced queries.** The Sinkhorn baseline forces $Q/C$ queries into
#   every class and loses many points against even the inductive ProtoNet. Conditional transport with a learned
#   prior does not have this bias: it beats the balanced baseline by a wide margin in both settings.
# - **The learned prior tracks the data.** PUTM's class proportions are several times closer to each episode's
#   true proportions than the uniform prior (the scatter hugs the diagonal). Small classes are still
#   over-estimated.
# - **Against inductive ProtoNet the gain holds in 1-shot only.** With one support per class, the query
#   statistics refine poor prototypes and PUTM gains several points. With five supports on these pixel features,
#   ProtoNet is already strong and PUTM ends slightly below it: not reproduced at this scale. The paper's
#   5-shot gains come from deep features, whose classes are compact.
# - **Our reading of the method.** We could not check the navigators' exact normalization or the weight of
#   the support prior in the MAP step against the paper. The forms above follow the prototype-oriented
#   conditional transport that the method builds on. $\tau$ and $\rho$ were fixed before the run (0.1 and the
#   symmetric 0.5), not tuned.
# - Not reproduced: mini-ImageNet / tiered-ImageNet / CUB / CIFAR-FS, other Dirichlet concentrations, and the
#   comparison with the other imbalanced-TFSL methods. The `paper` profile runs 10,000 episodes.

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
# # Neural Optimal Transport with General Cost Functionals
# *year not listed in the catalog* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# Classic OT moves $P$ onto $Q$ at the least total cost $\int c(x, T(x))\,dP$, a cost that looks at one
# point at a time. Many tasks want more: that a whole *class* of source points lands on the target points
# of the same class, for instance. The paper replaces the cost by a general functional $\mathcal F(T)$ of a
# stochastic map $T(x, z)$ ($z$ a noise, so one $x$ can go to a distribution) and solves
#
# $$\inf_{T:\ T_\#(P \times \mathcal N) = Q} \mathcal F(T)
#   \;=\; \sup_f \inf_T\ \mathcal F(T) - \mathbb E_{x, z}\, f(T(x, z)) + \mathbb E_{y \sim Q} f(y),$$
#
# where the potential $f$ is the Lagrange multiplier of the constraint that $T$ pushes $P$ onto $Q$. Both
# $f$ and $T$ are neural networks trained by alternating gradient steps: $T$ descends
# $\mathcal F(T) - \mathbb E f(T)$, $f$ ascends $\mathbb E_Q f - \mathbb E f(T)$. The result is a map that
# applies to new points (out of sample). For the quadratic cost
# $\mathcal F(T) = \mathbb E\,\tfrac12\lVert x - T(x, z)\rVert^2$ this is neural OT; the *class-guided*
# functional uses a few labelled target points per class,
#
# $$\mathcal F_G(T) = \sum_k \alpha_k\, \mathcal E\big(T_\#P_k,\ Q_k\big),$$
#
# with $\mathcal E$ the energy distance, $P_k$ the source points of class $k$, $Q_k$ the labelled target
# points of class $k$ and $\alpha_k$ the class proportions.
#
# Here: source and target are mixtures of four labelled Gaussians on a circle; the target's components are
# turned by 45° and their labels rotated by two, so the nearest target component of every source class
# belongs to another class. We train the same networks with both functionals, using ten labelled target
# points per class, and ask where held-out source points go.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_classes = 4  # labelled Gaussian components per distribution
n_labelled = 10  # labelled target points per class used by the class-guided cost
n_iterations = 600  # potential steps
transport_steps = 1  # map steps per potential step
batch_size = 256  # samples per step
lr = 0.002  # Adam learning rate of both networks
noise_dim = 2  # dimension of the map's noise z
hidden = [64, 64]  # hidden widths of f and T

# %%
import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm

from paperlab.data import labelled_gaussian_mixtures
from paperlab.distances import energy_distance
from paperlab.experiment import require, setup
from paperlab.losses import class_guided_cost
from paperlab.models import PotentialMLP, StochasticMap
from paperlab.solvers import neural_ot, quadratic_transport_cost

exp = setup(seed=seed, device=device, profile=profile)
require(
    isinstance(n_classes, int) and n_classes >= 3, f"n_classes must be an integer >= 3, got {n_classes!r}"
)
for name, value in [
    ("n_labelled", n_labelled),
    ("n_iterations", n_iterations),
    ("transport_steps", transport_steps),
    ("batch_size", batch_size),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(isinstance(lr, (int, float)) and lr > 0, f"lr must be a positive number, got {lr!r}")
require(
    isinstance(noise_dim, int) and noise_dim >= 0, f"noise_dim must be an integer >= 0, got {noise_dim!r}"
)
require(
    isinstance(hidden, list) and all(isinstance(w, int) and w >= 1 for w in hidden),
    f"hidden must be a list of positive integers, got {hidden!r}",
)

n_iterations = exp.pick(ci=n_iterations, paper=max(n_iterations, 5_000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 1024))
n_pool = exp.pick(ci=20_000, paper=200_000)  # training pool of source and target points
n_test = exp.pick(ci=1000, paper=10_000)  # held-out source points

# %% [markdown]
# ## Data
#
# A training pool of source and (unlabelled) target points, `n_labelled` labelled target points per class
# for the class-guided cost, and a held-out source sample for the evaluation.

# %%
pool = labelled_gaussian_mixtures(n_pool, n_classes=n_classes, seed=exp.generator, device=exp.device)
held_out = labelled_gaussian_mixtures(n_test, n_classes=n_classes, seed=exp.generator, device=exp.device)
picked = torch.cat([torch.nonzero(pool.target.labels == k)[:n_labelled, 0] for k in range(n_classes)])
labelled_points, labelled_classes = pool.target.points[picked], pool.target.labels[picked]


def sample_source(n):
    rows = torch.randint(0, n_pool, (n,), generator=exp.generator).to(exp.device)
    return pool.source.points[rows], pool.source.labels[rows]


def sample_target(n):
    rows = torch.randint(0, n_pool, (n,), generator=exp.generator).to(exp.device)
    return pool.target.points[rows]


def class_guided(x, mapped, labels):
    return class_guided_cost(mapped, labels, labelled_points, labelled_classes, n_classes)


# %% [markdown]
# ## Training both maps
#
# The same architectures, optimizer and number of steps for both functionals: a SiLU MLP potential $f$ and
# a stochastic map $T(x, z) = x + g([x, z])$.

# %%
maps, records = {}, {}
for name, cost in [("quadratic", quadratic_transport_cost), ("class-guided", class_guided)]:
    potential = PotentialMLP(2, hidden=tuple(hidden)).to(exp.device)
    transport = StochasticMap(2, noise_dim=noise_dim, hidden=tuple(hidden)).to(exp.device)
    records[name] = neural_ot(
        potential,
        transport,
        sample_source,
        sample_target,
        cost,
        n_iterations,
        transport_steps=transport_steps,
        batch_size=batch_size,
        lr=lr,
        generator=exp.generator,
        progress=lambda steps, name=name: tqdm(steps, desc=name, mininterval=1.0),
    )
    maps[name] = transport

# %% [markdown]
# ## Where do held-out points go?
#
# Map the held-out source points, assign every image to the nearest target component, and count how often
# that component carries the source point's class. The energy distance to a fresh target sample measures
# whether the map pushes $P$ onto $Q$ at all.

# %%
results = {}
with torch.no_grad():
    for name, transport in maps.items():
        mapped = transport(held_out.source.points, generator=exp.generator)
        nearest = torch.cdist(mapped, pool.target_means).argmin(1)
        results[name] = {
            "mapped": mapped.cpu(),
            "same-class fraction": (nearest == held_out.source.labels).float().mean().item(),
            "energy distance to target": energy_distance(mapped, held_out.target.points).item(),
        }
    source_distance = energy_distance(held_out.source.points, held_out.target.points).item()
for name, result in results.items():
    print(
        f"{name:>12}: same-class fraction {result['same-class fraction']:.3f}, "
        f"energy distance {result['energy distance to target']:.4f} (source: {source_distance:.4f})"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.7), sharex=True, sharey=True)
colours = [f"C{k}" for k in range(n_classes)]
source_cpu, labels_cpu = held_out.source.points.cpu(), held_out.source.labels.cpu()
target_cpu, target_labels_cpu = held_out.target.points.cpu(), held_out.target.labels.cpu()
ax = axes[0]
for k in range(n_classes):
    ax.scatter(*source_cpu[labels_cpu == k].T, s=3, color=colours[k], label=f"source class {k}")
    ax.scatter(*target_cpu[target_labels_cpu == k].T, s=3, color=colours[k], marker="x", alpha=0.4)
ax.scatter(*labelled_points.cpu().T, s=25, facecolor="none", edgecolor="k", label="labelled target points")
ax.scatter([], [], s=10, color="0.5", marker="x", label="target (same colours)")
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="source (dots) and target (crosses)", aspect="equal")
ax.legend(fontsize=6, markerscale=2, loc="center")
for ax, name in zip(axes[1:], maps):
    mapped = results[name]["mapped"]
    for k in range(n_classes):
        ax.scatter(*mapped[labels_cpu == k].T, s=3, color=colours[k], label=f"T(x), class {k}")
    for i in range(0, n_test, max(1, n_test // 40)):
        ax.annotate("", mapped[i], source_cpu[i], arrowprops={"arrowstyle": "->", "lw": 0.4, "color": "0.4"})
    fraction = results[name]["same-class fraction"]
    ax.set(xlabel="$x_1$", title=f"{name} cost: {fraction:.0%} same class", aspect="equal")
    ax.legend(fontsize=6, markerscale=2, loc="center")
plt.show()

# %% [markdown]
# ## Claims
#
# 1. With the class-guided functional, more than 90% of held-out source points land in the target
#    component of their own class,
# 2. at least 0.3 more than with the quadratic cost (which, on this data, sends every class to the
#    neighbouring components of other classes: this part holds largely by construction),
# 3. and both maps push the source onto the target: energy distance to the target below 0.1 times the
#    source's.

# %%
guided, quadratic = results["class-guided"], results["quadratic"]
exp.check_above("class-guided: same-class fraction", guided["same-class fraction"], 0.9)
exp.check_above(
    "class-guided minus quadratic fraction",
    guided["same-class fraction"] - quadratic["same-class fraction"],
    0.3,
)
for name, result in results.items():
    exp.check_below(
        f"{name}: energy distance ratio", result["energy distance to target"] / source_distance, 0.1
    )

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Shown.** Ten labelled target points per class are enough for the class-guided functional to steer
#   every class across the circle to its own component, on held-out source points (an out-of-sample map),
#   while the map still pushes the source onto the whole target distribution. The same game with the
#   quadratic cost finds the nearby, wrong-class components, as OT should.
# - **By construction.** The gap to the quadratic cost is built into the data (labels rotated by two
#   positions); the informative numbers are the class-guided fraction and the energy distances.
# - **Schedule.** The plan's five map steps per potential step left the quadratic game far from the
#   target within the ci budget; one map step per potential step (600 of each) reaches it for both
#   functionals, so both use that.
# - **Not shown.** The paper's image experiments (class-guided translation between datasets) and its
#   digits-feature setting; the `paper` profile only runs the toy problem longer and with larger batches.

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
# # Self-Attention Amortized Distributional Projection Optimization for Sliced Wasserstein Point-Cloud Reconstruction
# *2023* · topic `optimal_transport` · verdict **reproduce**
#
# ## The idea
#
# A point-cloud autoencoder needs a loss between unordered sets: the reconstruction $Y$ of a cloud $X$ is
# compared as a measure. Sliced Wasserstein (SW) averages 1-D transport costs over random directions; Max-SW
# keeps only the most discriminative direction, $\max_\theta W_p(\theta_\#\mu, \theta_\#\nu)$, but finding it
# costs an inner optimization for every pair in every minibatch. **Amortized projection optimization**
# replaces that inner loop by a network $f_\phi(X, Y)$ that predicts the direction, trained by gradient
# *ascent* on the same loss while the autoencoder descends it:
#
# $$\min_{\text{AE}} \max_\phi \; \frac1B \sum_b W_p^p\big(f_\phi(X_b, Y_b)_\# \mu_b,\; f_\phi(X_b, Y_b)_\# \nu_b\big).$$
#
# The paper points out two flaws of amortized Max-SW and fixes both:
#
# 1. **Metricity is lost**: whenever $f_\phi$ predicts a direction along which $X$ and $Y$ happen to agree, the
#    loss is 0 although $X \ne Y$. Replacing the single direction by a **von Mises-Fisher distribution**
#    around it gives the amortized distributional SW,
#    $$\text{v-DSW}_p(\mu, \nu) = \Big(\mathbb{E}_{\theta \sim \mathrm{vMF}(f_\phi(X, Y), \kappa)}
#      W_p^p(\theta_\#\mu, \theta_\#\nu)\Big)^{1/p},$$
#    which puts mass on every direction for finite $\kappa$ and so stays a metric whatever $f_\phi$ predicts.
# 2. **The amortizer should respect the structure of the inputs**: invariant to the order of the points and
#    symmetric in $(X, Y)$. A **self-attention** amortizer does this by design: one efficient (linear-cost)
#    attention layer per cloud, averaged over points and then over the two clouds,
#    $f(X, Y) \propto A(X) + A(Y)$, $A(X) = \frac1n\sum_i \mathrm{softmax}(Q_i)\,\mathrm{softmax}(K)^\top V$.
#
# The vMF draws are reparameterized (Wood's sampler for the cosine, a Householder reflection to the location),
# so the ascent on $\phi$ goes through the sampled directions.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_points = 128  # points per cloud
batch_size = 16  # clouds per step
n_projections = 30  # SW directions and vMF samples per step
kappa = 10.0  # vMF concentration of v-DSW
n_steps = 120  # training steps per loss
lr = 0.001  # Adam learning rate, autoencoder and amortizer
n_train = 256  # training clouds
n_test = 64  # held-out clouds
n_seeds = 2  # independent data sets and initializations per loss
n_eval_projections = 1000  # directions of the held-out SW

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm.auto import tqdm

from paperlab.data import shape_clouds
from paperlab.distances import (
    amortized_max_sliced_wasserstein,
    amortized_vmf_sliced_wasserstein,
    sliced_wasserstein,
)
from paperlab.experiment import require, setup
from paperlab.losses import chamfer_distance
from paperlab.models import PointNetAutoencoder, SelfAttentionAmortizer

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_points", n_points),
    ("batch_size", batch_size),
    ("n_projections", n_projections),
    ("n_steps", n_steps),
    ("n_train", n_train),
    ("n_test", n_test),
    ("n_seeds", n_seeds),
    ("n_eval_projections", n_eval_projections),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(kappa > 0, f"kappa must be > 0, got {kappa!r}")
require(lr > 0, f"lr must be > 0, got {lr!r}")
require(batch_size <= n_train, f"batch_size must be <= n_train ({n_train}), got {batch_size}")

n_points = exp.pick(ci=n_points, paper=max(n_points, 2048))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 32))
n_projections = exp.pick(ci=n_projections, paper=max(n_projections, 100))
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 3000))
n_train = exp.pick(ci=n_train, paper=max(n_train, 5000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 3))
latent = exp.pick(ci=64, paper=256)
dtype = torch.float32
LOSSES = ["SW", "amortized Max-SW", "SA-amortized v-DSW"]

# %% [markdown]
# ## Data
#
# Procedural shapes stand in for ShapeNet: spheres, tori and boxes, each stretched per axis by a factor in
# [0.5, 1], turned by a uniform random rotation and centred, `n_points` points each. Every seed draws its own
# training and held-out clouds.

# %%
run_seeds = torch.randint(2**31, (n_seeds,), generator=exp.generator).tolist()
datasets = [
    shape_clouds(n_train + n_test, n_points, seed=s, dtype=dtype, device=exp.device).points for s in run_seeds
]

fig = plt.figure(figsize=(8, 2.2))
for i in range(4):
    ax = fig.add_subplot(1, 4, i + 1, projection="3d")
    ax.scatter(*datasets[0][i].cpu().T, s=2)
    ax.set_title(f"training cloud {i}", fontsize=9)
    ax.set_axis_off()
plt.show()

# %% [markdown]
# ## Training
#
# One PointNet autoencoder per loss and seed (shared per-point MLP, max pooling, MLP decoder), the same
# initialization and minibatches for every loss. For the two amortized losses, each step first moves the
# self-attention amortizer one Adam step *up* the loss on the current batch (the reconstruction detached),
# then moves the autoencoder one step *down* the loss at the amortizer's new prediction (the direction
# detached). Plain SW draws `n_projections` fresh uniform directions; v-DSW draws as many vMF directions.


# %%
def loss_at(kind: str, X, Y, location, generator) -> torch.Tensor:
    if kind == "amortized Max-SW":
        return amortized_max_sliced_wasserstein(X, Y, location).pow(2).mean()
    return (
        amortized_vmf_sliced_wasserstein(X, Y, location, kappa, n_projections, seed=generator).pow(2).mean()
    )


def train(kind: str, run: int):
    torch.manual_seed(run_seeds[run])
    autoencoder = PointNetAutoencoder(n_points, latent=latent).to(device=exp.device, dtype=dtype)
    amortizer = SelfAttentionAmortizer(3, d_k=32).to(device=exp.device, dtype=dtype)
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=lr)
    ascent = torch.optim.Adam(amortizer.parameters(), lr=lr, maximize=True)
    generator = torch.Generator().manual_seed(run_seeds[run])
    train_clouds = datasets[run][:n_train]
    history = []
    for _ in range(n_steps):
        X = train_clouds[torch.randint(n_train, (batch_size,), generator=generator).to(exp.device)]
        Y = autoencoder(X)
        if kind == "SW":
            loss = sliced_wasserstein(X, Y, n_projections, seed=generator).pow(2).mean()
        else:
            amortizer_loss = loss_at(kind, X, Y.detach(), amortizer(X, Y.detach()), generator)
            ascent.zero_grad()
            amortizer_loss.backward()
            ascent.step()
            with torch.no_grad():
                location = amortizer(X, Y.detach())
            loss = loss_at(kind, X, Y, location, generator)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    return autoencoder, amortizer, history


jobs = [(kind, run) for kind in LOSSES for run in range(n_seeds)]
trained = {job: train(*job) for job in tqdm(jobs, desc="training")}

# %% [markdown]
# ## Held-out reconstruction
#
# For every held-out cloud: SW between the cloud and its reconstruction with `n_eval_projections` fixed
# directions (the same for every model), and the Chamfer distance.

# %%
rows = []
for (kind, run), (autoencoder, _, _) in trained.items():
    X = datasets[run][n_train:]
    with torch.no_grad():
        Y = autoencoder(X)
        sw = sliced_wasserstein(X, Y, n_eval_projections, seed=run_seeds[run] + 1).mean().item()
        cd = chamfer_distance(X, Y).item()
    rows.append({"loss": kind, "seed": run, "held-out SW": sw, "held-out Chamfer": cd})
table = pd.DataFrame(rows)
summary = table.groupby("loss")[["held-out SW", "held-out Chamfer"]].mean().loc[LOSSES]
summary

# %%
fig = plt.figure(figsize=(10, 2.8))
X = datasets[0][n_train : n_train + 1]
ax = fig.add_subplot(1, 4, 1, projection="3d")
ax.scatter(*X[0].cpu().T, s=2, color="black")
ax.set_title("held-out cloud", fontsize=9)
ax.set_axis_off()
for i, kind in enumerate(LOSSES):
    with torch.no_grad():
        Y = trained[(kind, 0)][0](X)[0].cpu()
    ax = fig.add_subplot(1, 4, i + 2, projection="3d")
    ax.scatter(*X[0].cpu().T, s=1, color="lightgray", label="input")
    ax.scatter(*Y.T, s=2, label="reconstruction")
    ax.set_title(kind, fontsize=9)
    ax.set_axis_off()
ax.legend(fontsize=7, loc="lower right")
plt.show()

fig, ax = plt.subplots(figsize=(5.5, 3.2))
ax.bar(LOSSES, summary["held-out SW"], color=["tab:gray", "tab:orange", "tab:blue"])
ax.set(
    ylabel=f"held-out SW ({n_eval_projections} directions)", title=f"reconstruction, mean of {n_seeds} seeds"
)
ax.tick_params(axis="x", labelsize=8)
plt.show()

# %% [markdown]
# ## Structure of the amortizer and metricity
#
# *Invariance and symmetry* hold by construction; we measure them on trained float64 copies of the amortizer
# with a shuffled held-out batch and with the two clouds swapped (the property tests check them on random
# inputs too).
#
# *Metricity probe*: take a held-out cloud $X$ and $Y = X + 0.5\,e_1$, and force the amortized direction to be
# $e_2$, orthogonal to the shift: the worst prediction an amortizer can make. Amortized Max-SW is then exactly
# 0 although $X \ne Y$; v-DSW at the training $\kappa$ still sees the shift.

# %%
amortizer = trained[("SA-amortized v-DSW", 0)][1].double()
X = datasets[0][n_train:].double()
with torch.no_grad():
    Y = trained[("SA-amortized v-DSW", 0)][0].double()(X)
    order = torch.randperm(n_points, generator=exp.generator).to(exp.device)
    out = amortizer(X, Y)
    permutation_change = (out - amortizer(X[:, order], Y[:, order.flip(0)])).abs().max().item()
    swap_change = (out - amortizer(Y, X)).abs().max().item()

X = datasets[0][n_train : n_train + 1].double()
Y = X + torch.tensor([0.5, 0.0, 0.0], dtype=X.dtype, device=X.device)
e2 = torch.tensor([[0.0, 1.0, 0.0]], dtype=X.dtype, device=X.device)
probe = {
    "amortized Max-SW": amortized_max_sliced_wasserstein(X, Y, e2).item(),
    "v-DSW": amortized_vmf_sliced_wasserstein(X, Y, e2, kappa, n_eval_projections, seed=exp.generator).item(),
    "SW": sliced_wasserstein(X, Y, n_eval_projections, seed=exp.generator).item(),
}
pd.Series(probe, name="X vs X + 0.5 e1, direction forced to e2")

# %% [markdown]
# ## Claims
#
# 1. The self-attention amortizer is invariant to the order of the points and symmetric in the two clouds
#    (changes below $10^{-9}$ in float64): true by design, reported as such.
# 2. Metricity under amortization: with the predicted direction orthogonal to the difference, amortized
#    Max-SW is below $10^{-6}$ while v-DSW exceeds 1% of SW.
# 3. Reconstruction: the SA-amortized v-DSW model's held-out SW is at most the amortized Max-SW model's
#    (mean over seeds).
# 4. The paper: it is also at most the plain-SW model's. Recorded, not required: at this scale it is
#    **not reproduced** (see below).

# %%
# the changes are rounding noise (about 1e-16) that differs between machines, so only the verdict is reported
exp.check("amortizer change under point permutation", permutation_change < 1e-9, expect="< 1e-9 (by design)")
exp.check("amortizer change under swapping X and Y", swap_change < 1e-9, expect="< 1e-9 (by design)")
exp.check_below("probe: amortized Max-SW", probe["amortized Max-SW"], 1e-6)
exp.check_above("probe: v-DSW / SW", probe["v-DSW"] / probe["SW"], 0.01)
vdsw, amax, plain = (summary.loc[k, "held-out SW"] for k in ["SA-amortized v-DSW", "amortized Max-SW", "SW"])
exp.check_below("held-out SW: v-DSW / amortized Max-SW", vdsw / amax, 1.0)
exp.check_below("held-out SW: v-DSW / SW", vdsw / plain, 1.0, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Structure and metricity: reproduced.** The amortizer's invariance and symmetry are exact up to rounding,
#   as the construction guarantees. The probe shows the metricity argument concretely: a single amortized
#   direction can be blind to a difference between the clouds, a vMF spread around it cannot.
# - **v-DSW against amortized Max-SW: reproduced.** Training along one predicted direction per pair
#   reconstructs poorly (the autoencoder only ever matches one projection at a time); spreading the
#   directions with the vMF distribution fixes most of that.
# - **v-DSW against plain SW: not reproduced.** After `n_steps` = 120 steps on 128-point clouds, plain SW
#   reconstructs at least as well: the concentrated slicing distribution ($\kappa$ = 10) spends its
#   projections near one direction, while uniform directions already discriminate well in 3-D. In our
#   trials, lowering $\kappa$ to 1-3 brings v-DSW level with SW (differences within seed-to-seed noise), never
#   clearly ahead. The paper's gains are on ShapeNet with 2048 points, larger models and hundreds of epochs,
#   where informative directions are harder to hit at random; the `paper` profile moves towards that setting.
# - **Cost.** Each amortized step adds one forward and backward pass of a small attention layer over the
#   batch, linear in the number of points; timing is not asserted here.

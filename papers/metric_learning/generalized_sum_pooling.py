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
# # Generalized Sum Pooling for Metric Learning
# *year not listed in the catalog* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# A metric-learning network ends with a global average pooling (GAP): the $n$ local features $x_i$ of
# a convolutional map are averaged, $z = \frac{1}{n}\sum_i x_i$, so background and clutter enter the
# descriptor with the same weight as the object. **Generalized sum pooling** (GSP) learns which
# features to keep. It transports a fraction $\mu$ of the features' mass (each feature holds $1/n$) to
# $m$ learnable prototypes $\omega_k$, and the rest to a residual bin at zero cost, with an entropic
# regularization:
#
# $$\min_{\pi, \rho \ge 0} \sum_{i,k} c_{ik}\pi_{ik} + \varepsilon\,H(\pi, \rho)
#   \quad \text{s.t.}\quad \rho_i + \sum_k \pi_{ik} = \tfrac1n,\quad \sum_{i,k}\pi_{ik} = \mu,
#   \qquad c_{ik} = \lVert \hat x_i - \hat\omega_k \rVert^2 .$$
#
# The pooled vector is the generalized sum $z = \sum_i w_i x_i$ with $w_i = \frac1\mu\sum_k \pi_{ik}$:
# features close to some prototype are selected, the others go to the residual. With $\mu = 1$ all mass
# must be transported, $w_i = 1/n$ and GSP **is** GAP; GSP strictly generalizes it. The solution has
# the form $w_i \propto \sigma(\theta - \tilde c_i/\varepsilon)$ with a soft-min cost
# $\tilde c_i = -\varepsilon \log\sum_k e^{-c_{ik}/\varepsilon}$ and one threshold $\theta$ per set:
# `paperlab.models.gsp_transport` finds $\theta$ with the log-domain Sinkhorn solver on the reduced
# two-bin problem and differentiates it implicitly, so the layer trains end to end.
#
# **Experiment.** The paper trains CNNs on image-retrieval benchmarks; here each image is a *set* of
# 16 tiles of 8×8 pixels: one whole digit and 15 fragments of random digits (two quadrants erased), a
# small stand-in for a cluttered feature map. A shared tile encoder, then GAP or GSP, then a linear
# head is trained with the supervised contrastive loss on digits 0-5; retrieval (Recall@1) is measured
# on sets built from digits 6-9, classes never seen in training.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
mu = 0.125  # fraction of mass sent to the prototypes (2 of 16 tiles)
reg = 0.1  # entropic regularization epsilon
n_prototypes = 8
n_items = 16  # tiles per set
lr = 3e-3
temperature = 0.1  # of the supervised contrastive loss

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits

from paperlab.data import cluttered_sets
from paperlab.experiment import require, setup
from paperlab.losses import supcon_loss
from paperlab.metrics import recall_at_k
from paperlab.models import EmbeddingMLP, GeneralizedSumPooling, generalized_sum_pooling

exp = setup(seed=seed, device=device, profile=profile)
require(0 < mu < 1, f"mu must be in (0, 1) (mu = 1 is GAP itself), got {mu}")
require(reg > 0, f"reg must be positive, got {reg}")
require(n_prototypes >= 1 and n_items >= 2, "n_prototypes must be >= 1 and n_items >= 2")
require(lr > 0 and temperature > 0, "lr and temperature must be positive")
steps = exp.pick(ci=60, paper=2000)
batch = exp.pick(ci=64, paper=256)
n_seeds = exp.pick(ci=3, paper=5)
n_test_sets = exp.pick(ci=400, paper=2000)

digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32)
labels = torch.tensor(digits.target)
seen = labels < 6  # training classes; 6-9 are for retrieval only

# %% [markdown]
# ## GSP with $\mu = 1$ is GAP
# Random features and prototypes, every $\mu$: the pooled vector against the plain mean.

# %%
probe = torch.randn(32, n_items, 24, generator=exp.generator, dtype=torch.float64)
probe_prototypes = torch.randn(n_prototypes, 24, generator=exp.generator, dtype=torch.float64)
gap_error = (generalized_sum_pooling(probe, probe_prototypes, mu=1.0, reg=reg) - probe.mean(1)).abs().max()
print(f"max |GSP(mu=1) - GAP| = {gap_error.item():.1e}")


# %% [markdown]
# ## Training GAP and GSP networks
# Same encoder, head, loss, data stream and seed for both; only the pooling differs.


# %%
class SetEmbedder(torch.nn.Module):
    """Tile encoder -> pooling (GAP or GSP) -> linear head."""

    def __init__(self, pooling: str, generator_seed: int):
        super().__init__()
        self.encoder = EmbeddingMLP(64, 32, hidden=(64,))
        self.pool = (
            GeneralizedSumPooling(32, n_prototypes, mu=mu, reg=reg, generator=generator_seed)
            if pooling == "gsp"
            else None
        )
        self.head = torch.nn.Linear(32, 32)

    def tiles(self, sets):
        return torch.relu(self.encoder(sets.flatten(0, 1))).view(*sets.shape[:2], -1)  # (B, n, 32)

    def forward(self, sets):
        tiles = self.tiles(sets)
        return self.head(self.pool(tiles) if self.pool is not None else tiles.mean(1))


def train_and_eval(pooling: str, run_seed: int):
    torch.manual_seed(run_seed)
    model = SetEmbedder(pooling, run_seed).to(exp.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    stream = torch.Generator().manual_seed(run_seed)
    for _ in range(steps):
        data = cluttered_sets(images[seen], labels[seen], batch, n_items, generator=stream)
        loss = supcon_loss(model(data.sets.to(exp.device)), data.labels.to(exp.device), temperature)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    test = cluttered_sets(images[~seen], labels[~seen], n_test_sets, n_items, generator=10_000 + run_seed)
    with torch.no_grad():
        embeddings = model(test.sets.to(exp.device))
    return model, test, recall_at_k(embeddings, test.labels.to(exp.device), k=1)


recalls = {"gap": [], "gsp": []}
models = {}
with warnings.catch_warnings():
    warnings.simplefilter("error")  # a non-converged Sinkhorn would fail the run
    for run in range(n_seeds):
        for pooling in recalls:
            models[pooling], test_sets, recall = train_and_eval(pooling, 1000 * seed + run)
            recalls[pooling].append(recall)
for pooling, values in recalls.items():
    print(f"{pooling.upper()}: Recall@1 on unseen classes {np.round(values, 3)}, mean {np.mean(values):.3f}")

# %% [markdown]
# ## Where GSP puts its weight
# On the unseen-class test sets of the last run: the weight GSP gives the whole digit versus the
# fragments (GAP gives every tile $1/16$).

# %%
with torch.no_grad():
    model = models["gsp"]
    weights = model.pool.transport(model.tiles(test_sets.sets.to(exp.device))).weights.cpu()
rows = torch.arange(weights.shape[0])
digit_weight = weights[rows, test_sets.position]
fragment_weight = (weights.sum(1) - digit_weight) / (n_items - 1)
print(f"mean weight of the whole digit {digit_weight.mean():.3f}, of a fragment {fragment_weight.mean():.3f}")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=100)
axes[0].bar(
    np.arange(n_seeds) - 0.2, recalls["gap"], width=0.4, label=f"GAP (mean {np.mean(recalls['gap']):.2f})"
)
axes[0].bar(
    np.arange(n_seeds) + 0.2, recalls["gsp"], width=0.4, label=f"GSP (mean {np.mean(recalls['gsp']):.2f})"
)
axes[0].set(xlabel="training run", ylabel="Recall@1, digits 6-9", title="Retrieval on unseen classes")
axes[0].set_xticks(np.arange(n_seeds))
axes[0].legend(loc="lower right")
axes[1].hist(digit_weight.numpy(), bins=30, alpha=0.7, label="whole digit")
axes[1].hist(fragment_weight.numpy(), bins=30, alpha=0.7, label="fragment (mean per set)")
axes[1].axvline(1 / n_items, color="k", linestyle="--", label="GAP weight 1/16")
axes[1].set(xlabel="GSP pooling weight", ylabel="test sets", title="GSP selects the informative tile")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Claims

# %%
exp.check_below("gsp_mu1_equals_gap_max_err", gap_error.item(), 1e-5)
exp.check(
    "gsp_recall_at_1_above_gap",
    np.mean(recalls["gsp"]) > np.mean(recalls["gap"]),
    value=np.mean(recalls["gsp"]) - np.mean(recalls["gap"]),
    expect="> 0 (mean Recall@1 difference, unseen classes)",
)
exp.check_above("gsp_digit_weight_above_fragment", (digit_weight - fragment_weight).mean().item(), 0.0)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - With $\mu = 1$ the layer returns the plain average to rounding error: GSP contains GAP.
# - On cluttered sets, the same network with GSP instead of GAP retrieves unseen digit classes better
#   after 60 steps, and the learnt weights concentrate on the whole digit: the prototypes learnt to
#   match informative tiles and the transport leaves the fragments in the residual.
# - This is a toy version of the paper's setting: sets of raw 8×8 tiles with a two-layer tile encoder
#   instead of a CNN feature map on CUB/Cars/SOP, 60 steps, 3 runs. The paper's zero-shot prototype
#   loss and its initialization of the prototypes from class proxies are not used; prototypes start
#   random. How much GAP can close the gap with a deeper encoder (which can learn to silence clutter by
#   itself) is not measured here; the `paper` profile trains longer.

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
# # Adaptive Multi-head Contrastive Learning
# *year not listed in the catalog* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# SimCLR scores every pair of views with one projection head and one global temperature. Under strong or
# varied augmentations, two views of one image can look less alike than views of two different images,
# and one similarity with one temperature cannot express that. AMCL replicates the projection head $C$
# times (independent weights, $z^c$ per head) and gives every pair $(a, b)$ its own temperature, from a
# small network $\phi$ shared by the heads:
#
# $$\tau_{ab} = \tau_{\min} + (\tau_{\max} - \tau_{\min})\,\sigma\big(-\phi(z_a)\cdot\phi(z_b)\big).$$
#
# The loss of an anchor $a$ with positive $p$ and negatives $n$ (the other views of the batch) is, per head,
#
# $$\ell_a = -\frac{s_{ap}}{\tau_{ap}} + \frac{1}{k}\sum_{n \in K_a}\frac{s_{an}}{\tau_{an}}
#   + \beta\,\Omega(\tau_{ap}) - \beta\sum_{n \in K_a}\big(\log\tau_{an} + \tau_{an}^{-1}\big),
#   \qquad \Omega(\tau) = \tfrac{d}{2}\log\tau + \tfrac{1}{\tau},$$
#
# summed over heads; $K_a$ holds the $k$ most similar negatives (the authors' practical approximation of
# the log-sum-exp over all negatives), and the regulariser keeps temperatures away from degenerate values.
# `paperlab.losses.amcl_loss` implements it (with `top_k=None` for the log-sum-exp form) and
# `paperlab.models.MultiHeadProjector` the $C$ heads.
#
# Here the images are scikit-learn's 8x8 digits, views come from `paperlab.data.augment_digits` (shift,
# noise, erased pixels), the encoder is an MLP 64-128-64, and the representation is judged by a linear
# probe on the frozen 64-d encoder features.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
n_heads = 3  # C of AMCL
steps = 150
batch = 64
lr = 3e-3
simclr_temperature = 0.2
beta = 0.01  # regulariser weight (authors' default)
tau_min = 0.05
tau_max = 1.0
top_k = 100  # hardest negatives kept per anchor (126 of the 2B - 2 are available at batch 64)
head_dim = 32

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from paperlab.data import augment_digits
from paperlab.experiment import require, setup
from paperlab.losses import AMCLLoss, amcl_loss, nt_xent_loss
from paperlab.metrics import linear_probe_accuracy
from paperlab.models import EmbeddingMLP, MultiHeadProjector

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("n_heads", n_heads),
    ("steps", steps),
    ("batch", batch),
    ("top_k", top_k),
    ("head_dim", head_dim),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(batch >= 2, f"batch must be at least 2, got {batch}")
for name, value in [
    ("lr", lr),
    ("simclr_temperature", simclr_temperature),
    ("tau_min", tau_min),
    ("tau_max", tau_max),
]:
    require(isinstance(value, (int, float)) and value > 0, f"{name} must be a positive number, got {value!r}")
require(isinstance(beta, (int, float)) and beta >= 0, f"beta must be >= 0, got {beta!r}")
require(tau_min < tau_max, f"tau_min must be below tau_max, got {tau_min} and {tau_max}")
steps = exp.pick(ci=steps, paper=max(steps, 5000))
batch = exp.pick(ci=batch, paper=max(batch, 256))

# %% [markdown]
# ## Two runs from the same start
#
# Both runs share the encoder initialisation, the batches and the views; SimCLR adds one head and the
# NT-Xent loss at temperature 0.2, AMCL adds three heads and the AMCL loss. Only the encoder is probed.

# %%
digits = load_digits()
train_rows, test_rows = train_test_split(
    np.arange(len(digits.target)), test_size=0.3, random_state=0, stratify=digits.target
)
images = torch.tensor(digits.images / 16.0, dtype=torch.float32, device=exp.device)  # (N, 8, 8)
labels = torch.tensor(digits.target, device=exp.device)
train_x, train_y, test_x, test_y = (
    images[train_rows],
    labels[train_rows],
    images[test_rows],
    labels[test_rows],
)


def probe(encoder):
    with torch.no_grad():
        return linear_probe_accuracy(encoder(train_x.flatten(1)), train_y, encoder(test_x.flatten(1)), test_y)


def train(method):
    torch.manual_seed(exp.seed)
    encoder = EmbeddingMLP(64, 64, hidden=(128,)).to(exp.device)
    heads = MultiHeadProjector(64, head_dim, n_heads=1 if method == "SimCLR" else n_heads, generator=exp.seed)
    heads = heads.to(exp.device)
    amcl = AMCLLoss(head_dim, beta=beta, tau_min=tau_min, tau_max=tau_max, top_k=top_k).to(exp.device)
    parameters = [
        *encoder.parameters(),
        *heads.parameters(),
        *(amcl.parameters() if method == "AMCL" else []),
    ]
    optimizer = torch.optim.Adam(parameters, lr=lr)
    draws = torch.Generator().manual_seed(exp.seed)
    for _ in range(steps):
        rows = torch.randint(0, len(train_x), (batch,), generator=draws).to(exp.device)
        z1 = heads(encoder(augment_digits(train_x[rows], generator=draws).flatten(1)))  # (B, C, head_dim)
        z2 = heads(encoder(augment_digits(train_x[rows], generator=draws).flatten(1)))
        loss = nt_xent_loss(z1[:, 0], z2[:, 0], simclr_temperature) if method == "SimCLR" else amcl(z1, z2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return encoder, heads, amcl


runs = {method: train(method) for method in tqdm(["SimCLR", "AMCL"], desc="training runs")}
torch.manual_seed(exp.seed)
untrained = EmbeddingMLP(64, 64, hidden=(128,)).to(exp.device)  # the shared starting point
accuracy = pd.Series(
    {
        "untrained encoder": probe(untrained),
        **{method: probe(encoder) for method, (encoder, _, _) in runs.items()},
    },
    name="linear probe",
)
accuracy

# %% [markdown]
# ## The learned temperatures
#
# One batch of held-out views through the trained AMCL model: the temperature of every positive and
# negative pair of every head, and how many sit at a bound (a collapse would put them all there).

# %%
encoder, heads, amcl = runs["AMCL"]
with torch.no_grad():
    rows = torch.arange(min(batch, len(test_x)), device=exp.device)
    z1 = heads(encoder(augment_digits(test_x[rows], generator=exp.generator).flatten(1)))
    z2 = heads(encoder(augment_digits(test_x[rows], generator=exp.generator).flatten(1)))
    _, tau_pos, tau_neg = amcl_loss(z1, z2, amcl.phi, beta, tau_min, tau_max, top_k, return_temperatures=True)
span = tau_max - tau_min
at_bound = float(((tau_neg < tau_min + 0.01 * span) | (tau_neg > tau_max - 0.01 * span)).double().mean())
temperatures = pd.DataFrame(
    {
        "mean tau, positive pairs": tau_pos.mean(dim=1).cpu().numpy(),
        "mean tau, negative pairs": tau_neg.mean(dim=(1, 2)).cpu().numpy(),
    },
    index=[f"head {c + 1}" for c in range(tau_pos.shape[0])],
)
temperatures

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(tau_min, tau_max, 40)
ax.hist(tau_neg.flatten().cpu().numpy(), bins=bins, density=True, alpha=0.6, label="negative pairs")
ax.hist(tau_pos.flatten().cpu().numpy(), bins=bins, density=True, alpha=0.6, label="positive pairs")
ax.axvline(simclr_temperature, color="black", ls="--", label=f"SimCLR's fixed tau = {simclr_temperature}")
ax.set_xlabel("pair temperature tau")
ax.set_ylabel("density")
ax.set_title(f"AMCL temperatures on held-out views ({tau_pos.shape[0]} heads)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Claims
#
# The paper: several heads with pair-adaptive temperatures beat one head with a fixed temperature, and
# the regulariser prevents degenerate temperatures. Neither holds in this run. The temperatures of
# positive *and* negative pairs all end at $\tau_{\min}$, and this follows from the loss itself at the
# authors' $\beta = 0.01$: for a positive pair the $\tau$-dependent part is
# $(\beta - s_{ap})/\tau + \beta \tfrac{d}{2}\log\tau$, whose derivative in $\tau$ is positive whenever
# $s_{ap} > \beta$ and $\tau < 2 (s_{ap} - \beta) / (\beta d)$ (about 5.6 here, far above $\tau_{\max}$), so
# it is smallest at $\tau_{\min}$; for a kept negative, $s_{an}/(k\tau) - \beta(\log\tau + 1/\tau)$ also
# falls towards $\tau_{\min}$ as long as $s_{an}/k < \beta$. Both claims are recorded as not reproduced.
# What is checked as holding is only that the encoder after AMCL training still supports a linear probe
# far above chance (0.1); neither self-supervised run beats the untrained encoder's features here.

# %%
exp.check_above("probe_amcl_minus_simclr", accuracy["AMCL"] - accuracy["SimCLR"], 0.0, required=False)
exp.check_above("probe_amcl", accuracy["AMCL"], 0.5)
exp.check_above(
    "probe_amcl_minus_untrained", accuracy["AMCL"] - accuracy["untrained encoder"], 0.0, required=False
)
exp.check_below("negative_temperatures_at_a_bound", at_bound, 0.5, required=False)
exp.check("mean_tau_positive", True, value=tau_pos.mean(), expect="reported")
exp.check("mean_tau_negative", True, value=tau_neg.mean(), expect="reported")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The AMCL loss (`paperlab.losses.amcl_loss`) matches the formula above term by term in the tests,
#   including the authors' top-k approximation of the negative term. The negative term and the summed
#   regulariser over the kept negatives follow the authors' code; the paper's equations could not be
#   checked line by line, so `top_k=None` (log-sum-exp over all negatives) is offered as the softmax form.
# - With the authors' $\beta = 0.01$ the temperatures collapse to $\tau_{\min}$ (0.05 here; the authors'
#   code allows $10^{-5}$, which would collapse further). The analysis in the Claims section shows this is
#   a property of the objective at this $\beta$, not of the small scale. A larger $\beta$ would change it,
#   but was not tried: it would be tuning after seeing the result.
# - With collapsed temperatures AMCL is three heads at a fixed $\tau = 0.05$ with a top-k mean in place of
#   the log-sum-exp; on augmented digits after 150 steps its linear probe is below SimCLR's (one head,
#   $\tau = 0.2$). The paper's gains are reported on photographs with several augmentation types, ResNet
#   encoders and hundreds of epochs, which this run does not approach; the `paper` profile only raises
#   the steps to 5000 and the batch to 256.
# - Random features of an untrained MLP already probe at about 0.96 on 8x8 digits: SimCLR matches them
#   and AMCL falls below them after 150 steps, so this testbed cannot show a representation gain from
#   either loss at ci scale; the comparison with the untrained encoder is reported, not required.

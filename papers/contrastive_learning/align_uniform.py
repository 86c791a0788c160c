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
# # Understanding Contrastive Representation Learning through Alignment and Uniformity on the Hypersphere
# *2020* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# Contrastive learning maps inputs to the unit sphere with an encoder $f$ and trains it with InfoNCE:
# for a positive pair $(x, y)$ (two views of one image) and $M$ negatives $x^-_i$,
#
# $$\mathcal{L}_{\text{contrastive}} = \mathbb{E}\Big[-\log \frac{e^{f(x)^\top f(y)/\tau}}
#   {e^{f(x)^\top f(y)/\tau} + \sum_i e^{f(x^-_i)^\top f(y)/\tau}}\Big].$$
#
# The paper shows that, as the number of negatives grows, this loss splits into two terms: one that
# pulls positive pairs together and one that spreads all features over the sphere. It names the two
# properties and gives each a loss of its own:
#
# $$\mathcal{L}_{\text{align}}(f; \alpha) = \mathbb{E}_{(x, y) \sim p_{\text{pos}}}
#   \lVert f(x) - f(y) \rVert_2^\alpha, \qquad
#   \mathcal{L}_{\text{uniform}}(f; t) = \log \mathbb{E}_{x, y \sim p_{\text{data}}}
#   e^{-t \lVert f(x) - f(y) \rVert_2^2}.$$
#
# The second is the log of the mean Gaussian potential between features. The uniform distribution on
# the sphere minimizes it. Both are lower-is-better metrics of any encoder. The paper finds that they
# agree with downstream accuracy, and that optimizing
# $\mathcal{L}_{\text{align}} + \lambda \mathcal{L}_{\text{uniform}}$ directly gives representations as
# good as, or better than, contrastive learning.
#
# `paperlab.losses.alignment_loss` and `uniformity_loss` implement the two losses. They are tested
# against the authors' formula and closed forms (antipodal points, the simplex, the uniform circle).
# `nt_xent_loss` is InfoNCE with the other views of the batch as negatives. `augment_digits` makes the
# views.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
steps = 200  # Adam steps of each training run
checkpoints = (10, 25, 50, 100)  # intermediate steps whose encoders join the correlation study
n_neighbors = 5  # k of the k-NN classifier on the embeddings
batch = 128  # images per step, two augmented views each
lr = 3e-3
hidden = (256,)  # encoder MLP hidden widths (64 -> 256 -> 32 as in the plan)
embedding_dim = 32
temperature = 0.2  # tau of InfoNCE
alpha = 2  # alignment exponent (paper default)
t = 2.0  # uniformity potential scale (paper default)
lam = 1.0  # weight of the uniformity term (paper default)

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from paperlab.data import augment_digits
from paperlab.experiment import require, setup
from paperlab.losses import alignment_loss, nt_xent_loss, uniformity_loss
from paperlab.metrics import knn_accuracy, linear_probe_accuracy
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("steps", steps),
    ("batch", batch),
    ("embedding_dim", embedding_dim),
    ("n_neighbors", n_neighbors),
]:
    require(isinstance(value, int) and value >= 2, f"{name} must be an integer >= 2, got {value!r}")
require(
    isinstance(checkpoints, (tuple, list)) and all(isinstance(c, int) and 0 < c < steps for c in checkpoints),
    f"checkpoints must be integers strictly between 0 and steps={steps}, got {checkpoints!r}",
)
require(
    isinstance(hidden, (tuple, list)) and all(isinstance(w, int) and w >= 1 for w in hidden),
    f"hidden must be a tuple of positive integers, got {hidden!r}",
)
for name, value in [("lr", lr), ("temperature", temperature), ("alpha", alpha), ("t", t), ("lam", lam)]:
    require(isinstance(value, (int, float)) and value > 0, f"{name} must be a positive number, got {value!r}")
steps = exp.pick(ci=steps, paper=max(steps, 2000))
checkpoints = exp.pick(ci=tuple(checkpoints), paper=(25, 50, 100, 200, 500, 1000))
batch = exp.pick(ci=batch, paper=max(batch, 512))
hidden = exp.pick(ci=tuple(hidden), paper=(1024, 1024))

# %% [markdown]
# ## Data and the two objectives
#
# The 8x8 digits of scikit-learn (pixels in [0, 1]), split once into 70% training and 30% held-out
# images. A view shifts an image by up to one pixel, adds noise and erases two pixels. Both runs start
# from the same initialization (seed `seed`) and see the same batches and views. They differ only in the
# loss: InfoNCE (NT-Xent, temperature `temperature`), or
# $\mathcal{L}_{\text{align}} + \lambda \cdot \tfrac12 [\mathcal{L}_{\text{uniform}}(f(x)) +
# \mathcal{L}_{\text{uniform}}(f(y))]$ as in the authors' training code. Every 25 steps and at each
# checkpoint, alignment and uniformity are measured on the held-out images: clean image against one
# augmented view for alignment, the clean features for uniformity. At the initialization, at each of
# `checkpoints` and at the end, two classifiers are fitted on the frozen features of the clean training
# images and scored on the held-out ones: a logistic-regression probe and a 5-NN vote.

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
test_views = augment_digits(test_x, generator=exp.generator).flatten(1)  # (N_test, 64), one fixed view


def align_uniform_objective(a, b):
    return alignment_loss(a, b, alpha) + lam * (uniformity_loss(a, t) + uniformity_loss(b, t)) / 2


objectives = {
    "InfoNCE": lambda a, b: nt_xent_loss(a, b, temperature),
    "align + uniform": align_uniform_objective,
}


def measure(encoder):
    with torch.no_grad():
        clean = encoder(test_x.flatten(1))
        return alignment_loss(clean, encoder(test_views), alpha).item(), uniformity_loss(clean, t).item()


def probe(encoder):
    """Linear-probe and k-NN accuracy on the held-out digits, fitted on the training digits."""
    with torch.no_grad():
        train_features, test_features = encoder(train_x.flatten(1)), encoder(test_x.flatten(1))
    return (
        linear_probe_accuracy(train_features, train_y, test_features, test_y),
        knn_accuracy(train_features, train_y, test_features, test_y, k=n_neighbors),
    )


def train(objective):
    torch.manual_seed(exp.seed)
    draws = torch.Generator().manual_seed(exp.seed)
    encoder = EmbeddingMLP(64, embedding_dim, hidden=hidden, normalize=True).to(exp.device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
    curve, probes = [(0, *measure(encoder))], {0: probe(encoder)}
    for step in range(1, steps + 1):
        rows = torch.randint(0, len(train_x), (batch,), generator=draws).to(exp.device)
        first = encoder(augment_digits(train_x[rows], generator=draws).flatten(1))  # (B, embedding_dim)
        second = encoder(augment_digits(train_x[rows], generator=draws).flatten(1))
        loss = objective(first, second)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 25 == 0 or step in checkpoints or step == steps:
            curve.append((step, *measure(encoder)))
        if step in checkpoints or step == steps:
            probes[step] = probe(encoder)
    return np.array(curve), probes


runs = {name: train(objective) for name, objective in tqdm(objectives.items(), desc="training runs")}
encoders = []  # (method, step, L_align, L_uniform, probe accuracy, k-NN accuracy), initialization once
for name, (curve, probes) in runs.items():
    for step, (linear, knn) in probes.items():
        if step == 0 and encoders:
            continue
        row = curve[curve[:, 0] == step][0]
        encoders.append((name if step else "initialization", step, row[1], row[2], linear, knn))
for method, step, align, uniform, linear, knn in encoders:
    print(
        f"{method:>16} step {step:4d}: L_align {align:.3f}  L_uniform {uniform:.3f}  "
        f"linear probe {linear:.3f}  {n_neighbors}-NN {knn:.3f}"
    )

# %% [markdown]
# ## Training curves and the alignment-uniformity plane
#
# Left: both metrics on the held-out images during training. Right: every probed encoder in the
# (alignment, uniformity) plane, coloured by k-NN accuracy. The paper's figure has the same axes: the
# best encoders sit in the lower left.

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for k, (name, (curve, _)) in enumerate(runs.items()):
    axes[0].plot(curve[:, 0], curve[:, 1], f"C{k}-", label=f"{name}: L_align")
    axes[0].plot(curve[:, 0], curve[:, 2], f"C{k}--", label=f"{name}: L_uniform")
axes[0].set(xlabel="training step", ylabel="metric on held-out digits (lower is better)")
axes[0].set_title("Alignment and uniformity during training")
axes[0].legend(fontsize=8)
table = np.array([row[2:] for row in encoders], dtype=float)
points = axes[1].scatter(table[:, 0], table[:, 1], c=table[:, 3], cmap="viridis", s=60, edgecolors="k")
for method, step, align, uniform, *_ in encoders:
    axes[1].annotate(
        f"{method[:4]}@{step}", (align, uniform), fontsize=7, xytext=(4, 4), textcoords="offset points"
    )
axes[1].set(xlabel="L_align (alpha=2)", ylabel="L_uniform (t=2)")
axes[1].set_title("Probed encoders")
fig.colorbar(points, ax=axes[1], label=f"{n_neighbors}-NN accuracy")
plt.show()

# %% [markdown]
# ## Claims
#
# - Optimizing alignment and uniformity directly is comparable to InfoNCE: its probe accuracy is at
#   least InfoNCE's minus 2 points (the plan's bar for "comparable").
# - InfoNCE optimizes both properties. Uniformity falls during InfoNCE training. Alignment is judged
#   after the first checkpoint, not from the initialization: a randomly initialized encoder maps the
#   digits into a narrow cap of the sphere (uniformity about -1, against -2.9 after training), so a view
#   and its image start close, and alignment can first get worse while the features spread out.
#   Alignment measured from the initialization is reported too. The paper claims only that the loss
#   favours alignment asymptotically, so this one is not required.
# - The metrics agree with downstream accuracy: across the probed encoders, the Spearman correlation
#   between $\mathcal{L}_{\text{align}} + \mathcal{L}_{\text{uniform}}$ and the error of the linear probe
#   (the plan's check) or of a 5-NN classifier is above 0.5. It does NOT reproduce here, for either
#   classifier, and is reported without failing the notebook (see below). The 5-NN classifier was added
#   after the linear probe was found saturated, as a more geometric reading of the same embeddings. It did
#   not change the outcome.

# %%
final = {name: probes[steps][0] for name, (_, probes) in runs.items()}
nce_curve = runs["InfoNCE"][0]
first_checkpoint = nce_curve[nce_curve[:, 0] == checkpoints[0]][0]
exp.check_above("probe_align_uniform_minus_infonce", final["align + uniform"] - final["InfoNCE"], -0.02)
exp.check_below("infonce_uniformity_end_minus_init", nce_curve[-1, 2] - nce_curve[0, 2], 0.0)
exp.check_below("infonce_alignment_end_minus_checkpoint", nce_curve[-1, 1] - first_checkpoint[1], 0.0)
exp.check_below("infonce_alignment_end_minus_init", nce_curve[-1, 1] - nce_curve[0, 1], 0.0, required=False)
summed_metrics = table[:, 0] + table[:, 1]
exp.check_above(
    "spearman_metrics_vs_linear_probe_error",
    spearmanr(summed_metrics, 1 - table[:, 2]).statistic,
    0.5,
    required=False,
)
exp.check_above(
    "spearman_metrics_vs_knn_error",
    spearmanr(summed_metrics, 1 - table[:, 3]).statistic,
    0.5,
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - On 8x8 digits with a small MLP and 200 steps, optimizing $\mathcal{L}_{\text{align}} +
#   \mathcal{L}_{\text{uniform}}$ directly gives a frozen representation that a linear probe classifies
#   about as well as InfoNCE's (2.6 and 0.4 points better for seeds 0 and 1). Given the saturation noted
#   below, "comparable" is all this shows. The paper's gains on STL-10 and ImageNet subsets are not tested
#   here.
# - InfoNCE lowers both metrics on held-out digits. Uniformity falls from the start (from -0.7 or -1.3 at
#   initialization to about -2.9). Alignment can rise early while the initially clustered features
#   spread out: for seed 0 it goes from 0.40 at initialization to 0.64 at step 10. It then falls below
#   its initial value by step 200, for both seeds. This fits the paper's "asymptotically".
# - The agreement between the metrics and downstream accuracy does not reproduce on digits. The downstream
#   task is saturated: the randomly initialized encoder already gets about 93% from a linear probe, and
#   all 9 encoders (the shared initialization and four checkpoints of each run) fall within about 3 points
#   of one another. That is 10 to 20 of the 540 held-out images, so the ranking of accuracies is mostly
#   noise. Meanwhile $\mathcal{L}_{\text{align}} + \mathcal{L}_{\text{uniform}}$ changes a lot. For seed 0
#   and seed 1 the Spearman correlation is 0.44 and -0.33 with linear-probe error, and 0.04 and -0.39
#   with 5-NN error. The paper's study ranks hundreds of encoders on STL-10, NYU-Depth and ImageNet
#   subsets, where accuracy varies by tens of points. A harder task, or an encoder that starts far from
#   good features, would be needed to test this claim.
# - The `paper` profile trains wider encoders for 2000 steps with batch 512 and probes more checkpoints;
#   it has not been run for this notebook.

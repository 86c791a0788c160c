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
# # AdaFace: Quality Adaptive Margin for Face Recognition
# *2022* · topic `metric_learning` · verdict **reproduce**
#
# ## The idea
#
# Margin softmax heads (ArcFace, CosFace) compare an embedding $z$ with one proxy $W_j$ per class through
# $\cos\theta_j$ and penalize the target class $y$ with a margin:
#
# $$\text{logit}_y = s\,\big(\cos(\theta_y + g_{angle}) - g_{add}\big), \qquad
#   \text{logit}_{j\neq y} = s\cos\theta_j .$$
#
# ArcFace is $(g_{angle}, g_{add}) = (m, 0)$ and CosFace $(0, m)$. The paper shows that the angular margin
# *de-emphasizes* hard samples (large $\theta_y$) and a negative angular shift *emphasizes* them. Which is
# right depends on image quality: a hard, good-quality image is worth learning from, a hard, unrecognizable
# one is not. AdaFace uses the feature norm $\|z\|$ as a quality proxy, normalized by batch statistics kept
# as an exponential moving average,
#
# $$\widehat{\|z\|} = \operatorname{clip}\Big(h\,\frac{\|z\| - \mu_z}{\sigma_z + \epsilon}, -1, 1\Big), \quad
#   g_{angle} = -m\,\widehat{\|z\|}, \quad g_{add} = m\,\widehat{\|z\|} + m,$$
#
# so a low-norm (low-quality) sample gets ArcFace's margin, an average one CosFace's, and a high-norm one
# a margin that emphasizes it when it is hard.
#
# `paperlab.losses.AdaFaceLoss` implements the head with the authors' EMA of the norm statistics
# (`ArcFaceLoss` and `CosFaceLoss` are its fixed-margin cases, checked against pytorch-metric-learning).

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
m = 0.4  # margin, the paper's value
h = 0.333  # concentration of the normalized norm, the paper's value
scale = 64.0  # s, the paper's value
t_alpha = 0.1  # EMA weight of the current batch (authors: 0.01 over ~10^5 steps; see below)
embedding_dim = 32
steps = 150  # Adam steps
batch = 128
lr = 3e-3
n_seeds = 3  # networks per loss, trained together as one stacked model
degraded_fraction = 0.5  # share of training images degraded at a random strength

# %%
import matplotlib.pyplot as plt
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from tqdm.auto import tqdm

from paperlab.experiment import require, setup
from paperlab.losses import AdaFaceLoss, ArcFaceLoss, adaface_margin_scaler
from paperlab.models import StackedMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value, upper in [("m", m, 1.5), ("h", h, 10.0), ("t_alpha", t_alpha, 1.0)]:
    require(
        isinstance(value, float) and 0 < value <= upper,
        f"{name} must be a float in (0, {upper}], got {value!r}",
    )
require(isinstance(scale, float) and scale > 0, f"scale must be a positive float, got {scale!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(0 <= degraded_fraction <= 1, f"degraded_fraction must be in [0, 1], got {degraded_fraction!r}")
for name, value in [
    ("embedding_dim", embedding_dim),
    ("steps", steps),
    ("batch", batch),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
steps = exp.pick(ci=steps, paper=max(steps, 3000))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 5))

# %% [markdown]
# ## Data: digits with a known quality
#
# The 8x8 digits of scikit-learn, split in half (train / test). A degradation of strength $q \in [0, 1]$
# blurs the image (blend with a 3x3 box blur), lowers its contrast by a factor $1 - 0.6q$, adds Gaussian
# noise of std $0.15q$ and blanks a random square of side $\mathrm{round}(4q)$: a stand-in for blurry,
# dark, occluded faces, with the true quality known. Half the training images are degraded at a uniform
# random strength; the test is on clean images and on heavily degraded ones ($q \in [0.7, 1]$).


# %%
def degrade(images, strength, generator):
    """Blur, dim, add noise and occlude each (64,) image with its own strength in [0, 1]."""
    img = images.view(-1, 1, 8, 8)
    blur = F.avg_pool2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    q = strength.view(-1, 1, 1, 1)
    noise = torch.randn(img.shape, generator=generator).to(img.device)
    out = ((1 - q) * img + q * blur) * (1 - 0.6 * q) + 0.15 * q * noise
    side = (4 * strength).round().long()  # (n,)
    corner = torch.randint(0, 8, (len(img), 2), generator=generator).to(img.device)
    grid = torch.arange(8, device=img.device)
    in_rows = (grid >= corner[:, :1]) & (grid < corner[:, :1] + side[:, None])  # (n, 8)
    in_cols = (grid >= corner[:, 1:]) & (grid < corner[:, 1:] + side[:, None])  # (n, 8)
    return out.masked_fill((in_rows[:, :, None] & in_cols[:, None, :])[:, None], 0.0).reshape(-1, 64)


digits = load_digits()
images = torch.tensor(digits.data / 16.0, dtype=torch.float32, device=exp.device)
labels = torch.tensor(digits.target, device=exp.device)
order = torch.randperm(len(images), generator=exp.generator).to(exp.device)
train_x, train_y = images[order[: len(order) // 2]], labels[order[: len(order) // 2]]
test_x, test_y = images[order[len(order) // 2 :]], labels[order[len(order) // 2 :]]
heavy_q = (0.7 + 0.3 * torch.rand(len(test_x), generator=exp.generator)).to(exp.device)
heavy_x = degrade(test_x, heavy_q, exp.generator)
any_q = torch.rand(len(test_x), generator=exp.generator).to(exp.device)
any_x = degrade(test_x, any_q, exp.generator)
print(f"{len(train_x)} training images, {len(test_x)} test images")

fig, axes = plt.subplots(1, 5, figsize=(7, 1.8))
for ax, q in zip(axes, [0.0, 0.25, 0.5, 0.75, 1.0]):
    shown = degrade(test_x[:1], torch.tensor([q], device=exp.device), exp.generator)
    ax.imshow(shown.view(8, 8).cpu(), cmap="gray_r", vmin=0, vmax=1)
    ax.set(title=f"q = {q}", xticks=[], yticks=[])
fig.suptitle("One test digit at increasing degradation strength q")
plt.show()

# %% [markdown]
# ## ArcFace and AdaFace heads on the same networks and batches
#
# `n_seeds` 64-128-32 MLPs per loss, trained together as one stacked model (`StackedMLP`): all $2 \times$
# `n_seeds` networks see the same batches, each has its own head. Same $m$ and $s$ for both losses.
# Prediction is the class proxy with the largest cosine.

# %%
n_models = 2 * n_seeds
kinds = ["ArcFace"] * n_seeds + ["AdaFace"] * n_seeds
torch.manual_seed(exp.seed)
net = StackedMLP(n_models, 64, embedding_dim, hidden=(128,), generator=exp.seed).to(exp.device)
heads = [
    ArcFaceLoss(10, embedding_dim, m, scale)
    if kind == "ArcFace"
    else AdaFaceLoss(10, embedding_dim, m, h, scale, t_alpha)
    for kind in kinds
]
heads = [head.to(exp.device) for head in heads]
optimizer = torch.optim.Adam([*net.parameters(), *(p for head in heads for p in head.parameters())], lr=lr)
for _ in tqdm(range(steps), desc="training"):
    rows = torch.randint(0, len(train_x), (batch,), generator=exp.generator).to(exp.device)
    hit = torch.rand(batch, generator=exp.generator) < degraded_fraction
    strength = (torch.rand(batch, generator=exp.generator) * hit).to(exp.device)
    x = degrade(train_x[rows], strength, exp.generator)
    embeddings = net(x.expand(n_models, -1, -1))  # (S, batch, D)
    loss = sum(head(embeddings[i], train_y[rows]) for i, head in enumerate(heads))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# %%
results = []
with torch.no_grad():
    outputs = {
        name: net(x.expand(n_models, -1, -1))
        for name, x in [("clean", test_x), ("heavy", heavy_x), ("any", any_x)]
    }
    for i, (kind, head) in enumerate(zip(kinds, heads)):
        proxies = F.normalize(head.weight, dim=1)

        def accuracy(name, i=i, proxies=proxies):
            scores = F.normalize(outputs[name][i], dim=1) @ proxies.T  # (n_test, 10)
            return (scores.argmax(1) == test_y).float().mean().item()

        norms = outputs["any"][i].norm(dim=1)
        results.append(
            {
                "loss": kind,
                "clean accuracy": accuracy("clean"),
                "heavy accuracy": accuracy("heavy"),
                "spearman(norm, q)": spearmanr(norms.cpu().numpy(), any_q.cpu().numpy())[0],
            }
        )
table = pd.DataFrame(results)
summary = table.groupby("loss", sort=False).mean()
summary.round(3)

# %% [markdown]
# ## Is the feature norm a quality proxy?
#
# Test images at uniform random strength: the feature norm of the first AdaFace network against $q$, and
# the margin scaler $\widehat{\|z\|}$ its head's EMA statistics give them (which decides between the
# ArcFace-like and the hard-sample-emphasizing margin).

# %%
first_ada = kinds.index("AdaFace")
ada_head = heads[first_ada]
norms = outputs["any"][first_ada].norm(dim=1)
scaler = adaface_margin_scaler(norms, ada_head.batch_mean, ada_head.batch_std, h)
fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
axes[0].scatter(any_q.cpu(), norms.cpu(), s=4, alpha=0.5, label="test images")
axes[0].set(xlabel="degradation strength q", ylabel="feature norm ||z||", title="Feature norm vs quality")
axes[0].legend()
axes[1].scatter(any_q.cpu(), scaler.cpu(), s=4, alpha=0.5, color="C1", label="AdaFace scaler")
axes[1].set(xlabel="degradation strength q", ylabel="normalized norm", title="Margin scaler vs quality")
axes[1].legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# - The premise: the feature norm tracks image quality, Spearman correlation between the norm and the true
#   degradation strength below -0.3 (AdaFace networks, mean over seeds).
# - The margin adapts: low-quality test images ($q > 0.7$) get a lower mean scaler than clean ones.
# - The plan's guard: AdaFace does not cost clean accuracy, a drop below 1 point against ArcFace.
# - The paper's headline, AdaFace above ArcFace on heavily degraded images, is measured but **not
#   reproduced** at this scale (see below); it does not fail the notebook.

# %%
ada, arc = summary.loc["AdaFace"], summary.loc["ArcFace"]
exp.check_below("spearman_norm_vs_degradation_adaface", ada["spearman(norm, q)"], -0.3)
with torch.no_grad():
    clean_scaler = adaface_margin_scaler(
        outputs["clean"][first_ada].norm(dim=1), ada_head.batch_mean, ada_head.batch_std, h
    )
    heavy_scaler = adaface_margin_scaler(
        outputs["heavy"][first_ada].norm(dim=1), ada_head.batch_mean, ada_head.batch_std, h
    )
exp.check_below("scaler_heavy_minus_clean", (heavy_scaler.mean() - clean_scaler.mean()).item(), 0.0)
exp.check_below("clean_accuracy_drop_adaface_vs_arcface", arc["clean accuracy"] - ada["clean accuracy"], 0.01)
exp.check_above(
    "heavy_accuracy_adaface_minus_arcface", ada["heavy accuracy"] - arc["heavy accuracy"], 0.0, required=False
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The mechanism is there: on these synthetic degradations the learned feature norm falls with quality,
#   and AdaFace's EMA-normalized scaler sends degraded images towards the ArcFace end of its margin.
# - The payoff is not: AdaFace is not better than ArcFace on heavily degraded digits here. In exploratory
#   runs (3 seeds, 200-300 steps, $s \in \{32, 64\}$, $t_\alpha \in \{0.01, 0.05, 1\}$) the heavy-test
#   accuracy of AdaFace minus ArcFace was -0.6, -2.3 and 0.0 points, and in this ci run the two are
#   within 0.1 point of each other with the sign depending on the seed. Plausible reasons:
#   ten classes and 900 images are far from the paper's 10^5 identities, where hard, unrecognizable
#   samples (label noise in effect) hurt a face model much more.
# - $t_\alpha$: the authors train with $t_\alpha = 0.01$ for ~$10^5$ steps. Their EMA starts at
#   $(\mu, \sigma) = (20, 100)$, so in a 150-step run it would still be far from the real norm statistics
#   (a $\sigma$ near 20 keeps every scaler near 0: AdaFace would be CosFace all along; an exploratory run
#   gave a scaler gap heavy - clean of only -0.006). The ci run uses $t_\alpha = 0.1$, which settles in a
#   few tens of steps.
# - A 64-128-32 MLP on 8x8 digits is a toy version of a ResNet on 112x112 faces; the `paper` profile only
#   trains longer on more seeds.

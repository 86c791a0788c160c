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
# # Additive Margin in Contrastive Self-Supervised Frameworks to Learn Discriminative Speaker Representations
# *year not listed in the catalog* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# Self-supervised speaker embeddings can be learned SimCLR-style: two random segments of the same
# utterance form a positive pair (same speaker, same session), segments of other utterances in the
# batch are negatives. With cosine similarities and temperature $\tau$, the NT-Xent loss of anchor $i$
# (first view $q_i$, candidates the second views $k_j$) is
#
# $$\ell_i = -\log \frac{e^{\cos(q_i, k_i)/\tau}}{\sum_j e^{\cos(q_i, k_j)/\tau}}.$$
#
# Supervised speaker verification learned long ago that a softmax is not enough to make classes
# compact: AM-Softmax (CosFace) subtracts a margin $m$ from the target cosine. The paper carries the
# margin over to the contrastive loss, NT-Xent-AM:
#
# $$\ell_i = -\log \frac{e^{(\cos(q_i, k_i) - m)/\tau}}
#   {e^{(\cos(q_i, k_i) - m)/\tau} + \sum_{j \ne i} e^{\cos(q_i, k_j)/\tau}},$$
#
# so a positive pair must beat every negative by $m$ in cosine before the loss lets go. It also uses the
# *symmetric* loss, where the second views serve as anchors too and the two directions are averaged.
# The paper reports lower equal error rates (EER) on VoxCeleb with the margin ($m = 0.1$) and with the
# symmetric form, and more compact speaker clusters.
#
# `paperlab.losses.nt_xent_additive_margin_loss` implements the loss (tested against the formula and,
# at $m = 0$, against pytorch-metric-learning's NT-Xent); `paperlab.data.synthetic_speakers` replaces
# VoxCeleb and `paperlab.metrics.equal_error_rate` scores verification trials.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
margin = 0.1  # additive margin m, the paper's best
temperature = 0.2  # tau (the paper's scale 1/tau is 5)
steps = 100  # Adam steps (the plan has 200; halved for the ci budget)
batch = 64  # utterances per step, two crops each
lr = 3e-3
crop = 20  # frames per view
view_noise = 0.1  # white noise added to each view
hidden = (64,)  # hidden widths of the encoder MLP
embedding_dim = 32
n_seeds = 3  # runs per loss, trained together as one stack

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from paperlab.data import crop_and_noise, synthetic_speakers
from paperlab.experiment import require, setup
from paperlab.losses import nt_xent_additive_margin_loss
from paperlab.metrics import equal_error_rate
from paperlab.models import StackedMLP

exp = setup(seed=seed, device=device, profile=profile)
require(isinstance(margin, float) and 0 <= margin < 1, f"margin must be a float in [0, 1), got {margin!r}")
require(isinstance(temperature, float) and temperature > 0, f"temperature must be > 0, got {temperature!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(isinstance(view_noise, float) and view_noise >= 0, f"view_noise must be >= 0, got {view_noise!r}")
for name, value in [
    ("steps", steps),
    ("batch", batch),
    ("embedding_dim", embedding_dim),
    ("n_seeds", n_seeds),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(batch >= 2, f"batch must be >= 2, got {batch!r}")
require(isinstance(crop, int) and 1 <= crop <= 40, f"crop must be an integer in 1..40, got {crop!r}")
require(
    isinstance(hidden, (tuple, list)) and all(isinstance(w, int) and w >= 1 for w in hidden),
    f"hidden must be a tuple of positive integers, got {hidden!r}",
)
n_train_speakers, n_train_utterances = exp.pick(ci=(120, 8), paper=(200, 10))
n_test_speakers = exp.pick(ci=30, paper=50)
steps = exp.pick(ci=steps, paper=max(steps, 2000))
hidden = exp.pick(ci=tuple(hidden), paper=(256, 256))
n_seeds = exp.pick(ci=n_seeds, paper=max(n_seeds, 5))

# %% [markdown]
# ## Synthetic speakers
#
# An utterance is 40 frames of 20 features: the speaker's smooth spectral envelope, a per-utterance
# channel offset, frame-level "phone" content that varies more than speakers do, and white noise.
# Training uses 120 speakers x 8 utterances without their labels; verification trials are all pairs of
# utterances of 30 held-out speakers. A view is a random 20-frame crop with a little noise. The encoder
# pools each view into the mean and standard deviation of its frames (statistics pooling) and maps them
# with an MLP; the three losses times `n_seeds` runs are one stack of networks (`StackedMLP`) that see
# the same batches and views.

# %%
train_set = synthetic_speakers(n_train_speakers, n_train_utterances, generator=exp.seed)
test_set = synthetic_speakers(n_test_speakers, 8, generator=10_000 + exp.seed)
train_utterances = train_set.utterances.to(exp.device)
test_utterances, test_speakers = test_set.utterances.to(exp.device), test_set.speakers.to(exp.device)
methods = {"NT-Xent": (0.0, False), "NT-Xent-AM": (margin, False), "symmetric NT-Xent-AM": (margin, True)}
names = list(methods)
n_models = len(names) * n_seeds  # model s trains with method names[s % len(names)]
model_settings = [methods[names[s % len(names)]] for s in range(n_models)]  # (margin, symmetric) per model


def stats_pool(frames):
    """Mean and standard deviation over the frame axis: (..., T, F) -> (..., 2F)."""
    mean = frames.mean(dim=-2)
    std = ((frames * frames).mean(dim=-2) - mean * mean).clamp_min(1e-6).sqrt()
    return torch.cat([mean, std], dim=-1)


def pooled_views(rows, generator):
    """One pooled view per run's utterance, shared by the methods: (n_models, B, 2F)."""
    pooled = stats_pool(crop_and_noise(train_utterances[rows], crop, view_noise, generator))  # (R*B, 2F)
    per_run = pooled.view(n_seeds, 1, batch, -1).expand(n_seeds, len(names), batch, -1)  # (R, M, B, 2F)
    return per_run.reshape(n_models, batch, -1)  # (R*M, B, 2F)


generator = torch.Generator().manual_seed(exp.seed)
n_features = 2 * train_utterances.shape[2]
encoder = StackedMLP(n_models, n_features, embedding_dim, hidden, generator=generator).to(exp.device)
optimizer = torch.optim.Adam(encoder.parameters(), lr=lr, foreach=True)
for _ in range(steps):
    rows = torch.randint(0, len(train_utterances), (n_seeds * batch,), generator=generator).to(exp.device)
    first, second = encoder(pooled_views(rows, generator)), encoder(pooled_views(rows, generator))
    loss = sum(
        nt_xent_additive_margin_loss(first[s], second[s], model_margin, temperature, symmetric)
        for s, (model_margin, symmetric) in enumerate(model_settings)
    )
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# %% [markdown]
# ## Verification on held-out speakers
#
# Each held-out utterance (all 40 frames) is embedded by every network; a trial is a pair of utterances
# scored by the cosine of their embeddings. Besides the EER, the ratio of the mean intra-speaker to the
# mean inter-speaker cosine distance measures how compact the speakers are (lower: more compact), and
# the mean cosine between two crops of the same held-out utterance measures how tightly the positives
# were pulled together.


# %%
def embed(frames):
    """Unit embeddings of every network: (n, T, F) -> (n_models, n, embedding_dim)."""
    with torch.no_grad():
        return F.normalize(encoder(stats_pool(frames).expand(n_models, -1, -1)), dim=2)


embeddings = embed(test_utterances)
view_a = embed(crop_and_noise(test_utterances, crop, view_noise, generator))
view_b = embed(crop_and_noise(test_utterances, crop, view_noise, generator))
first_index, second_index = torch.triu_indices(len(test_speakers), len(test_speakers), 1, device=exp.device)
same_speaker = test_speakers[first_index] == test_speakers[second_index]  # (trials,)
records = []
for s in range(n_models):
    scores = (embeddings[s][first_index] * embeddings[s][second_index]).sum(dim=1)  # (trials,)
    records.append(
        {
            "method": names[s % len(names)],
            "run": s // len(names),
            "EER": equal_error_rate(scores, same_speaker),
            "intra/inter distance": (
                (1 - scores[same_speaker]).mean() / (1 - scores[~same_speaker]).mean()
            ).item(),
            "view cosine": (view_a[s] * view_b[s]).sum(dim=1).mean().item(),
            "scores": scores.cpu().numpy(),
        }
    )
table = pd.DataFrame(records)
summary = table.drop(columns=["scores", "run"]).groupby("method", sort=False).mean()
summary.round(4)

# %% [markdown]
# ## Score distributions and EER per run
#
# Left: cosine scores of target (same speaker) and non-target trials for the first run of each loss.
# Right: EER of every run (dots) and the mean (bars).

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
bins = np.linspace(-1, 1, 60)
same_mask = same_speaker.cpu().numpy()
for k, name in enumerate(names):
    scores = table[(table["method"] == name) & (table["run"] == 0)]["scores"].iloc[0]
    axes[0].hist(
        scores[same_mask],
        bins=bins,
        density=True,
        histtype="step",
        color=f"C{k}",
        lw=1.5,
        label=f"{name}, same speaker",
    )
    axes[0].hist(
        scores[~same_mask],
        bins=bins,
        density=True,
        histtype="step",
        color=f"C{k}",
        ls="--",
        label=f"{name}, different",
    )
axes[0].set(xlabel="cosine score", ylabel="density", title="Trial scores (run 0)")
axes[0].legend(fontsize=7)
positions = np.arange(len(names))
axes[1].bar(
    positions,
    summary.loc[names, "EER"],
    color=[f"C{k}" for k in range(len(names))],
    alpha=0.6,
    label="mean over runs",
)
for k, name in enumerate(names):
    values = table[table["method"] == name]["EER"]
    axes[1].plot(np.full(len(values), k), values, "k.", label="single run" if k == 0 else None)
axes[1].set_xticks(positions, names)
axes[1].set(ylabel="EER on held-out speakers", title="Verification error")
axes[1].legend()
plt.show()

# %% [markdown]
# ## Claims

# %%
eer = summary["EER"]
ratio = summary["intra/inter distance"]
exp.check_below("all_losses_learn_verification", eer.max(), 0.1)
# The paper's three claims: not reproduced reliably at this scale (see the notes below).
exp.check_below("am_eer_below_ntxent", eer["NT-Xent-AM"] - eer["NT-Xent"], 0.0, required=False)
exp.check_below(
    "symmetric_am_eer_below_am", eer["symmetric NT-Xent-AM"] - eer["NT-Xent-AM"], 0.0, required=False
)
exp.check_below("am_more_compact_speakers", ratio["NT-Xent-AM"] - ratio["NT-Xent"], 0.0, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - All three losses learn speaker verification on held-out speakers (EER of 1-3 %, chance is 50 %),
#   which is the only claim required here.
# - **The margin's benefit is not reproduced.** Over two seeds (3 runs each), NT-Xent-AM beats NT-Xent
#   in EER for seed 1 (1.7 % vs 2.4 %) but not for seed 0 (1.6 % vs 1.4 %); the symmetric loss beats the
#   one-directional AM loss for seed 0 only; the intra/inter distance ratio follows the EER. The
#   differences are of the size of the run-to-run spread (the dots), so the three checks are reported,
#   not required. The margin does not pull the two views of an utterance closer either (the "view
#   cosine" column is slightly lower with the margin): it spends its effect on the negatives.
# - The data are easy in a way speech is not: identity is an additive spectral offset, so the pooled
#   raw features already verify speakers well, and 100 steps of a small MLP on 960 utterances leave
#   little room for a loss to matter. The paper's gains come from VoxCeleb-scale training (thousands of
#   speakers, a deep encoder, hundreds of epochs), where the margin matters once positives are
#   already close; the `paper` profile only enlarges this toy setting and has not been run.
# - The steps were halved from the plan's 200 to stay in the ci budget; the temperature and margin are
#   the paper's (1/tau = 5, m = 0.1), not tuned here.

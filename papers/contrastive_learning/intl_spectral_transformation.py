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
# # Modulate Your Spectrum in Self-Supervised Learning
# *2024* · topic `contrastive_learning` · verdict **reproduce**
#
# ## The idea
#
# Whitening-based self-supervised methods (W-MSE) map the batch embeddings $Z$ through
# $\Sigma^{-1/2}$, so the covariance of what the loss sees is the identity and the embedding cannot
# collapse. The paper views such a map as a *spectral transformation* $g$ acting on the eigenvalues
# $\lambda$ of $\Sigma$: the transformed covariance has eigenvalues $\lambda\, g(\lambda)^2$, and whitening is
# $g(\lambda) = \lambda^{-1/2}$. It proposes a cheaper and softer one, **IterNorm**: T steps of Newton's
# iteration for the inverse square root,
#
# $$\Sigma_N = \frac{\Sigma}{\mathrm{tr}\,\Sigma}, \quad P_0 = I, \quad
#   P_{k+1} = \tfrac12 \big(3 P_k - P_k^3 \Sigma_N\big), \quad \hat Z = (Z - \bar z)\, \frac{P_T}{\sqrt{\mathrm{tr}\,\Sigma}} .$$
#
# Each eigenvalue follows the scalar recursion $p \mapsto (3p - p^3 \lambda)/2$ from $p = 1$; large
# eigenvalues reach $\lambda^{-1/2}$ in a few steps, small ones lag behind, so IterNorm whitens well-
# conditioned embeddings and only partially whitens ill-conditioned ones. **INTL** (IterNorm with trace
# loss) adds a penalty that every output variance be 1,
#
# $$\mathcal{L}_{INTL} = \frac1N \sum_n \big\lVert \bar{\hat z}_{1,n} - \bar{\hat z}_{2,n} \big\rVert^2
#   + \beta \sum_{v=1,2} \sum_{j=1}^{D} \big(\mathrm{Cov}(\hat Z_v)_{jj} - 1\big)^2,$$
#
# ($\bar{\ }$ normalizes to unit length). Since the trace loss can only be small when IterNorm really
# whitens, it pushes the encoder to produce a *well-conditioned* embedding, with eigenvalues close to
# equal: the paper's claim is that INTL prevents dimensional collapse by modulating the spectrum.
#
# `paperlab.losses.spectral_transformation` and `intl_loss` implement it (checked against SciPy's
# matrix square root, the scalar recursion and the authors' recipe); `paperlab.losses.w_mse_loss` is the
# hard-whitening baseline; `paperlab.metrics` has the spectrum, effective rank and kNN accuracy.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
steps = 100  # Adam steps per training run
batch = 256  # images per step, two augmented views each
n_iter = 4  # IterNorm Newton steps T (the paper uses 4 to 7)
large_trade_off = (
    0.5  # a second INTL run with this trace-loss weight beta (the authors' rule gives 0.02 for D of 32)
)
w_size = 128  # W-MSE sub-batch size (> embedding_dim)
lr = 3e-3
hidden = (256,)  # hidden widths of the encoder MLP
embedding_dim = 32  # encoder output z, what the losses and the probes see
eval_every = 10  # steps between two measurements of the test spectrum
max_shift = 1  # augmentation: shift by up to this many pixels
noise_std = 0.05  # augmentation: additive Gaussian noise
n_erased = 2  # augmentation: pixels set to 0

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import digit_images, view_pair_batches
from paperlab.experiment import require, setup
from paperlab.losses import intl_loss, w_mse_loss
from paperlab.metrics import condition_number, covariance_spectrum, effective_rank, knn_accuracy
from paperlab.models import EmbeddingMLP

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("steps", steps),
    ("batch", batch),
    ("w_size", w_size),
    ("embedding_dim", embedding_dim),
    ("eval_every", eval_every),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(isinstance(n_iter, int) and n_iter >= 1, f"n_iter must be a positive integer, got {n_iter!r}")
require(isinstance(lr, float) and lr > 0, f"lr must be a positive float, got {lr!r}")
require(
    isinstance(large_trade_off, (int, float)) and large_trade_off > 0,
    f"large_trade_off must be > 0, got {large_trade_off!r}",
)
require(
    isinstance(hidden, (tuple, list)) and all(isinstance(w, int) and w >= 1 for w in hidden),
    f"hidden must be a tuple of positive integers, got {hidden!r}",
)
require(isinstance(max_shift, int) and 0 <= max_shift < 8, f"max_shift must be in 0..7, got {max_shift!r}")
require(isinstance(noise_std, (int, float)) and noise_std >= 0, f"noise_std must be >= 0, got {noise_std!r}")
require(isinstance(n_erased, int) and 0 <= n_erased <= 64, f"n_erased must be in 0..64, got {n_erased!r}")
steps = exp.pick(ci=steps, paper=max(steps, 2000))
batch = exp.pick(ci=batch, paper=max(batch, 1024))
w_size = exp.pick(ci=w_size, paper=max(w_size, 256))
embedding_dim = exp.pick(ci=embedding_dim, paper=max(embedding_dim, 128))
hidden = exp.pick(ci=tuple(hidden), paper=(1024, 1024))
eval_every = exp.pick(ci=eval_every, paper=max(eval_every, 100))
require(batch % w_size == 0, f"w_size must divide batch, got w_size={w_size}, batch={batch}")
require(w_size > embedding_dim, f"w_size must exceed embedding_dim, got {w_size} <= {embedding_dim}")

# %% [markdown]
# ## Data, views and four objectives
#
# The 8x8 digits of scikit-learn, pixels in [0, 1], split once into 60% training and 40% test images; a
# view shifts an image by up to `max_shift` pixels, adds noise and erases `n_erased` pixels. The encoder
# is an MLP from 64 pixels through `hidden` to the `embedding_dim` embedding $z$, on which the loss acts
# and which the kNN probe sees. Four objectives train the same network from the same initialization on
# the *same* batches of views (drawn once per seed): **INTL** ($T$ = `n_iter`, the authors' trace-loss
# weight $\beta = 0.01 (\log_2 D - 3)$, 0.02 at D = 32); **INTL with a larger** $\beta$ =
# `large_trade_off` (added after the authors' $\beta$ failed the spectrum claims in this small run, see the
# notes); **plain MSE**, the normalized MSE between views with no
# transformation; and **W-MSE**, hard Cholesky whitening. Every `eval_every` steps the covariance spectrum
# of the test embeddings $z$ is recorded, *before* any whitening (the IterNorm output is near-white by
# construction and would say nothing about the encoder).

# %%
split = digit_images(test_size=0.4, device=exp.device)  # the same stratified split for every seed
train_x, train_y, test_x, test_y = split.train_x, split.train_y, split.test_x, split.test_y
# (2B, 64) each: first views, then second views of the same images
view_batches = view_pair_batches(
    train_x, steps, batch, max_shift, noise_std, n_erased, generator=exp.generator
)


def plain_mse(z1, z2):
    return (F.normalize(z1, dim=1) - F.normalize(z2, dim=1)).pow(2).sum(dim=1).mean()


objectives = {
    "INTL": lambda z1, z2, g: intl_loss(z1, z2, n_iter=n_iter),
    "INTL, large beta": lambda z1, z2, g: intl_loss(z1, z2, n_iter=n_iter, trade_off=large_trade_off),
    "plain MSE": lambda z1, z2, g: plain_mse(z1, z2),
    "W-MSE": lambda z1, z2, g: w_mse_loss(z1, z2, w_size=w_size, generator=g),
}


def test_spectrum(encoder):
    with torch.no_grad():
        z = encoder(test_x.flatten(1))
    return z, {"effective rank": effective_rank(z), "condition number": condition_number(z)}


def train(objective):
    torch.manual_seed(exp.seed)  # the same initialization for every objective
    shuffles = torch.Generator().manual_seed(exp.seed)
    encoder = EmbeddingMLP(64, embedding_dim, hidden=hidden).to(exp.device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=lr)
    history = [{"step": 0, **test_spectrum(encoder)[1]}]
    for step, views in enumerate(view_batches, start=1):
        z = encoder(views)  # (2B, embedding_dim)
        loss = objectives[objective](z[:batch], z[batch:], shuffles)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % eval_every == 0 or step == steps:
            history.append({"step": step, **test_spectrum(encoder)[1]})
    return encoder, pd.DataFrame(history)


rows, spectra, histories = [], {}, {}
for objective in tqdm(objectives, desc="training runs"):
    encoder, histories[objective] = train(objective)
    z_test, diagnostics = test_spectrum(encoder)
    with torch.no_grad():
        z_train = encoder(train_x.flatten(1))
    spectra[objective] = covariance_spectrum(z_test).cpu().numpy()
    rows.append(
        {
            "objective": objective,
            "5-NN accuracy": knn_accuracy(z_train, train_y, z_test, test_y, k=5),
            **diagnostics,
            "condition number at init": histories[objective]["condition number"].iloc[0],
            "std of unit z": F.normalize(z_test, dim=1).std(dim=0).mean().item(),
        }
    )
summary = pd.DataFrame(rows).set_index("objective")
summary.round(4)

# %% [markdown]
# ## The spectrum during and after training
#
# Left: the condition number $\lambda_1/\lambda_D$ of the test-embedding covariance during training (log
# scale). Right: the final spectra, each divided by its largest eigenvalue; a flat line is a perfectly
# isotropic embedding, a cliff is dimensional collapse.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
for k, (objective, history) in enumerate(histories.items()):
    axes[0].semilogy(history["step"], history["condition number"], "o-", ms=3, color=f"C{k}", label=objective)
    spectrum = spectra[objective]
    axes[1].semilogy(
        np.arange(1, embedding_dim + 1), spectrum / spectrum[0], "o-", ms=3, color=f"C{k}", label=objective
    )
axes[0].set(xlabel="training step", ylabel="condition number of Cov(z)", title="Conditioning during training")
axes[1].set(xlabel="eigenvalue index", ylabel="eigenvalue / largest", title="Final spectrum of z (test)")
axes[0].legend()
axes[1].legend()
plt.show()

# %% [markdown]
# ## Claims
#
# - INTL prevents dimensional collapse (effective rank of its embedding, before IterNorm, at least
#   $0.8 D$) and drives the spectrum towards equal eigenvalues (condition number of the embedding
#   covariance lower after training than at initialization). With the authors' $\beta$ neither holds in
#   this 100-step run: both are reported, NOT REPRODUCED, for the default run. The same two measures for
#   the large-$\beta$ run are reported as well, but not required, since that $\beta$ was picked after
#   seeing the default fail.
# - The trace loss is what conditions the spectrum: the large-$\beta$ run ends with a lower condition
#   number than the default one (required).
# - Plain MSE between views collapses: mean standard deviation per coordinate of the unit embeddings below
#   $0.1/\sqrt{D}$ (the effective rank is scale-invariant and unreliable on a near-constant embedding);
#   INTL does not (same measure above $0.1/\sqrt{D}$) and its kNN accuracy beats plain MSE's.
# - The informative comparison, INTL's kNN accuracy at least W-MSE's: reported, not required.

# %%
intl, large = summary.loc["INTL"], summary.loc["INTL, large beta"]
plain, hard = summary.loc["plain MSE"], summary.loc["W-MSE"]
dim_bar = 0.1 / np.sqrt(embedding_dim)
exp.check_above("intl_erank_over_dim", intl["effective rank"] / embedding_dim, 0.8, required=False)
exp.check_below(
    "intl_condition_final_over_init",
    intl["condition number"] / intl["condition number at init"],
    1.0,
    required=False,
)
exp.check_above("large_beta_erank_over_dim", large["effective rank"] / embedding_dim, 0.8, required=False)
exp.check_below(
    "large_beta_condition_final_over_init",
    large["condition number"] / large["condition number at init"],
    1.0,
    required=False,
)
exp.check_below(
    "condition_large_over_default_beta", large["condition number"] / intl["condition number"], 1.0
)
exp.check_below("plain_mse_unit_std", plain["std of unit z"], dim_bar)
exp.check_above("intl_unit_std", intl["std of unit z"], dim_bar)
exp.check_above("knn_intl_minus_plain_mse", intl["5-NN accuracy"] - plain["5-NN accuracy"], 0.0)
exp.check(
    "knn_intl_minus_wmse",
    intl["5-NN accuracy"] >= hard["5-NN accuracy"],
    value=intl["5-NN accuracy"] - hard["5-NN accuracy"],
    expect=">= 0",
    required=False,
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - The Newton iteration behaves as the paper describes: a few steps give a spectral transformation
#   between doing nothing and whitening (the package tests check it eigenvalue by eigenvalue), and INTL
#   trains without negatives or asymmetric networks: its embedding does not collapse and its kNN accuracy
#   is far above that of plain MSE, which collapses within 100 steps.
# - With the authors' trace-loss weight ($\beta = 0.02$ at D = 32, a rule tuned for D = 2048 and long
#   training), the spectrum claims are **not reproduced** here: over 100 steps the condition number of the
#   embedding *grows* (about 30x) and the effective rank falls to under half of D. IterNorm with T = 4 only
#   partly whitens the small eigenvalues, and at this weight the trace loss is too weak to stop the
#   view-alignment term from shrinking them. Longer training may change this; this run does not tell.
# - With a larger weight ($\beta$ = `large_trade_off` = 0.5, the second of two values tried) INTL does
#   modulate the spectrum as claimed: condition number about 5x lower than at initialization, effective
#   rank about 0.9 D, and the best kNN accuracy of the four runs for seed 0. That the trace loss is what
#   conditions the spectrum (lower condition number with the larger $\beta$) is the one spectrum claim
#   required here. The value 0.5 was chosen after seeing the default fail, so its two passing checks are
#   reported, not required.
# - INTL with the default $\beta$ stays about 2 points of kNN accuracy behind hard whitening (W-MSE);
#   the paper reports INTL ahead of W-MSE at full scale.
# - Scale: 100 steps on 1 078 digit images with an MLP, one seed per run, versus ResNets trained for
#   hundreds of epochs in the paper. The `paper` profile raises steps, batch, widths and D (128) but stays
#   on digits.

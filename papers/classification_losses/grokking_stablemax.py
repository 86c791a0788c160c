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
# # Grokking at the Edge of Numerical Stability
# *2025* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# *Grokking* is a network that first memorizes its training set and only much later generalizes; it is
# usually obtained with weight decay. The paper asks why it does not happen without regularization,
# and answers: floating-point arithmetic stops it. Once a training set is fitted, cross-entropy can
# still be lowered by scaling the logits up without changing any prediction. The gradient then points
# along the weights themselves, which the paper calls *naive loss minimization* (NLM). The logit gaps
# grow until, for sample $n$ with correct class $y$,
#
# $$L_n = \log\Big(1 + \sum_{c \ne y} e^{x_c - x_y}\Big) \;\xrightarrow{\ \mathrm{fl}\ }\; 0,$$
#
# because $1 + \epsilon$ rounds to $1$. The sample's loss is exactly zero and its correct class gets
# no gradient: *Softmax Collapse* (SC). Learning stalls before the network finds a solution that generalizes.
#
# The paper gives two fixes, each a few lines:
#
# - **StableMax** replaces $e^x$ by a function that grows only linearly,
#   $$s(x) = \begin{cases} x + 1 & x \ge 0 \\ 1/(1 - x) & x < 0 \end{cases}, \qquad
#   \mathrm{StableMax}(x)_i = \frac{s(x_i)}{\sum_j s(x_j)},$$
#   so the normalizer never absorbs the other classes at any realistic logit scale.
# - **perpGrad** removes from each weight tensor's gradient the part parallel to the weights,
#   $\nabla_\perp L = \nabla L - \frac{\theta^\top \nabla L}{\theta^\top \theta}\,\theta$, so NLM is
#   not available and the loss can only fall by changing what the network computes.
#
# `paperlab` provides `losses.stablemax_cross_entropy`, `solvers.PerpGrad`, `data.modular_arithmetic`
# and `metrics.softmax_collapse_fraction` (the fraction of samples whose loss is exactly zero in a
# given dtype).
#
# Here: $(a + b) \bmod p$, 40% of the table for training, an MLP on the concatenated one-hot codes of
# $a$ and $b$ with two hidden ReLU layers of width 200, full-batch Adam without weight decay, three
# arms from the same initialization: softmax cross-entropy, StableMax cross-entropy, and softmax
# cross-entropy with perpGrad. The network runs in float32. In the `ci` profile the loss is computed on
# logits cast to **float16**, so that collapse, which float32 reaches only after thousands of steps,
# happens within 500 steps.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
modulus = None  # p of (a + b) mod p; None: 47 (ci) or 113 (paper)
n_steps = None  # full-batch Adam steps per arm; None: 500 (ci) or 20_000 (paper)
loss_dtype = None  # dtype the logits are cast to for the loss; None: "float16" (ci) or "float32" (paper)
train_fraction = 0.4  # share of the p x p table used for training
hidden = 200  # width of both hidden layers
learning_rate = 1e-2
log_every = 25  # steps between measurements of accuracy and SC fraction

# %%
import copy

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import modular_arithmetic
from paperlab.experiment import require, setup
from paperlab.losses import stablemax_cross_entropy
from paperlab.metrics import softmax_collapse_fraction
from paperlab.models import EmbeddingMLP
from paperlab.solvers import PerpGrad

exp = setup(seed=seed, device=device, profile=profile)
modulus = exp.pick(ci=47, paper=113) if modulus is None else modulus
n_steps = exp.pick(ci=500, paper=20_000) if n_steps is None else n_steps
loss_dtype = exp.pick(ci="float16", paper="float32") if loss_dtype is None else loss_dtype
for name, value in [("modulus", modulus), ("n_steps", n_steps), ("hidden", hidden), ("log_every", log_every)]:
    require(isinstance(value, int) and value >= 2, f"{name} must be an integer >= 2, got {value!r}")
require(0 < train_fraction < 1, f"train_fraction must be in (0, 1), got {train_fraction!r}")
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
dtypes = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
require(loss_dtype in dtypes, f"loss_dtype must be one of {sorted(dtypes)}, got {loss_dtype!r}")
loss_dtype = dtypes[loss_dtype]

# %% [markdown]
# ## Data: the addition table mod $p$
#
# Every pair $(a, b)$ is a sample; a random 40% of the $p^2$ pairs is the training set. The rest can
# only be predicted by a network that has learned addition mod $p$: memorizing the table gives chance
# accuracy, $1/p$, or less.

# %%
data = modular_arithmetic(modulus, "+", train_fraction=train_fraction, generator=exp.generator)
train_x = data.one_hot(data.train_pairs).to(exp.device)  # (n_train, 2p)
test_x = data.one_hot(data.test_pairs).to(exp.device)  # (n_test, 2p)
train_y, test_y = data.train_labels.to(exp.device), data.test_labels.to(exp.device)
print(f"p = {modulus}: {len(train_y)} training pairs, {len(test_y)} test pairs, chance = {1 / modulus:.3f}")

# %% [markdown]
# ## Three arms from one initialization
#
# Each arm starts from a copy of the same network and takes `n_steps` full-batch Adam steps. Every
# `log_every` steps it records train and test accuracy, the SC fraction of its own loss in
# `loss_dtype` (softmax cross-entropy for the softmax and perpGrad arms, StableMax cross-entropy for the
# StableMax arm), and the cosine between the loss gradient and the weights (all parameters as one
# vector, before any projection): it turns negative under naive loss minimization, and would be $-1$
# if descending the gradient did nothing but scale the weights up.

# %%
arms = {
    "softmax CE": dict(loss=F.cross_entropy, sc_loss="softmax", perp=False),
    "StableMax CE": dict(loss=stablemax_cross_entropy, sc_loss="stablemax", perp=False),
    "softmax CE + perpGrad": dict(loss=F.cross_entropy, sc_loss="softmax", perp=True),
}
initial = EmbeddingMLP(2 * modulus, modulus, hidden=(hidden, hidden)).to(exp.device)


def accuracy(logits, labels):
    return (logits.argmax(1) == labels).float().mean().item()


def gradient_weight_cosine(model):
    weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    grads = torch.cat([p.grad.reshape(-1) for p in model.parameters()])
    return F.cosine_similarity(weights, grads, dim=0).item()


def train(loss, sc_loss, perp):
    model = copy.deepcopy(initial)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    if perp:
        optimizer = PerpGrad(optimizer)
    history = {key: [] for key in ("step", "train", "test", "sc", "cosine")}
    for step in tqdm(range(n_steps + 1), desc="steps", leave=False):
        logits = model(train_x)  # (n_train, p), float32
        optimizer.zero_grad()
        loss(logits.to(loss_dtype), train_y).backward()
        if step % log_every == 0 or step == n_steps:
            with torch.no_grad():
                history["step"].append(step)
                history["train"].append(accuracy(logits, train_y))
                history["test"].append(accuracy(model(test_x), test_y))
                history["sc"].append(softmax_collapse_fraction(logits, train_y, loss_dtype, loss=sc_loss))
                history["cosine"].append(gradient_weight_cosine(model))
        if step < n_steps:
            optimizer.step()
    return history


histories = {name: train(**arm) for name, arm in tqdm(arms.items(), desc="arms")}
for name, h in histories.items():
    print(
        f"{name:22s} final train {h['train'][-1]:.3f}  test {h['test'][-1]:.3f}  "
        f"peak SC {max(h['sc']):.3f}  final SC {h['sc'][-1]:.3f}  final cos(grad, w) {h['cosine'][-1]:+.2f}"
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for (name, h), color in zip(histories.items(), ["C3", "C0", "C2"]):
    axes[0].plot(h["step"], h["train"], color=color, ls="--", label=f"{name}, train")
    axes[0].plot(h["step"], h["test"], color=color, label=f"{name}, test")
    axes[1].plot(h["step"], h["sc"], color=color, label=name)
    axes[2].plot(h["step"], h["cosine"], color=color, label=name)
axes[0].set(xlabel="Adam step", ylabel="accuracy", title="Train (dashed) and test accuracy")
axes[1].set(
    xlabel="Adam step", ylabel="fraction of training samples", title="Softmax Collapse: loss exactly 0"
)
axes[2].set(xlabel="Adam step", ylabel="cosine", title="cos(gradient, weights)")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
axes[2].legend(fontsize=7)
fig.suptitle(f"(a + b) mod {modulus}, no weight decay, loss in {str(loss_dtype).removeprefix('torch.')}")
plt.show()

# %% [markdown]
# ## Claims
#
# 1. Softmax cross-entropy memorizes and collapses: at its peak, more than half of the training
#    samples have a loss of exactly zero (the fraction oscillates afterwards, so the peak over the
#    logged steps is tested, not the last step), and its test accuracy stays below 0.1.
# 2. StableMax does not collapse: its SC fraction stays below 0.01 at every logged step.
# 3. perpGrad generalizes without regularization: test accuracy above 0.9 after the same steps.
# 4. StableMax generalizes without regularization (test accuracy above 0.9). The paper shows this
#    after many thousands of steps; in the `ci` run it is measured but marked not required (see below).
#
# In the `paper` profile (float32, $p = 113$, 20,000 steps) the same checks apply, but none of them is
# required: that profile has not been run for this notebook yet, so its outcome is not known.

# %%
verified = exp.profile == "ci"
softmax, stable, perp = histories.values()
exp.check_above("softmax CE: peak SC fraction", max(softmax["sc"]), 0.5, required=verified)
exp.check_below("softmax CE: final test accuracy", softmax["test"][-1], 0.1, required=verified)
exp.check_below("StableMax: max SC fraction", max(stable["sc"]), 0.01, required=verified)
exp.check_above("perpGrad: final test accuracy", perp["test"][-1], 0.9, required=verified)
exp.check_above("StableMax: final test accuracy", stable["test"][-1], 0.9, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **Softmax Collapse is real and fast once rounding is coarse.** With the loss in float16, softmax
#   cross-entropy fits the training set within about 100 steps, and soon most training samples have a
#   loss of exactly zero. Test accuracy stays at or below chance: the memorizing solution is not on
#   the way to the generalizing one. The float16 cast is a stand-in for the paper's float32 runs:
#   with 11 significant bits instead of 24, the loss rounds to 0 at a much smaller logit gap (about 12
#   instead of about 20 for 47 classes, on torch's CPU kernels), so collapse fits a CPU budget. In float32
#   at this size the softmax arm showed no collapse within 6,000 steps when the experiment was planned.
# - **The cosine panel shows naive loss minimization, and how collapse ends it.** Once the training set
#   is fitted, the StableMax arm's gradient settles at a cosine of about $-0.7$ with its weights:
#   descending it mostly scales the weights up. The perpGrad arm's raw gradient (measured before the
#   projection) is just as aligned, and that component is exactly what perpGrad throws away. The softmax arm
#   dips towards $-0.2$ while it memorizes, then returns towards 0 as its samples collapse: the
#   collapsed samples no longer push their correct class, and what is left of the gradient comes from the
#   few samples that have not collapsed and from tiny nonzero probabilities of the other classes.
# - **perpGrad generalizes in a few hundred steps, without weight decay.** With the direction that
#   only scales the weights removed, the loss has to fall by changing the function, and test accuracy
#   climbs above 0.9 within 500 steps (0.99 and 0.97 for seeds 0 and 1).
# - **StableMax prevents collapse but does not generalize here.** Its loss never rounds to zero (the
#   SC fraction is 0 at every logged step), yet its test accuracy stays near 0 after 500 steps, and it
#   did not generalize within 8,000 float32 steps when the experiment was planned. The paper reports
#   StableMax grokking without regularization at $p = 113$ after many thousands of epochs; that claim
#   is recorded as NOT REPRODUCED at this scale. The `paper` profile (float32, $p = 113$, 20,000 steps)
#   is the run that tests it; it needs a GPU and has not been run for this notebook yet.
# - **Deviations from the paper.** Full-batch Adam with learning rate $10^{-2}$, width 200, and a loss
#   in float16 are the plan's choices for a CPU budget, not the paper's exact settings; the paper also
#   studies transformers and other tasks, which are not covered here.

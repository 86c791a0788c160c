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
# # Intrinsic Dimensionality Explains the Effectiveness of Language Model Fine-Tuning
# *2020* · topic `intrinsic_dimension` · verdict **reproduce**
#
# ## The idea
#
# Why can a model with hundreds of millions of parameters be fine-tuned on a few thousand examples? The
# paper measures the **intrinsic dimension** of fine-tuning. All $D$ parameters are frozen at their
# pretrained values $\theta_0$ and move only inside a random $d$-dimensional subspace. The intrinsic
# dimension $d_{90}$ is the smallest $d$ whose fine-tune reaches 90% of the accuracy of full fine-tuning.
#
# The paper's variant, **structure-aware intrinsic dimension (SAID)**, adds one learned scale per layer:
#
# $$\theta_i = \theta_{0,i} + \lambda_{\ell(i)}\, (P z)_i, \qquad z \in \mathbb{R}^{d - m},\
#   \lambda \in \mathbb{R}^{m},$$
#
# Here $P$ is a Fastfood transform (Hadamard, Gaussian, permutation and sign diagonals; $O(D \log D)$
# time, $O(D)$ memory), $m$ is the number of layers, and the $d$ trainable numbers are $z$ and
# $\lambda$ together (`paperlab.models.StructureAwareSubspaceModel`, built on
# `paperlab.models.SubspaceModel`).
#
# The claims:
#
# * pretrained language models have a very low intrinsic dimension for downstream tasks (a few hundred
#   parameters reach 90% of full fine-tuning on MRPC);
# * pretraining itself lowers it: more pretraining gives a lower $d_{90}$.
#
# Here a 2-layer transformer (`paperlab.models.TinyCausalLM`, d = 32, about 18k parameters) is
# pretrained as a language model on 2-digit addition written digit by digit
# (`paperlab.data.digit_equations`). The downstream task is sequence classification on 500 labelled
# prompts `<bos> a1 a2 + b1 b2 =`: is $a + b \ge 100$? A linear head on the last hidden state
# (`paperlab.models.SequenceClassifier`) reads the answer. The same architecture at its random
# initialization is the control. Both are fine-tuned fully and with SAID in subspaces of dimension
# $d \in \{30, 100, 300\}$; the classifier head is inside the subspace too. A scale $\lambda$ is
# shared by each transformer block, each embedding, the final norm and each head, so $m = 7$.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
d_model = 32  # transformer width
pretrain_steps = 400  # AdamW steps of language-model pretraining
finetune_steps = 60  # AdamW steps per fine-tuning run
n_train = 500  # labelled downstream examples
n_test = 1000  # held-out downstream examples
batch_size = 32  # examples per step
pretrain_lr = 1e-2  # peak learning rate of pretraining
full_lr = 3e-3  # peak learning rate of full fine-tuning
subspace_lr = 3e-2  # peak learning rate of z and lambda
subspace_dims = [30, 100, 300]  # the swept d (z and lambda together)
checked_dim = 100  # the d at which the pretrained model must reach 90% of full fine-tuning

# %%
import copy
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data import digit_equations
from paperlab.experiment import require, setup
from paperlab.metrics import intrinsic_dim_90
from paperlab.models import (
    SequenceClassifier,
    StructureAwareSubspaceModel,
    TinyCausalLM,
    answer_token_accuracy,
    pretrain_equation_lm,
    train_steps,
)

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("d_model", d_model),
    ("pretrain_steps", pretrain_steps),
    ("finetune_steps", finetune_steps),
    ("n_train", n_train),
    ("n_test", n_test),
    ("batch_size", batch_size),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(d_model % 4 == 0, f"d_model must be a multiple of the 4 attention heads, got {d_model!r}")
for name, value in [("pretrain_lr", pretrain_lr), ("full_lr", full_lr), ("subspace_lr", subspace_lr)]:
    require(0 < value < 1, f"{name} must be in (0, 1), got {value!r}")
require(
    isinstance(subspace_dims, list) and all(isinstance(d, int) and d >= 16 for d in subspace_dims),
    f"subspace_dims must be a list of integers >= 16 (above the number of layer scales), got {subspace_dims!r}",
)
require(checked_dim in subspace_dims, f"checked_dim must be one of subspace_dims, got {checked_dim!r}")
d_model = exp.pick(ci=d_model, paper=max(d_model, 128))
n_layers = exp.pick(ci=2, paper=4)
pretrain_steps = exp.pick(ci=pretrain_steps, paper=max(pretrain_steps, 5_000))
finetune_steps = exp.pick(ci=finetune_steps, paper=max(finetune_steps, 2_000))
subspace_dims = exp.pick(ci=subspace_dims, paper=sorted(set(subspace_dims) | {1_000, 3_000, 10_000}))

# %% [markdown]
# ## Pretraining, and the downstream task
#
# The language model never sees a label. It learns to continue `<bos> 4 7 + 3 8 =` with `0 8 5`, so
# its state at `=` already encodes the first answer digit, which the downstream label asks for. This is
# the small-scale analogue of the paper's setting: masked-language-model pretraining makes features that
# sentence classification can read off.

# %%
lm_test, _ = digit_equations(n_test, 2, generator=10_000 + exp.seed)

start = time.perf_counter()
pretraining = pretrain_equation_lm(
    pretrain_steps,
    pretrain_lr,
    batch_size=batch_size,
    d_model=d_model,
    n_layers=n_layers,
    seed=exp.seed,
    device=exp.device,
)
pretrained, random_init = pretraining.model, pretraining.initial
print(
    f"pretraining {time.perf_counter() - start:.1f} s; LM answer-token accuracy {answer_token_accuracy(pretrained, lm_test):.3f}"
)


def downstream(n: int, generator_seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Prompts ``<bos> a + b =`` (n, 7) and labels 1 if a + b >= 100."""
    batch, _ = digit_equations(n, 2, generator=generator_seed)
    return batch.prompts.to(exp.device), (batch.results >= 100).long().to(exp.device)


train_x, train_y = downstream(n_train, 20_000 + exp.seed)
test_x, test_y = downstream(n_test, 30_000 + exp.seed)
print(f"positive share: train {train_y.float().mean():.3f}, test {test_y.float().mean():.3f}")


def layer_of(name: str) -> str:
    """One scale per block, per embedding, for the final norm and per head."""
    parts = name.split(".")
    if parts[0] == "classifier":
        return "classifier"
    return ".".join(parts[:3]) if parts[1] == "blocks" else ".".join(parts[:2])


def fine_tune(body: TinyCausalLM, intrinsic_dim: int | None) -> float:
    """Test accuracy after fine-tuning a copy of ``body`` fully (None) or with SAID in dimension d."""
    torch.manual_seed(exp.seed)  # the same classifier head for every run
    classifier = SequenceClassifier(copy.deepcopy(body), n_classes=2)
    if intrinsic_dim is None:
        model, lr = classifier, full_lr
    else:
        model = StructureAwareSubspaceModel(
            classifier, intrinsic_dim, projection="fastfood", seed=exp.seed, group_by=layer_of
        )
        lr = subspace_lr
    batches = torch.Generator().manual_seed(40_000 + exp.seed)

    def loss(step: int) -> torch.Tensor:
        index = torch.randint(0, n_train, (batch_size,), generator=batches).to(exp.device)
        return F.cross_entropy(model(train_x[index]), train_y[index])

    train_steps(model, loss, finetune_steps, lr)
    model.eval()
    with torch.no_grad():
        return float((model(test_x).argmax(dim=1) == test_y).float().mean())


# %% [markdown]
# ## Full fine-tuning and SAID at each subspace dimension

# %%
bodies = {"pretrained": pretrained, "random init": random_init}
runs = [(name, d) for name in bodies for d in [None, *subspace_dims]]
accuracy = {}
for name, d in tqdm(runs, desc="fine-tuning runs"):
    accuracy[name, d] = fine_tune(bodies[name], d)
d90 = {
    name: intrinsic_dim_90(
        subspace_dims, [accuracy[name, d] for d in subspace_dims], baseline=accuracy[name, None]
    )
    for name in bodies
}
for name in bodies:
    swept = ", ".join(f"d={d}: {accuracy[name, d]:.3f}" for d in subspace_dims)
    print(f"{name:12s} full {accuracy[name, None]:.3f} | SAID {swept} | d90 = {d90[name]}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 4))
for name, color in zip(bodies, ["C0", "C3"]):
    ax.plot(
        subspace_dims, [accuracy[name, d] for d in subspace_dims], "o-", color=color, label=f"{name}, SAID"
    )
    ax.axhline(
        0.9 * accuracy[name, None], color=color, linestyle="--", linewidth=1, label=f"{name}, 90% of full"
    )
ax.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="chance")
ax.set(
    xscale="log",
    xlabel="subspace dimension d (trainable numbers)",
    ylabel="test accuracy",
    title="SAID fine-tuning: pretrained vs random init",
)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# * Pretraining lowers the intrinsic dimension: $d_{90}$(pretrained) < $d_{90}$(random init), where
#   $d_{90} = \infty$ when no swept $d$ reaches 90% of that model's full fine-tuning.
# * The pretrained model's intrinsic dimension is tiny: with d = `checked_dim` trainable numbers (out of
#   about 18k) it reaches at least 90% of its full fine-tuning accuracy.

# %%
exp.check(
    "d90_pretrained_below_random_init",
    d90["pretrained"] < d90["random init"],
    value=d90["pretrained"],
    expect=f"< d90(random init) = {d90['random init']:g}",
)
ratio = accuracy["pretrained", checked_dim] / accuracy["pretrained", None]
exp.check(f"said_d{checked_dim}_share_of_full_pretrained", ratio >= 0.9, value=ratio, expect=">= 0.9")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * With 30 to 100 trainable numbers the pretrained transformer reaches at least 90% of what full
#   fine-tuning of its 18k parameters achieves. The random-init copy stays well below that even with
#   300 ($d_{90} = \infty$ on this grid), although full fine-tuning of it learns the task (about 0.92).
#   That is the paper's contrast between pretrained and unpretrained models, made at toy scale. With
#   100 steps instead of 60, the random init reached 90% at d = 300 for one of our two seeds: its
#   $d_{90}$ is "300 or more", not infinite.
# * The downstream label (does the sum reach 100?) is what the language model predicts at `=`, so the
#   pretrained features are unusually well aligned with the task. The paper's tasks (MRPC, QQP) are
#   further from masked-language modelling. We do not reproduce the paper's other finding, that
#   $d_{90}$ falls steadily during pretraining and with model size: that would need checkpoints along
#   pretraining and several model sizes.
# * $d_{90}$ is read on a coarse grid of three dimensions with one seed per run. Its value for the
#   pretrained model is only an upper bound, and $\infty$ for the random init means "above 300".
# * One scale per block (7 scales) replaces the paper's one per weight matrix, so that small $d$ stays
#   possible. The `paper` profile widens the model to d = 128 with 4 blocks, trains longer and sweeps
#   d up to 10,000.

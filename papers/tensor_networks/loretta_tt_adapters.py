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
# # LoRETTA: Low-Rank Economic Tensor-Train Adaptation for Ultra-Low-Parameter Fine-Tuning of Large Language Models
# *year not listed in the catalog* · topic `tensor_networks` · verdict **reproduce**
#
# ## The idea
#
# LoRA fine-tunes a frozen weight $W \in \mathbb{R}^{m \times n}$ through a rank-$r$ update
# $\Delta W = \frac{\alpha}{r} B A$, which trains $r(m + n)$ numbers per layer. LoRETTA stores the trainable
# matrices in **tensor-train (TT) format**: with $m = \prod_k m_k$ and $n = \prod_k n_k$,
#
# $$M[(i_1..i_K), (j_1..j_K)] = G_1[:, i_1, j_1, :]\, G_2[:, i_2, j_2, :] \cdots G_K[:, i_K, j_K, :],
# \qquad G_k \in \mathbb{R}^{r_{k-1} \times m_k \times n_k \times r_k},$$
#
# so a matrix costs $\sum_k r_{k-1} m_k n_k r_k$ numbers instead of $m n$. Two variants:
#
# * **LoRETTA$_{rep}$** keeps LoRA's $\Delta W = \frac{\alpha}{r} B A$ but writes A and B as TT-matrices
#   (`paperlab.models.TTLoRALinear`);
# * **LoRETTA$_{adp}$** inserts a residual bottleneck adapter $h \mapsto h + U\,\sigma(D h)$ after the
#   attention output and after the feed-forward block, with D and U as TT-matrices
#   (`paperlab.models.TTAdapter`).
#
# The closing factor (B, U) starts at zero, so fine-tuning starts from the pretrained network. The
# paper's claim: tensor-train adaptation matches or beats common parameter-efficient methods with far
# fewer trainable parameters (up to 100x fewer than LoRA on LLaMA-2-7B).
#
# Here a 2-layer transformer (`paperlab.models.TinyCausalLM`, d = 32, about 18k parameters) is pretrained
# on task A, 2-digit addition written digit by digit (`paperlab.data.digit_equations`), then fine-tuned
# on task B, 1-digit multiplication in the same vocabulary, with four methods that all also train the
# vocabulary head (the paper trains the classifier head too): head only, LoRA (rank 4 on every linear
# layer of the blocks), LoRETTA$_{rep}$ and LoRETTA$_{adp}$ with at most a fifth of LoRA's adapter
# parameters. The score is the answer-token accuracy on held-out equations.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
d_model = 32  # transformer width
n_layers = 2  # transformer blocks
pretrain_steps = 400  # AdamW steps on task A (addition)
finetune_steps = 150  # AdamW steps per fine-tuning method on task B (multiplication)
batch_size = 32  # fresh equations per step
lr = 1e-2  # peak learning rate (linear warm-up, then linear decay)
lora_rank = 4  # r of LoRA and of LoRETTA_rep's inner product B A
rep_tt_rank = 1  # TT rank of LoRETTA_rep's factors
rep_modes = 2  # TT cores per factor
adapter_bottleneck = 8  # LoRETTA_adp's inner width
adp_tt_rank = 1  # TT rank of the adapter's projections
adp_modes = 2  # TT cores per projection
max_parameter_ratio = 0.2  # LoRETTA's adapter parameters must be at most this share of LoRA's
n_test = 1000  # held-out task-B equations

# %%
import copy
import time

import matplotlib.pyplot as plt
import torch
from torch import nn
from tqdm.auto import tqdm

from paperlab.data import digit_equations
from paperlab.experiment import require, setup
from paperlab.models import (
    LoRALinear,
    TTAdapter,
    TTLoRALinear,
    answer_token_accuracy,
    count_trainable_parameters,
    pretrain_equation_lm,
    replace_linear_layers,
    set_trainable_,
    train_equation_lm,
)

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("d_model", d_model),
    ("n_layers", n_layers),
    ("pretrain_steps", pretrain_steps),
    ("finetune_steps", finetune_steps),
    ("batch_size", batch_size),
    ("lora_rank", lora_rank),
    ("rep_tt_rank", rep_tt_rank),
    ("rep_modes", rep_modes),
    ("adapter_bottleneck", adapter_bottleneck),
    ("adp_tt_rank", adp_tt_rank),
    ("adp_modes", adp_modes),
    ("n_test", n_test),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(d_model % 4 == 0, f"d_model must be a multiple of the 4 attention heads, got {d_model!r}")
require(lora_rank <= d_model, f"lora_rank must be <= d_model={d_model}, got {lora_rank!r}")
require(0 < lr < 1, f"lr must be in (0, 1), got {lr!r}")
require(0 < max_parameter_ratio <= 1, f"max_parameter_ratio must be in (0, 1], got {max_parameter_ratio!r}")
d_model = exp.pick(ci=d_model, paper=max(d_model, 128))
n_layers = exp.pick(ci=n_layers, paper=max(n_layers, 4))
pretrain_steps = exp.pick(ci=pretrain_steps, paper=max(pretrain_steps, 2_000))
finetune_steps = exp.pick(ci=finetune_steps, paper=max(finetune_steps, 1_000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 128))
n_test = exp.pick(ci=n_test, paper=max(n_test, 10_000))

# %% [markdown]
# ## Pretraining on task A, the tasks, and the four fine-tuning set-ups
#
# Task A reads `<bos> 4 7 + 3 8 = 0 8 5 <eos>`, task B `<bos> 7 * 8 = 5 6 <eos>`: the same digits and
# symbols, a different operation and a shorter sequence. Only the answer tokens are scored.
# The pretrained model is copied for every method; what each method trains is counted below.

# %%
task_a_test, _ = digit_equations(n_test, 2, "+", generator=10_000 + exp.seed)
task_b_test, _ = digit_equations(n_test, 1, "*", generator=20_000 + exp.seed)

start = time.perf_counter()
pretraining = pretrain_equation_lm(
    pretrain_steps,
    lr,
    batch_size=batch_size,
    d_model=d_model,
    n_layers=n_layers,
    seed=exp.seed,
    device=exp.device,
)
pretrained = pretraining.model
print(f"pretraining: {time.perf_counter() - start:.1f} s, final loss {pretraining.losses[-1]:.3f}")
print(f"task A answer-token accuracy {answer_token_accuracy(pretrained, task_a_test):.3f}")
print(f"task B answer-token accuracy before fine-tuning {answer_token_accuracy(pretrained, task_b_test):.3f}")


def in_blocks(name: str) -> bool:
    return name.startswith("blocks.")


def after_sublayer(name: str) -> bool:
    return name.endswith("attn.out") or name.endswith("mlp.2")


def adapt(method: str) -> tuple[nn.Module, int]:
    """A copy of the pretrained model set up for ``method``, and its adapter (non-head) trainable count."""
    model = copy.deepcopy(pretrained)
    layer_seed = torch.Generator().manual_seed(exp.seed)
    if method == "LoRA":
        replace_linear_layers(
            model, lambda lin: LoRALinear(lin, lora_rank, generator=layer_seed), include=in_blocks
        )
    elif method == "LoRETTA_rep":
        replace_linear_layers(
            model,
            lambda lin: TTLoRALinear(lin, lora_rank, rep_tt_rank, n_modes=rep_modes, generator=layer_seed),
            include=in_blocks,
        )
    elif method == "LoRETTA_adp":
        replace_linear_layers(
            model,
            lambda lin: nn.Sequential(
                lin,
                TTAdapter(
                    lin.out_features,
                    adapter_bottleneck,
                    adp_tt_rank,
                    n_modes=adp_modes,
                    generator=layer_seed,
                    device=exp.device,
                    dtype=lin.weight.dtype,
                ),
            ),
            include=after_sublayer,
        )
    adapter_names = ("lora_", "down", "up")  # LoRA / TT factors and the TT adapter's projections
    set_trainable_(
        model, lambda name: name.startswith("head.") or any(part in name for part in adapter_names)
    )
    head_count = sum(p.numel() for p in model.head.parameters())
    return model, count_trainable_parameters(model) - head_count


methods = ["head only", "LoRA", "LoRETTA_rep", "LoRETTA_adp"]
adapter_counts = {method: adapt(method)[1] for method in methods}
print("adapter parameters (the head's are added to every method):", adapter_counts)
for method in ["LoRETTA_rep", "LoRETTA_adp"]:
    ratio = adapter_counts[method] / adapter_counts["LoRA"]
    require(
        ratio <= max_parameter_ratio,
        f"{method} has {ratio:.2f} x LoRA's parameters, above {max_parameter_ratio}",
    )

# %% [markdown]
# ## Fine-tuning on task B
#
# Every method gets the same steps, the same constant learning rate (no warm-up, no decay) and the same
# batches (a fresh generator with the same seed).


# %%
def finetune(method: str) -> tuple[list[float], float]:
    """Fine-tune a fresh copy with ``method`` on task B; its losses and held-out accuracy."""
    model, _ = adapt(method)
    generator = torch.Generator().manual_seed(1_000 + exp.seed)
    losses = train_equation_lm(
        model,
        finetune_steps,
        lr,
        batch_size=batch_size,
        n_digits=1,
        operation="*",
        generator=generator,
        warmup_fraction=0.0,
        decay=False,
    )
    return losses, answer_token_accuracy(model, task_b_test)


accuracy, curves = {}, {}
for method in tqdm(methods, desc="methods"):
    curves[method], accuracy[method] = finetune(method)
for method in methods:
    print(
        f"{method:12s} adapter parameters {adapter_counts[method]:6d}   task-B accuracy {accuracy[method]:.3f}"
    )

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
window = max(1, finetune_steps // 15)
for method in methods:
    smoothed = torch.tensor(curves[method]).unfold(0, window, 1).mean(dim=1)
    axes[0].plot(range(window - 1, finetune_steps), smoothed, label=method)
    axes[1].scatter(max(adapter_counts[method], 1), accuracy[method], s=60, label=method)
axes[0].set(xlabel="fine-tuning step", ylabel="task-B loss (moving average)", title="Fine-tuning curves")
axes[1].set(
    xscale="log",
    xlabel="trainable adapter parameters (head excluded; head-only plotted at 1)",
    ylabel="task-B answer-token accuracy",
    title="Accuracy against parameter budget",
)
axes[0].legend(fontsize=8)
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# * The task needs adaptation: head-only fine-tuning stays at least 0.05 below LoRA (otherwise the
#   comparison says nothing).
# * Both LoRETTA variants learn beyond the head: each beats head-only by more than 0.05, with at most a
#   fifth of LoRA's adapter parameters.
# * The paper's headline: each LoRETTA variant within 0.02 of LoRA. Checked, but not required (see below).

# %%
exp.check_above("lora_minus_head_only", accuracy["LoRA"] - accuracy["head only"], 0.05)
for method in ["LoRETTA_rep", "LoRETTA_adp"]:
    exp.check_above(f"{method}_minus_head_only", accuracy[method] - accuracy["head only"], 0.05)
    exp.check(
        f"{method}_param_share_of_lora",
        adapter_counts[method] <= max_parameter_ratio * adapter_counts["LoRA"],
        value=adapter_counts[method] / adapter_counts["LoRA"],
        expect=f"<= {max_parameter_ratio:g}",
    )
    exp.check_above(f"{method}_minus_lora", accuracy[method] - accuracy["LoRA"], -0.02, required=False)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * Tensor-train factors do fine-tune the frozen model: with about 0.15 of LoRA's adapter parameters
#   (under 500 numbers) both variants beat training the head alone, so the TT update carries task
#   information into the blocks. LoRETTA$_{rep}$ gains much more than LoRETTA$_{adp}$ here; the adapter's
#   margin over head-only is small (about 0.1).
# * The headline claim, "as good as LoRA with far fewer parameters", is **not reproduced** here: with
#   150 steps LoRA (3k adapter parameters) stays well ahead. Two reasons specific to this scale: at
#   width 32 a TT-matrix has little to compress (the paper's 4096-wide layers factor into many modes,
#   which is where TT ranks of 4-8 buy large savings), so matching a fifth of LoRA's budget forces
#   TT rank 1, a Kronecker-product update; and the zero-initialized last core makes the first steps
#   slow, which matters in a 150-step run. The paper compares at LLaMA/DeBERTa scale over thousands of
#   steps, with tuned learning rates per method; we use one learning rate for all.
# * The parameter ratio is a property of the set-up (counted, not learned), shown for transparency.
# * The `paper` profile widens the model to d = 128 with 4 blocks and trains for 2k / 1k steps, where
#   TT factorizations have more modes to exploit.

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
# # DSEE: Dually Sparsity-embedded Efficient Tuning of Pre-trained Language Models
# *year not listed in the catalog* · topic `low_rank` · verdict **reproduce**
#
# ## The idea
#
# DSEE puts sparsity into fine-tuning twice.
#
# **1. Sparsity in the update.** The frozen pretrained weight $W$ is adapted by a low-rank term
# plus a sparse term:
#
# $$W' = W + \tfrac{\alpha}{r} B A + S_\Omega, \qquad \operatorname{supp}(S_\Omega) = \Omega,\ |\Omega| = N .$$
#
# The support $\Omega$ comes from $W$ itself. Decompose $W \approx L + S$ with $L$ the best rank-$k$
# approximation, and keep the $N$ largest entries of $|W - L|$, the positions a low-rank update explains
# worst. Only $A$, $B$ and the $N$ values of $S_\Omega$ train
# (`paperlab.models.SparseLowRankLinear`, support from `residual_support`).
#
# **2. Sparsity in the final weights.** After tuning, the merged weight $W + \Delta W$ is pruned by
# magnitude to a mask $M$. The update is then tuned a little longer under the mask, with
# $y = ((W + \Delta W) \odot M)\,x$, so the deployed weight is exactly sparse
# (`SparseLowRankLinear.prune_`, `paperlab.solvers.magnitude_mask`).
#
# The paper's claim: sparsity-aware low-rank updates are as good as other parameter-efficient methods
# at the same number of trainable parameters, and the tuned model can be made sparse for cheaper
# inference at little cost in accuracy.
#
# Here a 2-layer transformer (`paperlab.models.TinyCausalLM`, d = 32) is pretrained on 2-digit
# addition written digit by digit (`paperlab.data.digit_equations`). It is then fine-tuned on 1-digit
# multiplication with four methods:
#
# * head only;
# * LoRA, rank 4, on every linear layer of the blocks;
# * DSEE, rank 3 plus as many sparse entries as the missing rank would cost, so both adapters train
#   exactly the same number of parameters;
# * DSEE's own low-rank-only ablation: the same `SparseLowRankLinear` layers, same rank 3, same
#   initialisation and batches, with the sparse values frozen at zero (so plain LoRA at rank 3).
#   DSEE minus this arm is what the sparse part adds.
#
# Every method also trains the vocabulary head.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
d_model = 32  # transformer width
pretrain_steps = 400  # AdamW steps on addition
finetune_steps = 150  # AdamW steps per method on multiplication
recovery_steps = 50  # extra steps after pruning (and for the unpruned comparison run)
batch_size = 32  # fresh equations per step
lr = 1e-2  # peak learning rate
lora_rank = 4  # LoRA's rank; DSEE uses lora_rank - 1 plus sparse entries of equal count
sparsity = 0.5  # share of the adapted block weights pruned after tuning
n_test = 1000  # held-out multiplication equations

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
    SparseLowRankLinear,
    answer_token_accuracy,
    count_trainable_parameters,
    pretrain_equation_lm,
    replace_linear_layers,
    set_trainable_,
    train_equation_lm,
)
from paperlab.solvers import prune_linear_layers_

exp = setup(seed=seed, device=device, profile=profile)
for name, value in [
    ("d_model", d_model),
    ("pretrain_steps", pretrain_steps),
    ("finetune_steps", finetune_steps),
    ("recovery_steps", recovery_steps),
    ("batch_size", batch_size),
    ("n_test", n_test),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(d_model % 4 == 0, f"d_model must be a multiple of the 4 attention heads, got {d_model!r}")
require(
    isinstance(lora_rank, int) and 2 <= lora_rank <= d_model,
    f"lora_rank must be in [2, d_model], got {lora_rank!r}",
)
require(0 < lr < 1, f"lr must be in (0, 1), got {lr!r}")
require(0 < sparsity < 1, f"sparsity must be in (0, 1), got {sparsity!r}")
d_model = exp.pick(ci=d_model, paper=max(d_model, 128))
n_layers = exp.pick(ci=2, paper=4)
pretrain_steps = exp.pick(ci=pretrain_steps, paper=max(pretrain_steps, 2_000))
finetune_steps = exp.pick(ci=finetune_steps, paper=max(finetune_steps, 1_000))
recovery_steps = exp.pick(ci=recovery_steps, paper=max(recovery_steps, 300))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 128))
n_test = exp.pick(ci=n_test, paper=max(n_test, 10_000))

# %% [markdown]
# ## Pretraining, then the adapters
#
# For a layer with `in` inputs and `out` outputs, LoRA trains $r(\text{in} + \text{out})$ numbers. DSEE
# trains $(r - 1)(\text{in} + \text{out})$ low-rank numbers plus $N = \text{in} + \text{out}$ sparse
# ones, with $\Omega$ taken from the rank-$(r - 1)$ residual of the pretrained weight. The low-rank-only
# ablation trains the same $(r - 1)(\text{in} + \text{out})$ low-rank numbers and no sparse one.

# %%
addition_test, _ = digit_equations(n_test, 2, "+", generator=10_000 + exp.seed)
test_set, _ = digit_equations(n_test, 1, "*", generator=20_000 + exp.seed)

start = time.perf_counter()
pretrained = pretrain_equation_lm(
    pretrain_steps,
    lr,
    batch_size=batch_size,
    d_model=d_model,
    n_layers=n_layers,
    seed=exp.seed,
    device=exp.device,
).model
print(
    f"pretraining {time.perf_counter() - start:.1f} s; addition accuracy {answer_token_accuracy(pretrained, addition_test):.3f}"
)
print(f"multiplication accuracy before fine-tuning {answer_token_accuracy(pretrained, test_set):.3f}")


def in_blocks(name: str) -> bool:
    return name.startswith("blocks.")


def adapt(method: str) -> tuple[nn.Module, int]:
    """A copy of the pretrained model set up for ``method``, and its adapter (non-head) trainable count."""
    model = copy.deepcopy(pretrained)
    layer_seed = torch.Generator().manual_seed(exp.seed)
    if method == "LoRA":
        replace_linear_layers(
            model, lambda lin: LoRALinear(lin, lora_rank, generator=layer_seed), include=in_blocks
        )
    elif method in ("DSEE", "low-rank only"):
        replace_linear_layers(
            model,
            lambda lin: SparseLowRankLinear(
                lin, lora_rank - 1, n_sparse=lin.in_features + lin.out_features, generator=layer_seed
            ),
            include=in_blocks,
        )
    trainable = ("head.", "lora_") if method == "low-rank only" else ("head.", "lora_", "sparse_values")
    set_trainable_(model, lambda name: any(part in name for part in trainable))
    return model, count_trainable_parameters(model) - sum(p.numel() for p in model.head.parameters())


def tune(model: nn.Module, n_steps: int, generator: torch.Generator) -> list[float]:
    """Multiplication batches from ``generator`` at a constant learning rate."""
    return train_equation_lm(
        model,
        n_steps,
        lr,
        batch_size=batch_size,
        n_digits=1,
        operation="*",
        generator=generator,
        warmup_fraction=0.0,
        decay=False,
    )


def merged_copy(model: nn.Module) -> nn.Module:
    """A copy in which every adapted layer is a plain ``nn.Linear`` with the merged weight."""
    merged = copy.deepcopy(model)
    for name, module in list(merged.named_modules()):
        if isinstance(module, LoRALinear):  # SparseLowRankLinear is a LoRALinear too
            parent, _, child = name.rpartition(".")
            setattr(merged.get_submodule(parent), child, module.merged())
    return merged


# %% [markdown]
# ## Fine-tuning, pruning and recovery
#
# All methods see the same batches. After `finetune_steps` the tuned DSEE model branches into two copies
# that each train `recovery_steps` more steps on identical batches: one unpruned, and one with the mask
# $M$ of its largest `1 - sparsity` merged weights per layer fixed. One-shot pruning of the merged LoRA
# and DSEE models, with no recovery, is shown as a reference.

# %%
accuracy, counts, curves = {}, {}, {}
tuned = {}
for method in tqdm(["head only", "LoRA", "low-rank only", "DSEE"], desc="fine-tuning"):
    model, counts[method] = adapt(method)
    generator = torch.Generator().manual_seed(1_000 + exp.seed)
    curves[method] = tune(model, finetune_steps, generator)
    accuracy[method] = answer_token_accuracy(model, test_set)
    tuned[method] = (model, generator)
require(counts["DSEE"] == counts["LoRA"], f"budgets differ: {counts}")
sparse_norm = {
    method: sum(
        float(m.sparse_values.detach().square().sum())
        for m in tuned[method][0].modules()
        if isinstance(m, SparseLowRankLinear)
    )
    for method in ["low-rank only", "DSEE"]
}
print(f"squared norm of the sparse values after tuning: { {k: round(v, 3) for k, v in sparse_norm.items()} }")

one_shot = {}
for method in ["LoRA", "DSEE"]:
    merged = merged_copy(tuned[method][0])
    prune_linear_layers_(merged, sparsity, include=in_blocks)
    one_shot[method] = answer_token_accuracy(merged, test_set)

dsee_model, dsee_generator = tuned["DSEE"]
dense_branch, pruned_branch = dsee_model, copy.deepcopy(dsee_model)
state = dsee_generator.get_state()
curves["DSEE, unpruned"] = tune(dense_branch, recovery_steps, torch.Generator().set_state(state))
achieved = [
    layer.prune_(sparsity) for layer in pruned_branch.modules() if isinstance(layer, SparseLowRankLinear)
]
curves["DSEE, pruned"] = tune(pruned_branch, recovery_steps, torch.Generator().set_state(state))
accuracy["DSEE, unpruned"] = answer_token_accuracy(dense_branch, test_set)
accuracy["DSEE, pruned"] = answer_token_accuracy(pruned_branch, test_set)
final_merged = merged_copy(pruned_branch)
block_weights = [
    m.weight for n, m in final_merged.named_modules() if isinstance(m, nn.Linear) and in_blocks(n)
]
final_sparsity = float(sum((w == 0).sum() for w in block_weights) / sum(w.numel() for w in block_weights))
print(f"adapter parameters: {counts}")
for key, value in accuracy.items():
    print(f"{key:16s} accuracy {value:.3f}")
print(f"one-shot pruning at {sparsity:.0%}, no recovery: { {k: round(v, 3) for k, v in one_shot.items()} }")
print(f"zeros in the merged block weights of the pruned DSEE model: {final_sparsity:.3f}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.6))
window = 10
colors = {"head only": "grey", "LoRA": "C0", "low-rank only": "C2", "DSEE": "C1"}
for method, color in colors.items():
    smoothed = torch.tensor(curves[method]).unfold(0, window, 1).mean(dim=1)
    axes[0].plot(range(window - 1, finetune_steps), smoothed, label=method, color=color)
for branch, style in [("DSEE, unpruned", "--"), ("DSEE, pruned", ":")]:
    smoothed = torch.tensor(curves[branch]).unfold(0, min(window, recovery_steps), 1).mean(dim=1)
    steps = range(finetune_steps + min(window, recovery_steps) - 1, finetune_steps + recovery_steps)
    axes[0].plot(steps, smoothed, label=branch, color="C1", linestyle=style)
axes[0].axvline(finetune_steps, color="grey", linewidth=0.8)
axes[0].set(
    xlabel="fine-tuning step", ylabel="loss (moving average)", title="Fine-tuning, then pruning at the line"
)
bars = {
    "head only": accuracy["head only"],
    "LoRA": accuracy["LoRA"],
    "low-rank only": accuracy["low-rank only"],
    "DSEE": accuracy["DSEE"],
    "LoRA 1-shot pruned": one_shot["LoRA"],
    "DSEE 1-shot pruned": one_shot["DSEE"],
    "DSEE +steps": accuracy["DSEE, unpruned"],
    "DSEE pruned +steps": accuracy["DSEE, pruned"],
}
axes[1].barh(list(bars), list(bars.values()), color=["grey", "C0", "C2", "C1", "C0", "C1", "C1", "C1"])
axes[1].invert_yaxis()
axes[1].set(xlabel="answer-token accuracy (multiplication)", title=f"Accuracy; pruning at {sparsity:.0%}")
axes[0].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims
#
# * The task needs adaptation: head-only tuning is at least 0.03 below LoRA.
# * The sparse part adds accuracy: DSEE is more accurate than its own low-rank-only ablation (same
#   layers, rank, initialisation and batches; only the sparse values stay frozen at zero). The bar, > 0,
#   was fixed before running, from the paper's premise that the sparse term adds to the low-rank one.
#   A DSEE whose sparse entries never trained would score exactly the ablation's accuracy and fail it.
# * At the same number of trainable parameters DSEE is as accurate as LoRA, within 0.01 (the paper says
#   "comparable"). This one is **not required**: LoRA and DSEE start from different draws of $A$, and
#   such unpaired arms differ by about 0.05 from seed to seed, five times the tolerance, so one run
#   cannot decide it. It is measured and reported, not enforced.
# * Pruning half of every block weight and recovering for `recovery_steps` steps costs at most 0.02
#   against the unpruned DSEE model trained for the same steps.
# * `final_weight_sparsity` is a procedure check, not a result: the mask makes the merged weights 50%
#   zero by construction. It only confirms that the mask reaches the deployed weights.

# %%
exp.check_above("lora_minus_head_only", accuracy["LoRA"] - accuracy["head only"], 0.03)
exp.check_above("dsee_minus_lowrank_only", accuracy["DSEE"] - accuracy["low-rank only"], 0.0)
exp.check(
    "dsee_minus_lora_equal_params",
    accuracy["DSEE"] >= accuracy["LoRA"] - 0.01,
    value=accuracy["DSEE"] - accuracy["LoRA"],
    expect=">= -0.01",
    required=False,
)
exp.check(
    "pruned_minus_unpruned_dsee",
    accuracy["DSEE, pruned"] >= accuracy["DSEE, unpruned"] - 0.02,
    value=accuracy["DSEE, pruned"] - accuracy["DSEE, unpruned"],
    expect=">= -0.02",
)
exp.check(
    "final_weight_sparsity",
    abs(final_sparsity - sparsity) < 0.01,
    value=final_sparsity,
    expect=f"= {sparsity:g}",
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# * The tasks are synthetic and tiny: a 2-layer, 32-wide transformer, 150 tuning steps, one seed per run.
# * The sparse part does something. Against its own low-rank-only ablation, DSEE gains 0.045 (seed 0)
#   and 0.034 (seed 1). The comparison is paired, with the same initialisation and batches, so the
#   sparse values are the only difference. Part of the gain is simply more parameters: DSEE trains 3072
#   adapter numbers, the ablation 2304. The check shows that the sparse entries learn something useful.
#   It does not show that the residual-based support $\Omega$ beats a random support of the same size;
#   that was not tested.
# * Parity with LoRA at equal budget is not decided here. DSEE minus LoRA is -0.008 on seed 0 and
#   +0.079 on seed 1. Unpaired noise is of the same size: the rank-3 ablation is 0.053 below rank-4 LoRA
#   on seed 0 but 0.045 above it on seed 1. So the "comparable" claim is reported as a non-required check.
#   The paper's gains over LoRA are also small.
# * The sparse support comes from a truncated SVD of $W$, not from the paper's robust decomposition
#   (GreBsmo), and the sparse budget is set to match LoRA's parameter count exactly.
# * One-shot magnitude pruning of half the weights of so small a model costs a lot: 0.1-0.3 accuracy.
#   The few recovery steps under the fixed mask restore it (pruned minus unpruned: +0.019 on seed 0,
#   -0.001 on seed 1). The recovery check probably holds for any tuned model of this size, so it does
#   not single out DSEE. The exact 50% sparsity of the final weights is guaranteed by the procedure.
#   We prune unstructured entries only; the paper also removes attention heads. Nothing here measures
#   inference speed: on a CPU an unstructured 50% mask saves no time.

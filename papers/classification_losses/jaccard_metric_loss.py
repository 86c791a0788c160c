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
# # Jaccard Metric Losses: Optimizing the Jaccard Index with Soft Labels
# *2023* · topic `classification_losses` · verdict **reproduce**
#
# ## The idea
#
# Segmentation is scored by the Jaccard index (IoU) $|A \cap B| / |A \cup B|$. The usual way to train
# for it is the soft Jaccard loss, which replaces the sets by a probability map $x \in [0, 1]^p$ and a
# label map $y$:
#
# $$L_{\mathrm{SJ}}(x, y) = 1 - \frac{\langle x, y \rangle}{\|x\|_1 + \|y\|_1 - \langle x, y \rangle}.$$
#
# With a one-hot $y$ this is the right relaxation, but with a *soft* label (label smoothing, a
# teacher's probabilities in knowledge distillation) it is not minimized at $x = y$: it keeps pushing
# $x$ towards the label's argmax. The paper rewrites intersection and union with
# $\|x - y\|_1$, which is the same thing on binary vectors and gives two **Jaccard metric losses**:
#
# $$L_{\mathrm{JML1}} = 1 - \frac{\|x\|_1 + \|y\|_1 - \|x - y\|_1}{\|x\|_1 + \|y\|_1 + \|x - y\|_1}, \qquad
#   L_{\mathrm{JML2}} = 1 - \frac{\langle x, y \rangle}{\langle x, y \rangle + \|x - y\|_1}.$$
#
# Both are metrics on $[0, 1]^p$, so $L(x, y) = 0$ exactly when $x = y$: they can be trained on soft
# labels. The paper's claim is that this makes label smoothing and knowledge distillation work with a
# Jaccard loss, and improves the Jaccard index over cross-entropy.
#
# Here: (a) a direct check of the minimizers on random soft labels; (b) a 4-layer convolutional
# segmenter on 32x32 synthetic shape images (ellipses, rectangles, triangles on noise), trained with
# cross-entropy (CE), CE + soft Jaccard, CE + JML with label smoothing, and CE + JML with knowledge
# distillation (KD) from a wider teacher, scored by the mean IoU on held-out images.

# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
variant = "jml1"  # which Jaccard metric loss: "jml1" or "jml2"
label_smoothing = 0.1  # epsilon of the smoothed labels (1 - eps) onehot + eps / C
kd_weight = 0.5  # weight of the teacher's soft labels; 1 - kd_weight goes to the hard labels
n_steps = 100  # Adam steps of each student
teacher_steps = 100  # Adam steps of the teacher
batch_size = 8
learning_rate = 1e-2
student_width = 8  # channels of the 4-layer student
teacher_width = 16  # channels of the wider teacher
class_contrast = 0.3  # brightness shift between shape classes (0: shape is the only cue)
noise = 0.3  # pixel noise of the images

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from paperlab.data.synthetic_shapes import SHAPE_CLASSES, synthetic_shapes
from paperlab.experiment import require, setup
from paperlab.losses.jaccard import jaccard_metric_loss, soft_jaccard_loss
from paperlab.metrics.segmentation import mean_iou
from paperlab.models.conv_segmenter import ConvSegmenter

exp = setup(seed=seed, device=device, profile=profile)
require(variant in ("jml1", "jml2"), f"variant must be 'jml1' or 'jml2', got {variant!r}")
require(0 < label_smoothing < 1, f"label_smoothing must be in (0, 1), got {label_smoothing!r}")
require(0 < kd_weight < 1, f"kd_weight must be in (0, 1), got {kd_weight!r}")
for name, value in [
    ("n_steps", n_steps),
    ("teacher_steps", teacher_steps),
    ("batch_size", batch_size),
    ("student_width", student_width),
    ("teacher_width", teacher_width),
]:
    require(isinstance(value, int) and value >= 1, f"{name} must be a positive integer, got {value!r}")
require(
    teacher_width > student_width, "teacher_width must exceed student_width: the teacher is the larger model"
)
require(0 < learning_rate < 1, f"learning_rate must be in (0, 1), got {learning_rate!r}")
require(class_contrast >= 0 and noise >= 0, "class_contrast and noise must be >= 0")
n_steps = exp.pick(ci=n_steps, paper=max(n_steps, 3_000))
teacher_steps = exp.pick(ci=teacher_steps, paper=max(teacher_steps, 10_000))
batch_size = exp.pick(ci=batch_size, paper=max(batch_size, 32))
n_train, n_test = exp.pick(ci=512, paper=8192), exp.pick(ci=128, paper=2048)
n_classes = len(SHAPE_CLASSES)

# %% [markdown]
# ## (a) Which map minimizes each loss?
#
# Three images of 8 pixels, 4 classes, with random soft labels $y$ (a softmax of Gaussian logits per
# pixel). Starting from uniform predictions, Adam minimizes each loss over the logits of $x$ (the
# probabilities are their softmax, as in a network), with per-image, all-class averaging and no
# smoothing term. JML should land on $y$; soft Jaccard should not.

# %%
soft_labels = torch.randn(3, n_classes, 8, generator=exp.generator, dtype=torch.float64).softmax(1)
soft_labels = soft_labels.to(exp.device)  # (N=3, C=4, P=8)
minimizer_losses = {
    "soft Jaccard": lambda x, y: soft_jaccard_loss(x, y, per_image=True, classes="all", smooth=0.0),
    "JML1": lambda x, y: jaccard_metric_loss(x, y, "jml1", per_image=True, classes="all", smooth=0.0),
    "JML2": lambda x, y: jaccard_metric_loss(x, y, "jml2", per_image=True, classes="all", smooth=0.0),
}
minimizer_steps = 300
distance_curves, minimizers = {}, {}
for name, loss_fn in minimizer_losses.items():
    logits = torch.zeros_like(soft_labels, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.1)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, minimizer_steps)
    curve = []
    for _ in range(minimizer_steps):
        optimizer.zero_grad()
        loss_fn(logits.softmax(1), soft_labels).backward()
        optimizer.step()
        schedule.step()
        curve.append((logits.detach().softmax(1) - soft_labels).abs().max().item())
    distance_curves[name], minimizers[name] = curve, logits.detach().softmax(1)
minimizer_error = {name: curve[-1] for name, curve in distance_curves.items()}
print({name: f"{error:.2e}" for name, error in minimizer_error.items()})

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for name, curve in distance_curves.items():
    axes[0].semilogy(curve, label=name)
axes[0].set(
    xlabel="Adam step", ylabel=r"$\max |x - y|$", title="Distance of the prediction to the soft label"
)
axes[0].legend()
pixels = torch.arange(8)
for name, marker in zip(minimizers, ["s", "o", "x"]):
    axes[1].plot(pixels, minimizers[name][0, 0].cpu(), marker, label=f"argmin of {name}")
axes[1].plot(pixels, soft_labels[0, 0].cpu(), "k-", label="soft label $y$")
axes[1].set(xlabel="pixel", ylabel="probability of class 0", title="Minimizers, image 0, class 0")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# With hard labels the three losses agree exactly (the $L^1$ identity
# $\|x - y\|_1 = \|x\|_1 + \|y\|_1 - 2\langle x, y \rangle$ holds for binary $y$); checked here on random
# probability maps and labels, with the default "present classes" averaging over the batch.

# %%
maps = torch.randn(4, n_classes, 16, 16, generator=exp.generator, dtype=torch.float64).softmax(1)
hard = torch.randint(0, n_classes, (4, 16, 16), generator=exp.generator)
maps, hard = maps.to(exp.device), hard.to(exp.device)
hard_label_gap = max(
    (jaccard_metric_loss(maps, hard, v, smooth=0.0) - soft_jaccard_loss(maps, hard, smooth=0.0)).abs().item()
    for v in ("jml1", "jml2")
)
print(f"max |JML - soft Jaccard| on hard labels: {hard_label_gap:.1e}")

# %% [markdown]
# ## (b) Segmenting synthetic shapes
#
# Images of 1 to 3 shapes with random size, position and brightness; the class (ellipse, rectangle,
# triangle) shifts the mean brightness by `class_contrast`, so shape and brightness are both noisy cues.
# Each student is a `ConvSegmenter` of 4 layers (dilated 3x3 convolutions, `student_width` channels);
# the teacher has twice the width and is trained with CE alone, for longer. The student losses:
#
# - CE: cross-entropy on the hard labels;
# - CE + soft Jaccard: plus the soft Jaccard loss on the hard labels;
# - CE + JML, LS: cross-entropy and JML both on the smoothed labels $(1 - \epsilon)\,\mathrm{onehot} + \epsilon / C$;
# - CE + JML, KD: $(1 - w)\,[\mathrm{CE} + \mathrm{JML}](\text{hard}) + w\,[\mathrm{KL} + \mathrm{JML}](\text{teacher})$,
#   with the teacher's probabilities as soft labels, as in the authors' recipe.
#
# Every student starts from the same initialization and sees the same mini-batches.

# %%
train_images, train_masks = synthetic_shapes(
    n_train, noise=noise, class_contrast=class_contrast, generator=exp.generator
)
test_images, test_masks = synthetic_shapes(
    n_test, noise=noise, class_contrast=class_contrast, generator=exp.generator
)
train_images, train_masks = train_images.to(exp.device), train_masks.to(exp.device)
test_images, test_masks = test_images.to(exp.device), test_masks.to(exp.device)
batches = [
    torch.randint(0, n_train, (batch_size,), generator=exp.generator)
    for _ in range(max(n_steps, teacher_steps))
]


def train(model, loss_fn, steps, soft_targets=None):
    """Adam with a cosine schedule; loss_fn(logits, hard masks, soft targets or None)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    for index in batches[:steps]:
        index = index.to(exp.device)
        soft = None if soft_targets is None else soft_targets[index]
        loss = loss_fn(model(train_images[index]), train_masks[index], soft)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model


def test_miou(model):
    with torch.no_grad():
        return mean_iou(model(test_images).argmax(1), test_masks, n_classes).item()


def smoothed(masks):
    one_hot = F.one_hot(masks, n_classes).movedim(-1, 1).float()  # (B, C, H, W)
    return one_hot * (1 - label_smoothing) + label_smoothing / n_classes


def kl_per_pixel(logits, soft):
    return F.kl_div(logits.log_softmax(1), soft, reduction="sum") / (logits.numel() / n_classes)


student_losses = {
    "CE": lambda z, y, s: F.cross_entropy(z, y),
    "CE + soft Jaccard": lambda z, y, s: F.cross_entropy(z, y) + soft_jaccard_loss(z.softmax(1), y),
    "CE + JML, LS": lambda z, y, s: (
        F.cross_entropy(z, smoothed(y)) + jaccard_metric_loss(z.softmax(1), smoothed(y), variant)
    ),
    "CE + JML, KD": lambda z, y, s: (
        (1 - kd_weight) * (F.cross_entropy(z, y) + jaccard_metric_loss(z.softmax(1), y, variant))
        + kd_weight * (kl_per_pixel(z, s) + jaccard_metric_loss(z.softmax(1), s, variant))
    ),
}

teacher = ConvSegmenter(1, n_classes, teacher_width, 4).to(exp.device)
train(teacher, student_losses["CE"], teacher_steps)
with torch.no_grad():
    teacher_probs = teacher(train_images).softmax(1)  # (n_train, C, 32, 32)
miou = {"teacher (CE)": test_miou(teacher)}
initial_state = ConvSegmenter(1, n_classes, student_width, 4).state_dict()
for name, loss_fn in tqdm(student_losses.items(), desc="students"):
    student = ConvSegmenter(1, n_classes, student_width, 4)
    student.load_state_dict(initial_state)
    student = student.to(exp.device)
    train(student, loss_fn, n_steps, teacher_probs if "KD" in name else None)
    miou[name] = test_miou(student)
    if name == "CE + JML, KD":
        kd_student = student
print({name: round(value, 3) for name, value in miou.items()})

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.3, 1]})
names = list(miou)
axes[0].barh(names, [miou[n] for n in names], color=["grey"] + ["C0"] * (len(names) - 1))
axes[0].set(xlabel="test mIoU", title=f"Shapes segmentation, {n_steps} student steps")
axes[0].invert_yaxis()
with torch.no_grad():
    prediction = kd_student(test_images[:1]).argmax(1)[0].cpu()  # (32, 32)
image = test_images[0, 0].cpu()
panels = [(image - image.min()) / (image.max() - image.min()), test_masks[0].cpu() / 3, prediction / 3]
axes[1].imshow(torch.cat(panels, dim=1), cmap="viridis")  # (32, 96): image | target | prediction
axes[1].set(
    title="test image | target | KD student", xlabel="pixel column (three panels)", ylabel="pixel row"
)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Claims

# %%
# rounded to 1e-12 so that the report does not show machine-dependent rounding noise (about 1e-16)
exp.check_below("jml_equals_soft_jaccard_on_hard_labels", round(hard_label_gap, 12), 1e-6)
exp.check_below("jml1_minimizer_error", minimizer_error["JML1"], 1e-3)
exp.check_below("jml2_minimizer_error", minimizer_error["JML2"], 1e-3)
exp.check_above("soft_jaccard_minimizer_error", minimizer_error["soft Jaccard"], 0.05)
exp.check(
    "miou_kd_jml_above_ce",
    miou["CE + JML, KD"] > miou["CE"],
    value=miou["CE + JML, KD"] - miou["CE"],
    expect="> 0 (mIoU gain of CE + JML with KD over CE)",
    required=False,  # not reproduced at this scale, see below
)

# %%
# NBVAL_CHECK_OUTPUT
exp.report()

# %% [markdown]
# ## What this small run shows, and what it does not
#
# - **The loss itself reproduces exactly.** On hard labels JML1, JML2 and the soft Jaccard loss agree to
#   rounding error. On soft labels, minimizing JML1 or JML2 over the predicted probabilities recovers the
#   label (max error a few $10^{-5}$, limited only by the number of Adam steps), while the soft Jaccard
#   loss drives the prediction far from it (max error about 0.7): it rewards pushing each pixel towards
#   the label's argmax, so it cannot learn from smoothed or distilled labels.
# - **The segmentation claim is NOT REPRODUCED at this scale** (`miou_kd_jml_above_ce`, recorded as not
#   required). With 100 Adam steps of a 4-layer, 8-channel student on 512 synthetic 32x32 images, every
#   student reaches a test mIoU of only about 0.33 to 0.45, and the differences between losses are of the
#   same size as the differences between seeds: CE + JML with KD beats CE for `seed=1` and loses to it
#   for `seed=0`. The teacher, itself trained for only 100 steps, is no better than the CE student for
#   `seed=0` and only somewhat better for `seed=1`, so its soft labels carry little extra information; the paper's gains come from a well-trained teacher
#   and full training schedules on real benchmarks (Cityscapes, PASCAL VOC) with DeepLab-size models.
#   Steps and sizes were cut from the plan (300 student steps) to stay within the CPU budget of the
#   `ci` profile; the `paper` profile trains for 3,000 / 10,000 steps on 8,192 images.
# - Label smoothing with CE + JML does not beat CE here either; the paper reports it as a modest gain.
# - Not covered: the per-image vs per-batch and class-selection variants are implemented and tested in
#   `paperlab.losses.jaccard_metric_loss`, but only the per-batch, present-classes setting is trained here;
#   the focal term and class weights of the authors' code are not implemented.

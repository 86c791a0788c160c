r"""Synthetic "speaker" utterances: frame sequences with a speaker envelope, channel offset and content noise.

A stand-in for speech features (log filter-bank frames) where identity is a property of the whole
utterance, hidden under frame-level content that varies far more than speakers do:

.. math:: x_{u,t} = \mu_{s(u)} + c_u + \sum_k a_{u,t,k} P_k + \varepsilon_{u,t}

with a per-speaker envelope :math:`\mu_s \sim \mathcal{N}(0, I)` smoothed along the feature axis,
a per-utterance channel offset :math:`c_u \sim \mathcal{N}(0, \sigma_c^2 I)`, content from a shared
basis of "phone" patterns :math:`P_k` with random activations :math:`a_{u,t,k} \sim \mathcal{N}(0,
\sigma_a^2)`, and white noise. Built for "Additive Margin in Contrastive Self-Supervised Frameworks to
Learn Discriminative Speaker Representations", whose VoxCeleb data it replaces.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class SpeakerUtterances:
    """Utterances (N, T, F) and the speaker index (N,) of each."""

    utterances: torch.Tensor
    speakers: torch.Tensor


def synthetic_speakers(
    n_speakers: int,
    n_utterances: int,
    n_frames: int = 40,
    n_features: int = 20,
    n_phones: int = 8,
    content_std: float = 1.5,
    channel_std: float = 0.3,
    noise_std: float = 0.3,
    generator=None,
) -> SpeakerUtterances:
    """Draw ``n_utterances`` utterances for each of ``n_speakers`` new speakers.

    Args:
        n_speakers, n_utterances: speakers and utterances per speaker.
        n_frames, n_features: frames T per utterance and features F per frame.
        n_phones: size of the shared content basis.
        content_std: scale of the content activations (content dominates identity when > 1).
        channel_std: scale of the per-utterance channel offset.
        noise_std: scale of the white frame noise.
        generator: seed or ``torch.Generator`` (CPU); everything is drawn from it.

    Returns:
        :class:`SpeakerUtterances` with float32 ``utterances`` (N, T, F), N = n_speakers * n_utterances,
        and int64 ``speakers`` (N,), utterances grouped by speaker.
    """
    for name, value in [
        ("n_speakers", n_speakers),
        ("n_utterances", n_utterances),
        ("n_frames", n_frames),
        ("n_features", n_features),
        ("n_phones", n_phones),
    ]:
        check_positive(name, value, integer=True)
    for name, value in [("content_std", content_std), ("channel_std", channel_std), ("noise_std", noise_std)]:
        check_positive(name, value, allow_zero=True)
    g = as_generator(generator)
    n = n_speakers * n_utterances
    smoother = torch.tensor([[[0.25, 0.5, 0.25]]])  # (1, 1, 3) smoothing along the feature axis
    raw = torch.randn(n_speakers, 1, n_features, generator=g)  # (S, 1, F)
    envelopes = F.conv1d(F.pad(raw, (1, 1), mode="replicate"), smoother).squeeze(1)  # (S, F)
    envelopes = envelopes / envelopes.std(dim=1, keepdim=True)  # unit spread per speaker
    phones = torch.randn(n_phones, n_features, generator=g)  # (K, F)
    speakers = torch.arange(n_speakers).repeat_interleave(n_utterances)  # (N,)
    channel = channel_std * torch.randn(n, 1, n_features, generator=g)  # (N, 1, F)
    activations = content_std * torch.randn(n, n_frames, n_phones, generator=g)  # (N, T, K)
    noise = noise_std * torch.randn(n, n_frames, n_features, generator=g)  # (N, T, F)
    content = activations @ phones / n_phones**0.5  # (N, T, F)
    utterances = envelopes[speakers][:, None, :] + channel + content + noise  # (N, T, F)
    return SpeakerUtterances(utterances, speakers)


def crop_and_noise(
    utterances: torch.Tensor, crop: int, noise_std: float = 0.0, generator=None
) -> torch.Tensor:
    """A random window of ``crop`` frames from each utterance, plus white noise: a self-supervised view.

    Args:
        utterances: (N, T, F) frame sequences.
        crop: frames per window, 1 <= crop <= T.
        noise_std: standard deviation of the added noise.
        generator: seed or ``torch.Generator`` (CPU) of the offsets and noise.

    Returns:
        (N, crop, F) views on the device and dtype of ``utterances``.
    """
    check_tensor("utterances", utterances, dim=3, floating=True)
    check_positive("crop", crop, integer=True)
    check_positive("noise_std", noise_std, allow_zero=True)
    n, n_frames, n_features = utterances.shape
    if crop > n_frames:
        raise ValueError(f"crop must be at most the {n_frames} frames of an utterance, got {crop}")
    g = as_generator(generator)
    starts = torch.randint(0, n_frames - crop + 1, (n, 1), generator=g)  # (N, 1)
    frames = (starts + torch.arange(crop)).to(utterances.device)  # (N, crop)
    views = utterances.gather(1, frames[:, :, None].expand(n, crop, n_features))  # (N, crop, F)
    if noise_std > 0:
        noise = torch.randn(views.shape, generator=g).to(device=views.device, dtype=views.dtype)
        views = views + noise_std * noise
    return views

"""Synthetic speaker utterances: shapes, determinism, structure, and the crop augmentation."""

import pytest
import torch

from paperlab.data import crop_and_noise, synthetic_speakers


def test_shapes_labels_and_determinism():
    data = synthetic_speakers(5, 3, n_frames=12, n_features=7, generator=0)
    assert data.utterances.shape == (15, 12, 7) and data.utterances.dtype == torch.float32
    assert data.speakers.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
    again = synthetic_speakers(5, 3, n_frames=12, n_features=7, generator=0)
    assert torch.equal(data.utterances, again.utterances)
    assert not torch.equal(
        data.utterances, synthetic_speakers(5, 3, n_frames=12, n_features=7, generator=1).utterances
    )


def test_noise_free_utterances_are_the_speaker_envelope():
    data = synthetic_speakers(4, 3, content_std=0.0, channel_std=0.0, noise_std=0.0, generator=2)
    frames = data.utterances
    assert torch.allclose(frames, frames[:, :1].expand_as(frames))  # every frame is the envelope
    for speaker in range(4):
        own = frames[data.speakers == speaker]
        assert torch.allclose(own, own[:1].expand_as(own))
    assert not torch.allclose(frames[0], frames[3])  # speakers differ
    envelopes = frames[::3, 0]  # (4, F)
    assert torch.allclose(envelopes.std(dim=1), torch.ones(4))


def test_speaker_identity_survives_pooling():
    """Mean frames are closer within speakers than across: the data carry identity."""
    data = synthetic_speakers(10, 6, generator=3)
    pooled = data.utterances.mean(dim=1)  # (N, F)
    distances = torch.cdist(pooled, pooled)
    same = data.speakers[:, None] == data.speakers[None, :]
    off_diagonal = ~torch.eye(len(pooled), dtype=torch.bool)
    assert distances[same & off_diagonal].mean() < 0.5 * distances[~same].mean()


def test_crop_is_a_contiguous_window_of_the_utterance():
    utterances = torch.arange(2 * 10 * 3, dtype=torch.float64).view(2, 10, 3)
    views = crop_and_noise(utterances, 4, generator=0)
    assert views.shape == (2, 4, 3) and views.dtype == torch.float64
    for view, utterance in zip(views, utterances):
        start = int(view[0, 0].item() - utterance[0, 0].item()) // 3
        assert torch.equal(view, utterance[start : start + 4])
    noisy = crop_and_noise(utterances, 10, noise_std=0.5, generator=0)
    residual = noisy - utterances
    assert 0.3 < residual.std() < 0.7 and crop_and_noise(utterances, 10, generator=0).equal(utterances)


@pytest.mark.parametrize(
    "call, error, name",
    [
        (lambda: synthetic_speakers(0, 3), ValueError, "n_speakers"),
        (lambda: synthetic_speakers(3, 3, content_std=-1.0), ValueError, "content_std"),
        (lambda: crop_and_noise(torch.zeros(2, 5, 3), 6), ValueError, "crop"),
        (lambda: crop_and_noise(torch.zeros(2, 5), 2), ValueError, "utterances"),
        (lambda: crop_and_noise(torch.zeros(2, 5, 3), 2, noise_std=-0.1), ValueError, "noise_std"),
    ],
)
def test_bad_inputs_raise(call, error, name):
    with pytest.raises(error, match=name):
        call()

"""The t-SNE solver end to end: FFT vs exact runs, openTSNE's KL, determinism, options and bad inputs."""

from __future__ import annotations

import openTSNE
import pytest
import torch

from paperlab.solvers import (
    TSNEResult,
    fft_interpolation_repulsion,
    tsne,
    tsne_affinities,
    tsne_kl_divergence,
)
from paperlab.solvers.tsne_optimizer import TSNESchedule


def blobs(n=300, dim=10, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    centres = 6 * torch.randn(5, dim, generator=g, dtype=dtype)
    labels = torch.randint(0, 5, (n,), generator=g)
    return centres[labels] + torch.randn(n, dim, generator=g, dtype=dtype), labels


@pytest.fixture(scope="module")
def runs():
    X, labels = blobs()
    fft = tsne(X, perplexity=15.0, n_iter=300, early_exaggeration_iter=100)
    exact = tsne(
        X, perplexity=15.0, n_iter=300, early_exaggeration_iter=100, method="exact", affinities=fft.affinities
    )
    return X, labels, fft, exact


def test_result_fields_and_reported_kl(runs):
    X, _, fft, _ = runs
    assert isinstance(fft, TSNEResult)
    assert fft.embedding.shape == (300, 2) and fft.embedding.dtype == X.dtype
    assert fft.n_iter == 300 and fft.learning_rate == 50.0  # max(300 / 12 / 4, 50)
    Y = fft.embedding.double()
    own_z = fft_interpolation_repulsion(Y).z  # the run reports KL with its own interpolated Z
    assert fft.kl_divergence == pytest.approx(tsne_kl_divergence(fft.affinities, Y, own_z).item(), rel=1e-5)
    assert fft.kl_divergence == pytest.approx(tsne_kl_divergence(fft.affinities, Y).item(), rel=0.03)
    assert [it for it, _ in fft.kl_history] == [50, 100, 150, 200, 250, 300]
    assert fft.kl_history[-1][1] < fft.kl_history[2][1]  # the KL falls after the exaggeration phase


def test_fft_and_exact_runs_agree(runs):
    _, labels, fft, exact = runs
    # KL with the exact Z for both; after 300 iterations the two trajectories differ by a few percent
    fft_kl = tsne_kl_divergence(fft.affinities, fft.embedding.double()).item()
    assert fft_kl == pytest.approx(exact.kl_divergence, rel=0.05)
    for result in (
        fft,
        exact,
    ):  # both separate the five blobs: every point's nearest neighbour shares its label
        distances = torch.cdist(result.embedding, result.embedding).fill_diagonal_(float("inf"))
        assert (labels[distances.argmin(dim=1)] == labels).float().mean() > 0.95


def test_kl_close_to_opentsne_with_the_same_schedule():
    X, _ = blobs(300, seed=1)
    ours = tsne(X, perplexity=20.0, n_iter=300, early_exaggeration_iter=100)
    peer = openTSNE.TSNE(
        perplexity=20.0,
        n_iter=200,
        early_exaggeration_iter=100,
        early_exaggeration=12.0,
        learning_rate=4 * ours.learning_rate,  # openTSNE's gradient has no factor 4
        initial_momentum=0.5,
        final_momentum=0.8,
        neighbors="exact",
        negative_gradient_method="fft",
        random_state=0,
    ).fit(X.numpy())
    assert ours.kl_divergence == pytest.approx(float(peer.kl_divergence), rel=0.05)


def test_deterministic_with_seed_and_random_init():
    X, _ = blobs(120)
    first = tsne(X, perplexity=10.0, n_iter=60, early_exaggeration_iter=20, init="random", seed=3)
    again = tsne(X, perplexity=10.0, n_iter=60, early_exaggeration_iter=20, init="random", seed=3)
    other = tsne(X, perplexity=10.0, n_iter=60, early_exaggeration_iter=20, init="random", seed=4)
    torch.testing.assert_close(first.embedding, again.embedding, rtol=0, atol=0)
    assert not torch.allclose(first.embedding, other.embedding)


def test_one_dimensional_and_float64_and_given_init():
    X, _ = blobs(150, dtype=torch.float64)
    init = 1e-4 * torch.randn(150, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    result = tsne(X, n_components=1, perplexity=10.0, n_iter=80, early_exaggeration_iter=30, init=init)
    assert result.embedding.shape == (150, 1) and result.embedding.dtype == torch.float64
    assert torch.isfinite(result.embedding).all()


def test_exact_method_supports_three_components():
    X, _ = blobs(80)
    result = tsne(X, n_components=3, perplexity=8.0, n_iter=40, early_exaggeration_iter=10, method="exact")
    assert result.embedding.shape == (80, 3)


def test_late_exaggeration_schedule():
    schedule = TSNESchedule(
        n_iter=100,
        early_exaggeration=12.0,
        early_exaggeration_iter=20,
        late_exaggeration=3.0,
        late_exaggeration_iter=30,
        learning_rate=10.0,
    )
    factors = [schedule.exaggeration(i) for i in range(100)]
    assert factors[:20] == [12.0] * 20 and factors[20:70] == [1.0] * 50 and factors[70:] == [3.0] * 30
    assert schedule.momentum(19) == 0.5 and schedule.momentum(20) == 0.8


def test_late_exaggeration_tightens_clusters():
    X, labels = blobs(200, seed=2)
    P = tsne_affinities(X, perplexity=15.0)
    kwargs = dict(perplexity=15.0, n_iter=200, early_exaggeration_iter=60, affinities=P)
    plain = tsne(X, **kwargs).embedding
    late = tsne(X, late_exaggeration=4.0, late_exaggeration_iter=40, **kwargs).embedding

    def spread_ratio(Y):  # mean within-cluster over mean between-cluster distance
        d = torch.cdist(Y, Y)
        same = labels[:, None] == labels[None, :]
        return (d[same].mean() / d[~same].mean()).item()

    assert spread_ratio(late) < spread_ratio(plain)


def test_progress_bar_option(capsys):
    X, _ = blobs(60)
    tsne(X, perplexity=5.0, n_iter=50, early_exaggeration_iter=10, verbose=True)
    assert "t-SNE (fft)" in capsys.readouterr().err


def test_bad_inputs_raise():
    X, _ = blobs(40)
    P = tsne_affinities(X, perplexity=5.0)
    cases = [
        (dict(X=X[:, 0]), ValueError, "X"),
        (dict(X=X.long()), TypeError, "X"),
        (dict(X=X[:1]), ValueError, "X"),
        (dict(X=torch.full_like(X, float("inf"))), ValueError, "X"),
        (dict(X=X, method="bh"), ValueError, "method"),
        (dict(X=X, n_components=3), ValueError, "n_components"),
        (dict(X=X, n_components=0), ValueError, "n_components"),
        (dict(X=X, perplexity=40.0), ValueError, "perplexity"),
        (dict(X=X, n_iter=0), ValueError, "n_iter"),
        (dict(X=X, n_iter=100), ValueError, "early_exaggeration_iter"),
        (dict(X=X, learning_rate="fast"), ValueError, "learning_rate"),
        (dict(X=X, learning_rate=-1.0), ValueError, "learning_rate"),
        (dict(X=X, early_exaggeration=0.0), ValueError, "early_exaggeration"),
        (dict(X=X, init="spectral"), ValueError, "init"),
        (dict(X=X, init=torch.zeros(40, 3)), ValueError, "init"),
        (dict(X=X, affinities=P.to_dense()), TypeError, "P"),
        (dict(X=X[:20], affinities=P), ValueError, "P"),
        (dict(X=X, seed=-1), ValueError, "seed"),
        (dict(X=X, n_interpolation_points=0), ValueError, "n_interpolation_points"),
    ]
    for kwargs, error, name in cases:
        with pytest.raises(error, match=name):
            tsne(**kwargs)

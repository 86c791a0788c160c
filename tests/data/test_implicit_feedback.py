"""Tests for the synthetic implicit-feedback generator and the triple sampler."""

import pytest
import torch

from paperlab.data import sample_triples, synthetic_implicit_feedback


def test_split_is_disjoint_complete_and_deterministic():
    data = synthetic_implicit_feedback(60, 50, rank=4, interactions_per_user=10, test_fraction=0.3, seed=3)
    assert data.train.shape == data.test.shape == (60, 50)
    assert (data.train * data.test).sum() == 0
    torch.testing.assert_close(data.train.sum(1), torch.full((60,), 7.0, dtype=torch.float64))
    torch.testing.assert_close(data.test.sum(1), torch.full((60,), 3.0, dtype=torch.float64))
    again = synthetic_implicit_feedback(60, 50, rank=4, interactions_per_user=10, test_fraction=0.3, seed=3)
    assert torch.equal(data.train, again.train) and torch.equal(data.test, again.test)


def test_interactions_follow_the_latent_preferences():
    """Held-out items rank higher under the true factors than under a random ranking."""
    data = synthetic_implicit_feedback(200, 100, rank=4, popularity=0.0, temperature=0.3, seed=0)
    truth = data.user_factors @ data.item_factors.T
    test_scores = truth[data.test.bool()].mean()
    assert test_scores > truth.mean() + 0.5 * truth.std()


def test_popularity_skews_item_counts():
    flat = synthetic_implicit_feedback(300, 100, popularity=0.0, seed=1).train.sum(0)
    skewed = synthetic_implicit_feedback(300, 100, popularity=1.0, seed=1).train.sum(0)
    assert skewed.std() > 1.5 * flat.std()


def test_sample_triples_draws_training_interactions():
    data = synthetic_implicit_feedback(30, 40, interactions_per_user=5, seed=0)
    batch = sample_triples(data.train, batch_size=64, n_negatives=7, seed=1)
    assert batch.users.shape == (64,) and batch.negatives.shape == (64, 7)
    assert (data.train[batch.users, batch.positives] == 1).all()
    assert batch.negatives.min() >= 0 and batch.negatives.max() < 40


def test_bad_arguments():
    with pytest.raises(ValueError, match="interactions_per_user"):
        synthetic_implicit_feedback(10, 5, interactions_per_user=6)
    with pytest.raises(ValueError, match="test_fraction"):
        synthetic_implicit_feedback(10, 5, interactions_per_user=3, test_fraction=1.0)
    with pytest.raises(ValueError, match="temperature"):
        synthetic_implicit_feedback(temperature=0.0)
    with pytest.raises(ValueError, match="n_negatives"):
        sample_triples(torch.ones(3, 3), 4, 0)
    with pytest.raises(ValueError, match="train"):
        sample_triples(torch.zeros(3, 3), 4, 1)

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from paperlab.losses import Dist2Loss, dist2_loss, distance_soft_targets, metric_token_distances

INF, NAN = float("inf"), float("nan")


def number_vocabulary(n_numbers=9, n_symbols=3, dtype=torch.float64):
    """Number tokens 0..n-1 followed by symbols (NaN values)."""
    values = torch.cat([torch.arange(n_numbers, dtype=dtype), torch.full((n_symbols,), NAN, dtype=dtype)])
    return values, metric_token_distances(values)


def naive_soft_targets(target, distances, tau):
    """q(t | y) = exp(-d(t, y) / tau) / sum_t' exp(-d(t', y) / tau), written out directly."""
    weights = torch.exp(-distances[target] / tau)
    return weights / weights.sum(dim=-1, keepdim=True)


def naive_dist2(logits, target, distances, tau):
    """KL(q || softmax(z)) per item, with 0 log 0 = 0 (N, C)."""
    q = naive_soft_targets(target, distances, tau)
    return F.kl_div(F.log_softmax(logits, dim=1), q, reduction="none").sum(dim=1)


def make_batch(n=10, n_classes=12, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, n_classes, generator=g, dtype=dtype) * 2
    target = torch.randint(0, n_classes, (n,), generator=g)
    return logits, target


def test_metric_token_distances_numbers_and_grid():
    values, distances = number_vocabulary(4, 2)
    expected = torch.tensor(
        [[0, 1, 2, 3, INF, INF], [1, 0, 1, 2, INF, INF], [2, 1, 0, 1, INF, INF], [3, 2, 1, 0, INF, INF]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(distances[:4], expected)
    torch.testing.assert_close(distances[4:], torch.tensor([[INF] * 4 + [0, INF], [INF] * 5 + [0]]).double())
    grid = torch.cartesian_prod(torch.arange(3.0), torch.arange(4.0))  # (12, 2) cells of a 3 x 4 grid
    for p, metric in [(1.0, "cityblock"), (2.0, "euclidean")]:
        torch.testing.assert_close(
            metric_token_distances(grid, p=p), torch.from_numpy(cdist(grid, grid, metric)).float()
        )
    # the grid distance is not the distance of flattened indices: cells 3 and 4 are far apart
    assert metric_token_distances(grid)[3, 4] == 4


@pytest.mark.parametrize("tau", [0.3, 1.0, 4.0])
def test_soft_targets_match_the_formula(tau):
    _, distances = number_vocabulary()
    target = torch.tensor([0, 4, 8, 10])
    q = distance_soft_targets(target, distances, tau)
    torch.testing.assert_close(q, naive_soft_targets(target, distances, tau))
    torch.testing.assert_close(q.sum(-1), torch.ones(4, dtype=torch.float64))
    assert torch.equal(q[3], F.one_hot(torch.tensor(10), 12).double())  # a symbol gets a one-hot target
    assert (q[1, :4].diff() > 0).all() and (q[1, 4:9].diff() < 0).all()  # peaked at the true number


@pytest.mark.parametrize("tau", [0.5, 2.0])
def test_dist2_loss_matches_kl_and_soft_cross_entropy(tau):
    _, distances = number_vocabulary()
    logits, target = make_batch()
    ours = dist2_loss(logits, target, distances, tau, reduction="none")
    torch.testing.assert_close(ours, naive_dist2(logits, target, distances, tau))
    q = naive_soft_targets(target, distances, tau)
    entropy = -torch.xlogy(q, q).sum(1)
    torch.testing.assert_close(ours, F.cross_entropy(logits, q, reduction="none") - entropy)
    torch.testing.assert_close(dist2_loss(logits, target, distances, tau), ours.mean())


def test_infinite_distances_and_small_tau_give_cross_entropy():
    logits, target = make_batch()
    only_self = torch.full((12, 12), INF, dtype=torch.float64).fill_diagonal_(0.0)
    torch.testing.assert_close(dist2_loss(logits, target, only_self), F.cross_entropy(logits, target))
    _, distances = number_vocabulary()
    torch.testing.assert_close(
        dist2_loss(logits, target, distances, tau=1e-3), F.cross_entropy(logits, target)
    )


def test_callable_distances_match_the_matrix():
    _, distances = number_vocabulary()
    logits, target = make_batch(seed=1)
    torch.testing.assert_close(
        dist2_loss(logits, target, lambda y: distances[y], tau=1.5),
        dist2_loss(logits, target, distances, tau=1.5),
    )


def test_sequence_layout_with_ignore_index_matches_flat_call():
    _, distances = number_vocabulary()
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 12, 5, generator=g, dtype=torch.float64)  # (N, C, T)
    target = torch.randint(0, 12, (2, 5), generator=g)
    target[1, 2] = -1
    flat_logits, flat_target = logits.transpose(1, 2).reshape(-1, 12), target.reshape(-1)  # (N T, C), (N T,)
    kept = flat_target != -1
    ours = dist2_loss(logits, target, distances, ignore_index=-1)
    torch.testing.assert_close(ours, dist2_loss(flat_logits[kept], flat_target[kept], distances))
    per_position = dist2_loss(logits, target, distances, ignore_index=-1, reduction="none")
    assert per_position.shape == (2, 5) and per_position[1, 2] == 0
    torch.testing.assert_close(per_position.sum(), dist2_loss(logits, target, distances, 1.0, -1, "sum"))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.05, 20.0))
def test_loss_is_non_negative_and_zero_at_the_target_distribution(seed, tau):
    _, distances = number_vocabulary()
    logits, target = make_batch(seed=seed)
    assert (dist2_loss(logits, target, distances, tau, reduction="none") >= -1e-12).all()
    matched = torch.log(distance_soft_targets(target, distances, tau).clamp_min(1e-300))
    assert dist2_loss(matched, target, distances, tau).abs() < 1e-9


def test_near_misses_cost_less_than_far_misses():
    _, distances = number_vocabulary()
    target = torch.tensor([4, 4])
    logits = F.one_hot(torch.tensor([5, 8]), 12).double() * 6  # confident in 5 (near) and in 8 (far)
    near, far = dist2_loss(logits, target, distances, reduction="none")
    assert near < far
    ce_near, ce_far = F.cross_entropy(logits, target, reduction="none")
    torch.testing.assert_close(ce_near, ce_far)  # cross-entropy cannot tell them apart


def test_gradcheck_float64_and_module():
    _, distances = number_vocabulary()
    logits, target = make_batch(n=4, seed=3)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: dist2_loss(z, target, distances, 0.7), (logits,))
    module = Dist2Loss(distances, tau=0.7)
    assert "distances" in dict(module.named_buffers())
    torch.testing.assert_close(module(logits, target), dist2_loss(logits, target, distances, 0.7))
    float_module = Dist2Loss(distances.float())
    assert float_module(logits.detach().float(), target).dtype == torch.float32


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda z, t, d: (z, t.float(), d), "int64"),
        (lambda z, t, d: (z, t.clone().fill_(12), d), r"\[0, 12\)"),
        (lambda z, t, d: (z, t[:-1], d), "shape"),
        (lambda z, t, d: (z, t, d[:-1, :-1]), r"\(12, 12\)"),
        (lambda z, t, d: (z, t, d[:, :-1]), "square"),
        (lambda z, t, d: (z, t, -d), "non-negative"),
        (lambda z, t, d: (z, t, d + 1), "zero diagonal"),
        (lambda z, t, d: (z, t, d.clone().fill_(NAN)), "NaN"),
        (lambda z, t, d: (z, t, lambda y: d[y][:, 1:]), "12 entries"),
        (lambda z, t, d: (z, t, lambda y: torch.full_like(d[y], INF)), "finite entry"),
    ],
)
def test_bad_inputs_raise_value_error(change, match):
    _, distances = number_vocabulary()
    logits, target = make_batch()
    with pytest.raises(ValueError, match=match):
        dist2_loss(*change(logits, target, distances))


def test_bad_options_raise():
    _, distances = number_vocabulary()
    logits, target = make_batch()
    with pytest.raises(ValueError, match="tau"):
        dist2_loss(logits, target, distances, tau=0.0)
    with pytest.raises(ValueError, match="reduction"):
        dist2_loss(logits, target, distances, reduction="mean_all")
    with pytest.raises(TypeError, match="distances"):
        Dist2Loss("grid")
    with pytest.raises(ValueError, match="target"):
        distance_soft_targets(torch.tensor([12]), distances)
    with pytest.raises(ValueError, match="p"):
        metric_token_distances(torch.arange(3.0), p=0.5)
    with pytest.raises(ValueError, match="coordinates"):
        metric_token_distances(torch.tensor([0.0, INF]))

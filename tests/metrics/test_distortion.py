"""Tests for distortion and graph-reconstruction MAP."""

import pytest
import torch
from sklearn.metrics import label_ranking_average_precision_score

from paperlab.metrics.distortion import average_distortion, graph_reconstruction_map, worst_case_distortion


def random_distances(n, seed):
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return torch.cdist(x, x)


def test_average_distortion_closed_form():
    true = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]], dtype=torch.float64)
    embedded = torch.tensor([[0.0, 1.5, 2.0], [1.5, 0.0, 0.5], [2.0, 0.5, 0.0]], dtype=torch.float64)
    # pairs: |1.5 - 1| / 1, |2 - 2| / 2, |0.5 - 1| / 1 -> mean 1/3
    assert average_distortion(embedded, true).item() == pytest.approx(1 / 3)
    # worst case: max ratio 1.5 times max inverse ratio 2
    assert worst_case_distortion(embedded, true).item() == pytest.approx(3.0)
    assert average_distortion(true, true).item() == 0
    assert worst_case_distortion(2 * true, true).item() == pytest.approx(1.0)


def test_worst_case_is_infinite_when_points_collapse():
    true = random_distances(4, 0)
    collapsed = true.clone()
    collapsed[0, 1] = collapsed[1, 0] = 0
    assert worst_case_distortion(collapsed, true).item() == float("inf")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_map_matches_sklearn_label_ranking_average_precision(seed):
    n = 25
    d = random_distances(n, seed)
    g = torch.Generator().manual_seed(seed + 10)
    upper = torch.triu(torch.rand(n, n, generator=g) < 0.2, diagonal=1)
    adjacency = upper | upper.T
    keep = adjacency.any(1)
    off_diagonal = ~torch.eye(n, dtype=torch.bool)
    labels = adjacency[off_diagonal].reshape(n, n - 1)[keep]  # (n', n - 1) self removed
    scores = -d[off_diagonal].reshape(n, n - 1)[keep]  # (n', n - 1)
    expected = label_ranking_average_precision_score(labels.numpy(), scores.numpy())
    assert graph_reconstruction_map(d, adjacency).item() == pytest.approx(expected, rel=1e-12)


def test_map_is_one_for_a_path_on_a_line_and_lower_when_shuffled():
    n = 10
    line = torch.arange(n, dtype=torch.float64)[:, None]
    adjacency = (line - line.T).abs() == 1
    assert graph_reconstruction_map(torch.cdist(line, line), adjacency).item() == 1.0
    shuffled = line[torch.randperm(n, generator=torch.Generator().manual_seed(0))]
    assert graph_reconstruction_map(torch.cdist(shuffled, shuffled), adjacency).item() < 1.0


def test_bad_inputs():
    d = random_distances(4, 0)
    with pytest.raises(ValueError, match="true_distances"):
        average_distortion(d, d[:3, :3])
    with pytest.raises(ValueError, match="true_distances"):
        worst_case_distortion(d, torch.zeros(4, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="distances"):
        average_distortion(torch.zeros(4, 3, dtype=torch.float64), d)
    with pytest.raises(ValueError, match="adjacency"):
        graph_reconstruction_map(d, torch.eye(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="adjacency"):
        graph_reconstruction_map(d, torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="adjacency"):
        graph_reconstruction_map(d, 2 * torch.ones(4, 4) - 2 * torch.eye(4))
    with pytest.raises(TypeError, match="distances"):
        graph_reconstruction_map(d.long(), torch.ones(4, 4, dtype=torch.bool))

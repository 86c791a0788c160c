"""N-way K-shot few-shot episodes with query sets, balanced or with Dirichlet-imbalanced class counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from paperlab._checks import check_positive, check_tensor
from paperlab._random import as_generator


@dataclass
class FewShotEpisodes:
    """A batch of E few-shot episodes drawn from one labelled feature set.

    Attributes:
        support: support features, shape (E, n_way * n_shot, D), grouped by class.
        support_labels: episode labels 0..n_way-1 of the supports, shape (E, n_way * n_shot).
        query: query features, shape (E, n_query_total, D), in random order.
        query_labels: episode labels 0..n_way-1 of the queries, shape (E, n_query_total).
        classes: the original class of each episode label, shape (E, n_way).
    """

    support: torch.Tensor
    support_labels: torch.Tensor
    query: torch.Tensor
    query_labels: torch.Tensor
    classes: torch.Tensor

    @property
    def query_proportions(self) -> torch.Tensor:
        """Fraction of each episode's queries in each class, shape (E, n_way)."""
        n_way = self.classes.shape[1]
        counts = torch.nn.functional.one_hot(self.query_labels, n_way).sum(1)  # (E, n_way)
        return counts.to(self.query.dtype) / self.query_labels.shape[1]


def _query_counts(n_way, n_query, imbalance, available, generator, rng):
    """Per-class query counts summing to n_way * n_query: equal, or Dirichlet-multinomial draws."""
    total = n_way * n_query
    if imbalance is None:
        return [n_query] * n_way
    for _ in range(1000):
        proportions = torch.as_tensor(rng.dirichlet(np.full(n_way, imbalance)), dtype=torch.float64)
        draws = torch.multinomial(proportions, total, replacement=True, generator=generator)
        counts = torch.bincount(draws, minlength=n_way).tolist()
        if all(c <= a for c, a in zip(counts, available)):
            return counts
    raise ValueError(
        f"could not draw {total} imbalanced queries within the {min(available)} images left in the "
        "smallest class; lower n_query or raise imbalance"
    )


def fewshot_episodes(
    features: torch.Tensor,
    labels: torch.Tensor,
    n_way: int = 5,
    n_shot: int = 1,
    n_query: int = 15,
    n_episodes: int = 100,
    classes=None,
    imbalance: float | None = None,
    seed=None,
) -> FewShotEpisodes:
    r"""Sample N-way K-shot episodes: n_way classes, n_shot supports and queries per class.

    Each episode picks ``n_way`` classes at random among ``classes``, then, without replacement inside
    the episode, ``n_shot`` supports and the queries of each class. Balanced episodes have ``n_query``
    queries per class. With ``imbalance = a`` the class proportions of the ``n_way * n_query`` queries
    follow a symmetric Dirichlet, :math:`p \sim \mathrm{Dir}(a \mathbf{1})`, and the counts a multinomial
    draw from p (smaller ``a``, stronger imbalance), the realistic setting of transductive few-shot
    benchmarks with imbalanced query sets.

    Args:
        features: one row per example, shape (N, D).
        labels: int64 class of each row, shape (N,).
        n_way, n_shot, n_query: classes per episode, supports and (mean) queries per class.
        n_episodes: number of episodes E.
        classes: the classes episodes draw from (default: every class in ``labels``).
        imbalance: None for balanced queries, else the Dirichlet concentration a > 0.
        seed: None, an int or a torch.Generator (see ``paperlab._random.as_generator``).

    Returns:
        FewShotEpisodes with tensors on the device of ``features``.
    """
    check_tensor("features", features, dim=2, floating=True)
    check_tensor("labels", labels, dim=1)
    if labels.dtype != torch.int64:
        raise TypeError(f"labels must be int64, got dtype {labels.dtype}")
    if len(labels) != len(features):
        raise ValueError(f"labels must have {len(features)} entries (one per row), got {len(labels)}")
    for name, value in (
        ("n_way", n_way),
        ("n_shot", n_shot),
        ("n_query", n_query),
        ("n_episodes", n_episodes),
    ):
        check_positive(name, value, integer=True)
    if imbalance is not None:
        check_positive("imbalance", imbalance)
    generator = as_generator(seed)
    labels_cpu = labels.cpu()
    pool = torch.unique(labels_cpu) if classes is None else torch.as_tensor(list(classes), dtype=torch.int64)
    if len(pool) < n_way:
        raise ValueError(f"n_way must be at most the {len(pool)} classes available, got {n_way}")
    members = {int(c): torch.nonzero(labels_cpu == c).squeeze(1) for c in pool}
    smallest = min(len(rows) for rows in members.values())
    needed, rule = (
        (n_shot + 1, "n_shot + 1") if imbalance is not None else (n_shot + n_query, "n_shot + n_query")
    )
    if smallest < needed:
        raise ValueError(f"every class needs {rule} = {needed} examples, the smallest has {smallest}")
    # numpy draws the Dirichlet proportions, seeded from the torch generator so one seed fixes all
    rng = np.random.default_rng(int(torch.randint(2**62, (1,), generator=generator)))

    support_rows, query_rows, query_labels, episode_classes = [], [], [], []
    for _ in range(n_episodes):
        chosen = pool[torch.randperm(len(pool), generator=generator)[:n_way]]  # (n_way,)
        available = [len(members[int(c)]) - n_shot for c in chosen]
        counts = _query_counts(n_way, n_query, imbalance, available, generator, rng)
        supports, queries, targets = [], [], []
        for label, (c, count) in enumerate(zip(chosen.tolist(), counts)):
            rows = members[c][torch.randperm(len(members[c]), generator=generator)]
            supports.append(rows[:n_shot])
            queries.append(rows[n_shot : n_shot + count])
            targets.append(torch.full((count,), label, dtype=torch.int64))
        order = torch.randperm(n_way * n_query, generator=generator)
        support_rows.append(torch.cat(supports))
        query_rows.append(torch.cat(queries)[order])
        query_labels.append(torch.cat(targets)[order])
        episode_classes.append(chosen)

    device = features.device
    support_index = torch.stack(support_rows).to(device)  # (E, n_way * n_shot)
    query_index = torch.stack(query_rows).to(device)  # (E, n_way * n_query)
    support_labels = torch.arange(n_way).repeat_interleave(n_shot).expand(n_episodes, -1)
    return FewShotEpisodes(
        support=features[support_index],
        support_labels=support_labels.contiguous().to(device),
        query=features[query_index],
        query_labels=torch.stack(query_labels).to(device),
        classes=torch.stack(episode_classes).to(device),
    )

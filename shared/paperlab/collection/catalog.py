"""The catalog of papers (``papers/catalog.yaml``): loading, validation and index generation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from paperlab.collection.paths import papers_dir

STATUSES = ("planned", "done", "out-of-scope")
VERDICTS = ("reproduce", "illustrate", "out-of-scope")
TOPICS = (
    "classification_losses", "contrastive_learning", "data_selection", "dimensionality_reduction",
    "generative_models", "graphs", "intrinsic_dimension", "knowledge_distillation", "learning_theory",
    "low_rank", "metric_learning", "optimal_transport", "optimization", "pruning", "quantization",
    "recommender_systems", "regression_losses", "representation_learning", "robustness", "sequence_models",
    "tensor_networks", "transformers",
)  # fmt: skip
REQUIRED = ("slug", "title", "year", "listings", "topic", "verdict", "reason", "status")


class CatalogError(ValueError):
    """The catalog and the notebooks on disk disagree; the message lists every problem."""


@dataclass
class Paper:
    """One catalog entry."""

    slug: str
    title: str
    year: str
    listings: list[str]
    topic: str
    verdict: str
    reason: str
    status: str
    notebook: str | None = None
    claim: str | None = None
    extra: dict = field(default_factory=dict)

    def source(self, papers: Path) -> Path:
        """The py:percent source of the notebook (papers/<topic>/<slug>.py)."""
        return papers / self.topic / f"{self.slug}.py"

    def executed(self, papers: Path) -> Path:
        """The committed, executed notebook (papers/<topic>/<slug>.ipynb)."""
        return papers / self.topic / f"{self.slug}.ipynb"


@dataclass
class Catalog:
    papers: list[Paper]
    folder: Path

    def by_slug(self) -> dict[str, Paper]:
        return {p.slug: p for p in self.papers}

    def done(self) -> list[Paper]:
        return [p for p in self.papers if p.status == "done"]


def load_catalog(folder: Path | None = None, validate: bool = True) -> Catalog:
    """Read ``papers/catalog.yaml`` into a :class:`Catalog`; validate it unless asked not to."""
    folder = folder or papers_dir()
    entries = yaml.safe_load((folder / "catalog.yaml").read_text()) or []
    papers = []
    for i, entry in enumerate(entries):
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise CatalogError(f"catalog entry {i} ({entry.get('slug', '?')}) lacks {', '.join(missing)}")
        known = {k: entry[k] for k in (*REQUIRED, "notebook", "claim") if k in entry}
        extra = {k: v for k, v in entry.items() if k not in known}
        papers.append(Paper(**known, extra=extra))
    catalog = Catalog(papers=papers, folder=folder)
    if validate:
        problems = catalog_problems(catalog)
        if problems:
            raise CatalogError("catalog problems:\n- " + "\n- ".join(problems))
    return catalog


def catalog_problems(catalog: Catalog) -> list[str]:
    """Every inconsistency between the catalog and the files under papers/."""
    problems = []
    counts = Counter(p.slug for p in catalog.papers)
    problems += [f"slug {slug!r} appears {n} times" for slug, n in counts.items() if n > 1]
    for p in catalog.papers:
        if p.topic not in TOPICS:
            problems.append(f"{p.slug}: unknown topic {p.topic!r}")
        if p.status not in STATUSES:
            problems.append(f"{p.slug}: unknown status {p.status!r} (expected one of {STATUSES})")
        if p.verdict not in VERDICTS:
            problems.append(f"{p.slug}: unknown verdict {p.verdict!r} (expected one of {VERDICTS})")
        if (p.verdict == "out-of-scope") != (p.status == "out-of-scope"):
            problems.append(f"{p.slug}: verdict {p.verdict!r} does not match status {p.status!r}")
        if p.status == "done":
            expected = f"{p.topic}/{p.slug}.ipynb"
            if p.notebook != expected:
                problems.append(f"{p.slug}: done entries need notebook: {expected}, got {p.notebook!r}")
            if not p.claim:
                problems.append(f"{p.slug}: done entries need a one-line claim")
            for path in (p.source(catalog.folder), p.executed(catalog.folder)):
                if not path.is_file():
                    problems.append(f"{p.slug}: done but {path.relative_to(catalog.folder)} is missing")
    known = {(p.topic, p.slug) for p in catalog.done()}
    for source in sorted(catalog.folder.glob("*/*.py")):
        if (source.parent.name, source.stem) not in known:
            problems.append(f"{source.relative_to(catalog.folder)} has no done catalog entry")
    return problems

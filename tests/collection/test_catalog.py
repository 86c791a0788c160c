"""The committed collection is consistent: catalog <-> files, pairs in sync, parameters cells well formed."""

import re

import pytest

from paperlab.collection.catalog import Catalog, Paper, catalog_problems, load_catalog
from paperlab.collection.notebooks import notebook_parameters, pair_difference, read_source

CATALOG = load_catalog(validate=False)
DONE = CATALOG.done()


def test_catalog_is_valid_and_complete():
    assert catalog_problems(CATALOG) == []
    assert len(CATALOG.papers) == 357
    assert DONE, "at least one paper must be done"


@pytest.mark.parametrize("paper", DONE, ids=lambda p: p.slug)
def test_pair_in_sync(paper):
    difference = pair_difference(paper.source(CATALOG.folder), paper.executed(CATALOG.folder))
    assert difference is None, (
        f"{difference}: edit the .py, then run `make execute ARGS='--paper {paper.slug}'`"
    )


@pytest.mark.parametrize("paper", DONE, ids=lambda p: p.slug)
def test_parameters_cell_defines_profile_seed_device(paper):
    parameters = notebook_parameters(read_source(paper.source(CATALOG.folder)))
    assert parameters["profile"] == "ci" and parameters["seed"] == 0 and parameters["device"] == "auto"


@pytest.mark.parametrize("paper", DONE, ids=lambda p: p.slug)
def test_notebook_checks_claims_and_reports(paper):
    source = paper.source(CATALOG.folder).read_text()
    assert re.search(r"exp\.check(_below|_above)?\(", source), "the notebook checks no claim"
    assert "# NBVAL_CHECK_OUTPUT\nexp.report()" in source
    assert "setup(seed=seed, device=device, profile=profile)" in source


def entry(slug, topic="optimal_transport", status="planned", verdict="reproduce"):
    return Paper(slug, "A title", "2024", ["000"], topic, verdict, "why", status)


def test_problems_are_detected(tmp_path):
    (tmp_path / "optimal_transport").mkdir()
    (tmp_path / "optimal_transport" / "orphan.py").write_text("")
    papers = [
        entry("twice"),
        entry("twice"),
        entry("lost", topic="astrology"),
        entry("wrong_status", status="finished"),
        entry("mismatch", verdict="out-of-scope"),
        entry("claimed_done", status="done"),
    ]
    problems = "\n".join(catalog_problems(Catalog(papers, tmp_path)))
    expected = [
        "'twice' appears 2 times",
        "unknown topic 'astrology'",
        "unknown status 'finished'",
        "does not match status",
        "claimed_done: done entries need notebook",
        "optimal_transport/claimed_done.py is missing",
        "orphan.py has no done catalog entry",
    ]
    for message in expected:
        assert message in problems

"""The runner: selection and parameter errors before anything runs, and real executions of tiny notebooks."""

import json

import pytest

from paperlab.collection.__main__ import _overrides
from paperlab.collection.catalog import Catalog, Paper
from paperlab.collection.report import markdown_report
from paperlab.collection.runner import make_jobs, run_job, run_jobs, select_papers

NOTEBOOK = """# %% tags=["parameters"]
profile = "ci"
seed = 0
device = "auto"
threshold = 0.5

# %%
from paperlab.experiment import setup

exp = setup(seed=seed, device=device, profile=profile)
exp.check("value below threshold", 0.25 < threshold, value=0.25, expect=f"< {threshold}")

# %%
# NBVAL_CHECK_OUTPUT
exp.report()
"""


@pytest.fixture
def collection(tmp_path):
    folder = tmp_path / "papers"
    (folder / "optimal_transport").mkdir(parents=True)
    (folder / "optimal_transport" / "tiny.py").write_text(NOTEBOOK)
    paper = Paper(
        "tiny",
        "Tiny",
        "2024",
        ["000"],
        "optimal_transport",
        "reproduce",
        "test",
        "done",
        "optimal_transport/tiny.ipynb",
        "a claim",
    )
    planned = Paper("later", "Later", "2024", ["000"], "optimal_transport", "reproduce", "test", "planned")
    return Catalog([paper, planned], folder)


def test_selection_errors(collection):
    with pytest.raises(ValueError, match="unknown paper slug"):
        select_papers(collection, slugs=["nope"])
    with pytest.raises(ValueError, match="unknown topic"):
        select_papers(collection, topics=["astrology"])
    with pytest.raises(ValueError, match="status not done"):
        select_papers(collection, slugs=["later"])
    assert [p.slug for p in select_papers(collection)] == ["tiny"]


def test_unknown_parameter_or_profile_is_an_error_before_running(collection, tmp_path):
    papers = select_papers(collection)
    with pytest.raises(ValueError, match="has no parameter"):
        make_jobs(papers, collection, tmp_path / "build", "ci", 0, {"n_points": 3})
    with pytest.raises(ValueError, match="profile must be one of"):
        make_jobs(papers, collection, tmp_path / "build", "huge", 0, {})
    with pytest.raises(ValueError, match="key=value"):
        _overrides(["threshold"])
    assert _overrides(["threshold=0.1", "name=abc"]) == {"threshold": 0.1, "name": "abc"}


@pytest.mark.parametrize("threshold, status", [(0.5, "passed"), (0.1, "failed")])
def test_run_job_executes_and_records_claims(collection, tmp_path, threshold, status):
    [job] = make_jobs(
        select_papers(collection), collection, tmp_path / "build", "ci", 1, {"threshold": threshold}
    )
    outcome = run_job(job)
    assert outcome.status == status
    assert outcome.claims[0]["passed"] == (status == "passed")
    if status == "failed":
        assert "value below threshold" in outcome.error
    record = json.loads((tmp_path / "build" / "results" / "tiny.json").read_text())
    assert record["seed"] == 1
    assert "tiny" in markdown_report([outcome], "ci", 1)
    assert not (collection.folder / "optimal_transport" / "tiny.ipynb").exists()  # sources untouched
    resumed = run_jobs([job], n_jobs=1, resume=True)[0].status
    assert resumed == ("skipped" if status == "passed" else "failed")  # only good runs are skipped

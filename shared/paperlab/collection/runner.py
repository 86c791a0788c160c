"""Execute notebooks with papermill, in parallel, never touching the sources.

Each job converts ``papers/<topic>/<slug>.py`` through jupytext, runs it with papermill into
``build/executed/<topic>/<slug>.ipynb`` and reads back the claims record that ``exp.report()`` writes
into ``build/results/``. ``--resume`` skips a notebook whose source, package and parameters are
unchanged since its last good run.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

import paperlab
from paperlab.collection.catalog import Catalog, Paper
from paperlab.collection.notebooks import notebook_parameters, read_source, strip_run_metadata

PROFILES = ("ci", "paper")
# numpy's BLAS pinned like torch, so that ci numbers do not depend on the machine's core count
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class Job:
    """One notebook to execute and where its outputs go."""

    slug: str
    topic: str
    source: str
    output: str
    results: str
    parameters: dict
    stamp: str
    stamp_path: str  # where the last outcome is recorded, for --resume (always under build/)


@dataclass
class Outcome:
    """What happened to one notebook: ran or not, its claims, its duration, and an error excerpt."""

    slug: str
    topic: str
    status: str  # "passed", "failed" (a claim failed or the notebook raised), "skipped" (resumed)
    duration_s: float = 0.0
    claims: list = field(default_factory=list)
    error: str = ""


def select_papers(catalog: Catalog, topics=(), slugs=()) -> list[Paper]:
    """The done papers of the chosen topics and slugs (all done papers when neither is given)."""
    done = catalog.done()
    known_slugs = {p.slug for p in catalog.papers}
    unknown = [s for s in slugs if s not in known_slugs]
    if unknown:
        raise ValueError(f"unknown paper slug(s): {', '.join(unknown)}")
    known_topics = {p.topic for p in catalog.papers}
    unknown = [t for t in topics if t not in known_topics]
    if unknown:
        raise ValueError(f"unknown topic(s): {', '.join(unknown)} (known: {', '.join(sorted(known_topics))})")
    not_done = [s for s in slugs if s not in {p.slug for p in done}]
    if not_done:
        raise ValueError(f"paper(s) without a notebook yet (status not done): {', '.join(not_done)}")
    chosen = [p for p in done if (not topics and not slugs) or p.topic in topics or p.slug in slugs]
    if not chosen:
        raise ValueError("no done paper matches the selection")
    return chosen


def package_fingerprint() -> str:
    """A hash of the package version and its source files, so a code change invalidates --resume."""
    digest = hashlib.sha256(paperlab.__version__.encode())
    for path in sorted(Path(paperlab.__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def make_jobs(papers, catalog: Catalog, build: Path, profile: str, seed: int, overrides: dict) -> list[Job]:
    """Check parameter names against each notebook's parameters cell, then describe the jobs."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    package = package_fingerprint()
    jobs = []
    for paper in papers:
        source = paper.source(catalog.folder)
        defaults = notebook_parameters(read_source(source))
        unknown = [name for name in overrides if name not in defaults]
        if unknown:
            raise ValueError(
                f"{paper.slug} has no parameter(s) {', '.join(unknown)}; it knows {', '.join(defaults)}"
            )
        parameters = {**overrides, "profile": profile, "seed": seed}
        stamp_text = json.dumps([source.read_text(), package, parameters], sort_keys=True, default=str)
        jobs.append(Job(
            slug=paper.slug,
            topic=paper.topic,
            source=str(source),
            output=str(build / "executed" / paper.topic / f"{paper.slug}.ipynb"),
            results=str(build / "results"),
            parameters=parameters,
            stamp=hashlib.sha256(stamp_text.encode()).hexdigest(),
            stamp_path=str(build / "stamps" / paper.topic / f"{paper.slug}.json"),
        ))  # fmt: skip
    return jobs


def is_fresh(job: Job) -> bool:
    """True when the last run of this job passed with the same source, package and parameters."""
    path = Path(job.stamp_path)
    if not path.is_file():
        return False
    previous = json.loads(path.read_text())
    return previous.get("stamp") == job.stamp and previous.get("status") == "passed"


def run_job(job: Job) -> Outcome:
    """Execute one notebook (in a worker process); never raises, the outcome says what happened."""
    import papermill

    os.environ["PAPERLAB_SLUG"] = job.slug
    os.environ["PAPERLAB_RESULTS"] = job.results
    if job.parameters.get("profile", "ci") == "ci":  # the ci budget is one core per notebook
        os.environ.update(ONE_THREAD)
    record = Path(job.results) / f"{job.slug}.json"
    record.unlink(missing_ok=True)
    Path(job.output).parent.mkdir(parents=True, exist_ok=True)
    Path(job.stamp_path).parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    error = ""
    try:
        notebook = read_source(Path(job.source))
        executed = papermill.execute_notebook(
            notebook, None, parameters=job.parameters, cwd=str(Path(job.source).parent),
            kernel_name="python3", language="python", progress_bar=False,
        )  # fmt: skip
        import nbformat

        nbformat.write(strip_run_metadata(executed), job.output)
    except Exception as err:  # a failing notebook must not stop the others
        error = _error_excerpt(err)
    duration = time.perf_counter() - started
    claims = json.loads(record.read_text())["claims"] if record.is_file() else []
    passed = not error and claims and all(c["result"] != "FAIL" for c in claims)
    outcome = Outcome(
        job.slug, job.topic, "passed" if passed else "failed", round(duration, 2), claims, error
    )
    Path(job.stamp_path).write_text(json.dumps({"stamp": job.stamp, **asdict(outcome)}, indent=2))
    return outcome


def _error_excerpt(err: Exception, limit: int = 1500) -> str:
    """The useful tail of an error: papermill's message names the failing cell and exception."""
    text = str(err) or "".join(traceback.format_exception_only(type(err), err))
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[-25:])[-limit:]


def run_jobs(jobs: list[Job], n_jobs: int, resume: bool = False) -> list[Outcome]:
    """Run the jobs on ``n_jobs`` worker processes with a progress bar; resumed jobs are skipped."""
    outcomes, pending = [], []
    for job in jobs:
        if resume and is_fresh(job):
            previous = json.loads(Path(job.stamp_path).read_text())
            outcomes.append(
                Outcome(job.slug, job.topic, "skipped", previous["duration_s"], previous["claims"])
            )
        else:
            pending.append(job)
    with tqdm(total=len(pending), desc="notebooks", unit="nb") as bar:
        with ProcessPoolExecutor(max_workers=max(1, min(n_jobs, len(pending) or 1))) as pool:
            futures = {pool.submit(run_job, job): job for job in pending}
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                bar.set_postfix_str(f"{outcome.slug}: {outcome.status}")
                bar.update()
    return sorted(outcomes, key=lambda o: (o.topic, o.slug))

"""Command line of the collection: ``python -m paperlab.collection {run,execute,catalog,test}``."""

from __future__ import annotations

import argparse
import os
import sys

from paperlab.collection.catalog import load_catalog
from paperlab.collection.index import write_indexes
from paperlab.collection.notebooks import parse_value
from paperlab.collection.paths import build_dir, repo_root
from paperlab.collection.report import write_reports
from paperlab.collection.runner import PROFILES, make_jobs, run_jobs, select_papers


def _overrides(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ValueError(f"-p expects key=value with a Python name as key, got {pair!r}")
        if name in ("profile", "seed"):
            raise ValueError(f"set {name} with --{name}, not -p")
        values[name] = parse_value(text)
    return values


def _selection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--topic", action="append", default=[], help="run every done paper of a topic")
    parser.add_argument("--paper", action="append", default=[], help="run one paper by slug")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="notebooks run in parallel")


def command_run(args) -> int:
    catalog = load_catalog()
    papers = select_papers(catalog, args.topic, args.paper)
    build = build_dir(catalog.folder.parent)
    jobs = make_jobs(papers, catalog, build, args.profile, args.seed, _overrides(args.parameter))
    outcomes = run_jobs(jobs, args.jobs, resume=args.resume)
    md, page = write_reports(outcomes, build, args.profile, args.seed)
    for o in outcomes:
        held = f"{sum(c['passed'] for c in o.claims)}/{len(o.claims)} claims"
        print(f"{o.status:>8}  {o.duration_s:6.1f} s  {held:>10}  {o.topic}/{o.slug}")
        if o.error:
            print("          " + o.error.replace("\n", "\n          "))
    bad = [o for o in outcomes if o.status == "failed"]
    print(f"report: {md} and {page}")
    print(f"notebooks: {len(outcomes) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


def command_execute(args) -> int:
    """Re-execute notebooks in place (ci profile, seed 0, no injected parameters) for committing."""
    catalog = load_catalog(validate=False)
    papers = select_papers(catalog, args.topic, args.paper)
    jobs = make_jobs(papers, catalog, build_dir(catalog.folder.parent), "ci", 0, {})
    for job, paper in zip(jobs, papers):
        job.output = str(paper.executed(catalog.folder))
        job.parameters = {}
    outcomes = run_jobs(jobs, args.jobs)
    for o in outcomes:
        print(
            f"{o.status:>8}  {o.duration_s:6.1f} s  {o.topic}/{o.slug}" + (f"\n{o.error}" if o.error else "")
        )
    return 0 if all(o.status == "passed" for o in outcomes) else 1


def command_catalog(args) -> int:
    for path in write_indexes(load_catalog()):
        print(f"wrote {path.relative_to(repo_root())}")
    return 0


def command_test(args) -> int:
    from paperlab.collection.stages import run_stages, test_stages

    os.chdir(repo_root())
    return run_stages(test_stages(str(args.jobs)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlab.collection", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="execute notebooks into build/ and write the report")
    _selection_arguments(run)
    run.add_argument("--profile", default="ci", choices=PROFILES)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("-p", "--parameter", action="append", default=[], metavar="KEY=VALUE")
    run.add_argument(
        "--resume", action="store_true", help="skip notebooks unchanged since their last good run"
    )
    run.set_defaults(handler=command_run)
    execute = commands.add_parser("execute", help="re-execute notebooks in place (ci, seed 0) to commit them")
    _selection_arguments(execute)
    execute.set_defaults(handler=command_execute)
    commands.add_parser("catalog", help="regenerate papers/README.md and the topic indexes").set_defaults(
        handler=command_catalog
    )
    test = commands.add_parser("test", help="lint, unit tests, nbval and the seed=1 collection run")
    test.add_argument("--jobs", default="auto")
    test.set_defaults(handler=command_test)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The collection report: totals first, then per paper its status, claims, duration and errors."""

from __future__ import annotations

import html
import platform
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from paperlab.collection.runner import Outcome
from paperlab.experiment import round_sig


def _value(claim: dict) -> str:
    return "" if claim.get("value") is None else f"{round_sig(claim['value']):.3g}"


def _summary(outcomes: list[Outcome], profile: str, seed: int) -> list[str]:
    counts = Counter(o.status for o in outcomes)
    claims = [c for o in outcomes for c in o.claims]
    held = sum(c["passed"] for c in claims)
    unreproduced = sum(c["result"] == "NOT REPRODUCED" for c in claims)
    durations = sorted(o.duration_s for o in outcomes)
    median = durations[len(durations) // 2] if durations else 0.0
    return [
        f"{len(outcomes)} notebooks: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['skipped']} skipped (resumed)",
        f"{held} of {len(claims)} claims held; {unreproduced} claims of the papers not reproduced at this scale",
        f"profile {profile}, seed {seed}; median notebook {median:.1f} s, slowest {max(durations, default=0):.1f} s",
        f"python {platform.python_version()}, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
    ]


def markdown_report(outcomes: list[Outcome], profile: str, seed: int) -> str:
    """The report as markdown."""
    lines = ["# PaperLab collection report", "", *(f"- {s}" for s in _summary(outcomes, profile, seed)), ""]
    lines += ["| paper | topic | status | duration (s) | claims held |", "|---|---|---|---|---|"]
    for o in outcomes:
        held = f"{sum(c['passed'] for c in o.claims)}/{len(o.claims)}"
        lines.append(f"| [{o.slug}](#{o.slug}) | {o.topic} | {o.status} | {o.duration_s:.1f} | {held} |")
    for o in outcomes:
        lines += ["", f"## {o.slug}", "", f"{o.topic} · **{o.status}** · {o.duration_s:.1f} s", ""]
        if o.claims:
            lines += ["| claim | value | expect | result |", "|---|---|---|---|"]
            for c in o.claims:
                lines.append(f"| {c['name']} | {_value(c)} | {c['expect']} | {c['result']} |")
        if o.error:
            lines += ["", "```", o.error, "```"]
    return "\n".join(lines) + "\n"


def html_report(outcomes: list[Outcome], profile: str, seed: int) -> str:
    """The report as a standalone HTML page."""
    e = html.escape
    rows = []
    for o in outcomes:
        claims = "".join(
            f"<tr class='{'ok' if c['passed'] else 'bad'}'><td>{e(c['name'])}</td><td>{_value(c)}</td>"
            f"<td>{e(c['expect'])}</td><td>{c['result']}</td></tr>"
            for c in o.claims
        )
        error = f"<pre>{e(o.error)}</pre>" if o.error else ""
        rows.append(
            f"<section id='{e(o.slug)}'><h2>{e(o.slug)} <span class='{o.status}'>{o.status}</span></h2>"
            f"<p>{e(o.topic)} · {o.duration_s:.1f} s</p>"
            f"<table><tr><th>claim</th><th>value</th><th>expect</th><th>result</th></tr>{claims}</table>"
            f"{error}</section>"
        )
    summary = "".join(f"<li>{e(s)}</li>" for s in _summary(outcomes, profile, seed))
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.2em .6em}.ok td:last-child,.passed{color:#1a7f37}"
        ".bad td:last-child,.failed{color:#cf222e}.skipped{color:#777}pre{background:#f6f8fa;padding:1em}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>PaperLab report</title><style>{style}</style>"
        f"</head><body><h1>PaperLab collection report</h1><ul>{summary}</ul>{''.join(rows)}</body></html>\n"
    )


def write_reports(outcomes: list[Outcome], build: Path, profile: str, seed: int) -> tuple[Path, Path]:
    """Write build/report.md and build/report.html; return their paths."""
    build.mkdir(parents=True, exist_ok=True)
    md, page = build / "report.md", build / "report.html"
    md.write_text(markdown_report(outcomes, profile, seed))
    page.write_text(html_report(outcomes, profile, seed))
    return md, page

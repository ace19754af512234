"""Reports of a fault experiment: a table for people, JSON for programs, HTML for CI.

- :func:`markdown_table`: one row per case and one column per client, each cell the outcome
  (with how many messages were stored when that is not what the outcome says). It is plain
  enough to read in a terminal and is what the README shows.
- :func:`to_json`: everything, one object (``runs`` in matrix order).
- :func:`to_html`: one self-contained page (inline CSS, no scripts, no external assets): the
  same table coloured by outcome, then every run's details, its client output and the fake's
  transcripts. Everything that came from a client or a file is escaped.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from fakeserver.experiments.results import Outcome, Report, RunResult
from fakeserver.jsontext import json_text

__all__ = ["markdown_table", "summary", "to_html", "to_json"]

_SHORT = {
    Outcome.DELIVERED_ONCE: "delivered once",
    Outcome.RETRIED: "retried, delivered",
    Outcome.FAILED_CLEARLY: "failed, clear error",
    Outcome.FAILED_SILENTLY: "**failed silently**",
    Outcome.DELIVERED_TWICE: "**delivered twice**",
    Outcome.HUNG: "**hung** (killed)",
    Outcome.INSECURE: "**insecure**",
}


def cell(run: RunResult) -> str:
    """A table cell: the outcome (for an insecure run, what it let go unprotected), and the
    stored count where the outcome does not say it."""
    text = _SHORT[run.outcome]
    if run.outcome is Outcome.INSECURE and run.exposed:
        text = "**" + ", ".join(exposure.label for exposure in run.exposed) + "**"
    implied = {Outcome.DELIVERED_ONCE: 1, Outcome.RETRIED: 1, Outcome.DELIVERED_TWICE: 2}
    if run.stored != implied.get(run.outcome, 0):
        text += f" ({run.stored} stored)"
    return text


def markdown_table(report: Report) -> str:
    """The cases-by-clients table, in Markdown (readable as plain text too)."""
    names = [client.name for client in report.clients]
    rows = [
        "| case | " + " | ".join(f"`{name}`" for name in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for case in report.cases:
        cells = [cell(report.result(name, case.name)) for name in names]
        rows.append(f"| {case.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def summary(report: Report) -> str:
    """One line per client: how many cases ended which way."""
    lines = []
    for client in report.clients:
        counts = Counter(run.outcome for run in report.runs if run.client == client.name)
        parts = [f"{counts[outcome]} {outcome.label}" for outcome in Outcome if counts[outcome]]
        lines.append(f"{client.name}: " + ", ".join(parts))
    seconds = f"{report.duration_s:.1f}"
    lines.append(f"{len(report.runs)} runs in {seconds} s; files in {report.options.out_dir}/")
    return "\n".join(lines) + "\n"


def to_json(report: Report) -> str:
    """The whole report as JSON text."""
    options = report.options
    data = {
        "persona": options.persona,
        "seed": options.seed,
        "case_timeout_s": options.case_timeout_s,
        "client_timeout_s": options.client_timeout_s,
        "duration_s": round(report.duration_s, 3),
        "out_dir": str(options.out_dir),
        "clients": [{"name": c.name, "command": c.template} for c in report.clients],
        "cases": [
            {"name": c.name, "description": c.description, "listener": c.listener.value}
            for c in report.cases
        ],
        "runs": [
            {
                "client": run.client,
                "case": run.case,
                "outcome": run.outcome.name.lower(),
                "outcome_label": run.outcome.label,
                "stored": run.stored,
                "connections": run.connections,
                "exit_status": run.exit_status,
                "killed": run.exit_status is None,
                "duration_s": round(run.duration_s, 3),
                "message": run.message,
                "reply_codes": [list(codes) for codes in run.reply_codes],
                "notes": list(run.notes),
                "exposed": [exposure.name.lower() for exposure in run.exposed],
                "directory": str(run.directory),
            }
            for run in report.runs
        ],
    }
    return json_text(data, indent=2) + "\n"


_CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.delivered_once { background: #dff3df; } td.retried { background: #e7f0fb; }
td.failed_clearly { background: #fdf5dc; } td.failed_silently { background: #f9d6d5; }
td.delivered_twice { background: #f9d6d5; } td.hung { background: #e9d6f3; }
td.insecure { background: #f4b6b4; font-weight: bold; }
pre { background: #f7f7f7; padding: .5em; overflow-x: auto; max-height: 30em; }
details { margin: .3em 0 .3em 1em; } summary { cursor: pointer; }
.muted { color: #666; }
"""


def to_html(report: Report) -> str:
    """A self-contained HTML page of the whole report."""
    e = html.escape
    names = [client.name for client in report.clients]
    head = "".join(f"<th>{e(name)}</th>" for name in names)
    rows = []
    for case in report.cases:
        cells = []
        for name in names:
            run = report.result(name, case.name)
            label = cell(run).replace("**", "")
            cells.append(
                f'<td class="{run.outcome.name.lower()}">'
                f'<a href="#{e(_anchor(run))}">{e(label)}</a></td>'
            )
        rows.append(
            f'<tr><th>{e(case.name)}<br><span class="muted">{e(case.description)}</span></th>'
            + "".join(cells)
            + "</tr>"
        )
    clients = "".join(
        f"<li><b>{e(c.name)}</b>: <code>{e(c.template)}</code></li>" for c in report.clients
    )
    details = "".join(_run_details(run) for run in report.runs)
    options = report.options
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>smtprig fault experiment</title><style>{_CSS}</style></head><body>"
        "<h1>smtprig fault experiment</h1>"
        f"<p>{len(report.cases)} cases, {len(names)} clients, persona {e(options.persona)}, "
        f"seed {options.seed}, "
        f"client timeout {options.client_timeout_s:g} s, killed after "
        f"{options.case_timeout_s:g} s; {report.duration_s:.1f} s in all.</p>"
        f"<ul>{clients}</ul>"
        f"<table><tr><th>case</th>{head}</tr>{''.join(rows)}</table>"
        f"<pre>{e(summary(report))}</pre><h2>Runs</h2>{_TRANSCRIPT_NOTE}{details}</body></html>\n"
    )


_TRANSCRIPT_NOTE = (
    '<p class="muted">The fake\'s transcripts (server-N.txt) show what reached the wire, '
    "with a <code># --- fault: ... ---</code> line where the case's fault acted. A client's "
    "own transcript, where it writes one, shows what arrived.</p>"
)


def _anchor(run: RunResult) -> str:
    return f"run-{run.client}-{run.case}"


def _run_details(run: RunResult) -> str:
    e = html.escape
    exit_text = "killed" if run.exit_status is None else str(run.exit_status)
    codes = "; ".join(" ".join(str(code) for code in codes) for codes in run.reply_codes)
    facts = (
        f"exit {exit_text}, {run.duration_s:.2f} s, {run.stored} stored, "
        f"{run.connections} connection(s); reply codes: {codes or 'none'}"
    )
    exposed = "".join(
        f"<li><b>{e(exposure.label)}</b> (judged from the fake's transcripts)</li>"
        for exposure in run.exposed
    )
    notes = exposed + "".join(f"<li>{e(note)}</li>" for note in run.notes)
    files = [
        _file_block(path.name, path)
        for path in sorted(run.directory.glob("*.txt"), key=_file_order)
    ]
    return (
        f'<h3 id="{e(_anchor(run))}">{e(run.client)} / {e(run.case)}: '
        f"{e(run.outcome.label)}</h3><p>{e(facts)}</p>"
        + (f"<p>Last error line: <code>{e(run.message)}</code></p>" if run.message else "")
        + (f"<ul>{notes}</ul>" if notes else "")
        + "".join(files)
    )


def _file_order(path: Path) -> tuple[int, str]:
    order = ["command.txt", "stderr.txt", "stdout.txt", "client-transcript.txt"]
    return (order.index(path.name) if path.name in order else len(order), path.name)


def _file_block(title: str, path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    if len(text) > 20_000:
        text = text[:20_000] + f"\n... ({len(text) - 20_000} more characters in {path})"
    body = html.escape(text) if text else '<span class="muted">(empty)</span>'
    return f"<details><summary>{html.escape(title)}</summary><pre>{body}</pre></details>"

"""One fault matrix against each provider: ``fakeserver experiment --persona NAME`` and the
Python API run the same cases as if the client talked to Microsoft 365, SES or SendGrid."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from fakeserver.errors import ConfigurationError
from fakeserver.experiments import Case, ClientCommand, Experiment, ExperimentOptions, Outcome
from fakeserver.experiments.matrix import parse_matrix

PYTHON = shlex.quote(sys.executable)
OURS = (
    f"{PYTHON} -m client.cli send --host {{host}} --port {{port}} --tls {{tls}} "
    "--cafile {cafile} --user {user} --password-env SMTPRIG_PASSWORD --from {user} "
    "--to friend@example.org --timeout {timeout} --quiet"
)
MATRIX = """\
[[case]]
name = "baseline"

[[case]]
name = "lost-250"
listener = "submission"
[[case.step]]
on = "end_of_data"
times = 1
faults = [{fault = "reset", when = "before"}]
"""


@pytest.mark.parametrize("persona", ["gmail", "office365", "ses", "sendgrid"])
def test_one_matrix_runs_against_each_provider(tmp_path: Path, persona: str) -> None:
    client = ClientCommand.parse(f"ours={OURS}")
    options = ExperimentOptions(out_dir=tmp_path, persona=persona, case_timeout_s=8.0)
    report = Experiment([client], parse_matrix(MATRIX), options).run()
    baseline, lost = report.runs
    assert baseline.outcome is Outcome.DELIVERED_ONCE, baseline.message
    assert lost.stored == 1  # stored before the 250 that never came
    greeting = (tmp_path / "ours" / "baseline" / "server-1.txt").read_text().split("\nS: ")[1]
    expected = {
        "gmail": "220 smtp.gmail.com ESMTP ",
        "office365": "220 ",  # then the front end, then "Microsoft ESMTP MAIL Service ready"
        "ses": "220 email-smtp.amazonaws.com ESMTP SimpleEmailService-d-",
        "sendgrid": "220 SG ESMTP service ready at ismtpd",
    }
    assert greeting.startswith(expected[persona])
    moved = [note for note in baseline.notes if "ran on the STARTTLS port" in note]
    assert bool(moved) == (persona == "office365")  # Microsoft 365 has no implicit-TLS port


def test_a_case_scripting_a_reply_the_persona_lacks_is_refused_before_running(
    tmp_path: Path,
) -> None:
    cases = parse_matrix(
        '[[case]]\nname = "throttled"\n[[case.step]]\non = "data"\nreply = "rate_limited"\n'
    )
    client = ClientCommand.parse(f"ours={OURS}")
    with pytest.raises(ConfigurationError, match="office365 persona has no evidence for rate"):
        Experiment([client], cases, ExperimentOptions(out_dir=tmp_path, persona="office365"))
    # SES has its own throttling reply, so the same case runs there.
    ses = Experiment([client], cases, ExperimentOptions(out_dir=tmp_path, persona="ses")).run()
    [run] = ses.runs
    assert 454 in run.reply_codes[0]  # 454 Throttling failure: Maximum sending rate exceeded.


def test_the_command_line_takes_a_persona_and_reports_it(tmp_path: Path) -> None:
    (tmp_path / "matrix.toml").write_text(MATRIX)
    command = [
        sys.executable, "-m", "fakeserver", "experiment", "--matrix", "matrix.toml",
        "--case", "baseline", "--persona", "office365", "--client", f"ours={OURS}",
        "--out", "out", "--timeout", "8", "--json",
    ]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["persona"] == "office365"
    [run] = report["runs"]
    assert run["outcome"] == "delivered_once"
    assert run["notes"] == [
        "ran on the STARTTLS port: the office365 persona's provider has no smtps port"
    ]


def test_a_client_that_needs_an_implicit_tls_port_is_refused(tmp_path: Path) -> None:
    client = ClientCommand.parse(f"{PYTHON} -c pass {{smtps_port}}")
    with pytest.raises(ConfigurationError, match="has no implicit-TLS port; use"):
        Experiment([client], [Case("baseline")], ExperimentOptions(tmp_path, persona="office365"))

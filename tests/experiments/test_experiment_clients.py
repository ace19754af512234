"""``fakeserver experiment`` against the three clients of the README, on a small matrix.

The full default matrix is a command in the README; this runs the cases that tell the
clients apart, with short timeouts, through the command line as CI would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fakeserver.experiments import (
    Case,
    ClientCommand,
    Experiment,
    ExperimentOptions,
    Outcome,
    RunResult,
)
from tests.experiments.clients import CLIENTS

MATRIX = """\
[[case]]
name = "drip-every-byte"
[[case.step]]
# The short replies only (not the long EHLO), so the clients' 0.5 s per reply is ample.
on = ["greeting", "mail", "rcpt", "data", "end_of_data", "quit"]
faults = [{fault = "drip", bytes_per_write = 1, interval_s = 0.001}]

[[case]]
name = "lost-250"
[[case.step]]
on = "end_of_data"
times = 1
faults = [{fault = "reset", when = "before"}]

[[case]]
name = "stall-at-mail"
[[case.step]]
on = "mail"
faults = ["stall"]
"""
CASE_TIMEOUT_S = 4.0


@pytest.fixture(scope="module")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, str]:
    """Runs the experiment once for every test here: (JSON report, out dir, stderr)."""
    folder = tmp_path_factory.mktemp("experiment")
    (folder / "matrix.toml").write_text(MATRIX)
    command = [sys.executable, "-m", "fakeserver", "experiment", "--matrix", "matrix.toml"]
    for name, template in CLIENTS.items():
        command += ["--client", f"{name}={template}"]
    command += ["--out", "out", "--timeout", str(CASE_TIMEOUT_S), "--client-timeout", "0.5"]
    command += ["--json", "--html", "report.html", "--fail-on", "hung"]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, f"--fail-on hung: the naive client hangs\n{result.stderr}"
    return json.loads(result.stdout), folder, result.stderr


def outcome(report: dict[str, Any], client: str, case: str) -> dict[str, Any]:
    runs: list[dict[str, Any]] = report["runs"]
    [run] = [r for r in runs if (r["client"], r["case"]) == (client, case)]
    return run


def test_split_replies_break_the_naive_client_and_not_ours(
    experiment: tuple[dict[str, Any], Path, str],
) -> None:
    report, _, _ = experiment
    naive = outcome(report, "naive", "drip-every-byte")
    # One recv(1024) per reply reads one byte as each reply: it races to QUIT and closes
    # while the server is still dripping the greeting, so nothing is sent, and it exits 0.
    assert naive["outcome"] == "failed_silently", naive
    assert naive["stored"] == 0
    assert naive["exit_status"] == 0
    for client in ("smtpclient", "smtplib"):
        run = outcome(report, client, "drip-every-byte")
        assert (run["outcome"], run["stored"], run["connections"]) == ("delivered_once", 1, 1)


def test_a_lost_250_makes_the_retrying_client_deliver_twice(
    experiment: tuple[dict[str, Any], Path, str],
) -> None:
    report, _, _ = experiment
    smtplib_run = outcome(report, "smtplib", "lost-250")
    assert (smtplib_run["outcome"], smtplib_run["stored"], smtplib_run["connections"]) == (
        "delivered_twice",
        2,
        2,
    )
    ours = outcome(report, "smtpclient", "lost-250")
    assert (ours["outcome"], ours["stored"], ours["exit_status"]) == ("failed_clearly", 1, 1)
    assert "connection lost" in ours["message"]
    naive = outcome(report, "naive", "lost-250")
    assert naive["outcome"] in ("failed_clearly", "failed_silently"), naive
    assert naive["stored"] == 1


def test_a_hung_client_is_killed_at_the_timeout(
    experiment: tuple[dict[str, Any], Path, str],
) -> None:
    report, _, _ = experiment
    naive = outcome(report, "naive", "stall-at-mail")  # the seed has no timeout anywhere
    assert (naive["outcome"], naive["killed"], naive["exit_status"]) == ("hung", True, None)
    assert CASE_TIMEOUT_S <= naive["duration_s"] < CASE_TIMEOUT_S + 2.5
    for client in ("smtpclient", "smtplib"):
        run = outcome(report, client, "stall-at-mail")
        assert run["outcome"] == "failed_clearly", run
        assert run["duration_s"] < CASE_TIMEOUT_S
    assert "within 0.5 s" in outcome(report, "smtpclient", "stall-at-mail")["message"]


def test_every_run_keeps_its_transcripts_and_the_reports_are_written(
    experiment: tuple[dict[str, Any], Path, str],
) -> None:
    report, folder, stderr = experiment
    assert len(report["runs"]) == 9
    for run in report["runs"]:
        directory = folder / run["directory"]
        assert (directory / "command.txt").is_file()
        if run["connections"]:
            assert (directory / "server-1.txt").read_text().startswith("# smtprig-transcript")
    lost = folder / outcome(report, "smtpclient", "lost-250")["directory"]
    assert "C: MAIL FROM:<tester@gmail.com>" in (lost / "client-transcript.txt").read_text()
    assert json.loads((folder / "out" / "report.json").read_text()) == report
    page = (folder / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert '<td class="delivered_twice">' in page
    assert "9/9 " in stderr.splitlines()[-1], "a progress line per run, on stderr"


def test_the_python_api_with_another_account(tmp_path: Path) -> None:
    client = ClientCommand.parse(f"ours={CLIENTS['smtpclient']}")
    options = ExperimentOptions(out_dir=tmp_path, user="me@gmail.com", password="s3cret")
    seen: list[RunResult] = []
    report = Experiment([client], [Case("baseline")], options).run(on_result=seen.append)
    [run] = report.runs
    assert seen == [run]
    assert (run.outcome, run.stored, run.reply_codes[0][:2]) == (
        Outcome.DELIVERED_ONCE,
        1,
        (220, 250),
    )
    assert "me@gmail.com" in (tmp_path / "ours" / "baseline" / "command.txt").read_text()
    assert "s3cret" not in (tmp_path / "ours" / "baseline" / "server-1.txt").read_text()

"""Matrices, outcomes and reports, without running anything."""

from __future__ import annotations

import json
import re
import shlex
import sys
from pathlib import Path

import pytest

from fakeserver.errors import ConfigurationError
from fakeserver.experiments.clientrun import error_line
from fakeserver.experiments.exposure import Exposure
from fakeserver.experiments.matrix import Case, default_matrix, load_matrix, parse_matrix
from fakeserver.experiments.options import ClientCommand, ExperimentOptions
from fakeserver.experiments.report import markdown_table, summary, to_html, to_json
from fakeserver.experiments.results import Outcome, Report, RunResult, classify
from fakeserver.personas.model import Listener, Persona, Situation
from fakeserver.scripting.faults import Reset, TLSCertificate
from fakeserver.scripting.scenario import ScenarioError, parse_scenario
from fakeserver.scripting.script import Step

# The failure points the default matrix promises (issue 6).
PROMISED = {
    "baseline",
    "greeting-delay",
    "stall-at-mail",
    "drip-every-byte",
    "split-ehlo",
    "coalesced-replies",
    "garbage-greeting",
    "bare-lf-replies",
    "close-before-greeting",
    "close-after-354",
    "reset-mid-body",
    "lost-250",
    "421-at-data-once",
    "451-at-rcpt-once",
    "535-on-auth",
    "untrusted-certificate",
    "wrong-name-certificate",
    "expired-certificate",
    "aborted-handshake",
    "starttls-withheld",
    # Cases that take TLS away for real (issue 16): a client must not go on in clear text.
    "starttls-refused",
    "starttls-stripped",
}


def test_the_default_matrix_covers_the_promised_failure_points() -> None:
    cases = {case.name: case for case in default_matrix()}
    assert set(cases) >= PROMISED
    assert all(case.description for case in cases.values())
    assert cases["baseline"].scenario.rules == ()
    [lost] = cases["lost-250"].scenario.rules
    assert (lost.steps, lost.times, lost.faults) == ((Step.END_OF_DATA,), 1, (Reset("before"),))
    [expired] = cases["expired-certificate"].scenario.rules
    assert expired.faults == (TLSCertificate("expired"),)
    assert cases["starttls-withheld"].listener is Listener.SUBMISSION
    assert cases["starttls-withheld"].tls == "starttls"
    assert cases["baseline"].tls == "implicit"
    stripped = cases["starttls-stripped"]
    assert isinstance(stripped.persona, Persona)
    assert stripped.persona.behaviour.requires_tls is False  # the middlebox's server
    assert b"AUTH LOGIN" in stripped.persona.render(Situation.EHLO_BEFORE_TLS, FIELDS)
    assert b"STARTTLS" not in stripped.persona.render(Situation.EHLO_BEFORE_TLS, FIELDS)
    assert [rule.steps for rule in stripped.scenario.rules] == [(Step.STARTTLS,)]
    [refused] = cases["starttls-refused"].scenario.rules
    assert refused.reply == "454 4.7.0 TLS not available due to temporary reason"
    assert cases["starttls-refused"].persona is None  # the experiment's --persona


FIELDS = {"session_id": "x", "client_ip": "127.0.0.1"}


README = Path(__file__).parents[2].joinpath("README.md").read_text()
SECTION = README.split("## Fault experiments", 1)[1].split("\n## ", 1)[0]


def test_the_readme_table_has_a_row_per_default_case() -> None:
    rows = re.findall(r"^\| ([\w-]+) \|", SECTION, re.MULTILINE)
    assert rows == ["case", *(case.name for case in default_matrix())]


def test_the_readme_scenario_is_a_scenario() -> None:
    [example] = re.findall(r"```toml\n(.*?)```", SECTION, re.DOTALL)
    assert len(parse_scenario(example).rules) == 2


MATRIX = """\
seed = 5

[[case]]
name = "first"
[[case.step]]
on = "rcpt"
reply = "rate_limited"

[[case]]
name = "second"
description = "two steps"
listener = "submission"
seed = 9
[[case.step]]
on = "mail"
faults = ["stall"]
[[case.step]]
on = "data"
reply = "{reply}"
"""


def test_a_matrix_file() -> None:
    first, second = parse_matrix(MATRIX.format(reply="rate_limited"))
    assert (first.name, first.listener, first.scenario.seed) == ("first", Listener.SMTPS, 5)
    assert (second.description, second.listener, second.scenario.seed) == (
        "two steps",
        Listener.SUBMISSION,
        9,
    )
    assert [rule.line for rule in second.scenario.rules] == [14, 17]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MATRIX.format(reply="nope"), ", line 19: not a situation name"),
        ("seed = 1\n", ": a matrix needs at least one [[case]] table"),
        ("colour = 1\n[[case]]\nname = 'x'\n", ", line 1: unknown key 'colour' at the top"),
        ("[[case]]\nname = 'x'\nfault = 1\n", ", line 3: unknown key 'fault' in a case; use name,"),
        ("[[case]]\ndescription = 'x'\n", ", line 1: a case needs a name of letters, digits"),
        ("[[case]]\nname = 'a b'\n", ", line 2: a case needs a name of letters"),
        ("[[case]]\nname = 'x'\n[[case]]\nname = 'x'\n", ", line 4: a second case named 'x'"),
        ("[[case]]\nname = 'x'\nlistener = 'plain'\n", ", line 3: unknown listener 'plain'; use"),
        ("[[case]]\nname = 'x'\nidle_timeout_s = -1\n", ", line 3: idle_timeout_s must be"),
        ("[[case]]\nname = 'x'\npersona = 'hotmail'\n", ", line 3: persona 'hotmail': "),
        ("[[case]]\nname = 'x'\npersona = 'none.toml'\n", ", line 3: persona 'none.toml': "),
        ("[[case]]\nname = 'x'\npersona = 3\n", ", line 3: persona must be a persona's name"),
    ],
)
def test_a_bad_matrix_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as raised:
        parse_matrix(text)
    assert str(raised.value).startswith("<string>" + message)


def test_a_case_persona_file_is_found_beside_the_matrix(tmp_path: Path) -> None:
    (tmp_path / "open.toml").write_text(
        'extends = "gmail"\n[persona]\nname = "open"\n[behaviour]\nrequires_tls = false\n'
    )
    (tmp_path / "matrix.toml").write_text(
        '[[case]]\nname = "x"\npersona = "open.toml"\n[[case]]\nname = "y"\npersona = "gmail"\n'
        '[[case]]\nname = "z"\n'
    )
    opened, named, unnamed = load_matrix(tmp_path / "matrix.toml")
    assert isinstance(opened.persona, Persona)
    assert (opened.persona.name, opened.persona.behaviour.requires_tls) == ("open", False)
    assert named.persona == "gmail"
    assert unnamed.persona is None


@pytest.mark.parametrize(
    ("killed", "status", "message", "stored", "connections", "outcome"),
    [
        (False, 0, "", 1, 1, Outcome.DELIVERED_ONCE),
        (False, 0, "", 1, 3, Outcome.RETRIED),
        (False, 0, "", 2, 2, Outcome.DELIVERED_TWICE),
        (False, 1, "boom", 2, 2, Outcome.DELIVERED_TWICE),
        (False, 1, "smtpclient: refused", 0, 1, Outcome.FAILED_CLEARLY),
        (False, 1, "lost", 1, 1, Outcome.FAILED_CLEARLY),  # the lost 250: stored, not known
        (False, 1, "  \n", 0, 1, Outcome.FAILED_SILENTLY),
        (False, 0, "", 0, 1, Outcome.FAILED_SILENTLY),
        (False, 0, "warning", 0, 0, Outcome.FAILED_SILENTLY),
        (True, None, "", 1, 1, Outcome.HUNG),
    ],
)
def test_classify(
    killed: bool, status: int | None, message: str, stored: int, connections: int, outcome: Outcome
) -> None:
    observed = classify(
        killed=killed,
        exit_status=status,
        message=message,
        stored=stored,
        connections=connections,
    )
    assert observed is outcome


def test_the_error_line_skips_traceback_frames_and_quoted_reply_lines() -> None:
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nssl.SSLEOFError: EOF\n'
    assert error_line(traceback) == "ssl.SSLEOFError: EOF"
    quoted = "smtpclient: 'DATA' refused: 421-4.3.0 Try again\n421 4.3.0  https://x gsmtp\n"
    assert error_line(quoted) == "smtpclient: 'DATA' refused: 421-4.3.0 Try again"
    assert error_line("retrying\nnot sent: timeout\n\n") == "not sent: timeout"
    assert error_line("") == ""


def test_client_commands_are_named_and_checked() -> None:
    python = shlex.quote(sys.executable)
    assert ClientCommand.parse(f"mine={python} x.py --port {{port}}").name == "mine"
    assert ClientCommand.parse(f"{python} -u examples/a_client.py").name == "a_client"
    assert ClientCommand.parse("echo send --port {port}").name == "echo"
    command = ClientCommand.parse("c=echo --cafile {cafile} --json '{{\"a\": 1}}'")
    assert command.argv({"cafile": "/tmp/my dir/ca.pem"}) == [
        "echo",
        "--cafile",
        "/tmp/my dir/ca.pem",
        "--json",
        '{"a": 1}',
    ]
    with pytest.raises(ConfigurationError, match=r"unknown placeholder \{prot\}; use \{host\}"):
        ClientCommand.parse("echo --port {prot}")
    with pytest.raises(ConfigurationError, match="cannot find the program 'no-such-tool'"):
        ClientCommand.parse("no-such-tool --port {port}")
    with pytest.raises(ConfigurationError, match="the command is empty"):
        ClientCommand.parse("  ")
    with pytest.raises(ConfigurationError, match="cannot split it"):
        ClientCommand.parse("tool 'unclosed")


def run(client: str, case: str, outcome: Outcome, directory: Path, **extra: object) -> RunResult:
    facts: dict[str, object] = {
        "stored": 1,
        "connections": 1,
        "exit_status": 0,
        "duration_s": 0.25,
        "message": "",
        "reply_codes": ((220, 250),),
        "notes": (),
    }
    facts.update(extra)
    return RunResult(client, case, outcome, directory=directory, **facts)  # type: ignore[arg-type]


@pytest.fixture
def report(tmp_path: Path) -> Report:
    (tmp_path / "stderr.txt").write_text("<script>alert(1)</script>\n")
    (tmp_path / "server-1.txt").write_text("S: 220 <hello> & welcome\n")
    cases = (
        Case("baseline", "No fault."),
        Case("lost-250", "A <reset> & no 250."),
        Case("starttls-stripped", "TLS taken away."),
    )
    clients = (ClientCommand("ours", "ours --port {port}"), ClientCommand("bad<b>", "x"))
    runs = (
        run("ours", "baseline", Outcome.DELIVERED_ONCE, tmp_path),
        run("bad<b>", "baseline", Outcome.HUNG, tmp_path, exit_status=None, stored=1),
        run("ours", "lost-250", Outcome.FAILED_CLEARLY, tmp_path, exit_status=1, message="lost"),
        run(
            "bad<b>",
            "lost-250",
            Outcome.DELIVERED_TWICE,
            tmp_path,
            stored=2,
            message="<script>alert(1)</script>",
            notes=("server error: <x>",),
        ),
        run("ours", "starttls-stripped", Outcome.FAILED_CLEARLY, tmp_path, exit_status=1),
        run(
            "bad<b>",
            "starttls-stripped",
            Outcome.INSECURE,
            tmp_path,
            exposed=(Exposure.CREDENTIALS, Exposure.MESSAGE),
        ),
    )
    return Report(clients, cases, runs, ExperimentOptions(out_dir=tmp_path), 3.5)


def test_the_table_has_a_row_per_case_and_a_column_per_client(report: Report) -> None:
    assert markdown_table(report) == (
        "| case | `ours` | `bad<b>` |\n"
        "|---|---|---|\n"
        "| baseline | delivered once | **hung** (killed) (1 stored) |\n"
        "| lost-250 | failed, clear error (1 stored) | **delivered twice** |\n"
        "| starttls-stripped | failed, clear error (1 stored) "
        "| **password in clear, message in clear** (1 stored) |\n"
    )
    assert summary(report).splitlines() == [
        "ours: 1 delivered once, 2 failed with a clear error",
        "bad<b>: 1 delivered twice, 1 hung (killed), 1 insecure",
        f"6 runs in 3.5 s; files in {report.options.out_dir}/",
    ]


def test_json_has_every_run(report: Report) -> None:
    data = json.loads(to_json(report))
    assert [(r["client"], r["case"], r["outcome"]) for r in data["runs"]] == [
        ("ours", "baseline", "delivered_once"),
        ("bad<b>", "baseline", "hung"),
        ("ours", "lost-250", "failed_clearly"),
        ("bad<b>", "lost-250", "delivered_twice"),
        ("ours", "starttls-stripped", "failed_clearly"),
        ("bad<b>", "starttls-stripped", "insecure"),
    ]
    assert data["runs"][1]["killed"] is True
    assert data["runs"][4]["exposed"] == []
    assert data["runs"][5]["exposed"] == ["credentials", "message"]
    assert data["cases"][1] == {
        "name": "lost-250",
        "description": "A <reset> & no 250.",
        "listener": "smtps",
    }


def test_html_is_self_contained_and_escaped(report: Report) -> None:
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "S: 220 &lt;hello&gt; &amp; welcome" in page
    assert "bad&lt;b&gt;" in page
    assert "http://" not in page
    assert "https://" not in page
    assert 'src="' not in page
    assert '<link rel="stylesheet"' not in page
    assert '<td class="delivered_twice">' in page
    # An insecure run is a failure: its own colour, and what it exposed in its details.
    assert '<td class="insecure"><a href="#run-bad&lt;b&gt;-starttls-stripped">' in page
    assert "td.insecure { background: #f4b6b4" in page
    assert "<li><b>password in clear</b> (judged from the fake's transcripts)</li>" in page

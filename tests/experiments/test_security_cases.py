"""The default matrix's cases that take TLS away, against real clients: a careful one fails
clearly, one written the lax way common in applications is reported insecure, with what it
let go, even though it delivered."""

from __future__ import annotations

import pytest

from fakeserver.experiments import (
    ClientCommand,
    Experiment,
    ExperimentOptions,
    Exposure,
    Outcome,
    Report,
    default_matrix,
)
from fakeserver.experiments.report import markdown_table, to_html
from tests.experiments.clients import CLIENTS

CASES = ("starttls-refused", "starttls-stripped", "untrusted-certificate", "baseline-starttls")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    clients = [
        ClientCommand.parse(f"smtplib={CLIENTS['smtplib']}"),
        ClientCommand.parse(f"lax={CLIENTS['smtplib']} --lax-tls"),
        ClientCommand.parse(f"smtpclient={CLIENTS['smtpclient']}"),
    ]
    cases = [case for case in default_matrix() if case.name in CASES]
    options = ExperimentOptions(out_dir=tmp_path_factory.mktemp("security"), case_timeout_s=10)
    return Experiment(clients, cases, options).run()


def test_careful_clients_stop_when_tls_is_taken_away(report: Report) -> None:
    for client in ("smtplib", "smtpclient"):
        for case in ("starttls-refused", "starttls-stripped", "untrusted-certificate"):
            run = report.result(client, case)
            assert (run.outcome, run.exposed, run.stored) == (Outcome.FAILED_CLEARLY, (), 0), run
        assert report.result(client, "baseline-starttls").outcome is Outcome.DELIVERED_ONCE


def test_a_stripped_starttls_makes_a_lax_client_send_its_password_and_message_in_clear(
    report: Report,
) -> None:
    run = report.result("lax", "starttls-stripped")
    assert run.outcome is Outcome.INSECURE
    assert run.exposed == (Exposure.CREDENTIALS, Exposure.MESSAGE)
    assert run.stored == 1  # it "worked": that is the danger
    transcript = (run.directory / "server-1.txt").read_text()
    assert "C: AUTH PLAIN <redacted>" in transcript
    assert "TLS handshake" not in transcript
    assert "app-password" not in transcript


def test_a_lax_client_that_trusts_any_certificate_is_insecure(report: Report) -> None:
    run = report.result("lax", "untrusted-certificate")
    assert (run.outcome, run.exposed, run.stored) == (
        Outcome.INSECURE,
        (Exposure.BAD_CERTIFICATE,),
        1,
    )
    assert "# --- certificate: untrusted ---" in (run.directory / "server-1.txt").read_text()


def test_refused_starttls_stops_even_the_lax_client(report: Report) -> None:
    # STARTTLS offered then refused: smtplib raises at starttls(), lax or not.
    assert report.result("lax", "starttls-refused").outcome is Outcome.FAILED_CLEARLY
    assert report.result("lax", "baseline-starttls").outcome is Outcome.DELIVERED_ONCE


def test_the_table_and_html_report_show_the_insecure_runs_as_failures(report: Report) -> None:
    page = to_html(report)
    assert page.count('<td class="insecure">') == 2
    table = markdown_table(report)
    assert (
        "| starttls-stripped | failed, clear error | **password in clear, message in clear**"
        in (table)
    )

"""``fakeserver serve`` with HTTP, as a user runs it: the ready line's ``http``, the banner's
inbox URL, the API of the process, ``--no-http``, a scenario's rules listed, and the refusals."""

from __future__ import annotations

import json
import smtplib
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.http.httpkit import Api
from tests.support.serveproc import EPHEMERAL as EPHEMERAL_PORTS
from tests.support.serveproc import ServeProcess

EPHEMERAL = (*EPHEMERAL_PORTS, "--certs-dir", "certs")
TOKEN = "fedcba9876543210-serve-token"


def test_the_ready_line_names_the_api_and_the_api_serves_the_process(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        http = ready["http"]
        assert http["host"] == "127.0.0.1"
        assert http["url"] == f"http://127.0.0.1:{http['port']}/"
        api = Api(http["url"])
        assert api.get("/readyz").json["smtps"] == ready["smtps"]
        assert api.get("/api/v1/ca.pem").body == Path(ready["cafile"]).read_bytes()

        context = ssl.create_default_context(cafile=ready["cafile"])
        with smtplib.SMTP_SSL(
            ready["smtps"]["host"], ready["smtps"]["port"], context=context, timeout=10
        ) as smtp:
            smtp.login("tester@gmail.com", "app-password")
            smtp.sendmail("tester@gmail.com", ["a@example.org"], b"Subject: over http\r\n\r\nx\r\n")
        waited = api.get("/api/v1/messages/wait?timeout_s=10")
        transcript = api.get("/api/v1/sessions/1/transcript")
        assert server.stop() == 0

    assert waited.json["items"][0]["subject"] == "over http"
    assert "C: AUTH PLAIN <redacted>" in transcript.text  # the CLI records none itself


def test_no_transcripts_keeps_none_but_record_still_writes_them(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", "--no-transcripts", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        api = Api(ready["http"]["url"])
        _send(ready, "kept without a transcript")
        waited = api.get("/api/v1/messages/wait?timeout_s=10")
        kept = api.get("/api/v1/sessions/1/transcript")
    assert waited.json["items"][0]["subject"] == "kept without a transcript"
    assert kept.status == 404

    record = ("--no-transcripts", "--record", "recorded")
    with ServeProcess(*EPHEMERAL, "--json", *record, cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        _send(ready, "recorded")
        server.expect(r'"event": "closed"')
        kept = Api(ready["http"]["url"]).get("/api/v1/sessions/1/transcript")
    assert kept.status == 200, "--record needs the transcript, so it keeps it"
    assert [path.suffix for path in (tmp_path / "recorded").iterdir()] == [".txt"]


def _send(ready: dict[str, Any], subject: str) -> None:
    context = ssl.create_default_context(cafile=ready["cafile"])
    smtps = ready["smtps"]
    with smtplib.SMTP_SSL(smtps["host"], smtps["port"], context=context, timeout=10) as smtp:
        smtp.login("tester@gmail.com", "app-password")
        message = f"Subject: {subject}\r\n\r\nx\r\n".encode()
        smtp.sendmail("tester@gmail.com", ["a@example.org"], message)


def test_the_banner_prints_the_inbox_url(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, cwd=tmp_path) as server:
        url = server.expect(r"Inbox and HTTP API: (http://127\.0\.0\.1:\d+/)")[1]
        server.expect(r"^Ready in")
        assert Api(url).get("/").headers["Content-Type"].startswith("text/html")


def test_no_http_serves_none(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", "--no-http", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
    assert "http" not in ready


def test_a_scenarios_rules_are_listed_by_the_api(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.toml"
    scenario.write_text('[[step]]\non = "rcpt"\nnth = 2\nreply = "451 4.3.0 Try again"\n')
    with ServeProcess(*EPHEMERAL, "--json", "--scenario", str(scenario), cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        rules = Api(ready["http"]["url"]).get("/api/v1/script").json["rules"]
    assert [rule["description"] for rule in rules] == ["on('rcpt', nth=2)"]


def _serve(
    tmp_path: Path, *arguments: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {"PATH": "/usr/bin:/bin"} | ({"SMTPRIG_HTTP_TOKEN": token} if token else {})
    return subprocess.run(
        [sys.executable, "-m", "fakeserver", "serve", *EPHEMERAL, *arguments],
        cwd=tmp_path, capture_output=True, text=True, timeout=30, env=environment,
    )  # fmt: skip


def test_an_address_off_loopback_is_refused_without_a_token(tmp_path: Path) -> None:
    refused = _serve(tmp_path, "--http", "0.0.0.0:0")

    assert refused.returncode == 2
    assert "0.0.0.0 is not loopback" in refused.stderr
    assert "--http-token-file" in refused.stderr


def test_a_taken_port_and_a_bad_address_are_refused_with_the_option_named(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", cwd=tmp_path) as first:
        port = json.loads(first.expect(r"^\{").string)["http"]["port"]
        taken = _serve(tmp_path, "--http", f"127.0.0.1:{port}")
    malformed = _serve(tmp_path, "--http", "8025")

    assert taken.returncode == 2
    assert f"--http: cannot listen on 127.0.0.1 port {port}" in taken.stderr
    assert malformed.returncode == 2
    assert "expected HOST:PORT" in malformed.stderr


def test_the_token_is_never_printed_in_full(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    with ServeProcess(*EPHEMERAL, "--http-token-file", str(token_file), cwd=tmp_path) as server:
        url = server.expect(r"Inbox and HTTP API: (http://\S+)")[1]
        shown = server.expect(r"every request needs the token (.*)")[1]
        server.expect(r"^Ready in")
        api = Api(url)
        assert api.get("/api/v1/messages").status == 401
        bearer = api.get("/api/v1/messages", headers={"Authorization": f"Bearer {TOKEN}"})
        assert bearer.status == 200
        server.stop()
        output = server.text + server.stderr()

    assert shown == f"{TOKEN[:4]}… ({len(TOKEN)} characters)"
    assert TOKEN not in output

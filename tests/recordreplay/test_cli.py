"""``fakeserver record`` and ``fakeserver replay`` as a user runs them: child processes, a real
certs/ folder, real clients (smtplib, swaks), the ready line first, exit codes, SIGTERM.

swaks is installed by .ci/run; a missing one fails the test rather than skipping it."""

from __future__ import annotations

import base64
import json
import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

from client.transcript import read
from fakeserver.recordreplay.proxy import TLSMode
from fakeserver.server.fake import FakeGmail
from fakeserver.transport.tls import default_certificates
from tests.support.rawsmtp import RawSMTP
from tests.support.recording_clients import (
    SECRETS,
    TIMEOUT_S,
    secret_spellings,
    send,
    send_wrong_password,
    write_secret_transcript,
)
from tests.support.serveproc import ServeProcess

CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"


def record_args(gmail: FakeGmail, folder: Path, *more: str) -> list[str]:
    """``fakeserver record`` in front of ``gmail``'s STARTTLS port, trusting its CA."""
    upstream_ca = folder / "upstream-ca.pem"
    upstream_ca.write_bytes(default_certificates().ca_pem)
    host, port = gmail.submission
    return [
        "--listen", "127.0.0.1:0", "--upstream", f"{host}:{port}", "--tls", "starttls",
        "--upstream-cafile", str(upstream_ca), "--certs-dir", "certs", "--out", "transcripts",
        *more,
    ]  # fmt: skip


def ready_line(process: ServeProcess) -> dict[str, object]:
    ready = json.loads(process.expect(r"^\{").string)
    assert ready["event"] == "ready"
    assert process.output == [process.output[0]], "the ready line comes first"
    return dict(ready)


def test_record_then_replay_from_the_command_line(gmail: FakeGmail, tmp_path: Path) -> None:
    args = record_args(gmail, tmp_path, "--json")
    with ServeProcess(*args, cwd=tmp_path, verb="record") as proxy:
        ready = ready_line(proxy)
        assert ready["cafile"] == str(tmp_path / "certs" / "ca.pem")
        context = ssl.create_default_context(cafile=str(ready["cafile"]))
        address = (str(ready["host"]), int(str(ready["port"])))
        send(address, TLSMode.STARTTLS, context, gmail.credentials)
        event = json.loads(proxy.expect(r"^\{").string)
        assert proxy.stop() == 0
    assert event["event"] == "transcript"
    assert event["connection"] == 1
    assert event["closed_by"] in ("client", "server")
    path = Path(event["path"])
    assert path.parent == tmp_path / "transcripts"
    assert event["lines"] == len(read(path).lines)
    for secret in secret_spellings(*gmail.credentials):
        assert secret not in path.read_text()

    with ServeProcess(str(path), "--port", "0", "--json", cwd=tmp_path, verb="replay") as replay:
        ready = ready_line(replay)
        assert ready["tls"] == "starttls"
        address = (str(ready["host"]), int(str(ready["port"])))
        send(address, TLSMode.STARTTLS, context, gmail.credentials)
        assert json.loads(replay.expect(r"^\{").string) == {"event": "passed", "connection": 1}
        assert replay.wait() == 0, "a faithful client: exit 0, by itself"

    with ServeProcess(str(path), "--port", "0", "--json", cwd=tmp_path, verb="replay") as replay:
        ready = ready_line(replay)
        address = (str(ready["host"]), int(str(ready["port"])))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(address, TLSMode.STARTTLS, context, gmail.credentials, recipient="x@example.org")
        mismatch = json.loads(replay.expect(r"^\{").string)
        assert replay.wait() == 1, "a mismatch: exit 1"
    assert mismatch["event"] == "mismatch"
    assert mismatch["matcher"] == "text"
    assert mismatch["expected"] == "C: rcpt TO:<friend@example.org>"
    assert mismatch["actual"] == "C: rcpt TO:<x@example.org>"
    assert f"(transcript line {mismatch['transcript_line']})" in mismatch["message"]
    assert path.read_text().splitlines()[mismatch["transcript_line"] - 1] == mismatch["expected"]
    assert sorted(p.name for p in (tmp_path / "transcripts").iterdir()) == [path.name]


def test_replay_prints_the_mismatch_for_people(tmp_path: Path) -> None:
    [capture] = CORPUS.glob("37_*.txt")
    args = (str(capture), "--port", "0", "--certs-dir", "certs")
    with ServeProcess(*args, cwd=tmp_path, verb="replay") as replay:
        where = replay.expect(
            r"^Replaying .*37_swaks.* \(\d+ lines, TLS: starttls\) on (\S+) port (\d+)"
        )
        replay.expect(r"^Trust this CA: certs/ca\.pem")
        with RawSMTP((where[1], int(where[2]))) as raw:
            raw.reply()
            raw.command("EHLO mexes")
            reply = raw.text("AUTH LOGIN")
        replay.expect(r"^transcript mismatch at expected line 11 \(transcript line 17\)")
        assert replay.wait() == 1
    assert reply == "554 5.5.0 smtprig replay: text mismatch at transcript line 17\r\n"
    assert "  expected: C: STARTTLS\n" in replay.text
    assert "  actual:   C: AUTH LOGIN\n" in replay.text


def test_sigterm_stops_a_replay_that_no_client_finished(tmp_path: Path) -> None:
    [capture] = CORPUS.glob("33_*.txt")
    args = (str(capture), "--port", "0", "--json")
    with ServeProcess(*args, cwd=tmp_path, verb="replay") as replay:
        assert ready_line(replay)["tls"] == "implicit"
        assert replay.stop() == 3
        assert "stopped before a client finished" in replay.stderr()


def test_record_stops_on_sigterm_and_refuses_a_bad_mix_of_modes(
    gmail: FakeGmail, tmp_path: Path
) -> None:
    with ServeProcess(*record_args(gmail, tmp_path), cwd=tmp_path, verb="record") as proxy:
        proxy.expect(r"^Recording proxy: 127\.0\.0\.1 port \d+ \(starttls\) -> 127\.0\.0\.1")
        proxy.expect(r"Ctrl-C stops\.")
        assert proxy.stop() == 0
    bad = record_args(gmail, tmp_path, "--upstream-tls", "implicit")
    with ServeProcess(*bad, cwd=tmp_path, verb="record") as refused:
        assert refused.wait() == 2
        assert "use it on both sides or on neither" in refused.stderr()


def swaks(port: int, cafile: Path, *, user: str, password: str) -> list[str]:
    path = shutil.which("swaks")
    if path is None:
        pytest.fail("swaks is not installed: run .ci/run, or apt-get install -y swaks")
    return [
        path, "--server", "127.0.0.1", "--port", str(port), "--tls",
        "--tls-verify", "--tls-ca-path", str(cafile),
        "--auth", "LOGIN", "--auth-user", user, "--auth-password", password,
        "--from", "tester@gmail.com", "--to", "friend@example.org",
        "--header", "Subject: recorded by swaks", "--body", "Sent by swaks.",
    ]  # fmt: skip


def test_swaks_recorded_in_human_mode_then_replayed(gmail: FakeGmail, tmp_path: Path) -> None:
    user, password = gmail.credentials
    cafile = tmp_path / "certs" / "ca.pem"
    with ServeProcess(*record_args(gmail, tmp_path), cwd=tmp_path, verb="record") as proxy:
        port = int(proxy.expect(r"^Recording proxy: 127\.0\.0\.1 port (\d+) ")[1])
        proxy.expect(r"Ctrl-C stops\.")
        sent = subprocess.run(
            swaks(port, cafile, user=user, password=password),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 4,
        )
        assert sent.returncode == 0, sent.stdout + sent.stderr
        wrote = proxy.expect(r"^\[1\] wrote (\S+): (\d+) lines, closed by (client|server)$")
        assert proxy.stop() == 0
    path = tmp_path / wrote[1]
    text = path.read_text()
    assert "C: AUTH LOGIN\n" in text
    assert base64.b64encode(password.encode()).decode() not in text
    assert password not in proxy.text

    with ServeProcess(str(path), "--port", "0", "--json", cwd=tmp_path, verb="replay") as replay:
        port = int(str(ready_line(replay)["port"]))
        again = subprocess.run(
            swaks(port, cafile, user="someone@else.example", password="another password"),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S * 4,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert json.loads(replay.expect(r"^\{").string)["event"] == "passed"
        assert replay.wait() == 0


def test_replaying_a_secret_transcript_from_the_command_line_shows_and_stores_none(
    tmp_path: Path,
) -> None:
    path = write_secret_transcript(tmp_path / "secret.txt")
    args = (str(path), "--port", "0", "--json", "--certs-dir", "certs")
    with ServeProcess(*args, cwd=tmp_path, verb="replay") as replay:
        ready = ready_line(replay)
        assert ready["tls"] == "none"
        with RawSMTP((str(ready["host"]), int(str(ready["port"])))) as raw:
            assert send_wrong_password(raw).startswith("554 5.5.0 smtprig replay: text")
        mismatch = json.loads(replay.expect(r"^\{").string)
        assert replay.wait() == 1
        output = replay.text + replay.stderr()
    assert mismatch["expected"] == "C: <redacted>"
    stored = [
        file.read_bytes().decode("utf-8", "replace")
        for file in tmp_path.rglob("*")
        if file.is_file() and file != path
    ]
    assert stored, "the certificates, at least"
    for secret in SECRETS:
        assert secret not in output
        assert all(secret not in text for text in stored)


def swaks_defaults(port: int, cafile: Path, user: str, password: str, *more: str) -> list[str]:
    """swaks with its own message: ``Subject: test <date>``, its version in X-Mailer, its
    Date and Message-Id, and with ``--attach`` its own MIME boundaries."""
    plain = swaks(port, cafile, user=user, password=password)
    return [*plain[: plain.index("--header")], *more]


def run_swaks(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S * 4)


def test_replay_matches_swaks_messages_as_structure_and_masks_what_the_user_names(
    gmail: FakeGmail, tmp_path: Path
) -> None:
    user, password = gmail.credentials
    cafile = tmp_path / "certs" / "ca.pem"
    report = tmp_path / "report.csv"
    report.write_text("id,total\n1,42\n")

    def message(body: str = "Your code is 1234.") -> list[str]:
        return ["--body", body, "--attach-type", "text/csv", "--attach", f"@{report}"]

    with ServeProcess(*record_args(gmail, tmp_path), cwd=tmp_path, verb="record") as proxy:
        port = int(proxy.expect(r"^Recording proxy: 127\.0\.0\.1 port (\d+) ")[1])
        proxy.expect(r"Ctrl-C stops\.")
        sent = run_swaks(swaks_defaults(port, cafile, user, password, *message()))
        assert sent.returncode == 0, sent.stdout + sent.stderr
        path = tmp_path / proxy.expect(r"^\[1\] wrote (\S+): ")[1]
        assert proxy.stop() == 0
    assert "C: Subject: test " in path.read_text()

    def replay(*options: str, body: str = "Your code is 1234.") -> dict[str, object]:
        args = (str(path), "--port", "0", "--json", *options)
        with ServeProcess(*args, cwd=tmp_path, verb="replay") as replay:
            port = int(str(ready_line(replay)["port"]))
            run_swaks(swaks_defaults(port, cafile, user, password, *message(body)))
            outcome: dict[str, object] = json.loads(replay.expect(r"^\{").string)
            assert replay.wait() == (0 if outcome["event"] == "passed" else 1)
        return outcome

    assert replay()["event"] == "passed"
    assert replay("--match", "structure")["event"] == "passed"
    assert replay("--mask", r"code is (\d+)", body="Your code is 9876.")["event"] == "passed"

    bytes_level = replay("--match", "bytes")
    assert (bytes_level["event"], bytes_level["matcher"]) == ("mismatch", "text")
    # As before matching levels: swaks's Subject has the time in it.
    assert str(bytes_level["expected"]).startswith("C: Subject: test ")

    unmasked = replay(body="Your code is 9876.")
    assert unmasked["matcher"] == "message"
    assert unmasked["difference"] == {
        "where": "part 1 (text/plain)",
        "what": "line 1 of the decoded body",
        "expected": "Your code is 1234.",
        "actual": "Your code is 9876.",
    }


def test_replay_refuses_a_mask_that_is_not_a_regular_expression(tmp_path: Path) -> None:
    [capture] = CORPUS.glob("37_*.txt")
    args = (str(capture), "--port", "0", "--mask", "code (", "--certs-dir", "certs")
    with ServeProcess(*args, cwd=tmp_path, verb="replay") as replay:
        assert replay.wait() == 2
        assert "--mask: mask 'code (' is not a Python regular expression" in replay.stderr()

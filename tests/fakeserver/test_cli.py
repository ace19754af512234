"""``fakeserver serve`` and ``fakeserver certs`` as a user runs them: a child process, a
real certs/ folder, real clients, SIGTERM."""

from __future__ import annotations

import base64
import json
import smtplib
import ssl
import stat
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.serveproc import EPHEMERAL, ServeProcess


def send(host: str, port: int, cafile: str, *, implicit: bool, subject: str) -> None:
    context = ssl.create_default_context(cafile=cafile)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "tester@gmail.com", "a@example.org", subject
    mail.set_content("hi")
    if implicit:
        client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, context=context, timeout=5)
    else:
        client = smtplib.SMTP(host, port, timeout=5)
        client.starttls(context=context)
    with client:
        client.login("tester@gmail.com", "app-password")
        client.send_message(mail)


def test_json_mode_prints_ready_then_one_object_per_message_and_connection(
    tmp_path: Path,
) -> None:
    with ServeProcess(*EPHEMERAL, "--json", "--certs-dir", "certs", cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        assert ready["event"] == "ready"
        assert server.output == [server.output[0]], "the ready line comes first"
        assert Path(ready["cafile"]) == tmp_path / "certs" / "ca.pem"
        assert ready["accounts"] == ["tester@gmail.com"]
        smtps, submission = ready["smtps"], ready["submission"]
        send(smtps["host"], smtps["port"], ready["cafile"], implicit=True, subject="one")
        send(submission["host"], submission["port"], ready["cafile"], implicit=False, subject="two")
        events = [json.loads(server.expect(r"^\{").string) for _ in range(4)]
        assert server.stop() == 0
    per_connection: dict[int, list[str]] = {}
    for event in events:
        per_connection.setdefault(event["connection"], []).append(event["event"])
    assert per_connection == {1: ["message", "closed"], 2: ["message", "closed"]}
    messages = [event for event in events if event["event"] == "message"]
    assert [(m["listener"], m["subject"]) for m in messages] == [
        ("smtps", "one"),
        ("submission", "two"),
    ]
    assert messages[0]["user"] == "tester@gmail.com"
    assert messages[0]["recipients"] == ["a@example.org"]
    assert next(e for e in events if e["event"] == "closed")["messages"] == 1


def test_human_mode_shows_how_to_connect_and_a_redacted_log(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--certs-dir", "certs", cwd=tmp_path) as server:
        smtps = server.expect(r"implicit TLS \(like 465\): (\S+) port (\d+)")
        server.expect(r"Trust this CA: certs/ca\.pem")
        server.expect(r"Account: tester@gmail\.com  password: app-password")
        server.expect(r"^Ready in [\d.]+ ms")
        send(
            smtps[1], int(smtps[2]), str(tmp_path / "certs" / "ca.pem"), implicit=True, subject="s"
        )
        server.expect(r"\[1\] C: AUTH PLAIN <redacted>")
        server.expect(r"\[1\] accepted \d+ bytes from <tester@gmail.com> to <a@example.org>")
        server.expect(r"\[1\] closed")
        assert server.stop() == 0
    log = server.text
    assert base64.b64encode(b"\0tester@gmail.com\0app-password").decode() not in log
    assert "C: hi" not in log, "message bodies stay out of the log unless asked"


def test_a_taken_port_exits_2_and_says_what_to_change(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--json", cwd=tmp_path) as first:
        port = json.loads(first.expect(r"^\{").string)["smtps"]["port"]
        second = subprocess.run(
            [sys.executable, "-m", "fakeserver", "serve", "--smtps-port", str(port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=15,
        )
    assert second.returncode == 2
    assert second.stderr.startswith(
        f"fakeserver: error: --smtps-port: cannot listen on 127.0.0.1 port {port}"
    )
    assert "pick another port, or 0 for any free one" in second.stderr


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--account", "no-colon"], "expected USER:PASSWORD"),
        (["--oauth-token", "nobody@gmail.com:tok"], "for a USER given with --account"),
        (["--needs-app-password", "nobody@gmail.com"], "name a USER from --account"),
        (["--persona", "hotmail"], "no shipped persona has that name"),
        (["--idle-timeout", "0"], "must be a positive number of seconds"),
        # int() would read these Arabic-Indic digits as port 8025.
        (["--http", "127.0.0.1:\u0668\u0660\u0662\u0665"], "expected HOST:PORT"),
    ],
)
def test_bad_options_exit_2_with_advice(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fakeserver", "serve", *EPHEMERAL, *arguments],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=15,
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_certs_are_made_once_with_private_keys(tmp_path: Path) -> None:
    def run(*extra: str) -> str:
        command = [sys.executable, "-m", "fakeserver", "certs", "--certs-dir", "c", *extra]
        return subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=15, check=True
        ).stdout

    assert "wrote certificates" in run()
    folder = tmp_path / "c"
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((folder / key).stat().st_mode) == 0o600
    first_ca = (folder / "ca.pem").read_bytes()
    assert "kept the working certificates" in run()
    assert (folder / "ca.pem").read_bytes() == first_ca
    (folder / "server.key").chmod(0o644)
    run()
    assert stat.S_IMODE((folder / "server.key").stat().st_mode) == 0o600, (
        "loosened keys are tightened"
    )
    assert "wrote certificates" in run("--force")
    assert (folder / "ca.pem").read_bytes() != first_ca

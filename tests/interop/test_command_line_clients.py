"""swaks and curl against ``fakeserver serve``, as in the README: both ports, AUTH LOGIN and
PLAIN, the certificate (and, for curl, the name) verified against the printed CA, no
insecure flags; the message shows up in the server's log. Negative twins: a wrong password,
an untrusted CA and a wrong host name are refused.

These clients are installed by .ci/run; a missing one fails the test rather than skipping
it, so CI can never pass without them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fakeserver.transport.tls import generate
from tests.support.serveproc import ServeProcess

TIMEOUT_S = 20


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run .ci/run, or apt-get install -y {name}")
    return path


@dataclass(frozen=True)
class Served:
    process: ServeProcess
    smtps_port: int
    submission_port: int
    cafile: Path
    folder: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    ports = ("--smtps-port", "0", "--submission-port", "0", "--certs-dir", "certs")
    with ServeProcess(*ports, cwd=folder) as process:
        smtps = process.expect(r"implicit TLS \(like 465\): 127\.0\.0\.1 port (\d+)")
        submission = process.expect(r"STARTTLS     \(like 587\): 127\.0\.0\.1 port (\d+)")
        process.expect(r"^Ready in ")
        yield Served(
            process, int(smtps[1]), int(submission[1]), folder / "certs" / "ca.pem", folder
        )


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)


def swaks(
    served: Served, port_kind: str, mechanism: str, subject: str, **changes: str
) -> list[str]:
    port = served.smtps_port if port_kind == "smtps" else served.submission_port
    tls = "--tls-on-connect" if port_kind == "smtps" else "--tls"
    return [
        tool("swaks"),
        "--server", "127.0.0.1", "--port", str(port), tls,
        "--tls-verify", "--tls-ca-path", changes.get("cafile", str(served.cafile)),
        "--auth", mechanism,
        "--auth-user", "tester@gmail.com",
        "--auth-password", changes.get("password", "app-password"),
        "--from", "tester@gmail.com", "--to", "friend@example.org",
        "--header", f"Subject: {subject}",
        "--body", "Sent by swaks.",
    ]  # fmt: skip


def curl(served: Served, port_kind: str, mechanism: str, subject: str, **changes: str) -> list[str]:
    message = served.folder / f"{subject}.eml"
    message.write_text(f"From: tester@gmail.com\r\nSubject: {subject}\r\n\r\nSent by curl.\r\n")
    host = changes.get("host", "localhost")
    if port_kind == "smtps":
        url, tls = f"smtps://{host}:{served.smtps_port}", []
    else:
        url, tls = f"smtp://{host}:{served.submission_port}", ["--ssl-reqd"]
    return [
        tool("curl"), "--silent", "--show-error", "--url", url, *tls,
        "--cacert", changes.get("cafile", str(served.cafile)),
        "--resolve", f"{host}:{served.smtps_port}:127.0.0.1",
        "--resolve", f"{host}:{served.submission_port}:127.0.0.1",
        "--login-options", f"AUTH={mechanism}",
        "--user", f"tester@gmail.com:{changes.get('password', 'app-password')}",
        "--mail-from", "tester@gmail.com", "--mail-rcpt", "friend@example.org",
        "--upload-file", str(message),
    ]  # fmt: skip


CLIENTS = {"swaks": swaks, "curl": curl}


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
@pytest.mark.parametrize("port_kind", ["smtps", "submission"])
@pytest.mark.parametrize("client", ["swaks", "curl"])
def test_sends_through_both_ports(
    served: Served, client: str, port_kind: str, mechanism: str
) -> None:
    subject = f"{client}-{port_kind}-{mechanism}"
    result = run(CLIENTS[client](served, port_kind, mechanism, subject))
    assert result.returncode == 0, result.stdout + result.stderr
    accepted = served.process.expect(rf"\] accepted \d+ bytes .*; Subject: {subject}$")
    connection = accepted.string.split("]")[0] + "]"
    log = served.process.text
    assert f"{connection} C: AUTH {mechanism}" in log
    assert "YXBwLXBhc3N3b3Jk" not in log, "the base64 password never reaches the log"


@pytest.mark.parametrize("client", ["swaks", "curl"])
def test_wrong_password_is_refused(served: Served, client: str) -> None:
    result = run(CLIENTS[client](served, "smtps", "LOGIN", "wrong", password="wrong"))
    # swaks exits 28 when AUTH fails; curl exits 67 ("Login denied").
    assert result.returncode == {"swaks": 28, "curl": 67}[client], result.stdout + result.stderr
    if client == "swaks":
        assert "535-5.7.8 Username and Password not accepted." in result.stdout


@pytest.mark.parametrize("client", ["swaks", "curl"])
def test_untrusted_ca_is_refused(served: Served, client: str, tmp_path: Path) -> None:
    stranger = tmp_path / "stranger.pem"
    stranger.write_bytes(generate().ca_pem)
    result = run(CLIENTS[client](served, "smtps", "PLAIN", "stranger", cafile=str(stranger)))
    output = result.stdout + result.stderr
    if client == "curl":
        assert result.returncode == 60, output  # "peer certificate cannot be authenticated"
    else:
        assert result.returncode != 0, output
        assert "certificate verify failed" in output, output
    # The server's log says what went wrong, and what to do.
    served.process.expect(r"^\[\d+\] --- tls-failed the client does not trust the CA \(give it")


def test_curl_refuses_a_wrong_host_name(served: Served) -> None:
    # swaks checks the chain but not the name (FIELD-NOTES), so only curl is asked.
    result = run(curl(served, "smtps", "PLAIN", "wrong-name", host="mail.example.com"))
    assert result.returncode == 60, result.stderr
    assert "mail.example.com" in result.stderr

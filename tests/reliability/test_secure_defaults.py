"""Secure defaults, each with a test: loopback only, no AUTH before TLS on the STARTTLS port,
no mail out of the process, someone else's credentials refused, private keys 0600.

(What AUTH payloads may never reach is in ``test_secrets.py``.)
"""

from __future__ import annotations

import base64
import json
import selectors
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from client import SMTPClient
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import Account
from fakeserver.transport.tls import default_certificates, write
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import Stage, expect, open_at, stop_and_check

WAIT_S = 15.0


def _refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2.0):
            return False
    except OSError:  # refused, or an address this machine does not have
        return True


def test_a_server_listens_on_loopback_only_unless_told_otherwise() -> None:
    assert ServerOptions().host == "127.0.0.1"
    with FakeGmail(ServerOptions(plain_port=0)) as gmail:
        for host, port in (gmail.smtps, gmail.submission, gmail.plain):
            assert host == "127.0.0.1"
            # Bound to that one address, not to every address: 127.0.0.2 (also loopback on
            # Linux) finds nobody there.
            assert _refused("127.0.0.2", port)
    with FakeGmail(ServerOptions(host="127.0.0.2")) as elsewhere:
        assert elsewhere.smtps.host == "127.0.0.2"
        assert _refused("127.0.0.1", elsewhere.smtps.port)


def _first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(WAIT_S):
            raise AssertionError(f"fakeserver printed nothing in {WAIT_S} s")
    return process.stdout.readline()


def test_the_command_line_listens_on_loopback_and_writes_private_keys_0600(
    tmp_path: Path,
) -> None:
    # umask 000 is the worst case: whatever the user's umask, keys must come out 0600.
    command = [
        "sh", "-c", 'umask 000 && exec "$0" "$@"', sys.executable, "-m", "fakeserver", "serve",
        "--json", "--smtps-port", "0", "--submission-port", "0", "--plain-port", "0",
        "--http", "127.0.0.1:0", "--certs-dir", "certs",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(_first_line(process))
        for listener in ("smtps", "submission", "plain", "http"):
            address = ready[listener]
            assert address["host"] == "127.0.0.1", f"{listener} listens on {address}"
            assert _refused("127.0.0.2", address["port"])
        modes = {
            path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "certs").iterdir()
        }
        assert modes["ca.key"] == modes["server.key"] == 0o600, modes
        assert modes["ca.pem"] == modes["server.pem"] == 0o644, modes
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(WAIT_S) == 0
        if process.stdout is not None:
            process.stdout.close()


def test_rewritten_keys_are_0600_even_where_a_looser_file_was(tmp_path: Path) -> None:
    where = write(default_certificates(), tmp_path)
    for key in (where.ca_key, where.server_key):
        key.chmod(0o666)
    write(default_certificates(), tmp_path)
    for key in (where.ca_key, where.server_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    leftovers = [path.name for path in tmp_path.iterdir() if path.name.startswith(".")]
    assert leftovers == [], "no temporary copy of a key is left behind"


PLAIN_BLOB = base64.b64encode(b"\0tester@gmail.com\0app-password")
WRONG_BLOB = base64.b64encode(b"\0tester@gmail.com\0wrong")
TOKEN_BLOB = base64.b64encode(
    b"user=tester@gmail.com\x01auth=Bearer ya29.smtprig-test-token\x01\x01"
)
TLS_FIRST = r"530-5\.7\.0 Must issue a STARTTLS command first\. "


@pytest.mark.parametrize("listener", ["submission", "plain"])
@pytest.mark.parametrize(
    "command",
    [
        b"AUTH PLAIN " + PLAIN_BLOB,
        b"AUTH PLAIN " + WRONG_BLOB,
        b"AUTH PLAIN",
        b"AUTH LOGIN",
        b"AUTH LOGIN " + base64.b64encode(b"tester@gmail.com"),
        b"AUTH XOAUTH2 " + TOKEN_BLOB,
        b"AUTH OAUTHBEARER " + TOKEN_BLOB,
        b"AUTH CRAM-MD5",
        b"auth plain " + PLAIN_BLOB,
    ],
    ids=lambda command: command[:17].decode(),
)
def test_auth_is_refused_before_tls_whatever_the_credentials(listener: str, command: bytes) -> None:
    # replies.md §6.1: Gmail answers 530 before looking at the argument, so a right and a
    # wrong password get the same answer: nothing is judged in clear text.
    with FakeGmail(ServerOptions(plain_port=0, seed=8)) as gmail:
        with RawSMTP(getattr(gmail, listener)) as raw:
            raw.reply()
            ehlo = b"".join(raw.command("EHLO client.example"))
            assert b"250-STARTTLS" in ehlo
            assert b"AUTH" not in ehlo, "AUTH is offered only after TLS"
            expect(raw.command(command + b"\r\n"), TLS_FIRST)
            expect(raw.command("MAIL FROM:<tester@gmail.com>"), TLS_FIRST)
        stop_and_check(gmail)


# Every way the server could send mail on: a connection, a name lookup, a process.
_OUTWARD = frozenset(
    {
        "socket.connect",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyaddr",
        "socket.sendto",
        "subprocess.Popen",
        "os.system",
        "os.exec",
        "os.posix_spawn",
        "smtplib.connect",
        "smtplib.send",
    }
)
_SEEN: list[str] = []
_WATCHING = threading.Event()
_HOOKED = threading.Lock()


def _audit(event: str, args: tuple[object, ...]) -> None:
    if (
        _WATCHING.is_set()
        and event in _OUTWARD
        and threading.current_thread().name == "fakeserver-loop"
    ):
        _SEEN.append(f"{event}{args!r}"[:200])


@pytest.fixture
def outward_calls() -> Iterator[list[str]]:
    """What the server thread tried that could take mail out of the process.

    An audit hook (PEP 578) cannot be removed, so it is added once per process and only
    records while a test watches.
    """
    with _HOOKED:
        if not getattr(sys, "_smtprig_audit_hooked", False):
            sys.addaudithook(_audit)
            sys._smtprig_audit_hooked = True  # type: ignore[attr-defined]
    _SEEN.clear()
    _WATCHING.set()
    try:
        yield _SEEN
    finally:
        _WATCHING.clear()


def test_no_mail_ever_leaves_the_process(outward_calls: list[str], tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as trap:
        # A listening socket that a relay trying "[127.0.0.1]:<port>" could reach.
        trap_port = trap.getsockname()[1]
        options = ServerOptions(maildir=tmp_path / "mail", record_dir=tmp_path / "rec", seed=8)
        with FakeGmail(options) as gmail:
            with SMTPClient.connect(
                *gmail.smtps, implicit_tls=True, ssl_context=gmail.client_context(),
                tls_hostname="localhost", timeout_s=10.0,
            ) as client:  # fmt: skip
                client.ehlo()
                client.auth_plain(*gmail.credentials)
                recipients = [
                    "someone@gmail.com",
                    "postmaster@localhost",
                    "relay@[127.0.0.1]",
                    f"port{trap_port}@[127.0.0.1]",
                    "root@example.org",
                ]
                client.send_message(
                    b"Subject: stay here\r\n\r\nhi\r\n",
                    sender="tester@gmail.com",
                    recipients=recipients,
                )
            [message] = gmail.outbox.wait_for(1)
            assert message.recipients == tuple(recipients)
            stop_and_check(gmail)
        trap.settimeout(0.0)
        with pytest.raises(BlockingIOError):
            trap.accept()  # nobody came
    assert outward_calls == []
    # The watch itself works: a connection attempt from a thread of that name is seen.
    control = threading.Thread(target=_refused, args=("127.0.0.1", 9), name="fakeserver-loop")
    control.start()
    control.join(WAIT_S)
    assert "socket.connect" in [call.split("(")[0] for call in outward_calls]


ALICE = Account(
    "alice@gmail.com", "alice-app-password", oauth_tokens=frozenset({"ya29.alice-token"})
)
BOB = Account("bob@example.com", "bob-app-password", oauth_tokens=frozenset({"ya29.bob-token"}))
BAD_CREDENTIALS = r"535-5\.7\.8 Username and Password not accepted\. "
AUTH_FIRST = r"530-5\.7\.0 Authentication Required\. "


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _xoauth2(user: bytes, token: bytes) -> bytes:
    return _b64(b"user=" + user + b"\x01auth=Bearer " + token + b"\x01\x01")


def _oauthbearer(user: bytes, token: bytes) -> bytes:
    return _b64(b"n,a=" + user + b",\x01auth=Bearer " + token + b"\x01\x01")


@pytest.mark.parametrize(
    ("sends", "replies"),
    [
        (b"AUTH PLAIN " + _b64(b"\0alice@gmail.com\0bob-app-password"), [BAD_CREDENTIALS]),
        (b"AUTH PLAIN " + _b64(b"\0alice\0bob-app-password"), [BAD_CREDENTIALS]),
        (b"AUTH PLAIN " + _b64(b"\0ALICE@GMAIL.COM\0bob-app-password"), [BAD_CREDENTIALS]),
        (b"AUTH PLAIN " + _b64(b"\0bob@example.com\0alice-app-password"), [BAD_CREDENTIALS]),
        (
            b"AUTH LOGIN\r\n" + _b64(b"alice@gmail.com") + b"\r\n" + _b64(b"bob-app-password"),
            [r"334 ", r"334 ", BAD_CREDENTIALS],
        ),
        (
            b"AUTH XOAUTH2 " + _xoauth2(b"alice@gmail.com", b"ya29.bob-token") + b"\r\n",
            [r"334 eyJzdGF0dXMiOiI0MDAi", BAD_CREDENTIALS],
        ),
        (
            b"AUTH OAUTHBEARER " + _oauthbearer(b"alice@gmail.com", b"ya29.bob-token") + b"\r\n",
            [r"334 eyJzdGF0dXMiOiI0MDAi", BAD_CREDENTIALS],
        ),
    ],
    ids=[
        "plain-bobs-password",
        "plain-short-login-bobs-password",
        "plain-other-case-bobs-password",
        "plain-alices-password-for-bob",
        "login-bobs-password",
        "xoauth2-bobs-token",
        "oauthbearer-bobs-token",
    ],
)
def test_someone_elses_credentials_get_535(sends: bytes, replies: list[str]) -> None:
    with FakeGmail(ServerOptions(accounts=[ALICE, BOB], seed=8)) as gmail:
        with open_at(gmail, Stage.EHLO) as raw:
            raw.send(sends + b"\r\n")
            for pattern in replies:
                expect(raw.reply(), pattern)
            # Not logged in: the session goes on (replies.md §7.4), but mail is refused.
            expect(raw.command("MAIL FROM:<alice@gmail.com>"), AUTH_FIRST)
        stop_and_check(gmail)


def test_an_authorization_identity_does_not_make_you_someone_else() -> None:
    # RFC 4616 §2: PLAIN's authzid asks to act as another user, which a Gmail account may not
    # (Google documents a refusal, replies.md §13): Alice's password with "bob" as authzid is
    # a failed login; her own login then works, and her mail is hers.
    with FakeGmail(ServerOptions(accounts=[ALICE, BOB], seed=8)) as gmail:
        with open_at(gmail, Stage.EHLO) as raw:
            blob = _b64(b"bob@example.com\0alice@gmail.com\0alice-app-password")
            expect(raw.command(b"AUTH PLAIN " + blob + b"\r\n"), r"535-5\.7\.8 Username")
            expect(raw.command("MAIL FROM:<bob@example.com>"), r"530-5\.7\.0 Authentication")
            blob = _b64(b"alice@gmail.com\0alice@gmail.com\0alice-app-password")
            expect(raw.command(b"AUTH PLAIN " + blob + b"\r\n"), r"235 2\.7\.0 Accepted")
            blob = _b64(b"\0bob@example.com\0bob-app-password")
            expect(raw.command(b"AUTH PLAIN " + blob + b"\r\n"), r"503-5\.5\.1 ")
            raw.command("MAIL FROM:<bob@example.com>")
            raw.command("RCPT TO:<friend@example.org>")
            raw.command("DATA")
            expect(raw.command(b"Subject: who\r\n\r\n.\r\n"), r"250 2\.0\.0 OK  ")
        [message] = gmail.outbox.wait_for(1)
        assert message.session.user == "alice@gmail.com"
        stop_and_check(gmail)

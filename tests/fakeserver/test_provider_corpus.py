"""The fake against real Microsoft 365, SES and SendGrid: every capture in ../shared/personas/
for the three providers (``tests/data/provider_transcripts/``, one file per capture, verbatim)
is replayed, its client side spoken by our client, and the persona must answer byte for byte,
after normalising only what the evidence marks as per-session (``tests/support/provider_ids``:
front-end names, ids, client addresses, dates).

What is not compared is listed here with the reason: the lines of another era
(:data:`LEFT_OUT`), and what a capture does not show and the replay has to say anyway
(:data:`PREPARED`: a session before an excerpt, the steps inside a gap, a login the recorder did
not print). A test makes sure no capture is forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from client import TLSMode
from client.replay import Credentials, replay
from client.transcript import Line, Mismatch, Transcript, load, read
from client.transcript.model import Direction
from client.transcript.normalise import Normaliser
from fakeserver.personas.model import Listener
from fakeserver.scripting.script import Script
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session.accounts import Account
from tests.support.provider_ids import NORMALISERS, SHAPES

CORPUS = Path(__file__).parents[1] / "data" / "provider_transcripts"
USER, PASSWORD, TOKEN = "sender@example.org", "app-secret", "ya29.token"
ACCOUNT = Account(USER, PASSWORD, oauth_tokens=frozenset({TOKEN}))


def masked(pattern: str, reason: str) -> Normaliser:
    """Leaves out the server line that starts with ``pattern`` (a regex), on both sides."""
    compiled = re.compile(pattern)

    def normalise(direction: Direction, text: str) -> str:
        if direction is Direction.SERVER and compiled.match(text):
            return f"{text[:4]}<left out: {reason}>"
        return text

    return normalise


def cut(after: str) -> Normaliser:
    """Compares a server line only up to ``after`` (a regex): the capture stops there."""
    compiled = re.compile(f"({after}).*$")

    def normalise(direction: Direction, text: str) -> str:
        if direction is not Direction.SERVER:
            return text
        return compiled.sub(r"\g<1><the capture stops here>", text)

    return normalise


LEFT_OUT: dict[str, dict[str, Normaliser]] = {
    "office365_02_python_socket_587_helo_after_starttls_2022-11.txt": {
        "greeting": masked("220 ", "2022, before the greeting gained its hex id (2024-06..10)"),
    },
    "office365_03_codeigniter_587_send_as_denied_2025-11.txt": {
        "diagnostics": cut(r"1\.79180:FA000000,"),  # the rest was cut by the recorder
    },
    "office365_05_phpmailer_587_post_tls_ehlo_2017-02.txt": {
        "auth": masked("250-AUTH ", "2017's list, before XOAUTH2 was added"),
    },
    "office365_06_curl_587_pre_tls_ehlo_2023-03.txt": {
        "greeting": masked("220 ", "2023, before the greeting gained its hex id (2024-06..10)"),
    },
    "office365_07_postfix_587_pipelined_mail_without_auth_2024-10.txt": {
        "suffix": cut(r"Client not authenticated to send mail\. \["),  # cut by the issue index
    },
    "ses_02_swiftmailer_587_starttls_bad_credentials_2017-03.txt": {
        "greeting": masked("220 ", "2017 banner, 'SimpleEmailService-<digits>' without '-d-'"),
    },
    "sendgrid_05_javamail_465_sender_identity_550_2022-10.txt": {
        "greeting": masked("220 ", "2022 'geopod' greeting, whose EHLO was never captured"),
    },
}
"""Server lines that are not compared, with the reason: replies of another era, and the ends
of lines a capture cut. Each is masked on both sides, so the rest of the reply still counts."""

_BEFORE_MAIL = """\
C: EHLO client.example
S: <250 not in the excerpt>
C: STARTTLS
S: <220 not in the excerpt>
# --- TLS handshake ---
C: EHLO client.example
S: <250 not in the excerpt>
"""
_SENDGRID_GAP = """\
C: EHLO client.example
S: <250 not visible>
C: AUTH PLAIN <redacted>
S: <235 not visible>
C: MAIL FROM:<redacted>
S: <250 not visible>
C: RCPT TO:<redacted>
S: <250 not visible>
C: DATA
S: <354 not visible>
C: <message> .
"""


@dataclass(frozen=True)
class Replay:
    """How one capture is replayed.

    Attributes:
        persona: the persona to replay it against.
        listener: the port it was recorded on.
        insert: lines the capture does not show, put in after the line that equals the key
            ("" for the start), with their reason in a comment; their replies are not compared.
        rewrite: client lines the poster masked in a way a server cannot read, and what is sent.
        script: what the test scripts (the provider's refusal the capture shows).
        password: the password the replay logs in with (a wrong one for a refused login).
        idle_timeout_s: the server's idle timeout, shortened where the capture waits for it.
    """

    persona: str
    listener: Listener = Listener.SUBMISSION
    insert: Mapping[str, str] = field(default_factory=dict)
    rewrite: Mapping[str, str] = field(default_factory=dict)
    script: Callable[[Script], object] | None = None
    password: str = PASSWORD
    idle_timeout_s: float | None = None


PREPARED: dict[str, Replay] = {
    "office365_01a_git_send_email_587_invalid_ehlo_domain_2025-04.txt": Replay("office365"),
    "office365_01b_git_send_email_587_xoauth2_2025-04.txt": Replay("office365"),
    "office365_02_python_socket_587_helo_after_starttls_2022-11.txt": Replay("office365"),
    "office365_03_codeigniter_587_send_as_denied_2025-11.txt": Replay(
        "office365", script=lambda s: s.on("end_of_data").reply("sender_not_allowed")
    ),
    "office365_05_phpmailer_587_post_tls_ehlo_2017-02.txt": Replay(
        "office365",
        # The excerpt starts at STARTTLS; PHPMailer sent EHLO before it.
        insert={"": "C: EHLO client.example\nS: <250 not in the excerpt>\n"},
        # "{ipaddress}" is the poster's mask of the client's host name.
        rewrite={"EHLO ip-{ipaddress}": "EHLO ip-192-0-2-1"},
    ),
    "office365_06_curl_587_pre_tls_ehlo_2023-03.txt": Replay("office365"),
    "office365_07_postfix_587_pipelined_mail_without_auth_2024-10.txt": Replay(
        "office365", insert={"": _BEFORE_MAIL}
    ),
    "ses_01_openssl_465_full_send_idle_timeout_2020-02.txt": Replay(
        "ses", Listener.SMTPS, idle_timeout_s=0.5
    ),
    "ses_02_swiftmailer_587_starttls_bad_credentials_2017-03.txt": Replay("ses", password="wrong"),
    "ses_03_swaks_port25_auth_before_starttls_2020-03.txt": Replay("ses", Listener.PLAIN),
    "ses_05_aws_docs_465_banner.txt": Replay("ses", Listener.SMTPS),
    "sendgrid_01_telnet_587_plaintext_auth_full_send_circa2018.txt": Replay("sendgrid"),
    "sendgrid_02_smtplib_587_starttls_full_send_2020-05.txt": Replay("sendgrid"),
    "sendgrid_03_phpbb_587_authplain_no_initial_response_535_2017-02.txt": Replay(
        "sendgrid", password="wrong"
    ),
    "sendgrid_04_telnet_587_bare_ehlo_ip_access_451_2016-09.txt": Replay(
        "sendgrid", script=lambda s: s.on("auth_response", nth=2).reply("auth_blocked")
    ),
    "sendgrid_05_javamail_465_sender_identity_550_2022-10.txt": Replay(
        "sendgrid",
        Listener.SMTPS,
        # The index shows no line between the greeting and the 550.
        insert={"220 SG ESMTP service ready at geopod-ismtpd-6-0": _SENDGRID_GAP},
        script=lambda s: s.on("end_of_data").reply("sender_not_allowed"),
    ),
}
"""Every capture, and what its replay needs besides its own lines."""


def prepared(name: str, how: Replay) -> Transcript:
    """The capture with ``how``'s insertions and rewrites."""
    transcript = read(CORPUS / name)
    entries = list(transcript.entries)
    for after, text in how.insert.items():
        position = 0
        if after:
            anchor = Line(Direction.SERVER, after.encode() + b"\r\n")
            position = entries.index(anchor) + 1
        entries[position:position] = load(text).entries
    for old, new in how.rewrite.items():
        entries = [
            Line(entry.direction, new.encode() + b"\r\n")
            if isinstance(entry, Line) and entry.data == old.encode() + b"\r\n"
            else entry
            for entry in entries
        ]
    return Transcript(transcript.headers, tuple(entries))


def replayed(name: str) -> tuple[Transcript, Mismatch | None]:
    how = PREPARED[name]
    options = ServerOptions(
        persona=how.persona,
        accounts=(ACCOUNT,),
        plain_port=0 if how.listener is Listener.PLAIN else None,
        error_delays=False,  # Microsoft 365's 5 s before each error is tested in tests/session
        idle_timeout_s=how.idle_timeout_s,
        seed=14,
    )
    with FakeGmail(options) as fake:
        if how.script is not None:
            how.script(fake.script)
        host, port = fake.listeners[how.listener]
        result = replay(
            prepared(name, how),
            host,
            port,
            credentials=Credentials(USER, how.password, TOKEN),
            ssl_context=fake.client_context(),
            tls=TLSMode.IMPLICIT if how.listener.implicit_tls else TLSMode.STARTTLS,
            tls_hostname="localhost",
            normalisers={**NORMALISERS[how.persona], **LEFT_OUT.get(name, {})},
        )
        fake.check()
    return result.transcript, result.mismatch


def test_every_capture_is_replayed() -> None:
    files = {path.name for path in CORPUS.glob("*.txt")}
    assert len(files) == 16
    assert set(PREPARED) == files
    assert set(LEFT_OUT) <= files


@pytest.mark.parametrize("name", sorted(PREPARED))
def test_the_persona_answers_as_the_provider_did(name: str) -> None:
    _, mismatch = replayed(name)
    assert mismatch is None, str(mismatch)


@pytest.mark.parametrize("persona", ["office365", "ses", "sendgrid"])
def test_a_wrong_persona_is_caught(persona: str) -> None:
    """The normalisers hide only identifiers: another provider's persona fails the replay."""
    name = next(
        name
        for name, how in sorted(PREPARED.items())
        if how.persona == persona and how.listener is Listener.SUBMISSION
    )
    other = {"office365": "ses", "ses": "sendgrid", "sendgrid": "office365"}[persona]
    how = PREPARED[name]
    with FakeGmail(ServerOptions(persona=other, accounts=(ACCOUNT,), error_delays=False)) as fake:
        host, port = fake.submission
        result = replay(
            prepared(name, how),
            host,
            port,
            credentials=Credentials(USER, PASSWORD, TOKEN),
            ssl_context=fake.client_context(),
            tls=TLSMode.STARTTLS,
            tls_hostname="localhost",
            normalisers=NORMALISERS[persona],
        )
    assert result.mismatch is not None
    assert result.mismatch.matcher in {"text", "end", "placeholder"}


def server_lines(transcript: Transcript) -> list[str]:
    return [
        line.data.decode().rstrip("\r\n")
        for line in transcript.lines
        if line.direction is Direction.SERVER
    ]


def test_office365_repeats_the_greeting_id_in_every_error() -> None:
    actual, mismatch = replayed("office365_01a_git_send_email_587_invalid_ehlo_domain_2025-04.txt")
    assert mismatch is None
    greeting, *errors = server_lines(actual)
    found = re.fullmatch(r"220 (\S+)\.outlook\.office365\.com .* \[([0-9A-F]{16})\]", greeting)
    assert found is not None, greeting
    front_end, hex_id = found.groups()
    assert SHAPES["office365"]["frontend"].fullmatch(front_end)
    assert SHAPES["office365"]["session_id"].fullmatch(hex_id)
    assert len(errors) == 2
    for error in errors:
        assert error.startswith(f"501 5.5.4 Invalid domain name [{front_end}.")
        assert error.endswith(f"Z {hex_id}]")


def test_ses_and_sendgrid_ids_have_the_evidence_shapes() -> None:
    actual, _ = replayed("ses_01_openssl_465_full_send_idle_timeout_2020-02.txt")
    lines = server_lines(actual)
    instance, token = lines[0].split("SimpleEmailService-d-")[1].split()
    assert SHAPES["ses"]["instance"].fullmatch(instance)
    assert SHAPES["ses"]["session_id"].fullmatch(token)
    [accepted] = [line for line in lines if line.startswith("250 Ok 0100")]
    # <region 0100><epoch ms, 12 hex>-<UUID version 4>-000000 (ses.md §3)
    assert re.fullmatch(
        r"250 Ok 0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-"
        r"[89ab][0-9a-f]{3}-[0-9a-f]{12}-000000",
        accepted,
    )
    actual, _ = replayed("sendgrid_01_telnet_587_plaintext_auth_full_send_circa2018.txt")
    lines = server_lines(actual)
    front_end = lines[0].split(" at ")[1].removesuffix(".sendgrid.net")
    assert SHAPES["sendgrid"]["session_id"].fullmatch(front_end)
    [queued] = [line for line in lines if "queued as" in line]
    # 16 random bytes in unpadded URL-safe base64: the last of 22 characters holds 2 bits.
    assert re.fullmatch(r"250 Ok: queued as [A-Za-z0-9_-]{21}[AQgw]", queued)

"""The bad-input catalogue: one write of bytes no good client sends, and the reply it must get.

Each case names the stage the connection is at, the bytes (sent in one write, so a pipelined
burst stays one burst), the first line of every reply that must come back, in order, and
whether the session then goes on (``NOOP`` still gets 250) or the server has closed it. The
replies are Gmail's where ``../shared/gmail/replies.md`` has them (each case cites its
section); where Gmail was never seen answering, the persona's choice is cited instead
(``fakeserver/personas/gmail.toml``).

Every case also checks what no case may break: every reply line is well-formed SMTP with no
traceback or exception text in it, nothing is raised in the server thread, and a bystander
connection opened before the bad input still gets its answers afterwards. The cases that need
more than one write (STARTTLS, TLS garbage, a client that goes away, smuggling, size limits,
pipelining floods) are in ``test_streams.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fakeserver.server.fake import FakeGmail, ServerOptions
from tests.support.wire import Stage, closed, expect, open_at, still_serves, stop_and_check


@dataclass(frozen=True)
class Case:
    stage: Stage
    sends: bytes
    replies: tuple[str, ...]
    closes: bool
    evidence: str


def case(
    name: str,
    stage: Stage,
    sends: bytes,
    *replies: str,
    closes: bool = False,
    evidence: str,
    bug: str | None = None,
) -> object:
    marks = [pytest.mark.xfail(strict=True, reason=f"BUG: {bug}")] if bug else []
    return pytest.param(Case(stage, sends, replies, closes, evidence), id=name, marks=marks)


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


# First lines of Gmail's replies (replies.md; the persona renders the rest).
OK = r"250 2\.0\.0 OK [0-9a-f]"
ACCEPTED = r"250 2\.0\.0 OK  \d{10} "
CHUNK_OK = r"250 2\.0\.0 OK [0-9a-f]"
SENDER_OK = r"250 2\.1\.0 OK "
RECIPIENT_OK = r"250 2\.1\.5 OK "
FLUSHED = r"250 2\.1\.5 Flushed "
EHLO_LIST = r"250-smtp\.gmail\.com at your service, \[127\.0\.0\.1\]"
HELO = r"250 smtp\.gmail\.com at your service\r\n"
GO_AHEAD = r"354 Go ahead "
LOGIN_USER = r"334 VXNlcm5hbWU6\r\n"
LOGIN_PASSWORD = r"334 UGFzc3dvcmQ6\r\n"
EMPTY_CHALLENGE = r"334 \r\n"
TOKEN_ERROR = r"334 eyJzdGF0dXMiOiI0MDAi"
HELO_FIRST = r"503 5\.5\.1 EHLO/HELO first\. "
TLS_FIRST = r"530-5\.7\.0 Must issue a STARTTLS command first\. "
AUTH_FIRST = r"530-5\.7\.0 Authentication Required\. "
MAIL_FIRST = r"503-5\.5\.1 MAIL first\. "
RCPT_FIRST = r"503-5\.5\.1 RCPT first\. "
NESTED_MAIL = r"503-5\.5\.1 Nested MAIL command\. "
NO_DATA_AFTER_BDAT = r"503 5\.5\.1 No DATA after BDAT\. "
SYNTAX = r"555-5\.5\.2 Syntax error, cannot decode response\. "
TOO_LONG = r"555-5\.5\.2 Syntax error, command line too long\r\n"
CANNOT_DECODE = r"501-5\.5\.2 Cannot Decode response\. "
BAD_CREDENTIALS = r"535-5\.7\.8 Username and Password not accepted\. "
UNKNOWN_MECHANISM = r"504 5\.7\.4 Unrecognized authentication type\. "
UNRECOGNIZED = r"502 5\.5\.1 Unrecognized command\. "
TOO_MANY_UNRECOGNIZED = r"502 5\.5\.1 Too many unrecognized commands, goodbye\. "
EMPTY_HELO = r"501-5\.5\.4 Empty HELO/EHLO argument not allowed, closing connection\.\r\n"
TOO_BIG = r"552-5\.3\.4 Your message exceeded Google's message size limits\.\r\n"
NOT_AN_ADDRESS = r"553-5\.1\.3 The recipient address <"
NOT_A_SENDER = r"553-5\.1\.7 The sender address <"
TOO_MANY_RECIPIENTS = r"452-4\.5\.3 Your message has too many recipients\. "
NOT_REPEATED = r"454 5\.5\.1 STARTTLS may not be repeated\. "

USER_B64 = b64(b"tester@gmail.com")
PASSWORD_B64 = b64(b"app-password")
LONG_PASSWORD_BLOB = b64(b"\0tester@gmail.com\0" + b"p" * 700)  # 972 octets of base64
WRONG_TOKEN = b64(b"user=tester@gmail.com\x01auth=Bearer ya29.wrong\x01\x01")
A, R = Stage.AUTHED, Stage.RCPT

LINES = [
    case("command-line-at-the-1000-octet-limit", Stage.SMTPS, b"NOOP " + b"x" * 993 + b"\r\n",
         OK, evidence="persona command_line_limit 1000 (replies.md §7.7: ~1000 passes)"),
    case("command-line-one-octet-over", Stage.SMTPS, b"NOOP " + b"x" * 994 + b"\r\n",
         TOO_LONG, closes=True, evidence="replies.md §7.7, §12.6 [V1] 2026 wording, then a close"),
    case("command-line-over-with-bare-lf", Stage.SMTPS, b"NOOP " + b"x" * 1000 + b"\n",
         TOO_LONG, closes=True, evidence="replies.md §12.6; LF-only lines are lines (§14)"),
    case("ehlo-of-100-kb-before-tls", Stage.SUBMISSION, b"EHLO " + b"h" * 100_000 + b"\r\n",
         TOO_LONG, closes=True, evidence="replies.md §12.6"),
    case("10-mb-line-without-a-break-then-crlf", Stage.EHLO, b"x" * 10_000_000 + b"\r\n",
         TOO_LONG, closes=True, evidence="replies.md §12.6; read and thrown away, not kept"),
    case("auth-initial-response-over-the-limit", Stage.EHLO, b"AUTH PLAIN " + b"A" * 2000 + b"\r\n",
         TOO_LONG, closes=True, evidence="replies.md §7.7 [V1] MailKit#1343: long tokens fail"),
    case("auth-initial-response-just-under-the-limit", Stage.EHLO,
         b"AUTH PLAIN " + LONG_PASSWORD_BLOB + b"\r\n",
         BAD_CREDENTIALS, evidence="replies.md §7.7 (≤ 697-char tokens pass), §7.4 [V3+]"),
    case("sasl-response-at-the-12288-octet-limit", Stage.EHLO,
         b"AUTH PLAIN\r\n" + b"A" * 12_286 + b"\r\n", EMPTY_CHALLENGE, CANNOT_DECODE, closes=True,
         evidence="persona sasl_response_limit 12288 (RFC 4954 §4; replies.md §7.7: MailKit "
                  "moved long tokens after the 334)"),
    case("sasl-response-one-octet-over", Stage.EHLO,
         b"AUTH PLAIN\r\n" + b"A" * 12_287 + b"\r\n", EMPTY_CHALLENGE, TOO_LONG, closes=True,
         evidence="persona sasl_response_limit 12288; replies.md §12.6"),
    case("sasl-response-of-50-kb", Stage.EHLO, b"AUTH PLAIN\r\n" + b"A" * 50_000 + b"\r\n",
         EMPTY_CHALLENGE, TOO_LONG, closes=True, evidence="replies.md §7.2, §12.6"),
    case("10-mb-initial-response", Stage.EHLO, b"AUTH XOAUTH2 " + b"B" * 10_000_000 + b"\r\n",
         TOO_LONG, closes=True, evidence="replies.md §7.7; read and thrown away, not kept"),
]  # fmt: skip

BYTES = [
    case("nul-in-a-verb", Stage.SMTPS, b"NO\x00OP\r\n", UNRECOGNIZED,
         evidence="replies.md §13 [V3+] unknown verb"),
    case("nul-in-the-ehlo-name", Stage.SMTPS, b"EHLO a\x00b\r\n", EHLO_LIST,
         evidence="persona: a name without spaces is taken (replies.md §3.4 refuses spaces)"),
    case("nul-in-the-sender", A, b"MAIL FROM:<a\x00b@example.org>\r\n",
         r"553-5\.1\.7 The sender address <a\?b@example\.org> is not a valid RFC 5321",
         evidence="replies.md §8 [V1] 553 5.1.7; RFC 5321 §4.1.2: no control in an address"),
    case("bare-cr-in-the-sender", A, b"MAIL FROM:<a\rb@example.org>\r\n", NOT_A_SENDER,
         evidence="replies.md §8 [V1] 553 5.1.7; RFC 5321 §4.1.2"),
    case("invalid-utf8-in-the-sender", A, b"MAIL FROM:<j\xf6rg@example.org>\r\n",
         NOT_A_SENDER, evidence="replies.md §8 [V1] 553 5.1.7; RFC 6531 §3.3: UTF-8 only"),
    case("nul-in-the-recipient", Stage.MAIL, b"RCPT TO:<a\x00b@example.org>\r\n",
         r"553-5\.1\.3 The recipient address <a\?b@example\.org> is not a valid RFC 5321",
         evidence="replies.md §9 [V2] 553 5.1.3; RFC 5321 §4.1.2"),
    case("bare-cr-in-the-recipient", Stage.MAIL, b"RCPT TO:<a\rb@example.org>\r\n",
         NOT_AN_ADDRESS, evidence="replies.md §9 [V2] 553 5.1.3; RFC 5321 §4.1.2"),
    case("control-in-a-mail-parameter", A, b"MAIL FROM:<a@b.c> AUTH=a\x00b\r\n", SYNTAX,
         evidence="replies.md §13 555 5.5.2; RFC 5321 §4.1.2: esmtp-value is printable"),
    case("nul-in-the-body", Stage.DATA, b"a\x00b\r\n.\r\n", ACCEPTED,
         evidence="replies.md §10.2; the body is kept as sent"),
    case("utf8-sender-with-smtputf8", A, "MAIL FROM:<jörg@exämple.org> SMTPUTF8\r\n".encode(),
         SENDER_OK, evidence="replies.md §8, §14 [V1] SMTPUTF8 accepted"),
    case("utf8-recipient", Stage.MAIL, "RCPT TO:<jörg@exämple.org>\r\n".encode(), RECIPIENT_OK,
         evidence="replies.md §14: SMTPUTF8 advertised"),
    case("latin1-recipient", Stage.MAIL, b"RCPT TO:<j\xf6rg@example.org>\r\n", NOT_AN_ADDRESS,
         evidence="replies.md §9 [V2] 553 5.1.3; RFC 6531 §3.3: an address is UTF-8"),
    case("invalid-utf8-as-the-whole-recipient", Stage.MAIL, b"RCPT TO:<\xff\xfe>\r\n",
         NOT_AN_ADDRESS, evidence="replies.md §9 [V2] 553 5.1.3 echoes the address"),
    case("invalid-utf8-in-an-ehlo-name-with-a-space", Stage.SMTPS, b"EHLO a \xff\r\n",
         r'501-5\.5\.4 HELO/EHLO argument "a ', closes=True,
         evidence="replies.md §3.4 [V1] echoes the argument, then closes"),
    case("bare-cr-in-an-ehlo-name-with-a-space", Stage.SMTPS, b"EHLO a\rb c\r\n",
         r'501-5\.5\.4 HELO/EHLO argument "a', closes=True,
         evidence="replies.md §3.4 [V1] echoes the argument; RFC 5321 §4.2: reply text is "
                  "printable, and a CR alone must not reach the wire"),
    case("utf8-bytes-in-a-verb", Stage.SMTPS, "NÖOP\r\n".encode(), UNRECOGNIZED,
         evidence="replies.md §13 [V3+] unknown verb"),
    case("invalid-utf8-helo-name", Stage.SMTPS, b"HELO \xc3\x28\r\n", HELO,
         evidence="replies.md §4 [V3+]"),
    case("8-bit-body", Stage.DATA, b"caf\xe9 \xff\xfe\x80\r\n.\r\n", ACCEPTED,
         evidence="replies.md §10.2, §14 8BITMIME"),
    case("escape-sequence-in-a-verb", Stage.SMTPS, b"NOOP\x1b[31m\r\n", UNRECOGNIZED,
         evidence="replies.md §13 [V3+] unknown verb"),
    case("bare-cr-inside-a-command-line", Stage.SMTPS, b"NOOP\rRSET\r\n", UNRECOGNIZED,
         evidence="replies.md §14: only LF ends a command line; CR alone does not"),
    case("del-alone", Stage.SMTPS, b"\x7f\r\n", UNRECOGNIZED, evidence="replies.md §13"),
    case("spaces-alone", Stage.SMTPS, b"   \r\n", UNRECOGNIZED,
         evidence="persona: an empty command line is unrecognized"),
    case("leading-space-before-a-verb", Stage.SMTPS, b" NOOP\r\n", UNRECOGNIZED,
         evidence="persona: the verb is what precedes the first space"),
]  # fmt: skip

AUTH = [
    case("auth-plain-not-base64", Stage.EHLO, b"AUTH PLAIN !!!!\r\n", CANNOT_DECODE,
         closes=True, evidence="replies.md §7.7 [V3+] 501 5.5.2; 2024 form then a disconnect"),
    case("auth-plain-bad-padding", Stage.EHLO, b"AUTH PLAIN AGE\r\n", CANNOT_DECODE, closes=True,
         evidence="replies.md §7.7"),
    case("auth-plain-url-safe-alphabet", Stage.EHLO, b"AUTH PLAIN AHRlc3Rlcl9-\r\n",
         CANNOT_DECODE, closes=True, evidence="replies.md §7.7; RFC 4954 §4 uses RFC 4648 §4"),
    case("auth-plain-base64-of-no-credentials", Stage.EHLO,
         b"AUTH PLAIN " + b64(b"hello") + b"\r\n", CANNOT_DECODE, closes=True,
         evidence="replies.md §7.7: undecodable SASL"),
    case("auth-plain-empty-user-and-password", Stage.EHLO, b"AUTH PLAIN AAA=\r\n",
         BAD_CREDENTIALS, evidence="replies.md §7.4 [V3+] transcript 44: empty credentials"),
    case("auth-plain-empty-initial-response", Stage.EHLO, b"AUTH PLAIN =\r\n", CANNOT_DECODE,
         closes=True, evidence="RFC 4954 §4 '=' is empty; an empty PLAIN blob cannot decode"),
    case("auth-plain-two-initial-responses", Stage.EHLO, b"AUTH PLAIN AGE gZ==\r\n", SYNTAX,
         evidence="replies.md §13 555 5.5.2"),
    case("auth-without-a-mechanism", Stage.EHLO, b"AUTH\r\n", SYNTAX,
         evidence="replies.md §13 555 5.5.2"),
    case("auth-cram-md5", Stage.EHLO, b"AUTH CRAM-MD5\r\n", UNKNOWN_MECHANISM,
         evidence="replies.md §7 [V2]"),
    case("auth-8-bit-mechanism", Stage.EHLO, b"AUTH \xff\xfe\r\n", UNKNOWN_MECHANISM,
         evidence="replies.md §7 [V2]"),
    case("auth-login-bad-username", Stage.EHLO, b"AUTH LOGIN\r\n%%%\r\n", LOGIN_USER,
         CANNOT_DECODE, closes=True, evidence="replies.md §7.1, §7.7"),
    case("auth-login-bad-password", Stage.EHLO,
         b"AUTH LOGIN\r\n" + USER_B64 + b"\r\n@@@@\r\n", LOGIN_USER, LOGIN_PASSWORD,
         CANNOT_DECODE, closes=True, evidence="replies.md §7.1, §7.7"),
    case("auth-login-bad-initial-response", Stage.EHLO, b"AUTH LOGIN a=b=\r\n", CANNOT_DECODE,
         closes=True, evidence="replies.md §7.7"),
    case("auth-xoauth2-raw-token-not-base64", Stage.EHLO, b"AUTH XOAUTH2 ya29.token\r\n",
         CANNOT_DECODE, closes=True, evidence="replies.md §7.7 [V3+] pilight 'invalid base64'"),
    case("auth-xoauth2-base64-of-garbage", Stage.EHLO,
         b"AUTH XOAUTH2 " + b64(b"\x01\x02garbage") + b"\r\n", CANNOT_DECODE, closes=True,
         evidence="replies.md §7.7"),
    case("auth-login-cancelled-at-username", Stage.EHLO, b"AUTH LOGIN\r\n*\r\n", LOGIN_USER,
         CANNOT_DECODE, closes=True, evidence="RFC 4954 §4: 501; persona cannot_decode"),
    case("auth-login-cancelled-at-password", Stage.EHLO,
         b"AUTH LOGIN\r\n" + USER_B64 + b"\r\n*\r\n", LOGIN_USER, LOGIN_PASSWORD,
         CANNOT_DECODE, closes=True, evidence="RFC 4954 §4; persona cannot_decode"),
    case("auth-plain-cancelled", Stage.EHLO, b"AUTH PLAIN\r\n*\r\n", EMPTY_CHALLENGE,
         CANNOT_DECODE, closes=True, evidence="replies.md §7.2; RFC 4954 §4"),
    case("auth-xoauth2-cancelled", Stage.EHLO, b"AUTH XOAUTH2\r\n *\t\r\n", EMPTY_CHALLENGE,
         CANNOT_DECODE, closes=True, evidence="replies.md §7.7; RFC 4954 §4"),
    case("auth-xoauth2-wrong-token-then-cancel", Stage.EHLO,
         b"AUTH XOAUTH2 " + WRONG_TOKEN + b"\r\n*\r\n", TOKEN_ERROR, BAD_CREDENTIALS,
         evidence="replies.md §7.7 [V3+]: any line after the error challenge gets 535"),
    case("auth-login-pipelined-whole", Stage.EHLO,
         b"AUTH LOGIN\r\n" + USER_B64 + b"\r\n" + PASSWORD_B64 + b"\r\n", LOGIN_USER,
         LOGIN_PASSWORD, r"235 2\.7\.0 Accepted\r\n", evidence="replies.md §7.1, §14"),
]  # fmt: skip

ORDER = [
    case("mail-before-ehlo", Stage.SMTPS, b"MAIL FROM:<a@b.c>\r\n", HELO_FIRST,
         evidence="replies.md §6.3 [V2]"),
    case("rcpt-before-ehlo", Stage.SMTPS, b"RCPT TO:<a@b.c>\r\n", HELO_FIRST,
         evidence="replies.md §6.3"),
    case("data-before-ehlo", Stage.SMTPS, b"DATA\r\n", HELO_FIRST, evidence="replies.md §6.3"),
    case("auth-before-ehlo", Stage.SMTPS, b"AUTH PLAIN " + b64(b"\0a\0b") + b"\r\n", HELO_FIRST,
         evidence="SUMMARY.md state machine: AUTH before EHLO/HELO gets 503"),
    case("starttls-before-ehlo", Stage.SUBMISSION, b"STARTTLS\r\n", HELO_FIRST,
         evidence="persona: the greeting check comes first (replies.md §6.1 note)"),
    case("mail-before-ehlo-on-the-starttls-port", Stage.SUBMISSION, b"MAIL FROM:<a@b.c>\r\n",
         HELO_FIRST, evidence="replies.md §6.1: the greeting check comes first"),
    case("auth-login-before-starttls", Stage.SUBMISSION_EHLO, b"AUTH LOGIN\r\n", TLS_FIRST,
         evidence="replies.md §6.1 [V3+] (thc-hydra#471: AUTH LOGIN)"),
    case("mail-before-starttls", Stage.SUBMISSION_EHLO, b"MAIL FROM:<a@b.c>\r\n", TLS_FIRST,
         evidence="replies.md §6.1 [V3+]"),
    case("unbracketed-mail-before-starttls", Stage.SUBMISSION_EHLO, b"MAIL FROM: a@b.c\r\n",
         TLS_FIRST, evidence="replies.md §6.1: checked before the syntax (transcript 18)"),
    case("rcpt-before-starttls", Stage.SUBMISSION_EHLO, b"RCPT TO:<a@b.c>\r\n", TLS_FIRST,
         evidence="replies.md §6.1"),
    case("data-before-starttls", Stage.SUBMISSION_EHLO, b"DATA\r\n", TLS_FIRST,
         evidence="replies.md §6.1"),
    case("vrfy-before-starttls", Stage.SUBMISSION_EHLO, b"VRFY a@b.c\r\n", TLS_FIRST,
         evidence="replies.md §6.1: all but EHLO, HELO, STARTTLS, RSET, QUIT"),
    case("mail-without-auth", Stage.EHLO, b"MAIL FROM:<a@b.c>\r\n", AUTH_FIRST,
         evidence="replies.md §6.2 [V2]"),
    case("rcpt-without-auth", Stage.EHLO, b"RCPT TO:<a@b.c>\r\n", AUTH_FIRST,
         evidence="replies.md §6.2 [V2]"),
    case("data-without-auth", Stage.EHLO, b"DATA\r\n", AUTH_FIRST, evidence="replies.md §6.2"),
    case("rcpt-before-mail", A, b"RCPT TO:<a@b.c>\r\n", MAIL_FIRST,
         evidence="replies.md §10.3 [J] 2025 template"),
    case("data-before-mail", A, b"DATA\r\n", MAIL_FIRST, evidence="replies.md §10.3 [V3+]"),
    case("data-before-rcpt", Stage.MAIL, b"DATA\r\n", RCPT_FIRST,
         evidence="replies.md §10.3 [V3+]"),
    case("bdat-before-mail-its-chunk-is-read", A, b"BDAT 6\r\nRSET\r\n", MAIL_FIRST,
         evidence="replies.md §10.3; RFC 3030 §2: the chunk follows whatever the reply"),
    case("bdat-before-rcpt-its-chunk-is-read", Stage.MAIL, b"BDAT 6 LAST\r\nRSET\r\n",
         RCPT_FIRST, evidence="replies.md §10.3; RFC 3030 §2"),
    case("nested-mail", Stage.MAIL, b"MAIL FROM:<b@c.d>\r\n", NESTED_MAIL,
         evidence="replies.md §8 not observed; persona: the 2025 out-of-sequence template"),
    case("second-auth", A, b"AUTH LOGIN\r\n", MAIL_FIRST, evidence="replies.md §7.9 [V1, J]"),
    case("data-after-bdat", R, b"BDAT 3\r\nabcDATA\r\n", CHUNK_OK, NO_DATA_AFTER_BDAT,
         evidence="replies.md §11 [DOC] 503 5.5.1 No DATA after BDAT."),
    case("data-after-rset", R, b"RSET\r\nDATA\r\n", FLUSHED, MAIL_FIRST,
         evidence="replies.md §13 RSET [V3+], §10.3"),
    case("data-after-ehlo-mid-transaction", R, b"EHLO again\r\nDATA\r\n", EHLO_LIST,
         MAIL_FIRST, evidence="RFC 5321 §4.1.4: EHLO resets the transaction"),
    case("data-after-helo-mid-transaction", R, b"HELO again\r\nDATA\r\n", HELO, MAIL_FIRST,
         evidence="RFC 5321 §4.1.4; replies.md §4"),
    case("commands-after-quit-are-not-answered", Stage.SMTPS, b"QUIT\r\nNOOP\r\nNOOP\r\n",
         r"221 2\.0\.0 closing connection ", closes=True, evidence="replies.md §13 [V3+]"),
    case("bdat-before-ehlo-its-chunk-is-read", Stage.SMTPS, b"BDAT 6\r\nRSET\r\n", HELO_FIRST,
         evidence="replies.md §6.3; RFC 3030 §2: the chunk follows whatever the reply"),
    case("bdat-before-starttls-its-chunk-is-read", Stage.SUBMISSION_EHLO,
         b"BDAT 6\r\nRSET\r\n", TLS_FIRST, evidence="replies.md §6.1; RFC 3030 §2"),
    case("bdat-without-auth-its-chunk-is-read", Stage.EHLO, b"BDAT 6 LAST\r\nRSET\r\n",
         AUTH_FIRST, evidence="replies.md §6.2; RFC 3030 §2"),
]  # fmt: skip

ARGUMENTS = [
    case("bare-ehlo", Stage.SMTPS, b"EHLO\r\n", EMPTY_HELO, closes=True,
         evidence="replies.md §3.4 [V2], then closed"),
    case("bare-helo", Stage.SMTPS, b"HELO\r\n", EMPTY_HELO, closes=True,
         evidence="replies.md §3.4 [V2]"),
    case("ehlo-of-spaces", Stage.SMTPS, b"EHLO     \r\n", EMPTY_HELO, closes=True,
         evidence="replies.md §3.4 [V2]"),
    case("ehlo-with-a-space", Stage.SMTPS, b"EHLO PhpStorm 9.0.3\r\n",
         r'501-5\.5\.4 HELO/EHLO argument "PhpStorm 9\.0\.3" invalid, closing connection\.',
         closes=True, evidence="replies.md §3.4 [V1] PHPMailer#1011"),
    case("ehlo-with-a-tab", Stage.SMTPS, b"EHLO a\tb\r\n", r'501-5\.5\.4 HELO/EHLO argument "a',
         closes=True, evidence="replies.md §3.4"),
    case("ehlo-of-958-octets-with-a-space-is-echoed-cut", Stage.SMTPS,
         b"EHLO a b" + b"c" * 950 + b"\r\n", r'501-5\.5\.4 HELO/EHLO argument "a', closes=True,
         evidence="replies.md §3.4; RFC 5321 §4.5.3.1.5: reply lines of 512 octets at most"),
    case("mail-without-brackets", A, b"MAIL FROM:tester@gmail.com\r\n", SYNTAX,
         evidence="replies.md §13 [V3+]"),
    case("mail-with-an-open-bracket", A, b"MAIL FROM:<a@b.c\r\n", SYNTAX,
         evidence="replies.md §13"),
    case("mail-to-instead-of-from", A, b"MAIL TO:<a@b.c>\r\n", SYNTAX, evidence="replies.md §13"),
    case("mail-with-an-unknown-parameter", A, b"MAIL FROM:<a@b.c> FOO=1\r\n", SYNTAX,
         evidence="replies.md §13; RFC 5321 §4.1.1.11 (555 for unknown parameters)"),
    case("mail-size-one-over-the-limit", A, b"MAIL FROM:<a@b.c> SIZE=35882578\r\n", TOO_BIG,
         evidence="replies.md §12.1 [J] rejected at MAIL; 2025 first line [V3]"),
    case("mail-size-of-30-digits", A, b"MAIL FROM:<a@b.c> SIZE=" + b"9" * 30 + b"\r\n", TOO_BIG,
         evidence="replies.md §12.1"),
    case("mail-size-negative", A, b"MAIL FROM:<a@b.c> SIZE=-1\r\n", SYNTAX,
         evidence="RFC 1870 §3: SIZE is digits"),
    case("mail-size-in-arabic-indic-digits", A,
         "MAIL FROM:<a@b.c> SIZE=٣٦٠٠٠٠٠٠\r\n".encode(), SYNTAX,
         evidence="RFC 1870 §3, RFC 5234 B.1: DIGIT is ASCII 0-9; replies.md §13 555"),
    case("mail-from-an-unclosed-comment", A, b"MAIL FROM:<(any@instagram.com>\r\n",
         r"553-5\.1\.7 The sender address <\(any@instagram\.com> is not a valid RFC 5321",
         evidence="replies.md §8 [V1] espoofer#3: this very address got 553 5.1.7"),
    case("mail-from-a-bare-word", A, b"MAIL FROM:<www-data>\r\n", NOT_A_SENDER,
         evidence="replies.md §8; nextcloud/mail#5213 (2021): '<www-data>' got 553 5.1.7"),
    case("mail-from-a-display-name-and-address", A,
         b"MAIL FROM: <Test Address Display yourgmailaddress@gmail.com>\r\n", SENDER_OK,
         evidence="transcript 30 (2022): answered 250"),
    case("mail-from-of-950-octets-is-echoed-cut", A,
         b"MAIL FROM:<(" + b"x" * 950 + b">\r\n", r"553-5\.1\.7 The sender address\r\n",
         evidence="RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets (checked for all)"),
    case("mail-body-binarymime-not-offered", A, b"MAIL FROM:<a@b.c> BODY=BINARYMIME\r\n",
         SYNTAX, evidence="replies.md §3.1: no BINARYMIME in the EHLO list"),
    case("rcpt-empty-path", Stage.MAIL, b"RCPT TO:<>\r\n", SYNTAX,
         evidence="replies.md §9 [V1] MailKit#866"),
    case("rcpt-of-900-octets-is-echoed-cut", Stage.MAIL, b"RCPT TO:<" + b"x" * 900 + b">\r\n",
         r"553-5\.1\.3 The recipient address\r\n",
         evidence="replies.md §9; RFC 5321 §4.5.3.1.5 (512-octet lines)"),
    case("rcpt-domain-starting-with-a-dot", Stage.MAIL, b"RCPT TO:<x@.com>\r\n",
         r"553-5\.1\.3 The recipient address <x@\.com> is not a valid RFC 5321 address\.",
         evidence="replies.md §9 [V2] 2024"),
    case("rcpt-with-a-dsn-parameter", Stage.MAIL, b"RCPT TO:<a@b.c> NOTIFY=NEVER\r\n", SYNTAX,
         evidence="replies.md §3.1: no DSN offered"),
    case("rcpt-with-doubled-brackets", Stage.MAIL, b"RCPT TO:<<a@b.c>>\r\n", SYNTAX,
         evidence="replies.md §13"),
    case("starttls-with-an-argument", Stage.SUBMISSION_EHLO, b"STARTTLS now\r\n",
         r"501 5\.7\.11 Syntax error \(no parameters allowed\)\. ",
         evidence="replies.md §13 [DOC]; RFC 3207 §4"),
    case("starttls-on-the-implicit-tls-port", Stage.EHLO, b"STARTTLS\r\n", NOT_REPEATED,
         evidence="replies.md §5 [DOC] (not observed)"),
    case("five-unknown-commands", Stage.SMTPS, b"FOO\r\n" * 5, UNRECOGNIZED, UNRECOGNIZED,
         UNRECOGNIZED, UNRECOGNIZED, TOO_MANY_UNRECOGNIZED, closes=True,
         evidence="replies.md §13 [DOC] 'Too many unrecognized commands, goodbye.'"),
    case("expn", Stage.SMTPS, b"EXPN staff\r\n", r"502 5\.5\.1 Unimplemented command\. ",
         evidence="replies.md §13 [V1] (MX)"),
    case("rset-with-an-argument", Stage.SMTPS, b"RSET now\r\n", FLUSHED,
         evidence="replies.md §13 [V3+]"),
]  # fmt: skip

BDAT = [
    case("bdat-chunk-then-a-command-in-the-same-write", R, b"BDAT 5 LAST\r\nhelloNOOP\r\n",
         CHUNK_OK, OK, evidence="replies.md §11 [V1]; RFC 3030 §2: the size frames the chunk"),
    case("bdat-size-short-of-the-bytes-sent", R, b"BDAT 3 LAST\r\nhelloNOOP\r\n", CHUNK_OK,
         UNRECOGNIZED, evidence="RFC 3030 §2: what follows the chunk is a command ('loNOOP')"),
    case("bdat-without-a-size", R, b"BDAT\r\n", SYNTAX, closes=True,
         evidence="replies.md §13; the chunk cannot be skipped, so the stream is dropped"),
    case("bdat-size-not-a-number", R, b"BDAT abc\r\n", SYNTAX, closes=True,
         evidence="replies.md §13"),
    case("bdat-size-of-20-digits", R, b"BDAT " + b"9" * 20 + b" LAST\r\n", SYNTAX, closes=True,
         evidence="replies.md §13"),
    case("bdat-size-in-arabic-indic-digits", R, "BDAT ٣ LAST\r\nabc".encode(), SYNTAX,
         closes=True, evidence="RFC 3030 §2 chunk-size is 1*DIGIT, ASCII (RFC 5234 B.1)"),
    case("bdat-with-a-bad-end-marker", R, b"BDAT 3 LASTLY\r\nabc", SYNTAX, closes=True,
         evidence="RFC 3030 §2: end-marker is LAST"),
    case("bdat-lower-case-last", R, b"bdat 3 last\r\nabc", CHUNK_OK,
         evidence="RFC 5321 §2.4: verbs and keywords are case-insensitive"),
    case("bdat-empty-last-chunk-after-data", R, b"BDAT 4\r\nabcdBDAT 0 LAST\r\n", CHUNK_OK,
         CHUNK_OK, evidence="RFC 3030 §2: a zero-length LAST chunk is legal"),
]  # fmt: skip

CASES = LINES + BYTES + AUTH + ORDER + ARGUMENTS + BDAT


@pytest.fixture
def lenient() -> Iterator[FakeGmail]:
    """A fresh server that only answers unknown commands: garbage is the point here."""
    with FakeGmail(ServerOptions(strict=False, seed=8)) as server:
        yield server


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_gets_its_reply_and_harms_nobody(lenient: FakeGmail, bad: Case) -> None:
    with open_at(lenient, Stage.AUTHED) as bystander, open_at(lenient, bad.stage) as raw:
        raw.send(bad.sends)
        for pattern in bad.replies:
            expect(raw.reply(), pattern)
        if bad.closes:
            assert closed(raw), "the server should have closed the connection"
        else:
            still_serves(raw)
        still_serves(bystander)
    stop_and_check(lenient)


def test_the_catalogue_is_at_least_sixty_cases() -> None:
    assert len(CASES) >= 60

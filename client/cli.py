"""``smtpclient``: send a message, or speak raw lines, and show every line of the conversation.

The conversation is printed as it happens, one ``C:``/``S:`` line per wire line in the
transcript format (``client.transcript``), AUTH secrets redacted. On failure the command exits
with status 1 and prints the server's reply (or what went wrong) on standard error; usage
errors exit with status 2.

::

    smtpclient send --host H --port P --tls implicit|starttls|none [--cafile F]
                    [--user U --password-env VAR] [--auth login|plain|xoauth2]
                    --from A --to B [--to C]... [--subject S] [--body TEXT | --body-file F]
                    [--transcript FILE] [--quiet] [--quit-after STEP | --drop-after STEP]
    smtpclient raw --host H --port P [--tls implicit|none] [--cafile F] [--bare-lf]
                   [--pipeline] [--transcript FILE] [LINE]...

``raw`` sends each LINE (or each line of standard input) as given plus CRLF, and shows every
reply: one reply is awaited per command line, none for the message lines between a 354 and the
``.`` line, and a ``220`` to ``STARTTLS`` starts TLS. Nothing is checked: this is for testing
servers.
"""

from __future__ import annotations

import argparse
import email.utils
import os
import sys
from collections.abc import Iterable, Sequence
from email.message import EmailMessage
from pathlib import Path

from client.console import ConsoleLog
from client.errors import ConnectionLostError, SMTPError, SMTPTimeoutError
from client.smtp_client import DEFAULT_TIMEOUT_S, SMTPClient
from client.submit import StopPoint, Submission, submit
from client.tls_mode import TLSMode
from client.transcript.text import write

__all__ = ["main"]

_USAGE_ERROR = 2
_FAILURE = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (the console script exits with it)."""
    arguments = _parser().parse_args(argv)
    console = ConsoleLog(sys.stdout, quiet=arguments.quiet)
    try:
        if arguments.command == "send":
            return _send(arguments, console)
        return _raw(arguments, console)
    except ValueError as error:
        print(f"smtpclient: {error}", file=sys.stderr)
        return _USAGE_ERROR
    except SMTPError as error:
        print(f"smtpclient: {error}", file=sys.stderr)
        return _FAILURE
    finally:
        if arguments.transcript is not None:
            write(arguments.transcript, console.recorder.transcript())


def _send(arguments: argparse.Namespace, console: ConsoleLog) -> int:
    secret = None
    if arguments.user is not None:
        if arguments.password_env is None:
            raise ValueError("--user needs --password-env VAR (the password is never an argument)")
        secret = os.environ.get(arguments.password_env)
        if secret is None:
            raise ValueError(f"environment variable {arguments.password_env} is not set")
    result = submit(
        Submission(
            host=arguments.host,
            port=arguments.port,
            message=_message(arguments),
            sender=arguments.sender,
            recipients=tuple(arguments.to),
            tls=TLSMode(arguments.tls),
            cafile=arguments.cafile,
            tls_hostname=arguments.tls_hostname,
            username=arguments.user,
            secret=secret,
            auth_mechanism=arguments.auth,
            local_hostname=arguments.ehlo_name,
            timeout_s=arguments.timeout,
            quit_after=StopPoint(arguments.quit_after) if arguments.quit_after else None,
            drop_after=StopPoint(arguments.drop_after) if arguments.drop_after else None,
        ),
        recorder=console,
    )
    for recipient, reply in result.refused:
        print(f"smtpclient: {recipient} refused: {reply}", file=sys.stderr)
    return 0


def _message(arguments: argparse.Namespace) -> EmailMessage:
    message = EmailMessage()
    message["From"] = arguments.sender
    message["To"] = ", ".join(arguments.to)
    message["Subject"] = arguments.subject
    message["Date"] = email.utils.formatdate(localtime=True)
    # The sender's domain, not the default socket.getfqdn(), which can stall on DNS.
    message["Message-ID"] = email.utils.make_msgid(domain=arguments.sender.rpartition("@")[2])
    if arguments.body_file is not None:
        message.set_content(Path(arguments.body_file).read_text(encoding="utf-8"))
    else:
        message.set_content(arguments.body)
    return message


def _raw(arguments: argparse.Namespace, console: ConsoleLog) -> int:
    lines: Iterable[str] = arguments.lines or (line.rstrip("\r\n") for line in sys.stdin)
    ending = b"\n" if arguments.bare_lf else b"\r\n"
    with SMTPClient.connect(
        arguments.host,
        arguments.port,
        implicit_tls=arguments.tls == "implicit",
        cafile=arguments.cafile,
        tls_hostname=arguments.tls_hostname,
        timeout_s=arguments.timeout,
        recorder=console,
        read_greeting=False,
    ) as client:
        speaker = _RawSpeaker(client)
        speaker.hear(1)
        if arguments.pipeline:
            batch = list(lines)
            client.send_bytes(b"".join(line.encode() + ending for line in batch))
            speaker.hear(sum(speaker.say(line) for line in batch), follow=False)
        else:
            for line in lines:
                client.send_bytes(line.encode() + ending)
                speaker.hear(speaker.say(line))
    return 0


class _RawSpeaker:
    """Counts the replies raw lines call for: one per command, none inside message data."""

    def __init__(self, client: SMTPClient) -> None:
        self._client = client
        self._in_data = False
        self._command = ""

    def say(self, line: str) -> int:
        """How many replies ``line`` calls for, assuming a DATA command is accepted."""
        if self._in_data:
            self._in_data = line != "."
            return 0 if self._in_data else 1
        self._command = line.strip().upper()
        self._in_data = self._command == "DATA"
        return 1

    def hear(self, count: int, *, follow: bool = True) -> None:
        """Read and show ``count`` replies. With ``follow``, the last reply decides whether
        message data really started, and a 220 to STARTTLS starts TLS."""
        for _ in range(count):
            try:
                reply = self._client.read_reply()
            except SMTPTimeoutError as error:
                print(f"smtpclient: no reply: {error}", file=sys.stderr)
                return
            except ConnectionLostError:
                return
            if follow and self._command == "DATA":
                self._in_data = reply.code == 354
            if follow and self._command == "STARTTLS" and reply.code == 220:
                self._client.handshake_tls()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smtpclient", description="Speak SMTP and show every line of it."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send one message")
    raw = commands.add_parser("raw", help="send lines as given and show every reply")
    for sub in (send, raw):
        sub.add_argument("--host", required=True)
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--cafile", help="PEM file of CA certificates to trust")
        sub.add_argument("--tls-hostname", help="name the certificate must carry (--host)")
        sub.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds")
        sub.add_argument("--transcript", help="write the conversation to this file")
        sub.add_argument("--quiet", action="store_true", help="print only errors")
    send.add_argument("--tls", required=True, choices=[mode.value for mode in TLSMode])
    send.add_argument("--user")
    send.add_argument("--password-env", metavar="VAR", help="environment variable to read")
    send.add_argument("--auth", choices=["login", "plain", "xoauth2"])
    send.add_argument("--from", dest="sender", required=True)
    send.add_argument("--to", action="append", required=True)
    send.add_argument("--subject", default="")
    body = send.add_mutually_exclusive_group()
    body.add_argument("--body", default="")
    body.add_argument("--body-file")
    send.add_argument("--ehlo-name")
    steps = [step.value for step in StopPoint]
    stop = send.add_mutually_exclusive_group()
    stop.add_argument("--quit-after", choices=steps, help="send QUIT after this step")
    stop.add_argument("--drop-after", choices=steps, help="close after this step, no QUIT")
    raw.add_argument("--tls", default="none", choices=["implicit", "none"])
    raw.add_argument("--bare-lf", action="store_true", help="end lines with LF, not CRLF")
    raw.add_argument("--pipeline", action="store_true", help="send all lines in one write")
    raw.add_argument("lines", nargs="*", metavar="LINE", help="lines to send (default: stdin)")
    return parser


if __name__ == "__main__":
    sys.exit(main())

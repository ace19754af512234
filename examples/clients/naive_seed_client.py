"""The seed's SMTP client, kept as an example of what not to do: fault experiments run it.

It is the blog post's method (see ``/work/shared/seed/NOTES.md``), made into a command:
connect with TLS, then for every command one ``send()`` and one ``recv(1024)``, and whatever
came back is taken as "the reply". A reply code it did not expect is printed and ignored,
there is no timeout anywhere, credentials and their CRLF go out as two ``send()`` calls, and
the body is not dot-stuffed. It exits 0 whatever happened, as the seed's script did.

Two departures from the seed, both so that experiments can point it at the fake: the host,
port, CA and account come from the command line, and it says ``EHLO`` rather than ``HELO``
(the multi-line EHLO reply is the one a single ``recv`` most often cuts in two). With
``--tls starttls`` it speaks STARTTLS first, the same way, without looking at the EHLO reply.

::

    python examples/clients/naive_seed_client.py --host 127.0.0.1 --port 2465 --tls implicit \
        --cafile certs/ca.pem --user tester@gmail.com --password-env PASSWORD \
        --from tester@gmail.com --to friend@example.org

``converse`` is the whole method; ``tests/client/test_client_naive_seed.py`` drives it too.
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import ssl
import sys
from collections.abc import Callable, Iterable, Sequence

Command = bytes | tuple[bytes, ...]
"""One command: bytes sent in one ``send()``, or a tuple of pieces sent one ``send()`` each."""


def converse(
    sock: socket.socket,
    commands: Iterable[Command],
    *,
    greeting: bool = True,
    on_reply: Callable[[str], None] | None = None,
) -> list[str]:
    """The seed's method: one ``recv(1024)`` is the greeting, then each command is sent and
    one ``recv(1024)`` is its reply.

    Args:
        sock: a connected socket (TLS or not).
        commands: what to send, in order.
        greeting: read a greeting first.
        on_reply: called with each reply as it is read.

    Returns:
        What each ``recv`` returned, decoded: the greeting first, if read.
    """
    replies: list[str] = []

    def hear() -> None:
        replies.append(sock.recv(1024).decode())
        if on_reply is not None:
            on_reply(replies[-1])

    if greeting:
        hear()
    for command in commands:
        for piece in (command,) if isinstance(command, bytes) else command:
            sock.send(piece)
        hear()
    return replies


def _b64(text: str) -> bytes:
    return base64.b64encode(text.encode())


def main(argv: Sequence[str] | None = None) -> int:
    """Sends one message the seed's way; always returns 0, as the seed's script did."""
    arguments = _parser().parse_args(argv)
    password = os.environ[arguments.password_env]
    context = ssl.create_default_context(cafile=arguments.cafile)
    client_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client_socket.connect((arguments.host, arguments.port))
    starttls = arguments.tls == "starttls"
    codes = ["220", "250", "220"] if starttls else ["220"]
    codes += ["250", "334", "334", "235", "250", "250", "354", "250", "221"]
    expected = iter(codes)

    def show(reply: str) -> None:
        print(reply)
        code = next(expected, "")
        if reply[:3] != code:
            print(f"{code} reply not received from server.")

    if starttls:
        converse(client_socket, [b"EHLO seed\r\n", b"STARTTLS\r\n"], on_reply=show)
    client_socket = context.wrap_socket(client_socket, server_hostname=arguments.host)
    message = (
        f"From: {arguments.sender}\r\nTo: {arguments.to}\r\nSubject: {arguments.subject}\r\n"
        f"\r\n{arguments.body}\r\n.\r\n"
    )
    commands: list[Command] = [
        b"EHLO seed\r\n",
        b"AUTH LOGIN\r\n",
        (_b64(arguments.user), b"\r\n"),
        (_b64(password), b"\r\n"),
        f"MAIL FROM: <{arguments.sender}>\r\n".encode(),
        f"RCPT TO: <{arguments.to}>\r\n".encode(),
        b"DATA\r\n",
        message.encode(),
        b"QUIT\r\n",
    ]
    converse(client_socket, commands, greeting=not starttls, on_reply=show)
    client_socket.close()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Send one message the seed's way.")
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", choices=["implicit", "starttls"], default="implicit")
    parser.add_argument("--cafile", help="CA certificates to trust (default: the system's)")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True, metavar="VAR")
    parser.add_argument("--from", dest="sender", required=True)
    parser.add_argument("--to", required=True)
    parser.add_argument("--subject", default="Hello")
    parser.add_argument("--body", default="Hello, world")
    return parser


if __name__ == "__main__":
    sys.exit(main())

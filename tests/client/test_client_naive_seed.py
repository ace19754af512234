"""Why the client reads replies the way it does: the seed's approach, kept as a bad example.

The blog post that started smtprig sends each command and then calls ``recv(1024)`` once,
taking whatever comes back as the whole reply. TCP promises a byte stream, not messages, so
that works only while every reply arrives in one piece and alone. The naive client below is
written in the seed's style on purpose; each test shows a server behaviour it misreads, and
that ``SMTPClient`` reads the same server correctly.
"""

from __future__ import annotations

import socket
import threading

from client import SMTPClient
from examples.clients.naive_seed_client import converse
from tests.support.client_testkit import WAIT_S, Peer, ScriptedServer

EXTENSIONS = [f"X-EXTENSION-NUMBER-{number:02d} with a long parameter list" for number in range(30)]
BIG_EHLO_REPLY = (
    b"250-smtp.example\r\n"
    + b"".join(f"250-{line}\r\n".encode() for line in EXTENSIONS)
    + b"250 SMTPUTF8\r\n"
)


def naive_seed_client(port: int, commands: list[bytes]) -> list[str]:
    """The seed's client: one send, one ``recv(1024)``, and the result is "the reply".

    The loop is the example client's (``examples/clients/naive_seed_client.py``), which fault
    experiments run as a command; only the timeout is the test's own, so a test cannot hang.
    """
    client_socket = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    try:
        return converse(client_socket, commands)
    finally:
        client_socket.close()


def big_ehlo_server(peer: Peer) -> None:
    peer.send(b"220 smtp.example ESMTP\r\n")
    assert peer.read_line().startswith(b"EHLO ")
    peer.send(BIG_EHLO_REPLY)
    assert peer.read_line().startswith(b"MAIL FROM:")
    peer.send(b"250 2.1.0 OK\r\n")
    peer.expect(b"QUIT\r\n")
    peer.send(b"221 2.0.0 bye\r\n")


def test_a_reply_longer_than_one_read_desynchronises_the_seed() -> None:
    assert len(BIG_EHLO_REPLY) > 1024
    with ScriptedServer(big_ehlo_server) as server:
        replies = naive_seed_client(
            server.port, [b"EHLO seed\r\n", b"MAIL FROM:<a@example.test>\r\n", b"QUIT\r\n"]
        )
    # One read holds at most 1024 bytes, so the seed never sees the end of the EHLO reply...
    assert "SMTPUTF8" not in replies[1]
    # ...and takes the rest of it (TCP keeps order) as the answer to MAIL.
    assert not replies[2].startswith("250 2.1.0")
    assert replies[2][:16] in BIG_EHLO_REPLY.decode()


def test_the_same_server_read_correctly() -> None:
    with ScriptedServer(big_ehlo_server) as server:
        client = SMTPClient.connect("127.0.0.1", server.port, timeout_s=WAIT_S)
        with client:
            client.ehlo()
            assert client.capabilities is not None
            assert client.capabilities.smtputf8
            assert len(client.capabilities.extensions) == 31
            assert client.mail("a@example.test").lines == ("2.1.0 OK",)


def test_a_greeting_in_two_pieces_makes_the_seed_answer_the_wrong_reply() -> None:
    # The server writes the first piece, and the rest only once the client speaks: what a
    # slow link or a TLS record boundary can do to any reply. A correct client waits for the
    # end of the line; the seed does not, so the server gets to see its next command.
    spoke_early = threading.Event()

    def script(peer: Peer) -> None:
        peer.send(b"220 smtp.exa")
        if peer.read_line().startswith(b"HELO"):
            spoke_early.set()
        peer.send(b"mple ESMTP\r\n")
        peer.read_line()
        peer.send(b"250 smtp.example\r\n")

    with ScriptedServer(script) as server:
        replies = naive_seed_client(server.port, [b"HELO seed\r\n", b"MAIL FROM:<a@b>\r\n"])
    assert spoke_early.is_set()
    assert replies == ["220 smtp.exa", "mple ESMTP\r\n", "250 smtp.example\r\n"]

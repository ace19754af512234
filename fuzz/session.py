"""Fuzz targets over live sessions: a real FakeGmail on 127.0.0.1, real sockets, real TLS.

``session``: a client that says one thing at a time (a command with awkward arguments, a
garbage line, a line at the length limit, a SASL response after 334, a body after 354, a BDAT
chunk, a TLS handshake or TLS garbage after 220) and reads what comes back. Every thing said
gets exactly one well-formed reply within the bound, or the server closes; a close comes only
after a closing reply (or TLS garbage); the outbox holds exactly one message per 250 to an end
of data, and no other; nothing is raised in the server thread; a canary connection opened at
the start still answers after every input.

``burst``: the same material, any bytes, written in one go and half-closed. Whatever comes
back parses as SMTP replies with nothing of the server's insides in them, and the server
closes within the bound.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from client.protocol import ReplyReader
from client.protocol.wire import dot_stuff
from fakeserver.errors import ServerThreadError
from fakeserver.server.fake import FakeGmail, ServerOptions
from fuzz.commands import _ARGUMENTS, _SASL, _VERBS, _WEIRD
from fuzz.engine import Check, Target
from tests.support.rawsmtp import RawSMTP
from tests.support.wire import check_lines

__all__ = ["BURST", "SESSION"]

_CLOSING = (b"221 ", b"421", b"451", b"501-5.5.4", b"501-5.5.2", b"555-5.5.2 Syntax error, comm")
_CLOSING_TOO = b"502 5.5.1 Too many"
_LEAKS = (b"Traceback", b"Error:", b"Exception", b"aiosmtpd")
_RESET_EVERY = 500


def _line(verb: str, argument: str, ending: bytes) -> bytes:
    text = f"{verb} {argument}" if argument else verb
    raw = text.encode("utf-8", "surrogateescape").replace(b"\n", b" ")
    return raw + ending


_ENDINGS = st.sampled_from([b"\r\n"] * 6 + [b"\n"])


def _no_chunk(line: bytes) -> bool:
    # A "BDAT <n>" line is followed by n bytes of chunk, not by a reply: say it only with one.
    return line[:5].upper() != b"BDAT "


_COMMAND = st.builds(_line, _VERBS, _WEIRD, _ENDINGS).filter(_no_chunk)
_GARBAGE = st.one_of(
    st.binary(max_size=80).map(lambda raw: raw.replace(b"\n", b"") + b"\r\n").filter(_no_chunk),
    st.integers(990, 1010).map(lambda size: b"NOOP " + b"x" * (size - 7) + b"\r\n"),
)
_BODY = st.binary(max_size=300)


@dataclass
class _Model:
    """What the client knows of the conversation, from the replies it read."""

    tls: bool
    greeted: bool = False
    authed: bool = False
    mode: str = "command"
    acked: int = 0
    said: list[bytes] = field(default_factory=list)


class _Live:
    """One server for the whole run, a canary connection, and a count of closed ones."""

    def __init__(self) -> None:
        self.gmail = FakeGmail(ServerOptions(strict=False, seed=8)).start()
        self.canary = self._open_canary()
        self.closed = 0

    def _open_canary(self) -> RawSMTP:
        canary = RawSMTP(self.gmail.smtps, context=self.gmail.client_context())
        canary.reply()
        return canary

    def close(self) -> None:
        self.canary.close()
        self.gmail.stop()

    def after_example(self) -> None:
        """Waits until the server has finished with the example's connection, then checks
        the server thread and the canary."""
        self.closed += 1
        self.gmail.wait_for_sessions(self.closed, timeout_s=10.0)
        try:
            self.gmail.check()
        except ServerThreadError as error:
            raise AssertionError(f"the server thread raised: {error.errors!r}") from None
        canary_reply = self.canary.command("NOOP")
        assert canary_reply, "the canary connection got no answer"
        assert canary_reply[0].startswith(b"250 2.0.0 OK"), canary_reply
        if self.closed >= _RESET_EVERY:  # keep a long run's history (and memory) bounded
            self.canary.close()
            self.gmail.reset()
            self.canary = self._open_canary()
            self.closed = 0


def _on_live_server(
    check: Callable[[_Live, Any], None],
) -> Callable[[], contextlib.AbstractContextManager[Check]]:
    """``prepare`` for a check against a live server: one :class:`_Live` for the whole run,
    handed to ``check`` with each input."""

    @contextlib.contextmanager
    def prepare() -> Iterator[Check]:
        live = _Live()
        try:
            yield lambda value: check(live, value)
        finally:
            live.close()

    return prepare


def _check_reply(reply: list[bytes], said: list[bytes]) -> None:
    assert not any(b"\r" in line[:-2] for line in reply), f"a bare CR in {reply!r}"
    try:
        check_lines(reply)
    except AssertionError as error:
        raise AssertionError(f"{error} after {said[-3:]!r}") from None


def _closes(reply: list[bytes]) -> bool:
    last = reply[-1]
    return last.startswith(_CLOSING_TOO) or any(reply[0].startswith(p) for p in _CLOSING)


def _next_unit(data: st.DataObject, model: _Model) -> tuple[bytes, str]:
    """What the client says next, and what kind of thing it is."""
    if model.mode == "sasl":
        return data.draw(_SASL).replace(b"\n", b"").replace(b"\r", b"") + b"\r\n", "sasl"
    if model.mode == "body":
        body = data.draw(_BODY)
        stuffed = (b"." if body.startswith(b".") else b"") + dot_stuff(body)
        end = b".\r\n" if stuffed.endswith(b"\r\n") or not stuffed else b"\r\n.\r\n"
        return stuffed + end, "body"
    kind = data.draw(st.sampled_from(["command"] * 6 + ["known"] * 6 + ["garbage", "bdat"]))
    if kind == "garbage":
        return data.draw(_GARBAGE), "command"
    if kind == "bdat":
        if not (model.tls and model.greeted and model.authed):
            return b"BDAT 0 LAST\r\n", "command"  # a gated BDAT leaves its chunk unread (bug)
        chunk = data.draw(st.binary(max_size=200))
        last = data.draw(st.booleans())
        return b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk, "bdat"
    if kind == "command":
        return data.draw(_COMMAND), "command"
    verb = data.draw(st.sampled_from(["EHLO", "AUTH", "MAIL", "RCPT", "DATA", "STARTTLS", "RSET"]))
    argument = data.draw(_ARGUMENTS.get(verb, st.just("")))
    return _line(verb, argument, data.draw(_ENDINGS)), "command"


def _read_reply(raw: RawSMTP) -> list[bytes]:
    try:
        return raw.reply()
    except TimeoutError:
        raise AssertionError("no reply and no close within the bound: the server hangs") from None
    except (ConnectionResetError, ssl.SSLError):
        return []


def _starttls(data: st.DataObject, raw: RawSMTP, context: ssl.SSLContext) -> bool:
    """After 220 to STARTTLS: a real handshake (True), or TLS garbage that must be dropped."""
    if data.draw(st.integers(0, 9)) > 0:
        raw.starttls(context)
        return True
    raw.send(data.draw(st.sampled_from([b"EHLO x\r\n", b"\x16\x03\x01\x00\x02\x01\x00", b"\0"])))
    # Then nothing more: a handshake message cut short is waited for, as it should be.
    raw.sock.shutdown(socket.SHUT_WR)
    with contextlib.suppress(ConnectionResetError):
        while raw.sock.recv(4096):  # an alert, perhaps, then the close
            pass
    return False


def _converse(live: _Live, data: st.DataObject) -> None:
    implicit = data.draw(st.integers(0, 3)) == 0
    gmail = live.gmail
    context = gmail.client_context()
    raw = RawSMTP(gmail.smtps, context=context) if implicit else RawSMTP(gmail.submission)
    with raw:
        greeting = _read_reply(raw)
        assert greeting, "no greeting"
        assert greeting[0].startswith(b"220 smtp.gmail.com ESMTP "), greeting
        session_id = greeting[0].split()[3].decode()
        model = _Model(tls=implicit)
        for _ in range(data.draw(st.integers(1, 14))):
            unit, kind = _next_unit(data, model)
            model.said.append(unit)
            raw.send(unit)
            reply = _read_reply(raw)
            if not reply:
                raise AssertionError(f"closed without a reply after {model.said[-3:]!r}")
            _check_reply(reply, model.said)
            if _closes(reply):
                assert raw.closed_by_server(), f"{reply[0]!r} but the connection stays open"
                break
            code = reply[-1][:3]
            if kind in ("body", "bdat") and reply[0].startswith(b"250 2.0.0 OK"):
                model.acked += kind == "body" or unit.split(b"\r\n", 1)[0].upper().endswith(b"LAST")
            model.mode = {b"334": "sasl", b"354": "body"}.get(code, "command")
            if code == b"235":
                model.authed = True
            if reply[0].startswith((b"250-smtp.gmail.com", b"250 smtp.gmail.com")):
                model.greeted = True
            if reply[0].startswith(b"220 2.0.0 Ready to start TLS"):
                if not _starttls(data, raw, context):
                    break
                model.tls = True
        else:
            if model.mode == "command":
                reply = raw.command("QUIT")
                assert reply, "no answer to QUIT"
                assert reply[0].startswith(b"221 "), reply
    live.after_example()
    stored = [m for m in gmail.outbox.messages if m.session.session_id == session_id]
    assert len(stored) == model.acked, f"{model.acked} acknowledged, {len(stored)} stored"


SESSION = Target(
    "session",
    "live server, one thing at a time: one valid reply or a close, no lost or phantom mail",
    st.data(),
    _on_live_server(_converse),
    inputs=2_000,
)


def _burst(live: _Live, value: tuple[bool, list[bytes]]) -> None:
    implicit, units = value
    gmail = live.gmail
    raw = RawSMTP(gmail.smtps, context=gmail.client_context()) if implicit else None
    sock = raw.sock if raw is not None else socket.create_connection(gmail.submission, 5.0)
    received = bytearray()
    with sock:
        sock.sendall(b"".join(units))
        with contextlib.suppress(OSError):  # the server may have closed first
            # The plain socket's shutdown, even under TLS: a FIN, and the TLS layer stays.
            socket.socket.shutdown(sock, socket.SHUT_WR)
        with contextlib.suppress(ConnectionResetError, ssl.SSLError):
            while chunk := sock.recv(65536):
                received += chunk
    reader = ReplyReader()
    reader.feed(bytes(received))
    while reader.next_reply() is not None:
        pass
    lines = bytes(received).split(b"\n")
    assert not any(b"\r" in line[:-1] for line in lines), f"a bare CR in {received!r}"
    for leak in _LEAKS:
        assert leak not in received, f"{leak!r} on the wire"
    live.after_example()


BURST = Target(
    "burst",
    "live server, everything in one write then EOF: only SMTP replies back, then a close",
    st.tuples(
        st.booleans(),
        st.lists(st.one_of(_COMMAND, _GARBAGE, st.binary(max_size=200)), max_size=30),
    ),
    _on_live_server(_burst),
    inputs=1_000,
)

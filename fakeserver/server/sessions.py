"""Assertions on the conversation, not only on the message.

Each closed connection leaves a :class:`SessionRecord`: the commands the client sent, the
codes it got, what EHLO offered it, whether it pipelined. A :class:`SessionList` holds them
in order and checks what a well-behaved client does, with a message that shows what this one
did instead::

    sessions = gmail.wait_for_sessions(1)
    sessions.assert_ehlo_after_starttls()
    sessions.assert_auth_mechanism("LOGIN")
    sessions.assert_quit()
"""

from __future__ import annotations

from dataclasses import dataclass

from fakeserver.server.outbox import SessionInfo

__all__ = ["SessionList", "SessionRecord"]


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """What a client did on one connection.

    Attributes:
        info: the connection's facts (listener, peer, TLS, login...).
        commands: the verbs the client sent, in order, upper case (``"?"`` for one Gmail
            does not know); SASL responses and message lines are not commands.
        reply_codes: the code of every reply the server sent, in order.
        offered: the extensions the last EHLO reply advertised (``"PIPELINING"``...).
        pipelined: the client sent a command before it had the reply to the previous one.
        messages: messages accepted on this connection.
    """

    info: SessionInfo
    commands: tuple[str, ...]
    reply_codes: tuple[int, ...]
    offered: frozenset[str]
    pipelined: bool
    messages: int

    @property
    def used_starttls(self) -> bool:
        return "STARTTLS" in self.commands

    @property
    def ehlo_after_starttls(self) -> bool:
        """The client greeted again after STARTTLS (RFC 3207 §4.2 says it must forget all
        it learnt before, so it needs the new EHLO to learn that AUTH is offered)."""
        if not self.used_starttls:
            return False
        after = self.commands[self.commands.index("STARTTLS") + 1 :]
        return "EHLO" in after or "HELO" in after

    @property
    def sent_quit(self) -> bool:
        return "QUIT" in self.commands

    @property
    def last_reply_code(self) -> int | None:
        return self.reply_codes[-1] if self.reply_codes else None

    def describe(self) -> str:
        """One line for failure messages: ``#2 submission: EHLO STARTTLS AUTH ... (codes ...)``."""
        codes = " ".join(str(code) for code in self.reply_codes)
        return (
            f"connection {self.info.connection_id} ({self.info.listener}): "
            f"{' '.join(self.commands) or '(no commands)'}; replies {codes or '(none)'}"
        )


class SessionList(list[SessionRecord]):
    """Closed connections in order, with checks of the client's behaviour."""

    def assert_ehlo_after_starttls(self) -> None:
        """Every connection that used STARTTLS greeted again inside TLS."""
        bad = [
            session for session in self if session.used_starttls and not session.ehlo_after_starttls
        ]
        self._fail_if(bad, "did not send EHLO again after STARTTLS (RFC 3207 §4.2)")

    def assert_pipelining_only_when_offered(self) -> None:
        """No connection pipelined commands unless EHLO had offered PIPELINING (RFC 2920)."""
        bad = [s for s in self if s.pipelined and "PIPELINING" not in s.offered]
        self._fail_if(bad, "pipelined commands although PIPELINING was not offered")

    def assert_pipelined(self) -> None:
        """Some connection used PIPELINING (a client that should batch, did)."""
        if not any(session.pipelined for session in self):
            raise AssertionError(f"the client never pipelined a command:{self._shown(self)}")

    def assert_auth_mechanism(self, mechanism: str) -> None:
        """Every connection that logged in used ``mechanism`` (``"LOGIN"``, ``"PLAIN"``...)."""
        bad = [s for s in self if "AUTH" in s.commands and s.info.auth_mechanism != mechanism]
        self._fail_if(bad, f"did not log in with {mechanism}")

    def assert_quit(self) -> None:
        """Every connection ended with QUIT rather than just dropping."""
        bad = [session for session in self if not session.sent_quit]
        self._fail_if(bad, "closed without QUIT")

    def assert_reconnected_after(self, code: int = 421) -> None:
        """After a connection ended with a ``code`` reply, the client connected again."""
        for index, session in enumerate(self):
            if session.last_reply_code == code:
                if index + 1 < len(self):
                    return
                self._fail_if([session], f"got {code} and never connected again")
        raise AssertionError(f"no connection ended with a {code} reply:{self._shown(self)}")

    def _fail_if(self, sessions: list[SessionRecord], problem: str) -> None:
        if sessions:
            raise AssertionError(f"the client {problem}:{self._shown(sessions)}")

    @staticmethod
    def _shown(sessions: list[SessionRecord]) -> str:
        if not sessions:
            return " (no connection closed yet)"
        return "".join(f"\n  {session.describe()}" for session in sessions)

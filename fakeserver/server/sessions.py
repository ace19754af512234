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

from fakeserver.session.records import SessionRecord

__all__ = ["SessionList", "SessionRecord"]


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

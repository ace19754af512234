"""The sans-io client core: commands out, bytes in, events and states out. No sockets."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from client import LocalProtocolError, RemoteProtocolError, Reply, ReplyKind
from client.protocol import (
    NEED_DATA,
    ClientProtocol,
    ClientState,
    Command,
    ConnectionClosed,
    Exchange,
    Verb,
)
from client.protocol.states import TRANSITIONS, state_diagram

GMAIL_EHLO = (
    b"250-smtp.gmail.com at your service, [203.0.113.7]\r\n"
    b"250-SIZE 35882577\r\n"
    b"250-8BITMIME\r\n"
    b"250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n"
    b"250-ENHANCEDSTATUSCODES\r\n"
    b"250-PIPELINING\r\n"
    b"250-CHUNKING\r\n"
    b"250 SMTPUTF8\r\n"
)
PLAIN_EHLO = b"250-test.example\r\n250-8BITMIME\r\n250 STARTTLS\r\n"


def state(core: ClientProtocol) -> ClientState:
    """The core's state, read through a call so the type checker does not narrow it."""
    return core.state


def receive(core: ClientProtocol, data: bytes) -> Exchange:
    """Feed bytes and expect exactly one reply event."""
    core.receive_data(data)
    event = core.next_event()
    assert isinstance(event, Exchange), event
    assert core.next_event() is NEED_DATA
    return event


def ready(ehlo_reply: bytes = GMAIL_EHLO) -> ClientProtocol:
    core = ClientProtocol()
    receive(core, b"220 smtp.example ESMTP\r\n")
    assert core.ehlo("client.example") == b"EHLO client.example\r\n"
    receive(core, ehlo_reply)
    assert state(core) is ClientState.READY
    return core


def test_a_whole_conversation_step_by_step() -> None:
    core = ClientProtocol()
    assert state(core) is ClientState.CONNECTED
    assert core.next_event() is NEED_DATA
    greeting = receive(core, b"220 smtp.gmail.com ESMTP d6sm6677367pju.8 - gsmtp\r\n")
    assert greeting.command.verb is Verb.GREETING
    assert state(core) is ClientState.GREETED
    core.ehlo("client.example")
    receive(core, GMAIL_EHLO)
    assert core.capabilities is not None
    assert core.capabilities.auth_mechanisms[:3] == ("LOGIN", "PLAIN", "XOAUTH2")
    assert core.capabilities.size_limit_octets == 35882577
    assert core.auth("LOGIN") == b"AUTH LOGIN\r\n"
    receive(core, b"334 VXNlcm5hbWU6\r\n")
    assert state(core) is ClientState.AUTH_CHALLENGED
    assert core.sasl_response(b"alice") == b"YWxpY2U=\r\n"
    receive(core, b"334 UGFzc3dvcmQ6\r\n")
    assert core.sasl_response(b"secret") == b"c2VjcmV0\r\n"
    receive(core, b"235 2.7.0 Accepted\r\n")
    assert state(core) is ClientState.READY
    assert core.mail("alice@example.test", ["SIZE=12"]) == (
        b"MAIL FROM:<alice@example.test> SIZE=12\r\n"
    )
    receive(core, b"250 2.1.0 OK\r\n")
    assert core.rcpt("bob@example.test") == b"RCPT TO:<bob@example.test>\r\n"
    receive(core, b"250 2.1.5 OK\r\n")
    assert state(core) is ClientState.RCPT
    assert core.data() == b"DATA\r\n"
    receive(core, b"354 Go ahead\r\n")
    assert core.message_data(b"Hello, world\n.\n") == b"Hello, world\r\n..\r\n.\r\n"
    receive(core, b"250 2.0.0 OK  1746829334 - gsmtp\r\n")
    assert state(core) is ClientState.READY
    assert core.quit() == b"QUIT\r\n"
    receive(core, b"221 2.0.0 closing connection\r\n")
    assert state(core) is ClientState.CLOSED


def test_auth_commands_are_redacted_in_what_they_show() -> None:
    core = ready()
    core.auth("PLAIN", b"\0alice\0secret")
    assert core.pending == (Command(Verb.AUTH, "AUTH PLAIN <redacted>"),)
    receive(core, b"235 2.7.0 Accepted\r\n")


def test_an_empty_initial_response_is_an_equals_sign() -> None:
    # RFC 4954 §4: "=" stands for an empty initial response.
    assert ready().auth("XOAUTH2", b"") == b"AUTH XOAUTH2 =\r\n"


@pytest.mark.parametrize(
    ("wrong_step", "message"),
    [
        (lambda core: core.mail("a@b.example"), "allowed in READY"),
        (lambda core: core.rcpt("a@b.example"), "allowed in MAIL, RCPT"),
        (lambda core: core.data(), "allowed in RCPT"),
        (lambda core: core.message_data(b"x"), "allowed in DATA"),
    ],
)
def test_commands_out_of_order_are_refused_before_any_byte(
    wrong_step: Callable[[ClientProtocol], bytes], message: str
) -> None:
    core = ClientProtocol()
    receive(core, b"220 ready\r\n")
    with pytest.raises(LocalProtocolError, match=message):
        wrong_step(core)
    assert state(core) is ClientState.ERROR
    assert core.pending == ()


def test_after_a_local_error_nothing_more_can_be_sent() -> None:
    core = ClientProtocol()
    receive(core, b"220 ready\r\n")
    with pytest.raises(LocalProtocolError):
        core.rcpt("x@y.example")
    with pytest.raises(LocalProtocolError, match="ERROR"):
        core.ehlo("client.example")


def test_nothing_may_be_sent_before_the_greeting() -> None:
    # RFC 5321 §3.1: the client waits for the 220.
    with pytest.raises(LocalProtocolError, match="waiting for the reply to '<greeting>'"):
        ClientProtocol().ehlo("client.example")


def test_the_good_twin_of_every_guard() -> None:
    """The same commands, each in a state that allows it, all pass."""
    core = ready()
    core.mail("a@b.example")
    receive(core, b"250 OK\r\n")
    core.rcpt("c@d.example")
    receive(core, b"250 OK\r\n")
    core.data()
    receive(core, b"354 go\r\n")
    core.message_data(b"x")
    receive(core, b"250 OK\r\n")


def test_starttls_needs_the_extension() -> None:
    core = ready(b"250-test.example\r\n250 8BITMIME\r\n")
    with pytest.raises(LocalProtocolError, match="STARTTLS extension"):
        core.starttls()


def test_auth_needs_the_extension_and_hints_at_starttls() -> None:
    # Gmail on port 587 offers AUTH only after STARTTLS.
    with pytest.raises(LocalProtocolError, match="after STARTTLS"):
        ready(PLAIN_EHLO).auth("LOGIN")


def test_after_helo_nothing_is_known_so_auth_and_starttls_are_allowed() -> None:
    # The seed's conversation: HELO, then AUTH LOGIN, which Gmail takes (transcripts 17, 24).
    core = ClientProtocol()
    receive(core, b"220 smtp.gmail.com ESMTP x - gsmtp\r\n")
    core.helo("Ken")
    receive(core, b"250 smtp.gmail.com at your service\r\n")
    assert core.auth("LOGIN") == b"AUTH LOGIN\r\n"
    assert not core.extended


def test_auth_with_a_mechanism_not_offered_is_refused() -> None:
    with pytest.raises(LocalProtocolError, match="CRAM-MD5 is not offered"):
        ready().auth("CRAM-MD5")


def test_starttls_then_handshake_forgets_capabilities_and_needs_ehlo() -> None:
    core = ready(PLAIN_EHLO)
    assert core.starttls() == b"STARTTLS\r\n"
    receive(core, b"220 2.0.0 Ready to start TLS\r\n")
    assert state(core) is ClientState.TLS_STARTING
    with pytest.raises(LocalProtocolError):
        ClientProtocol().tls_established()
    core.tls_established()
    assert core.tls_active
    assert core.capabilities is None
    assert state(core) is ClientState.GREETED
    core.ehlo("client.example")
    receive(core, b"250-test.example\r\n250 AUTH PLAIN\r\n")
    with pytest.raises(LocalProtocolError, match="already active"):
        core.starttls()


def test_nothing_may_follow_starttls_before_its_reply() -> None:
    core = ready(PLAIN_EHLO + b"")
    core.starttls()
    with pytest.raises(LocalProtocolError, match="waiting for the reply to 'STARTTLS'"):
        core.noop()


def test_bytes_after_the_starttls_reply_are_an_injection() -> None:
    # RFC 3207 §5 / CVE-2011-0411: a reply queued before the handshake came in clear text.
    core = ready(PLAIN_EHLO)
    core.starttls()
    core.receive_data(b"220 go ahead\r\n250 injected\r\n")
    with pytest.raises(RemoteProtocolError, match="after 220"):
        core.next_event()
    assert state(core) is ClientState.ERROR


def test_quit_is_refused_while_a_sasl_challenge_waits() -> None:
    # Transcript 27: PHPMailer sent QUIT here and the server took it as the SASL response.
    core = ready()
    core.auth("XOAUTH2", b"user=a\x01auth=Bearer t\x01\x01")
    receive(core, b"334 eyJzdGF0dXMiOiI0MDAifQ==\r\n")
    with pytest.raises(LocalProtocolError, match="allowed in"):
        core.quit()


def test_sasl_cancel() -> None:
    core = ready()
    core.auth("LOGIN")
    receive(core, b"334 VXNlcm5hbWU6\r\n")
    assert core.sasl_cancel() == b"*\r\n"
    receive(core, b"501 5.7.0 Auth aborted\r\n")
    assert state(core) is ClientState.READY


def test_pipelining_when_offered() -> None:
    core = ready()
    wire = core.mail("a@b.example") + core.rcpt("c@d.example") + core.rcpt("e@f.example")
    wire += core.data()
    assert wire.count(b"\r\n") == 4
    core.receive_data(b"250 OK\r\n250 OK\r\n550 no such user\r\n354 go\r\n")
    verbs = []
    while isinstance(event := core.next_event(), Exchange):
        verbs.append((event.command.verb, event.reply.code))
    assert verbs == [(Verb.MAIL, 250), (Verb.RCPT, 250), (Verb.RCPT, 550), (Verb.DATA, 354)]
    assert state(core) is ClientState.DATA


def test_no_pipelining_when_not_offered() -> None:
    core = ready(PLAIN_EHLO)
    core.mail("a@b.example")
    with pytest.raises(LocalProtocolError, match="does not offer PIPELINING"):
        core.rcpt("c@d.example")


def test_data_may_end_a_pipelined_group_but_nothing_may_follow_it() -> None:
    # RFC 2920 §3.1: DATA is last in its group.
    core = ready()
    core.mail("a@b.example")
    core.rcpt("c@d.example")
    core.data()
    with pytest.raises(LocalProtocolError, match="RFC 2920"):
        core.rset()


def test_refused_mail_makes_the_pipelined_rest_refusals_too() -> None:
    core = ready()
    core.mail("a@b.example")
    core.rcpt("c@d.example")
    core.data()
    core.receive_data(b"550 5.7.1 sender refused\r\n503 5.5.1 MAIL first\r\n554 no recipients\r\n")
    codes = [event.reply.code for event in iter(core.next_event, NEED_DATA)]  # type: ignore[union-attr]
    assert codes == [550, 503, 554]
    assert state(core) is ClientState.READY


def test_a_server_that_accepts_after_a_refusal_in_the_same_group_is_caught() -> None:
    core = ready()
    core.mail("a@b.example")
    core.rcpt("c@d.example")
    core.data()
    core.receive_data(b"250 OK\r\n550 no\r\n354 go ahead anyway\r\n")
    core.next_event()
    core.next_event()
    with pytest.raises(RemoteProtocolError, match="earlier command"):
        core.next_event()


@pytest.mark.parametrize(
    ("setup", "reply"),
    [
        (lambda core: core.mail("a@b.example"), b"354 go ahead\r\n"),
        (lambda core: core.noop(), b"334 what\r\n"),
        (lambda core: core.ehlo("x.example"), b"354 what\r\n"),
    ],
)
def test_a_reply_class_the_command_cannot_get_is_a_remote_error(
    setup: Callable[[ClientProtocol], bytes], reply: bytes
) -> None:
    core = ready()
    setup(core)
    core.receive_data(reply)
    with pytest.raises(RemoteProtocolError, match="not a valid reply") as caught:
        core.next_event()
    assert caught.value.reply is not None
    assert state(core) is ClientState.ERROR


def test_an_unsolicited_reply_is_a_remote_error() -> None:
    core = ready()
    core.receive_data(b"451 4.4.2 Timeout - closing connection.\r\n")
    with pytest.raises(RemoteProtocolError, match="unsolicited"):
        core.next_event()


def in_data() -> ClientProtocol:
    """A core that has sent DATA, with MAIL and RCPT accepted."""
    core = ready(PLAIN_EHLO)
    core.mail("a@example.test")
    receive(core, b"250 2.1.0 OK\r\n")
    core.rcpt("b@example.test")
    receive(core, b"250 2.1.5 OK\r\n")
    core.data()
    return core


def test_a_reply_that_came_before_the_end_of_data_was_sent_is_a_remote_error() -> None:
    # Issue 16 finding 5: the 250 came with the 354, before the data was sent; it answers
    # nothing, and taking it for the end of data's reply would report a message delivered.
    core = in_data()
    core.receive_data(b"354 go ahead\r\n250 2.0.0 OK early\r\n")
    event = core.next_event()
    assert isinstance(event, Exchange)
    assert event.reply.code == 354
    core.message_data(b"hi\r\n")
    with pytest.raises(RemoteProtocolError, match="before '<end of data>' was sent") as caught:
        core.next_event()
    assert caught.value.reply == Reply(250, ("2.0.0 OK early",))
    assert state(core) is ClientState.ERROR


def test_a_reply_that_began_before_its_command_was_sent_is_early_too() -> None:
    core = in_data()
    receive(core, b"354 go ahead\r\n")
    core.receive_data(b"250 2.0.0 OK ea")
    core.message_data(b"hi\r\n")
    core.receive_data(b"rly\r\n")
    with pytest.raises(RemoteProtocolError, match="before"):
        core.next_event()


def test_the_good_twin_a_reply_after_the_end_of_data_was_sent() -> None:
    core = in_data()
    receive(core, b"354 go ahead\r\n")
    core.message_data(b"hi\r\n")
    assert receive(core, b"250 2.0.0 OK\r\n").command.verb is Verb.END_OF_DATA
    assert state(core) is ClientState.READY


def test_an_early_421_answers_the_next_command() -> None:
    # RFC 5321 §3.8: a server shutting down may send 421 "asynchronously from command
    # receipt (on the assumption that the client will receive it after the next command)".
    core = ready()
    core.receive_data(b"421 4.3.2 shutting down\r\n")
    core.noop()
    event = core.next_event()
    assert isinstance(event, Exchange)
    assert (event.command.verb, event.reply.code) == (Verb.NOOP, 421)
    assert state(core) is ClientState.CLOSED


@pytest.mark.parametrize(
    "notice",
    [b"451 4.4.2 Timeout - closing connection. x - gsmtp\r\n", b"454 4.4.1 Connection lost\r\n"],
    ids=["gmail-idle-timeout", "other-4.4.x"],
)
def test_an_early_closing_notice_ends_the_connection_like_a_421(notice: bytes) -> None:
    # Gmail's idle timeout comes unsolicited (replies.md §12.5), then the server closes: a
    # client that sends a command then must report it as the refusal it is, not as a server
    # that broke the protocol.
    core = ready()
    core.receive_data(notice)
    core.mail("tester@gmail.com")
    event = core.next_event()
    assert isinstance(event, Exchange)
    assert (event.command.verb, event.reply.code) == (Verb.MAIL, int(notice[:3]))
    assert state(core) is ClientState.CLOSED


def test_an_early_4yz_that_is_not_about_the_connection_is_still_early() -> None:
    core = ready()
    core.receive_data(b"451 4.3.0 Try again later\r\n")
    core.noop()
    with pytest.raises(RemoteProtocolError, match="came before 'NOOP' was sent"):
        core.next_event()


def test_garbage_is_a_remote_error_and_final() -> None:
    core = ClientProtocol()
    core.receive_data(b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(RemoteProtocolError):
        core.next_event()
    assert state(core) is ClientState.ERROR
    with pytest.raises(LocalProtocolError):
        core.next_event()


def test_421_closes_whatever_the_command() -> None:
    # RFC 5321 §3.8.
    core = ready()
    core.mail("a@b.example")
    receive(core, b"421 4.3.0 Temporary System Problem.\r\n")
    assert state(core) is ClientState.CLOSED


def test_a_refusing_greeting_allows_only_quit() -> None:
    core = ClientProtocol()
    receive(core, b"554 5.7.1 go away\r\n")
    assert state(core) is ClientState.REFUSED
    assert core.allows(Verb.QUIT)
    assert not core.allows(Verb.EHLO)


def test_eof_while_waiting_reports_the_command_and_the_partial_line() -> None:
    core = ready()
    core.mail("a@b.example")
    core.receive_data(b"250 2.1")
    core.receive_data(b"")
    event = core.next_event()
    assert event == ConnectionClosed(Command(Verb.MAIL, "MAIL FROM:<a@b.example>"), b"250 2.1")
    assert state(core) is ClientState.CLOSED


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("a@b.example>\r\nRCPT TO:<evil@example", "angle brackets"),
        ("a" * 255 + "@b", "4.5.3.1.3"),
        ("a@b.example\r\nRSET", "CR, LF or NUL"),
    ],
)
def test_bad_addresses_are_refused(address: str, message: str) -> None:
    with pytest.raises(LocalProtocolError, match=message):
        ready().mail(address)


def test_non_ascii_addresses_need_smtputf8() -> None:
    with pytest.raises(LocalProtocolError, match="SMTPUTF8"):
        ready(PLAIN_EHLO).mail("jürgen@example.test")
    assert ready().mail("jürgen@example.test", ["SMTPUTF8"]).startswith(b"MAIL FROM:<j\xc3\xbc")


def test_the_null_sender_is_allowed_and_an_empty_recipient_is_not() -> None:
    core = ready()
    assert core.mail("") == b"MAIL FROM:<>\r\n"
    receive(core, b"250 OK\r\n")
    with pytest.raises(LocalProtocolError, match="empty"):
        core.rcpt("")


def test_mail_parameters_need_their_extensions() -> None:
    with pytest.raises(LocalProtocolError, match="SIZE extension"):
        ready(PLAIN_EHLO).mail("a@b.example", ["SIZE=10"])
    with pytest.raises(LocalProtocolError, match="SIZE limit"):
        ready().mail("a@b.example", ["SIZE=99999999"])


@pytest.mark.parametrize("name", ["", "two words", "ünicode.example"])
def test_ehlo_names_must_be_domains(name: str) -> None:
    core = ClientProtocol()
    receive(core, b"220 ready\r\n")
    with pytest.raises(LocalProtocolError, match="EHLO/HELO name"):
        core.ehlo(name)


def test_helo_gives_empty_capabilities() -> None:
    core = ClientProtocol()
    receive(core, b"220 ready\r\n")
    core.helo("client.example")
    receive(core, b"250 smtp.gmail.com at your service\r\n")
    assert core.capabilities is not None
    assert core.capabilities.extensions == ()


def test_ehlo_refused_stays_greeted_so_helo_can_follow() -> None:
    core = ClientProtocol()
    receive(core, b"220 ready\r\n")
    core.ehlo("client.example")
    receive(core, b"502 5.5.1 Unrecognized command.\r\n")
    assert state(core) is ClientState.GREETED
    core.helo("client.example")


def test_take_over_hands_back_unparsed_bytes() -> None:
    core = ClientProtocol()
    core.receive_data(b"220 ready\r\n250 ear")
    assert core.take_over() == b"220 ready\r\n250 ear"
    assert state(core) is ClientState.RAW
    with pytest.raises(LocalProtocolError, match="RAW"):
        core.noop()


def test_every_table_entry_is_reachable_and_drawn() -> None:
    diagram = state_diagram()
    for (state, verb), outcomes in TRANSITIONS.items():
        for kind, target in outcomes.items():
            assert f"{state.name} --> {target.name}: {verb.value} {kind.value}yz" in diagram
    targets = {target for outcomes in TRANSITIONS.values() for target in outcomes.values()}
    sources = {state for state, _ in TRANSITIONS}
    # Every state but the terminal ones has a way out, and every state but the first and the
    # error/raw states is reached.
    assert set(ClientState) - sources == {ClientState.CLOSED, ClientState.ERROR, ClientState.RAW}
    assert set(ClientState) - targets == {
        ClientState.CONNECTED,
        ClientState.ERROR,
        ClientState.RAW,
    }
    assert all(kind in ReplyKind for outcomes in TRANSITIONS.values() for kind in outcomes)


def test_reply_values() -> None:
    with pytest.raises(ValueError, match="200-599"):
        Reply(199, ("x",))
    with pytest.raises(ValueError, match="at least one line"):
        Reply(250, ())
    assert str(Reply(250, ("a", "b"))) == "250-a\n250 b"

"""The session beyond the persona's rules, without sockets: what scripts and faults do to a
reply, the bookkeeping of what reached the wire, the persona's behaviour settings, and
storing a message before its 250."""

from __future__ import annotations

import dataclasses

import pytest

from client.transcript import Direction, Line
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Behaviour, Listener
from fakeserver.scripting.faults import (
    BodyPlan,
    Close,
    Delay,
    Disconnect,
    Drip,
    Ending,
    Garbage,
    Reset,
    Stall,
    Withhold,
)
from fakeserver.session import actions, events
from fakeserver.session.dialogue import VERBS
from fakeserver.session.records import EndReason
from fakeserver.session.session import UNRECOGNIZED_LIMIT
from fakeserver.transport.aiosmtpd_adapter import dispatched_verbs
from tests.session.bench import PERSONA, TAG, Bench, b64, plain


def test_every_verb_the_adapter_dispatches_is_a_verb_of_the_session() -> None:
    assert set(dispatched_verbs()) == VERBS


# ---------------------------------------------------------------- scripted replies


def test_a_scripted_failure_means_the_command_had_no_effect() -> None:
    bench = Bench().logged_in()
    bench.script.on("rcpt", nth=1).reply(550, "5.1.1", "No such user here")
    bench.say("MAIL FROM:<tester@gmail.com>")
    assert bench.say("RCPT TO:<gone@example.org>") == f"550 5.1.1 No such user here{TAG}"
    assert bench.say("DATA").startswith("503-5.5.1 RCPT first."), "the refused RCPT added nobody"


def test_a_scripted_success_changes_only_the_words() -> None:
    bench = Bench().logged_in()
    bench.script.on("mail", times=1).reply("250 2.1.0 Sender fine")
    assert bench.say("MAIL FROM:<tester@gmail.com>") == "250 2.1.0 Sender fine\r\n"
    assert bench.say("MAIL FROM:<tester@gmail.com>").startswith("503-5.5.1 Nested MAIL")


def test_a_scripted_421_closes() -> None:
    bench = Bench().logged_in()
    bench.script.on("mail").reply("421 4.7.0 Try again later")
    assert bench.say("MAIL FROM:<tester@gmail.com>") == "421 4.7.0 Try again later\r\n"
    assert bench.closed is not None
    assert bench.hang_up().ended is EndReason.SERVER_CLOSED


def test_a_scripted_reply_to_quit_still_closes() -> None:
    bench = Bench()
    bench.script.on("quit").reply("221 2.0.0 Bye for now")
    assert bench.say("QUIT") == "221 2.0.0 Bye for now\r\n"
    assert bench.hang_up().ended is EndReason.QUIT


def test_a_refused_end_of_data_stores_nothing_and_ends_the_transaction() -> None:
    bench = Bench().in_transaction()
    bench.script.on("end_of_data").reply("451 4.3.0 Try again")
    bench.say("DATA")
    assert bench.message(b"Subject: x\r\n\r\nhi\r\n") == "451 4.3.0 Try again\r\n"
    assert bench.journal.messages == []
    assert bench.say("DATA").startswith("503-5.5.1 MAIL first.")


def test_a_refused_sasl_response_ends_the_exchange() -> None:
    bench = Bench()
    bench.say("EHLO x")
    bench.script.on("auth_response").reply("454 4.7.0 Try later")
    bench.say("AUTH LOGIN")
    assert bench.sasl(b64("tester@gmail.com")) == "454 4.7.0 Try later\r\n"
    assert not bench.session.in_sasl_exchange
    assert bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}").startswith("235")


def test_a_scripted_starttls_refusal_starts_no_tls() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO x")
    bench.script.on("starttls").reply("454 4.7.0 TLS not available")
    assert bench.say("STARTTLS") == "454 4.7.0 TLS not available\r\n"
    assert not bench.starting_tls


def test_a_scripted_greeting_in_the_persona_house_style() -> None:
    bench = Bench()
    bench.script.on("greeting").reply(421, "4.7.0", "Try again later, closing connection.")
    assert bench.connect() == f"421 4.7.0 Try again later, closing connection.{TAG}"
    assert bench.closed is not None


# ---------------------------------------------------------------- faults make plans


def test_reply_faults_shape_the_plan_and_are_recorded() -> None:
    bench = Bench()
    bench.script.on("noop").fault(Delay(0.5), Drip(4))
    bench.say("NOOP")
    plan = bench.plans[-1]
    assert (plan.data, plan.delay_s, plan.write_size) == (f"250 2.0.0 OK{TAG}".encode(), 0.5, 4)
    assert bench.journal.events[-1] == (
        "fault",
        "Delay(delay_s=0.5); Drip(bytes_per_write=4, interval_s=0.0)",
    )
    assert bench.hang_up().faults == (
        "Delay(delay_s=0.5); Drip(bytes_per_write=4, interval_s=0.0)",
    )


def test_a_closing_fault_ends_the_session_as_a_fault() -> None:
    bench = Bench().in_transaction()
    bench.script.on("end_of_data").fault(Reset("before"))
    bench.say("DATA")
    assert bench.message(b"Subject: x\r\n\r\nhi\r\n") == "", "the 250 is lost"
    assert len(bench.journal.messages) == 1, "but the message was stored first"
    assert bench.plans[-1].ending == Ending("before", reset=True)
    assert bench.hang_up().ended is EndReason.FAULT


def test_a_stalled_reply_is_never_written() -> None:
    bench = Bench()
    bench.script.on("noop").fault(Stall())
    assert bench.say("NOOP") == ""
    assert bench.plans[-1].stall


def test_a_body_fault_is_a_plan_for_reading_and_a_close_when_it_acts() -> None:
    bench = Bench().in_transaction()
    bench.script.on("body").fault(Disconnect(after_bytes=10, reset=True))
    bench.say("DATA")
    assert bench.reading == actions.ReadMessage(PERSONA.size_limit, BodyPlan(10, reset=True))
    bench.tell(events.MessageLost(by_fault=True))
    assert bench.closed == actions.CloseConnection(reset=True)
    assert bench.hang_up().ended is EndReason.FAULT


# ---------------------------------------------------------------- what reached the wire


def test_offered_extensions_are_those_that_reached_the_wire() -> None:
    bench = Bench()
    bench.script.on("ehlo").fault(Withhold("PIPELINING"))
    reply = bench.say("EHLO x")
    assert "PIPELINING" not in reply
    record = bench.hang_up()
    assert "PIPELINING" not in record.offered
    assert {"SIZE", "8BITMIME", "AUTH", "CHUNKING", "SMTPUTF8"} <= record.offered


def test_reply_codes_and_transcript_follow_the_bytes_written() -> None:
    bench = Bench()
    bench.script.on("noop").fault(Garbage(b"junk\r\n"))
    bench.script.on("rset").fault(Close("middle"))
    bench.say("NOOP")
    bench.say("RSET")
    record = bench.hang_up()
    assert record.reply_codes == (250,), "the cut RSET reply is not a reply"
    assert record.transcript is not None
    server_lines = [
        entry.data
        for entry in record.transcript.entries
        if isinstance(entry, Line) and entry.direction is Direction.SERVER
    ]
    assert server_lines[0] == b"junk\r\n"
    assert server_lines[-1] == f"250 2.1.5 Flushed{TAG}".encode()[: len(server_lines[-1])]
    assert not server_lines[-1].endswith(b"\r\n"), "recorded as far as it went"


def test_commands_pipelining_and_secrets_are_kept_redacted() -> None:
    bench = Bench()
    bench.say("EHLO x")
    bench.tell(events.Command("NOOP", "", b"NOOP\r\n", more_waiting=True))
    bench.say("AUTH LOGIN")
    bench.sasl(b64("tester@gmail.com"))
    bench.sasl(b64("app-password"))
    record = bench.hang_up()
    assert record.commands == ("EHLO", "NOOP", "AUTH")
    assert record.pipelined
    client_lines = [line.data for line in bench.journal.lines if line.direction is Direction.CLIENT]
    assert b64("app-password").encode() not in b"".join(client_lines)
    assert client_lines[-1] == b"<redacted>\r\n"


def test_lines_after_a_refused_auth_are_taken_for_secrets() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO x")
    bench.say("AUTH LOGIN")  # refused before TLS; the client pipelined its responses
    bench.say(b64("tester@gmail.com"))
    assert bench.journal.unrecognized_lines == [b"<redacted>"]
    assert b64("tester@gmail.com").encode() not in b"".join(
        line.data for line in bench.journal.lines
    )


def test_the_fifth_line_that_is_no_command_closes_whatever_bytes_it_holds() -> None:
    bench = Bench()
    for _ in range(UNRECOGNIZED_LIMIT - 1):
        assert bench.tell(events.Unrecognized(b"\x00\xff\r\n")).startswith("502 5.5.1 Unrecog")
    assert bench.tell(events.Unrecognized(b"\x00\xff\r\n")).startswith(
        "502 5.5.1 Too many unrecognized commands, goodbye."
    )
    assert bench.closed is not None
    assert bench.hang_up().commands == ("?",) * UNRECOGNIZED_LIMIT


def test_a_message_that_cannot_be_stored_gets_no_250() -> None:
    bench = Bench().in_transaction()
    bench.journal.refuse_to_store = True
    bench.say("DATA")
    assert bench.message(b"x\r\n").startswith("421-4.3.0 Temporary System Problem.")
    assert bench.closed is not None


def test_a_session_that_ends_on_its_own_says_so() -> None:
    assert Bench().hang_up().ended is EndReason.CLIENT_CLOSED
    bench = Bench()
    bench.tell(events.ConnectionLost(unread=12, aborted=True))
    [record] = bench.journal.records
    assert record.ended is EndReason.ABORTED
    assert ("unread", "12 bytes") in bench.journal.events


def test_the_session_facts_follow_tls_and_login() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO client.example")
    assert bench.session.info().tls_version is None
    bench.say("STARTTLS")
    bench.tell(events.TLSStarted("TLSv1.3", "TLS_AES_128_GCM_SHA256", discarded=7))
    bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}")
    info = bench.session.info()
    assert (info.tls_version, info.user, info.helo_name) == (
        "TLSv1.3",
        "tester@gmail.com",
        "client.example",
    )
    assert ("discarded", "7 bytes sent before TLS") in bench.journal.events


# ---------------------------------------------------------------- the persona's behaviour


def _with(**changes: object) -> Bench:
    persona = load_persona()
    behaviour = dataclasses.replace(persona.behaviour, **changes)  # type: ignore[arg-type]
    return Bench(Listener.SUBMISSION, persona=dataclasses.replace(persona, behaviour=behaviour))


def test_a_persona_may_let_auth_and_mail_run_in_clear_text() -> None:
    bench = _with(requires_tls=False)
    bench.say("EHLO x")
    assert bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}").startswith("235")
    assert bench.say("MAIL FROM:<tester@gmail.com>").startswith("250")


def test_a_persona_may_take_paths_without_angle_brackets() -> None:
    bench = _with(bare_paths=True, requires_tls=False)
    bench.say("EHLO x")
    bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}")
    assert bench.say("MAIL FROM: tester@gmail.com").startswith("250")
    assert bench.say("RCPT TO:friend@example.org").startswith("250")


def test_a_persona_may_refuse_helo_after_tls() -> None:
    bench = _with(helo_after_tls=False)
    bench.say("EHLO x")
    bench.say("STARTTLS")
    bench.tls()
    assert bench.say("HELO x").startswith("502 5.5.1 Unrecognized command.")
    assert bench.say("EHLO x").startswith("250-")


def test_an_error_delay_waits_before_errors_only() -> None:
    bench = Bench(error_delay_s=5.0)
    bench.say("NOOP")
    assert bench.plans[-1].delay_s == 0
    bench.say("MAIL FROM:<a@b.example>")
    assert bench.plans[-1].delay_s == 5.0


def test_gmail_behaviour_is_read_from_its_file() -> None:
    assert PERSONA.behaviour == Behaviour(
        requires_tls=True,
        helo_after_tls=True,
        bare_paths=False,
        error_delay_s=0.0,
        idle_timeout_s=600.0,
    )
    assert PERSONA.listeners == (Listener.SMTPS, Listener.SUBMISSION, Listener.PLAIN)


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_is_answered_before_a_greeting(verb: str) -> None:
    bench = Bench(Listener.SUBMISSION)
    reply = bench.say(f"{verb} x") or bench.chunk(None)
    assert reply[:3].isdigit()

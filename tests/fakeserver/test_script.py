"""Scripted replies and assertions on the conversation, against smtplib and raw sockets."""

from __future__ import annotations

import base64
import re
import smtplib

import pytest

from fakeserver.errors import ScriptError, ServerThreadError, UnmetExpectation
from fakeserver.personas.model import Situation
from fakeserver.scripting.faults import Withhold
from fakeserver.scripting.script import RawReply, Script, Step
from fakeserver.server.fake import FakeGmail
from tests.support.rawsmtp import RawSMTP

MESSAGE = b"Subject: scripted\r\n\r\nhello\r\n"


def connect(gmail: FakeGmail) -> smtplib.SMTP_SSL:
    client = smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5)
    client.login(*gmail.credentials)
    return client


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda script: script.on("recipient"), "unknown step"),
        (lambda script: script.on("rcpt", times=1, nth=1), "times= or nth=, not both"),
        (lambda script: script.on("rcpt", nth=0), "nth counts from 1"),
        (lambda script: script.on("rcpt").reply("rate limited please"), "not a situation name"),
        # RFC 5321 §4.2: a reply code is three ASCII digits.
        (lambda script: script.on("rcpt").reply("4\u0665\u0661 later"), "not a situation name"),
        (lambda script: script.on("rcpt").reply(550), "a code needs text"),
        (lambda script: script.on("rcpt").reply(550, "5.\u0667.1", "x"), "an RFC 3463 code"),
        (lambda script: script.on("rcpt").reply(550, "5.1", "x"), "an RFC 3463 code"),
        (lambda script: script.on("rcpt").replies(), "give at least one reply"),
    ],
)
def test_bad_scripts_say_what_to_change(call: object, message: str) -> None:
    with pytest.raises(ScriptError, match=re.escape(message)):
        call(Script())  # type: ignore[operator]


def test_replies_can_be_situations_aliases_raw_lines_or_house_style() -> None:
    script = Script()
    script.on("mail", nth=1).reply("rate_limited")
    script.on("mail", nth=2).reply("quota_exceeded")
    script.on("mail", nth=3).reply("550-5.7.1 first\n550 5.7.1 second")
    script.on("mail", nth=4).reply(550, "5.7.1", "house style")
    decided = [action.reply if (action := script.decide(Step.MAIL)) else None for _ in range(5)]
    assert decided[0] is Situation.RATE_LIMITED
    assert decided[1] is Situation.DAILY_QUOTA
    assert decided[2] == RawReply(("550-5.7.1 first", "550 5.7.1 second"))
    assert decided[4] is None


def test_the_nth_recipient_is_refused_and_not_kept(gmail: FakeGmail) -> None:
    gmail.script.on("rcpt", nth=2).reply(550, "5.1.1", "The email account does not exist.")
    with connect(gmail) as client:
        refused = client.sendmail("tester@gmail.com", ["a@x.org", "b@x.org", "c@x.org"], MESSAGE)
    code, text = refused["b@x.org"]
    assert code == 550
    assert text.startswith(b"5.1.1 The email account does not exist. ")
    assert text.endswith(b" - gsmtp")
    [message] = gmail.outbox.wait_for(1)
    assert message.recipients == ("a@x.org", "c@x.org")


def test_matching_picks_the_commands(gmail: FakeGmail) -> None:
    gmail.script.on("rcpt", matching="blocked@").reply("550 5.7.1 Blocked recipient")
    with connect(gmail) as client:
        refused = client.sendmail("tester@gmail.com", ["ok@x.org", "blocked@x.org"], MESSAGE)
    assert refused == {"blocked@x.org": (550, b"5.7.1 Blocked recipient")}


def test_451_twice_then_250_is_one_line(gmail: FakeGmail) -> None:
    gmail.script.on("end_of_data", times=2).reply("451 4.3.0 Mail server temporarily rejected")
    outcomes = []
    with connect(gmail) as client:
        for _ in range(3):
            try:
                client.sendmail("tester@gmail.com", ["a@x.org"], MESSAGE)
                outcomes.append(250)
            except smtplib.SMTPDataError as error:
                outcomes.append(error.smtp_code)
    assert outcomes == [451, 451, 250]
    assert len(gmail.outbox.wait_for(1)) == 1, "a refused message is never stored"


def test_a_scripted_421_closes_and_a_retrying_client_reconnects(gmail: FakeGmail) -> None:
    gmail.script.on("data", times=1).reply("rate_limited")
    attempts = 0
    while True:
        attempts += 1
        try:
            with connect(gmail) as client:
                client.sendmail("tester@gmail.com", ["a@x.org"], MESSAGE)
            break
        except (smtplib.SMTPDataError, smtplib.SMTPServerDisconnected):
            assert attempts < 3
    assert attempts == 2
    sessions = gmail.wait_for_sessions(2)
    assert sessions[0].last_reply_code == 421
    sessions.assert_reconnected_after(421)


def test_a_scripted_ehlo_can_withhold_starttls(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").reply("250-smtp.gmail.com at your service\n250 8BITMIME")
    with (
        smtplib.SMTP(*gmail.submission, timeout=5) as client,
        pytest.raises(smtplib.SMTPNotSupportedError),
    ):
        client.starttls(context=gmail.client_context())
    [session] = gmail.wait_for_sessions(1)
    assert session.offered == frozenset({"8BITMIME"})


def test_a_refused_starttls_starts_no_tls(gmail: FakeGmail) -> None:
    gmail.script.on("starttls").reply("454 4.7.0 TLS not available due to temporary reason")
    with smtplib.SMTP(*gmail.submission, timeout=5) as client:
        with pytest.raises(smtplib.SMTPResponseException) as refused:
            client.starttls(context=gmail.client_context())
        assert refused.value.smtp_code == 454
        assert client.noop()[0] == 250, "the plaintext session goes on"
    [session] = gmail.wait_for_sessions(1)
    assert session.info.tls_version is None


def test_auth_steps_are_scriptable(gmail: FakeGmail) -> None:
    gmail.script.on("auth_response", nth=2).reply("app_password_required")
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5) as client:
        client.ehlo()
        client.user, client.password = gmail.credentials
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert refused.value.smtp_code == 534
        client.login(*gmail.credentials)  # the exchange is over; a new one works
    [session] = gmail.wait_for_sessions(1)
    assert session.info.user == "tester@gmail.com"


def test_a_scripted_greeting(gmail: FakeGmail) -> None:
    gmail.script.on("greeting").reply("ehlo_throttled")
    with pytest.raises(smtplib.SMTPConnectError) as refused:
        smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5)
    assert refused.value.smtp_code == 421


def test_unused_limited_expectations_fail_the_test(gmail: FakeGmail) -> None:
    gmail.script.on("rcpt", times=2).reply("452 4.5.3 Too many")
    gmail.script.on("mail").reply("550 5.7.1 never happens")  # every time: fine if unused
    with pytest.raises(ServerThreadError) as failed:
        gmail.check()
    [unmet] = failed.value.errors
    assert isinstance(unmet, UnmetExpectation)
    assert unmet.expectations == ["on('rcpt', times=2) used 0 time(s)"]


def test_reset_forgets_the_script_and_history(gmail: FakeGmail) -> None:
    gmail.script.on("noop").reply("250 2.0.0 scripted")
    with RawSMTP(gmail.smtps, context=gmail.client_context()) as raw:
        raw.reply()
        assert raw.text("NOOP") == "250 2.0.0 scripted\r\n"
        gmail.reset()
        assert raw.closed_by_server(), "reset drops open connections"
    assert gmail.sessions == []
    with RawSMTP(gmail.smtps, context=gmail.client_context()) as raw:
        raw.reply()
        assert raw.text("NOOP").startswith("250 2.0.0 OK ")


def test_session_assertions_pass_for_a_good_client(gmail: FakeGmail) -> None:
    with smtplib.SMTP(*gmail.submission, timeout=5) as client:
        client.starttls(context=gmail.client_context())
        client.login(*gmail.credentials)
        client.sendmail("tester@gmail.com", ["a@x.org"], MESSAGE)
    sessions = gmail.wait_for_sessions(1)
    sessions.assert_ehlo_after_starttls()
    sessions.assert_pipelining_only_when_offered()
    sessions.assert_auth_mechanism("PLAIN")
    sessions.assert_quit()
    assert sessions[0].commands[:4] == ("EHLO", "STARTTLS", "EHLO", "AUTH")
    assert sessions[0].messages == 1


def test_offered_is_what_the_client_saw_after_a_withheld_extension(gmail: FakeGmail) -> None:
    gmail.script.on("ehlo").fault(Withhold("PIPELINING"))
    with RawSMTP(gmail.smtps, context=gmail.client_context()) as raw:
        raw.reply()
        assert b"PIPELINING" not in b"".join(raw.command("EHLO x"))
        raw.send(b"NOOP\r\nNOOP\r\n")  # pipelined, although PIPELINING was withheld
        assert [raw.reply()[0][:3] for _ in range(2)] == [b"250", b"250"]
    [session] = gmail.wait_for_sessions(1)
    assert "PIPELINING" not in session.offered
    assert {"SIZE", "AUTH", "SMTPUTF8"} <= session.offered
    with pytest.raises(AssertionError, match="pipelined commands although PIPELINING was not"):
        gmail.sessions.assert_pipelining_only_when_offered()


def test_a_client_that_pipelines_only_when_offered_passes_with_it_withheld(
    gmail: FakeGmail,
) -> None:
    gmail.script.on("ehlo").fault(Withhold("PIPELINING"))
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5) as client:
        client.login(*gmail.credentials)
        client.sendmail("tester@gmail.com", ["a@x.org"], MESSAGE)
    sessions = gmail.wait_for_sessions(1)
    assert "PIPELINING" not in sessions[0].offered
    sessions.assert_pipelining_only_when_offered()


def test_session_assertions_catch_a_sloppy_client(gmail: FakeGmail) -> None:
    with RawSMTP(gmail.submission) as raw:
        raw.reply()
        raw.command("EHLO x")
        raw.command("STARTTLS")
        raw.starttls(gmail.client_context())
        blob = base64.b64encode(b"\0tester@gmail.com\0app-password")
        raw.send(b"AUTH PLAIN " + blob + b"\r\nMAIL FROM:<tester@gmail.com>\r\n")
        assert [raw.reply()[0][:3] for _ in range(2)] == [b"235", b"250"]
    sessions = gmail.wait_for_sessions(1)
    sessions.assert_pipelined()
    for check, problem in [
        (sessions.assert_ehlo_after_starttls, "did not send EHLO again after STARTTLS"),
        (sessions.assert_quit, "closed without QUIT"),
        (lambda: sessions.assert_auth_mechanism("LOGIN"), "did not log in with LOGIN"),
    ]:
        with pytest.raises(AssertionError, match=problem) as failed:
            check()
        assert "EHLO STARTTLS AUTH MAIL" in str(failed.value), "the message shows what happened"

"""The rules of Microsoft 365, SES and SendGrid, without sockets: where each differs from Gmail
(and from the others), as their evidence files say, and what the session says when a rule needs
a reply a persona has no evidence for."""

from __future__ import annotations

import random

import pytest

from client.transcript import dump
from fakeserver.errors import ConfigurationError, ScriptError
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import Listener, Persona, Situation
from fakeserver.scripting.script import Script
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.session import events
from fakeserver.session.accounts import Account
from fakeserver.session.policy import Policy
from tests.session.bench import NOW, Bench, b64, plain, xoauth2

OFFICE365 = load_persona("office365")
SES = load_persona("ses")
SENDGRID = load_persona("sendgrid")
GOOD = plain("tester@gmail.com", "app-password")
BAD = plain("tester@gmail.com", "wrong")


def bench(
    persona: Persona, listener: Listener = Listener.SUBMISSION, *, error_delay_s: float = 0.0
) -> Bench:
    """A bench for ``persona`` with its identifiers drawn as a server would."""
    return Bench(
        listener,
        persona=persona,
        identity=persona.identifiers.open(random.Random(7), NOW),
        script=Script(persona=persona),
        error_delay_s=error_delay_s,
    )


def ids(made: Bench) -> dict[str, str]:
    assert made.identity is not None
    return dict(made.identity.values)


def after_tls(made: Bench, hello: str = "EHLO client.example") -> Bench:
    made.connect()
    made.say(hello)
    made.say("STARTTLS")
    made.tls()
    made.say(hello)
    return made


# ---------------------------------------------------------------- Microsoft 365


def test_office365_greets_with_its_front_end_date_and_id() -> None:
    made = bench(OFFICE365)
    values = ids(made)
    assert made.connect() == (
        f"220 {values['frontend']}.outlook.office365.com Microsoft ESMTP MAIL Service ready at "
        f"Sat, 26 Jul 2025 09:29:17 +0000 [{values['session_id']}]\r\n"
    )


def test_office365_errors_carry_the_suffix_and_wait_five_seconds() -> None:
    made = bench(OFFICE365, error_delay_s=OFFICE365.behaviour.error_delay_s)
    values = ids(made)
    made.connect()
    reply = made.say("EHLO MacBook..")
    suffix = f"[{values['frontend']}.{values['datacenter']} 2025-07-26T09:29:17.250Z "
    assert reply == f"501 5.5.4 Invalid domain name {suffix}{values['session_id']}]\r\n"
    assert made.closed is None  # O365-1: the client could try HELO next
    assert made.plans[-1].delay_s == 5.0
    assert made.say("EHLO [127.0.0.1]").startswith("250-")
    assert made.plans[-1].delay_s == 0.0  # successes come at once (office365.md §3.6)
    assert made.say("EHLO host_name.example").startswith("250-")


def test_office365_offers_auth_only_after_starttls_and_refuses_it_before() -> None:
    made = bench(OFFICE365)
    made.connect()
    before = made.say("EHLO client.example")
    assert "250-STARTTLS\r\n" in before
    assert "AUTH" not in before
    assert made.say(f"AUTH PLAIN {GOOD}").startswith(
        "530 5.7.0 Must issue a STARTTLS command first ["
    )
    made.say("STARTTLS")
    made.tls()
    assert "250-AUTH LOGIN XOAUTH2\r\n" in made.say("EHLO client.example")


def test_office365_takes_login_and_xoauth2_but_not_plain() -> None:
    made = after_tls(bench(OFFICE365))
    assert made.say(f"AUTH PLAIN {GOOD}").startswith("504 5.7.4 Unrecognized authentication type [")
    # A refused token fails at once, without Gmail's 334 error challenge (MailKit #1712).
    reply = made.say(f"AUTH XOAUTH2 {xoauth2('tester@gmail.com', 'ya29.stale')}")
    assert reply.startswith("535 5.7.3 Authentication unsuccessful [")
    assert made.say("AUTH LOGIN") == "334 VXNlcm5hbWU6\r\n"
    assert made.sasl(b64("tester@gmail.com")) == "334 UGFzc3dvcmQ6\r\n"
    assert made.sasl(b64("app-password")) == "235 2.7.0 Authentication successful\r\n"


def test_office365_wants_auth_before_mail_and_takes_dsn_parameters() -> None:
    made = after_tls(bench(OFFICE365))
    reply = made.say("MAIL FROM:<tester@gmail.com>")
    assert reply.startswith("530 5.7.57 Client not authenticated to send mail. [")
    made.say("AUTH LOGIN")
    made.sasl(b64("tester@gmail.com"))
    made.sasl(b64("app-password"))
    # O365-7: Postfix sends DSN parameters, which the EHLO offers.
    mail = made.say("MAIL FROM:<> SIZE=2850 BODY=8BITMIME RET=HDRS ENVID=x1")
    assert mail == "250 2.1.0 Sender OK\r\n"
    rcpt = made.say("RCPT TO:<dan@comp.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;dan@comp.com")
    assert rcpt == "250 2.1.5 Recipient OK\r\n"


def test_without_dsn_rcpt_parameters_stay_a_syntax_error() -> None:
    made = Bench(Listener.SMTPS).logged_in()
    made.say("MAIL FROM:<tester@gmail.com>")
    assert made.say("RCPT TO:<a@b.example> NOTIFY=NEVER").startswith("555-5.5.2 Syntax error,")


def test_office365_ends_data_with_its_message_id_and_mailbox_server() -> None:
    made = after_tls(bench(OFFICE365))
    made.say("AUTH LOGIN")
    made.sasl(b64("tester@gmail.com"))
    made.sasl(b64("app-password"))
    made.say("MAIL FROM:<tester@gmail.com>")
    made.say("RCPT TO:<friend@example.org>")
    assert made.say("DATA") == "354 Start mail input; end with <CRLF>.<CRLF>\r\n"
    reply = made.message(b"Subject: hi\r\n\r\nhello\r\n")
    server = f"{ids(made)['mailbox']}.{ids(made)['mailbox_domain']}.prod.outlook.com"
    assert reply.startswith(f"250 2.0.0 OK <{ids(made)['mailbox']}")
    assert reply.endswith(f"@{server}> [Hostname={server}]\r\n")
    assert len(made.journal.messages) == 1


def test_office365_quotes_an_unrecognized_line() -> None:
    made = bench(OFFICE365)
    made.connect()
    assert made.say("Length: 2").startswith("500 5.3.3 Unrecognized command 'Length: 2' [")


def test_a_rule_that_needs_a_missing_reply_gets_a_stand_in_noted_as_a_gap() -> None:
    made = after_tls(bench(OFFICE365))
    made.say("AUTH LOGIN")
    made.sasl(b64("tester@gmail.com"))
    made.sasl(b64("app-password"))
    # Nobody recorded Microsoft 365's reply to a MAIL FROM it cannot parse.
    reply = made.say("MAIL FROM:no-brackets@example.org")
    assert reply == "501 5.5.4 smtprig: no recorded office365 reply for syntax_error\r\n"
    assert made.closed is None
    assert ("gap", "office365 has no reply for syntax_error") in made.journal.events
    record = made.hang_up()
    assert record.transcript is not None
    assert "# --- gap: office365 has no reply for syntax_error ---" in dump(record.transcript)


def test_a_scripted_refusal_names_the_login_and_the_sender() -> None:
    made = after_tls(bench(OFFICE365))
    made.script.on("end_of_data").reply("sender_not_allowed")
    made.say("AUTH LOGIN")
    made.sasl(b64("tester@gmail.com"))
    made.sasl(b64("app-password"))
    made.say("MAIL FROM:<noreply@example.org>")
    made.say("RCPT TO:<friend@example.org>")
    made.say("DATA")
    reply = made.message(b"Subject: hi\r\n\r\nhello\r\n")
    assert reply.startswith(
        "554 5.2.252 SendAsDenied; tester@gmail.com not allowed to send as noreply@example.org; "
    )
    assert made.journal.messages == []  # a refused end of data stores nothing


# ---------------------------------------------------------------- SES


def test_ses_advertises_auth_before_tls_but_refuses_it() -> None:
    made = bench(SES)
    values = ids(made)
    assert made.connect() == (
        f"220 email-smtp.amazonaws.com ESMTP SimpleEmailService-d-{values['instance']} "
        f"{values['session_id']}\r\n"
    )
    assert made.say("EHLO client.example").endswith("250-AUTH PLAIN LOGIN\r\n250 Ok\r\n")
    assert made.say("AUTH LOGIN") == "530 Must issue a STARTTLS command first\r\n"
    assert made.say(f"AUTH PLAIN {GOOD}") == "530 Must issue a STARTTLS command first\r\n"


def test_ses_keeps_starttls_listed_after_tls_and_refuses_a_second_one() -> None:
    made = bench(SES)
    made.connect()
    made.say("EHLO client.example")
    assert made.say("STARTTLS") == "220 Ready to start TLS\r\n"
    made.tls()
    assert "250-STARTTLS\r\n" in made.say("EHLO client.example")
    second = made.say("STARTTLS")
    assert second == "454 TLS not available due to temporary reason: TLS already active\r\n"
    assert not made.starting_tls


def test_ses_lists_no_starttls_on_its_implicit_tls_port() -> None:
    made = bench(SES, Listener.SMTPS)
    made.connect()
    assert made.say("EHLO client.example") == (
        "250-email-smtp.amazonaws.com\r\n250-8BITMIME\r\n250-SIZE 10485760\r\n"
        "250-AUTH PLAIN LOGIN\r\n250 Ok\r\n"
    )


def test_ses_reads_paths_without_brackets_and_ends_with_a_time_based_id() -> None:
    made = bench(SES, Listener.SMTPS)
    made.connect()
    made.say("EHLO example.com")
    assert made.say("AUTH PLAIN") == "334 Ok\r\n"
    assert made.sasl(GOOD) == "235 Authentication successful.\r\n"
    assert made.say("MAIL FROM: sender@example.com") == "250 Ok\r\n"
    assert made.say("RCPT TO: recipient@example.com") == "250 Ok\r\n"
    assert made.say("DATA") == "354 End data with <CR><LF>.<CR><LF>\r\n"
    reply = made.message(b"Subject: hi\r\n\r\nhello\r\n")
    # <region 0100><epoch ms as 12 hex digits>-<uuid>-000000 (ses.md §3)
    assert reply.startswith(f"250 Ok 0100{int(NOW * 1000):012x}-")
    assert reply.endswith("-000000\r\n")
    assert made.journal.messages[0].envelope.mail_from == "sender@example.com"


def test_ses_wants_an_ehlo_argument_but_no_more() -> None:
    made = bench(SES)
    made.connect()
    assert made.say("EHLO") == "501 Syntax: EHLO hostname\r\n"
    assert made.say("EHLO two words").startswith("250-email-smtp.amazonaws.com\r\n")


def test_ses_has_no_bdat_and_no_reply_on_record_for_it() -> None:
    made = bench(SES, Listener.SMTPS)
    made.connect()
    made.say("EHLO client.example")
    assert made.say("BDAT 10 LAST") == "500 smtprig: no recorded ses reply for unrecognized\r\n"
    assert made.reading is None  # the chunk is not read: BDAT is no command here


def test_ses_closes_an_idle_client_with_its_timeout_reply() -> None:
    made = bench(SES, Listener.SMTPS)
    made.connect()
    assert made.tell(events.IdleTimeout()) == "451 4.4.2 Timeout waiting for data from client.\r\n"
    assert made.closed is not None


# ---------------------------------------------------------------- SendGrid


def test_sendgrid_takes_auth_in_clear_text_and_a_bare_ehlo() -> None:
    made = bench(SENDGRID)
    assert (
        made.connect()
        == f"220 SG ESMTP service ready at {ids(made)['session_id']}.sendgrid.net\r\n"
    )
    assert made.say("ehlo").endswith("250-AUTH PLAIN LOGIN\r\n250 AUTH=PLAIN LOGIN\r\n")
    assert made.say("MAIL FROM:<a@b.example>") == "550 Unauthenticated senders not allowed\r\n"
    assert made.say("auth login") == "334 VXNlcm5hbWU6\r\n"
    made.sasl(b64("tester@gmail.com"))
    assert made.sasl(b64("app-password")) == "235 Authentication successful\r\n"
    assert made.say("mail from: sylvain@kalache.fr") == "250 Sender address accepted\r\n"


def test_sendgrid_keeps_starttls_after_tls_and_answers_a_second_with_454() -> None:
    made = after_tls(bench(SENDGRID))
    assert made.say("EHLO client.example").count("STARTTLS") == 1
    assert made.say("STARTTLS") == "454 TLS not available\r\n"


def test_sendgrid_challenges_plain_with_an_empty_334_and_queues_with_an_id() -> None:
    made = after_tls(bench(SENDGRID))
    assert made.say("AUTH PLAIN") == "334 \r\n"
    assert made.sasl(BAD) == "535 Authentication failed: Bad username / password\r\n"
    made.say(f"AUTH PLAIN {GOOD}")
    made.say("MAIL FROM:<tester@gmail.com>")
    made.say("RCPT TO:<friend@example.org>")
    assert made.say("DATA") == "354 Continue\r\n"
    reply = made.message(b"Subject: hi\r\n\r\nhello\r\n")
    assert reply.startswith("250 Ok: queued as ")
    assert len(reply.removeprefix("250 Ok: queued as ").removesuffix("\r\n")) == 22


# ---------------------------------------------------------------- what a persona lacks


@pytest.mark.parametrize(
    ("persona", "situation"),
    [(OFFICE365, "rate_limited"), (SES, "auth_blocked"), (SENDGRID, "daily_quota")],
)
def test_scripting_a_situation_without_evidence_says_so(persona: Persona, situation: str) -> None:
    with pytest.raises(ScriptError, match=f"the {persona.name} persona has no evidence for"):
        Script(persona=persona).on("data").reply(situation)


def test_each_persona_scripts_its_own_refusals() -> None:
    for persona, situation in [
        (OFFICE365, Situation.BASIC_AUTH_DISABLED),
        (SES, Situation.SENDER_NOT_ALLOWED),
        (SENDGRID, Situation.CREDENTIALS_REVOKED),
    ]:
        assert Script(persona=persona).on("auth").reply(situation.value).sequence == [situation]


@pytest.mark.parametrize(
    ("persona", "changes", "setting"),
    [
        ("office365", {"policy": Policy(rate_limit_per_minute=5)}, "policy.rate_limit_per_minute"),
        ("sendgrid", {"policy": Policy(daily_quota=5)}, "policy.daily_quota"),
        ("ses", {"policy": Policy(auth_failure_limit=3)}, "policy.auth_failure_limit"),
        (
            "ses",
            {"accounts": (Account("a@b.example", "pw", requires_app_password=True),)},
            "accounts",
        ),
    ],
)
def test_options_a_persona_cannot_answer_are_refused_at_start(
    persona: str, changes: dict[str, object], setting: str
) -> None:
    options = ServerOptions(persona=persona).replace(**changes)
    with pytest.raises(ConfigurationError, match=rf"{setting}.*{persona} persona has no evidence"):
        FakeGmail(options)


def test_a_scripted_reply_fills_its_fields_from_the_command() -> None:
    """Was a KeyError inside the session: scripted replies got only the connection's fields."""
    made = Bench(Listener.SMTPS)
    made.script.on("rcpt").reply("recipient_invalid")
    made.logged_in()
    made.say("MAIL FROM:<tester@gmail.com>")
    reply = made.say("RCPT TO:<x@y.example>")
    assert reply.startswith("553-5.1.3 The recipient address <x@y.example> is not a valid")

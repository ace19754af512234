"""Gmail's rules, without sockets: command in, reply text and next step out."""

from __future__ import annotations

import base64

import pytest

from fakeserver.personas.model import load_persona
from fakeserver.session.accounts import Account, Accounts
from fakeserver.session.policy import Policy, Usage
from fakeserver.session.rules import Conversation, Listener, Next, Outcome

SESSION = "ffacd0b85a97d-3b778f047afsm2210013f8f.39"
TAG = f" {SESSION} - gsmtp\r\n"
NOW = 1753522157.25
PERSONA = load_persona()
ACCOUNTS = Accounts(
    [
        Account("tester@gmail.com", "app-password", oauth_tokens=frozenset({"ya29.good"})),
        Account("twostep@gmail.com", "google-password", requires_app_password=True),
    ]
)


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def plain(user: str, password: str) -> str:
    return b64(f"\0{user}\0{password}")


def new(
    listener: Listener = Listener.SMTPS, policy: Policy | None = None, usage: Usage | None = None
) -> Conversation:
    return Conversation(
        persona=PERSONA,
        accounts=ACCOUNTS,
        policy=policy or Policy(),
        usage=usage or Usage(lambda: NOW),
        listener=listener,
        client_ip="203.0.113.7",
        session_id=SESSION,
        clock=lambda: NOW,
    )


def text(outcome: Outcome) -> str:
    assert outcome.situation is not None
    return PERSONA.render(outcome.situation, outcome.fields).decode()


def send(conversation: Conversation, line: str) -> Outcome:
    verb, _, argument = line.partition(" ")
    return conversation.command(verb.upper(), argument.strip())


def say(conversation: Conversation, line: str) -> str:
    return text(send(conversation, line))


def logged_in(listener: Listener = Listener.SMTPS, policy: Policy | None = None) -> Conversation:
    conversation = new(listener, policy)
    say(conversation, "EHLO client.example")
    if listener is not Listener.SMTPS:
        conversation.tls_started()
    assert say(conversation, f"AUTH PLAIN {plain('tester@gmail.com', 'app-password')}") == (
        "235 2.7.0 Accepted\r\n"
    )
    return conversation


def in_transaction(**policy: int) -> Conversation:
    conversation = logged_in(policy=Policy(**policy))
    say(conversation, "MAIL FROM:<tester@gmail.com>")
    say(conversation, "RCPT TO:<friend@example.org>")
    return conversation


def test_greeting_and_tagged_replies_carry_the_session_id() -> None:
    conversation = new()
    assert text(conversation.greeting()) == f"220 smtp.gmail.com ESMTP{TAG}"
    assert say(conversation, "NOOP") == f"250 2.0.0 OK{TAG}"


@pytest.mark.parametrize(
    ("listener", "list_name"),
    [(Listener.SMTPS, "AUTH LOGIN PLAIN"), (Listener.SUBMISSION, "STARTTLS")],
)
def test_ehlo_lists_auth_only_under_tls(listener: Listener, list_name: str) -> None:
    reply = say(new(listener), "EHLO client.example")
    assert reply.startswith("250-smtp.gmail.com at your service, [203.0.113.7]\r\n")
    assert f"250-{list_name}" in reply
    assert reply.endswith("250 SMTPUTF8\r\n")
    assert ("STARTTLS" in reply) is (listener is Listener.SUBMISSION)


def test_ehlo_after_starttls_lists_auth() -> None:
    conversation = new(Listener.SUBMISSION)
    say(conversation, "EHLO x")
    outcome = send(conversation, "STARTTLS")
    assert (text(outcome), outcome.next) == ("220 2.0.0 Ready to start TLS\r\n", Next.START_TLS)
    conversation.tls_started()
    assert "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n" in say(
        conversation, "EHLO x"
    )
    assert say(conversation, "STARTTLS").startswith("454 5.5.1 STARTTLS may not be repeated.")


def test_helo_has_no_ip_and_no_tag() -> None:
    assert say(new(), "HELO x") == "250 smtp.gmail.com at your service\r\n"


@pytest.mark.parametrize(
    ("line", "first_line"),
    [
        ("EHLO", "501-5.5.4 Empty HELO/EHLO argument not allowed, closing connection.\r\n"),
        ("HELO", "501-5.5.4 Empty HELO/EHLO argument not allowed, closing connection.\r\n"),
        (
            "EHLO PhpStorm 9.0.3",
            '501-5.5.4 HELO/EHLO argument "PhpStorm 9.0.3" invalid, closing connection.\r\n',
        ),
    ],
)
def test_bad_greeting_argument_is_refused_and_closes(line: str, first_line: str) -> None:
    outcome = send(new(), line)
    assert text(outcome).startswith(first_line)
    assert text(outcome).endswith(f"501 5.5.4  https://support.google.com/mail/?p=helo{TAG}")
    assert outcome.next is Next.CLOSE


@pytest.mark.parametrize("line", ["MAIL FROM:<a@b.example>", "RCPT TO:<a@b.example>", "DATA"])
def test_greeting_is_checked_first(line: str) -> None:
    assert say(new(Listener.SUBMISSION), line) == f"503 5.5.1 EHLO/HELO first.{TAG}"


@pytest.mark.parametrize(
    "line", ["MAIL FROM: maumeloni@gmail.com", "AUTH LOGIN", "RCPT TO:<a@b.example>", "DATA"]
)
@pytest.mark.parametrize("listener", [Listener.SUBMISSION, Listener.PLAIN])
def test_tls_is_required_before_anything_else_on_587(listener: Listener, line: str) -> None:
    conversation = new(listener)
    say(conversation, "EHLO x")
    assert say(conversation, line) == (
        "530-5.7.0 Must issue a STARTTLS command first. For more information, go to\r\n"
        "530-5.7.0  https://support.google.com/a/answer/3221692 and review RFC 3207\r\n"
        f"530 5.7.0 specifications.{TAG}"
    )


@pytest.mark.parametrize("line", ["MAIL FROM:<a@b.example>", "RCPT TO:<a@b.example>", "DATA"])
def test_transaction_needs_auth(line: str) -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, line) == (
        "530-5.7.0 Authentication Required. For more information, go to\r\n"
        f"530 5.7.0  https://support.google.com/mail/?p=WantAuthError{TAG}"
    )


def test_auth_login_without_initial_response() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    first = send(conversation, "AUTH LOGIN")
    assert (text(first), first.next) == ("334 VXNlcm5hbWU6\r\n", Next.SASL_RESPONSE)
    assert conversation.in_sasl_exchange
    assert text(conversation.sasl_response(b64("tester@gmail.com").encode())) == (
        "334 UGFzc3dvcmQ6\r\n"
    )
    assert text(conversation.sasl_response(b64("app-password").encode())) == (
        "235 2.7.0 Accepted\r\n"
    )
    assert (conversation.user, conversation.mechanism) == ("tester@gmail.com", "LOGIN")


def test_auth_login_with_initial_response_skips_the_username_prompt() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, f"AUTH LOGIN {b64('tester@gmail.com')}") == "334 UGFzc3dvcmQ6\r\n"
    assert text(conversation.sasl_response(b64("app-password").encode())).startswith("235")


def test_auth_plain_without_initial_response_gets_an_empty_challenge() -> None:
    conversation = new()
    say(conversation, "HELO x")
    assert say(conversation, "AUTH PLAIN") == "334 \r\n"
    blob = plain("TESTER@gmail.com", "app-password").encode()
    assert text(conversation.sasl_response(blob)) == "235 2.7.0 Accepted\r\n"


def test_login_without_the_gmail_domain_is_accepted() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, f"AUTH PLAIN {plain('tester', 'app-password')}").startswith("235")


def test_wrong_password_gets_535_and_the_session_continues() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, f"AUTH PLAIN {plain('tester@gmail.com', 'nope')}") == (
        "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
        f"535 5.7.8  https://support.google.com/mail/?p=BadCredentials{TAG}"
    )
    assert say(conversation, "MAIL FROM:<a@b.example>").startswith("530-5.7.0 Authentication")
    assert say(conversation, f"AUTH PLAIN {plain('tester@gmail.com', 'app-password')}") == (
        "235 2.7.0 Accepted\r\n"
    )


def test_account_with_two_step_verification_needs_an_app_password() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, f"AUTH PLAIN {plain('twostep@gmail.com', 'google-password')}") == (
        "534-5.7.9 Application-specific password required. For more information, go to\r\n"
        f"534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor{TAG}"
    )


def xoauth2(user: str, token: str) -> str:
    return b64(f"user={user}\x01auth=Bearer {token}\x01\x01")


def test_xoauth2_with_a_valid_token() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, f"AUTH XOAUTH2 {xoauth2('tester@gmail.com', 'ya29.good')}") == (
        "235 2.7.0 Accepted\r\n"
    )
    assert conversation.mechanism == "XOAUTH2"


def test_xoauth2_bad_token_gets_the_json_challenge_then_535_for_any_line() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    outcome = send(conversation, f"AUTH XOAUTH2 {xoauth2('tester@gmail.com', 'expired')}")
    challenge = text(outcome)
    assert challenge.startswith("334 eyJ")
    assert outcome.next is Next.SASL_RESPONSE
    assert base64.b64decode(challenge[4:]) == (
        b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
    )
    # PHPMailer#677: the client sent QUIT, which Gmail took as the SASL response.
    assert text(conversation.sasl_response(b"QUIT")).startswith("535-5.7.8 Username and")
    assert conversation.user is None


def test_xoauth2_without_initial_response_then_garbage_cannot_be_decoded() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    assert say(conversation, "AUTH XOAUTH2") == "334 \r\n"
    outcome = conversation.sasl_response(b"QUIT")
    assert text(outcome) == (
        "501-5.5.2 Cannot Decode response. For more information, go to\r\n"
        f"501 5.5.2  https://support.google.com/a/answer/3221692{TAG}"
    )
    assert outcome.next is Next.CLOSE


def test_oauthbearer_with_a_valid_token() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    blob = b64(
        "n,a=tester@gmail.com,\x01host=smtp.gmail.com\x01port=465\x01auth=Bearer ya29.good\x01\x01"
    )
    assert say(conversation, f"AUTH OAUTHBEARER {blob}") == "235 2.7.0 Accepted\r\n"


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("AUTH CRAM-MD5", f"504 5.7.4 Unrecognized authentication type.{TAG}"),
        ("AUTH XOAUTH dGVzdA==", f"504 5.7.4 XOAUTH is no longer supported.{TAG}"),
        ("AUTH PLAIN not*base64", None),
        ("AUTH PLAIN dGVzdA==", None),  # decodes, but has no NULs
        ("AUTH", "555-5.5.2 Syntax error, cannot decode response."),
    ],
)
def test_auth_errors(line: str, reply: str | None) -> None:
    conversation = new()
    say(conversation, "EHLO x")
    answer = say(conversation, line)
    assert answer.startswith(reply or "501-5.5.2 Cannot Decode response.")


def test_cancelled_auth_is_answered_and_closed() -> None:
    conversation = new()
    say(conversation, "EHLO x")
    say(conversation, "AUTH LOGIN")
    outcome = conversation.sasl_response(b"*")
    assert text(outcome).startswith("501-5.5.2 Cannot Decode")
    assert outcome.next is Next.CLOSE


def test_second_auth_is_out_of_sequence() -> None:
    conversation = logged_in()
    assert say(conversation, "AUTH LOGIN").startswith(
        "503-5.5.1 MAIL first. A mail transaction protocol command was issued out of\r\n"
        "503-5.5.1 sequence. For more information, go to\r\n"
    )


def test_too_many_failed_logins_get_454() -> None:
    conversation = new(policy=Policy(auth_failure_limit=2))
    say(conversation, "EHLO x")
    for _ in range(2):
        assert say(conversation, f"AUTH PLAIN {plain('tester', 'bad')}").startswith("535")
    assert say(conversation, "AUTH PLAIN").startswith(
        "454-4.7.0 Too many login attempts, please try again later. For more information,\r\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        "MAIL FROM:<tester@gmail.com>",
        "mail from: <tester@gmail.com>",
        "MAIL FROM:<tester@gmail.com> SIZE=491",
        "MAIL FROM:<tester@gmail.com> BODY=8BITMIME SMTPUTF8",
        "MAIL FROM:<>",
        "MAIL FROM:<josé@exämple.com>",
        "MAIL FROM: <Test Address Display yourgmailaddress@gmail.com>",
    ],
)
def test_mail_from_accepted(line: str) -> None:
    assert say(logged_in(), line) == f"250 2.1.0 OK{TAG}"


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ("MAIL FROM:tester@gmail.com", "555-5.5.2 Syntax error, cannot decode response."),
        ('MAIL FROM:"Me" <tester@gmail.com>', "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> RET=HDRS", "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> BODY=BINARYMIME", "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> SIZE=35882578", "552-5.3.4 Your message exceeded Google"),
    ],
)
def test_mail_from_refused(line: str, start: str) -> None:
    assert say(logged_in(), line).startswith(start)


def test_nested_mail_is_out_of_sequence() -> None:
    conversation = logged_in()
    say(conversation, "MAIL FROM:<a@b.example>")
    assert say(conversation, "MAIL FROM:<a@b.example>").startswith("503-5.5.1 Nested MAIL")


def test_rcpt_rules() -> None:
    conversation = logged_in()
    assert say(conversation, "RCPT TO:<a@b.example>").startswith("503-5.5.1 MAIL first.")
    say(conversation, "MAIL FROM:<tester@gmail.com>")
    assert say(conversation, "RCPT TO:<>").startswith("555-5.5.2 Syntax error")
    assert say(conversation, "RCPT TO:<a@b.example> NOTIFY=NEVER").startswith("555-5.5.2")
    assert say(conversation, "RCPT TO:<c>") == (
        "553-5.1.3 The recipient address <c> is not a valid RFC 5321 address. For more\r\n"
        "553-5.1.3 information, go to\r\n"
        "553-5.1.3  https://support.google.com/a/answer/3221692 and review RFC 5321\r\n"
        f"553 5.1.3 specifications.{TAG}"
    )
    # The wrap point moves with the address, as at Gmail (replies.md §9).
    assert say(conversation, "RCPT TO:<atde123$$.com>").startswith(
        "553-5.1.3 The recipient address <atde123$$.com> is not a valid RFC 5321 address.\r\n"
        "553-5.1.3 For more information, go to\r\n"
    )
    assert say(conversation, "RCPT TO:<x@.com>").startswith("553-5.1.3")
    assert say(conversation, "rcpt to: <nobody@example.org>") == f"250 2.1.5 OK{TAG}"
    assert say(conversation, "RCPT TO: <youremailaddress@localhost>") == f"250 2.1.5 OK{TAG}"


def test_the_101st_recipient_is_refused_and_the_others_kept() -> None:
    conversation = logged_in()
    say(conversation, "MAIL FROM:<tester@gmail.com>")
    for number in range(100):
        assert say(conversation, f"RCPT TO:<r{number}@example.org>").startswith("250")
    assert say(conversation, "RCPT TO:<r100@example.org>").startswith(
        "452-4.5.3 Your message has too many recipients."
    )
    assert say(conversation, "DATA").startswith("354")
    outcome = conversation.message_received(b"Subject: x\r\n\r\nhi\r\n")
    assert outcome.accepted is not None
    assert len(outcome.accepted.recipients) == 100


def test_data_sequence_and_acceptance() -> None:
    conversation = logged_in()
    assert say(conversation, "DATA").startswith("503-5.5.1 MAIL first.")
    say(conversation, "MAIL FROM:<tester@gmail.com> SIZE=20")
    assert say(conversation, "DATA").startswith("503-5.5.1 RCPT first.")
    say(conversation, "RCPT TO:<friend@example.org>")
    outcome = send(conversation, "DATA")
    assert (text(outcome), outcome.next) == (f"354 Go ahead{TAG}", Next.MESSAGE)
    accepted = conversation.message_received(b"Subject: hi\r\n\r\nbody\r\n")
    assert text(accepted) == f"250 2.0.0 OK  1753522157{TAG}"
    assert accepted.accepted is not None
    assert accepted.accepted.mail_from == "tester@gmail.com"
    assert accepted.accepted.recipients == ("friend@example.org",)
    assert accepted.accepted.mail_options == ("SIZE=20",)
    assert accepted.content == b"Subject: hi\r\n\r\nbody\r\n"
    assert say(conversation, "DATA").startswith("503-5.5.1 MAIL first."), "transaction ended"


def test_message_over_the_size_limit_is_refused_at_end_of_data() -> None:
    conversation = in_transaction()
    send(conversation, "DATA")
    outcome = conversation.message_received(None)
    assert text(outcome).startswith("552-5.3.4")
    assert outcome.accepted is None


def test_daily_quota_applies_at_end_of_data_across_connections() -> None:
    usage = Usage(lambda: NOW)
    policy = Policy(daily_quota=1)
    for expected in ("250 2.0.0 OK", "550-5.4.5 Daily user sending limit exceeded."):
        conversation = new(policy=policy, usage=usage)
        say(conversation, "EHLO x")
        say(conversation, f"AUTH PLAIN {plain('tester@gmail.com', 'app-password')}")
        say(conversation, "MAIL FROM:<tester@gmail.com>")
        say(conversation, "RCPT TO:<a@b.example>")
        say(conversation, "DATA")
        assert text(conversation.message_received(b"x\r\n")).startswith(expected)


def test_rate_limit_answers_data_with_421_and_closes() -> None:
    conversation = in_transaction(rate_limit_per_minute=1)
    assert say(conversation, "DATA").startswith("354")
    conversation.message_received(b"x\r\n")
    say(conversation, "MAIL FROM:<tester@gmail.com>")
    say(conversation, "RCPT TO:<a@b.example>")
    outcome = send(conversation, "DATA")
    assert text(outcome) == (
        "421-4.3.0 Temporary System Problem. Try again later. For more information, go to\r\n"
        f"421 4.3.0  https://support.google.com/a/answer/3221692{TAG}"
    )
    assert outcome.next is Next.CLOSE


def test_bdat_chunks() -> None:
    conversation = in_transaction()
    first = send(conversation, "BDAT 5")
    assert (first.situation, first.next, first.chunk_size) == (None, Next.CHUNK, 5)
    assert text(conversation.chunk_received(b"Hello")) == f"250 2.0.0 OK{TAG}"
    assert say(conversation, "DATA") == f"503 5.5.1 No DATA after BDAT.{TAG}"
    send(conversation, "BDAT 7 LAST")
    final = conversation.chunk_received(b", world")
    assert text(final) == f"250 2.0.0 OK{TAG}", "no timestamp after BDAT (replies.md §11)"
    assert final.content == b"Hello, world"


def test_bdat_is_read_even_when_refused() -> None:
    conversation = logged_in()
    outcome = send(conversation, "BDAT 3 LAST")
    assert outcome.next is Next.CHUNK
    assert not outcome.keep_chunk
    assert text(conversation.chunk_received(None)).startswith("503-5.5.1 MAIL first.")


def test_bdat_without_a_size_closes() -> None:
    outcome = send(in_transaction(), "BDAT LAST")
    assert text(outcome).startswith("555-5.5.2")
    assert outcome.next is Next.CLOSE


def test_bdat_past_the_size_limit_is_thrown_away() -> None:
    conversation = in_transaction()
    outcome = send(conversation, f"BDAT {PERSONA.size_limit + 1} LAST")
    assert not outcome.keep_chunk
    assert text(conversation.chunk_received(None)).startswith("552-5.3.4")


def test_rset_keeps_the_login() -> None:
    conversation = in_transaction()
    assert say(conversation, "RSET") == f"250 2.1.5 Flushed{TAG}"
    assert say(conversation, "DATA").startswith("503-5.5.1 MAIL first.")
    assert say(conversation, "MAIL FROM:<tester@gmail.com>").startswith("250")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("NOOP", f"250 2.0.0 OK{TAG}"),
        ("HELP", f"214 2.0.0  https://www.google.com/search?btnI&q=RFC+5321{TAG}"),
        ("VRFY someone", f"252 2.1.5 Send some mail, I'll try my best{TAG}"),
        ("EXPN list", f"502 5.5.1 Unimplemented command.{TAG}"),
        ("HELLO there", f"502 5.5.1 Unrecognized command.{TAG}"),
        ("QUIT", f"221 2.0.0 closing connection{TAG}"),
    ],
)
def test_other_commands(line: str, reply: str) -> None:
    assert say(new(), line) == reply


def test_quit_closes() -> None:
    assert send(new(), "QUIT").next is Next.CLOSE


def test_starttls_with_an_argument_is_refused() -> None:
    conversation = new(Listener.SUBMISSION)
    say(conversation, "EHLO x")
    assert say(conversation, "STARTTLS now").startswith("501 5.7.11")

"""Gmail's rules, without sockets: a command in, the reply and what the connection does next
out, through the session as the transport drives it (``tests/session/bench.py``)."""

from __future__ import annotations

import base64

import pytest

from fakeserver.personas.model import Listener
from fakeserver.session import actions, events
from fakeserver.session.policy import Policy, Usage
from tests.session.bench import NOW, PERSONA, TAG, Bench, b64, plain, xoauth2


def test_greeting_and_tagged_replies_carry_the_session_id() -> None:
    bench = Bench()
    assert bench.connect() == f"220 smtp.gmail.com ESMTP{TAG}"
    assert bench.say("NOOP") == f"250 2.0.0 OK{TAG}"


@pytest.mark.parametrize(
    ("listener", "list_name"),
    [(Listener.SMTPS, "AUTH LOGIN PLAIN"), (Listener.SUBMISSION, "STARTTLS")],
)
def test_ehlo_lists_auth_only_under_tls(listener: Listener, list_name: str) -> None:
    reply = Bench(listener).say("EHLO client.example")
    assert reply.startswith("250-smtp.gmail.com at your service, [203.0.113.7]\r\n")
    assert f"250-{list_name}" in reply
    assert reply.endswith("250 SMTPUTF8\r\n")
    assert ("STARTTLS" in reply) is (listener is Listener.SUBMISSION)


def test_ehlo_after_starttls_lists_auth() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO x")
    assert bench.say("STARTTLS") == "220 2.0.0 Ready to start TLS\r\n"
    assert bench.starting_tls
    bench.tls()
    assert "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n" in bench.say(
        "EHLO x"
    )
    assert bench.say("STARTTLS").startswith("454 5.5.1 STARTTLS may not be repeated.")


def test_starttls_needs_a_greeting_and_takes_no_argument() -> None:
    bench = Bench(Listener.SUBMISSION)
    assert bench.say("STARTTLS") == f"503 5.5.1 EHLO/HELO first.{TAG}"
    bench.say("EHLO x")
    assert bench.say("STARTTLS now").startswith("501 5.7.11")
    assert not bench.starting_tls


def test_starttls_on_the_implicit_tls_port_is_refused() -> None:
    bench = Bench(Listener.SMTPS)
    bench.say("EHLO x")
    assert bench.say("STARTTLS").startswith("454 5.5.1 STARTTLS may not be repeated.")


def test_helo_has_no_ip_and_no_tag() -> None:
    assert Bench().say("HELO x") == "250 smtp.gmail.com at your service\r\n"


def test_helo_after_starttls_is_accepted() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("HELO x")
    bench.say("STARTTLS")
    bench.tls()
    assert bench.say("HELO x") == "250 smtp.gmail.com at your service\r\n"
    assert bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}").startswith("235")


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
    bench = Bench()
    reply = bench.say(line)
    assert reply.startswith(first_line)
    assert reply.endswith(f"501 5.5.4  https://support.google.com/mail/?p=helo{TAG}")
    assert bench.closed == actions.CloseConnection()
    assert bench.say("NOOP") == "", "nothing is answered once the session has closed"


@pytest.mark.parametrize(
    "line", ["MAIL FROM:<a@b.example>", "RCPT TO:<a@b.example>", "DATA", "AUTH PLAIN"]
)
def test_greeting_is_checked_first(line: str) -> None:
    assert Bench(Listener.SUBMISSION).say(line) == f"503 5.5.1 EHLO/HELO first.{TAG}"


@pytest.mark.parametrize(
    "line",
    ["MAIL FROM: maumeloni@gmail.com", "AUTH LOGIN", "RCPT TO:<a@b.example>", "DATA", "VRFY x"],
)
@pytest.mark.parametrize("listener", [Listener.SUBMISSION, Listener.PLAIN])
def test_tls_is_required_before_anything_else_on_587(listener: Listener, line: str) -> None:
    bench = Bench(listener)
    bench.say("EHLO x")
    assert bench.say(line) == (
        "530-5.7.0 Must issue a STARTTLS command first. For more information, go to\r\n"
        "530-5.7.0  https://support.google.com/a/answer/3221692 and review RFC 3207\r\n"
        f"530 5.7.0 specifications.{TAG}"
    )


@pytest.mark.parametrize("line", ["RSET", "NOOP", "HELP", "EXPN x", "EHLO y", "HELO y"])
def test_what_works_before_tls_on_587(line: str) -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO x")
    assert bench.say(line)[:1] in {"2", "5"}
    assert "STARTTLS command first" not in bench.say(line)


@pytest.mark.parametrize(
    "line", ["MAIL FROM:<a@b.example>", "RCPT TO:<a@b.example>", "DATA", "BDAT 3 LAST"]
)
def test_transaction_needs_auth(line: str) -> None:
    bench = Bench()
    bench.say("EHLO x")
    reply = bench.say(line) or bench.chunk(None)  # a BDAT's reply comes after its chunk
    assert reply == (
        "530-5.7.0 Authentication Required. For more information, go to\r\n"
        f"530 5.7.0  https://support.google.com/mail/?p=WantAuthError{TAG}"
    )


def test_auth_login_without_initial_response() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say("AUTH LOGIN") == "334 VXNlcm5hbWU6\r\n"
    assert bench.reading == actions.ReadSaslResponse(PERSONA.sasl_response_limit)
    assert bench.session.in_sasl_exchange
    assert bench.sasl(b64("tester@gmail.com")) == "334 UGFzc3dvcmQ6\r\n"
    assert bench.sasl(b64("app-password")) == "235 2.7.0 Accepted\r\n"
    assert (bench.session.user, bench.session.auth_mechanism) == ("tester@gmail.com", "LOGIN")


def test_auth_login_with_initial_response_skips_the_username_prompt() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(f"AUTH LOGIN {b64('tester@gmail.com')}") == "334 UGFzc3dvcmQ6\r\n"
    assert bench.sasl(b64("app-password")).startswith("235")


def test_auth_plain_without_initial_response_gets_an_empty_challenge() -> None:
    bench = Bench()
    bench.say("HELO x")
    assert bench.say("AUTH PLAIN") == "334 \r\n"
    assert bench.sasl(plain("TESTER@gmail.com", "app-password")) == "235 2.7.0 Accepted\r\n"


def test_auth_plain_with_an_empty_initial_response() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say("AUTH PLAIN =").startswith("501-5.5.2 Cannot Decode response.")


def test_login_without_the_gmail_domain_is_accepted() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(f"AUTH PLAIN {plain('tester', 'app-password')}").startswith("235")


def test_wrong_password_gets_535_and_the_session_continues() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(f"AUTH PLAIN {plain('tester@gmail.com', 'nope')}") == (
        "535-5.7.8 Username and Password not accepted. For more information, go to\r\n"
        f"535 5.7.8  https://support.google.com/mail/?p=BadCredentials{TAG}"
    )
    assert bench.say("MAIL FROM:<a@b.example>").startswith("530-5.7.0 Authentication")
    assert bench.say(f"AUTH PLAIN {plain('tester@gmail.com', 'app-password')}") == (
        "235 2.7.0 Accepted\r\n"
    )


@pytest.mark.parametrize("authorization", ["tester@gmail.com", "tester", "TESTER@GMAIL.COM"])
def test_auth_plain_may_name_its_own_account_as_the_authorization_identity(
    authorization: str,
) -> None:
    bench = Bench()
    bench.say("EHLO x")
    blob = b64(f"{authorization}\0tester@gmail.com\0app-password")
    assert bench.say(f"AUTH PLAIN {blob}") == "235 2.7.0 Accepted\r\n"
    assert bench.session.user == "tester@gmail.com"


@pytest.mark.parametrize("authorization", ["twostep@gmail.com", "boss@example.org"])
def test_auth_plain_acting_as_another_user_is_refused(authorization: str) -> None:
    # RFC 4616 §2: the server checks that the login may act as the authzid; a Gmail account
    # acts only as itself (replies.md §13 [DOC] documents a refusal).
    bench = Bench()
    bench.say("EHLO x")
    blob = b64(f"{authorization}\0tester@gmail.com\0app-password")
    assert bench.say(f"AUTH PLAIN {blob}").startswith(
        "535-5.7.8 Username and Password not accepted."
    )
    assert bench.session.user is None
    assert bench.session.dialogue.auth.failures == 1
    assert bench.say("MAIL FROM:<a@b.example>").startswith("530-5.7.0 Authentication")


def test_account_with_two_step_verification_needs_an_app_password() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(f"AUTH PLAIN {plain('twostep@gmail.com', 'google-password')}") == (
        "534-5.7.9 Application-specific password required. For more information, go to\r\n"
        f"534 5.7.9  https://support.google.com/mail/?p=InvalidSecondFactor{TAG}"
    )


def test_xoauth2_with_a_valid_token() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(f"AUTH XOAUTH2 {xoauth2('tester@gmail.com', 'ya29.good')}") == (
        "235 2.7.0 Accepted\r\n"
    )
    assert bench.session.auth_mechanism == "XOAUTH2"


def test_xoauth2_bad_token_gets_the_json_challenge_then_535_for_any_line() -> None:
    bench = Bench()
    bench.say("EHLO x")
    challenge = bench.say(f"AUTH XOAUTH2 {xoauth2('tester@gmail.com', 'expired')}")
    assert challenge.startswith("334 eyJ")
    assert isinstance(bench.reading, actions.ReadSaslResponse)
    assert base64.b64decode(challenge[4:]) == (
        b'{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'
    )
    # PHPMailer#677: the client sent QUIT, which Gmail took as the SASL response.
    assert bench.sasl("QUIT").startswith("535-5.7.8 Username and")
    assert bench.session.user is None


def test_xoauth2_without_initial_response_then_garbage_cannot_be_decoded() -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say("AUTH XOAUTH2") == "334 \r\n"
    assert bench.sasl("QUIT") == (
        "501-5.5.2 Cannot Decode response. For more information, go to\r\n"
        f"501 5.5.2  https://support.google.com/a/answer/3221692{TAG}"
    )
    assert bench.closed is not None


def test_oauthbearer_with_a_valid_token() -> None:
    bench = Bench()
    bench.say("EHLO x")
    blob = b64(
        "n,a=tester@gmail.com,\x01host=smtp.gmail.com\x01port=465\x01auth=Bearer ya29.good\x01\x01"
    )
    assert bench.say(f"AUTH OAUTHBEARER {blob}") == "235 2.7.0 Accepted\r\n"


def test_plain_clienttoken_is_advertised_but_refused() -> None:
    bench = Bench()
    bench.say("EHLO x")
    reply = bench.say(f"AUTH PLAIN-CLIENTTOKEN {plain('tester@gmail.com', 'app-password')}")
    assert reply.startswith("535-5.7.8")


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("AUTH CRAM-MD5", f"504 5.7.4 Unrecognized authentication type.{TAG}"),
        ("AUTH XOAUTH dGVzdA==", f"504 5.7.4 XOAUTH is no longer supported.{TAG}"),
        ("AUTH PLAIN not*base64", None),
        ("AUTH PLAIN dGVzdA==", None),  # decodes, but has no NULs
        ("AUTH", "555-5.5.2 Syntax error, cannot decode response."),
        ("AUTH PLAIN a b", "555-5.5.2 Syntax error, cannot decode response."),
    ],
)
def test_auth_errors(line: str, reply: str | None) -> None:
    bench = Bench()
    bench.say("EHLO x")
    assert bench.say(line).startswith(reply or "501-5.5.2 Cannot Decode response.")


def test_cancelled_auth_is_answered_and_closed() -> None:
    bench = Bench()
    bench.say("EHLO x")
    bench.say("AUTH LOGIN")
    assert bench.sasl("*").startswith("501-5.5.2 Cannot Decode")
    assert bench.closed is not None


def test_a_sasl_response_past_the_limit_is_refused_and_closes() -> None:
    bench = Bench()
    bench.say("EHLO x")
    bench.say("AUTH LOGIN")
    too_long = events.SaslResponse(b"QUFB" * 100, too_long=True)
    assert bench.tell(too_long).startswith("555-5.5.2 Syntax error, command line")
    assert bench.closed is not None
    assert not bench.session.in_sasl_exchange


def test_second_auth_is_out_of_sequence() -> None:
    assert (
        Bench()
        .logged_in()
        .say("AUTH LOGIN")
        .startswith(
            "503-5.5.1 MAIL first. A mail transaction protocol command was issued out of\r\n"
            "503-5.5.1 sequence. For more information, go to\r\n"
        )
    )


def test_too_many_failed_logins_get_454() -> None:
    bench = Bench(policy=Policy(auth_failure_limit=2))
    bench.say("EHLO x")
    for _ in range(2):
        assert bench.say(f"AUTH PLAIN {plain('tester', 'bad')}").startswith("535")
    assert bench.say("AUTH PLAIN").startswith(
        "454-4.7.0 Too many login attempts, please try again later. For more information,\r\n"
    )


@pytest.mark.parametrize(
    "line",
    [
        "MAIL FROM:<tester@gmail.com>",
        "mail from: <tester@gmail.com>",
        "MAIL FROM:<tester@gmail.com> SIZE=491",
        "MAIL FROM:<tester@gmail.com> BODY=8BITMIME SMTPUTF8",
        "MAIL FROM:<tester@gmail.com> AUTH=<>",
        "MAIL FROM:<>",
        "MAIL FROM:<josé@exämple.com>",
        "MAIL FROM: <Test Address Display yourgmailaddress@gmail.com>",
    ],
)
def test_mail_from_accepted(line: str) -> None:
    assert Bench().logged_in().say(line) == f"250 2.1.0 OK{TAG}"


@pytest.mark.parametrize(
    ("line", "start"),
    [
        ("MAIL FROM:tester@gmail.com", "555-5.5.2 Syntax error, cannot decode response."),
        ('MAIL FROM:"Me" <tester@gmail.com>', "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> RET=HDRS", "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> BODY=BINARYMIME", "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> SIZE=big", "555-5.5.2 Syntax error"),
        ("MAIL FROM:<tester@gmail.com> SIZE=35882578", "552-5.3.4 Your message exceeded Google"),
        # RFC 1870 §3: SIZE is ASCII digits; int() would read these Arabic-Indic ones as 36e6.
        ("MAIL FROM:<tester@gmail.com> SIZE=\u0663\u0666" + "\u0660" * 6, "555-5.5.2 Syntax"),
        ("MAIL FROM:<tester@gmail.com> SIZE=\uff11", "555-5.5.2 Syntax"),  # a fullwidth 1
        ("MAIL FROM:<tester@gmail.com> AUTH=a\x00b", "555-5.5.2 Syntax"),
        # replies.md §8 [V1]: Gmail's 553 5.1.7 to this very address.
        (
            "MAIL FROM:<(any@instagram.com>",
            "553-5.1.7 The sender address <(any@instagram.com> is not a valid RFC 5321\r\n",
        ),
        ("MAIL FROM:<www-data>", "553-5.1.7 The sender address <www-data> is not a valid"),
        ("MAIL FROM:<a\x00b@example.org>", "553-5.1.7 The sender address <a?b@example.org> "),
        ("MAIL FROM:<a\rb@example.org>", "553-5.1.7 The sender address <a?b@example.org> "),
        # A byte that is not UTF-8, as the adapter decodes it (surrogateescape).
        ("MAIL FROM:<j\udcf6rg@example.org>", "553-5.1.7 The sender address <j?rg@example.org>"),
    ],
)
def test_mail_from_refused(line: str, start: str) -> None:
    assert Bench().logged_in().say(line).startswith(start)


def test_nested_mail_is_out_of_sequence() -> None:
    bench = Bench().logged_in()
    bench.say("MAIL FROM:<a@b.example>")
    assert bench.say("MAIL FROM:<a@b.example>").startswith("503-5.5.1 Nested MAIL")


def test_rcpt_rules() -> None:
    bench = Bench().logged_in()
    assert bench.say("RCPT TO:<a@b.example>").startswith("503-5.5.1 MAIL first.")
    bench.say("MAIL FROM:<tester@gmail.com>")
    assert bench.say("RCPT TO:<>").startswith("555-5.5.2 Syntax error")
    assert bench.say("RCPT TO:a@b.example").startswith("555-5.5.2 Syntax error")
    assert bench.say("RCPT TO:<a@b.example> NOTIFY=NEVER").startswith("555-5.5.2")
    assert bench.say("RCPT TO:<c>") == (
        "553-5.1.3 The recipient address <c> is not a valid RFC 5321 address. For more\r\n"
        "553-5.1.3 information, go to\r\n"
        "553-5.1.3  https://support.google.com/a/answer/3221692 and review RFC 5321\r\n"
        f"553 5.1.3 specifications.{TAG}"
    )
    # The wrap point moves with the address, as at Gmail (replies.md §9).
    assert bench.say("RCPT TO:<atde123$$.com>").startswith(
        "553-5.1.3 The recipient address <atde123$$.com> is not a valid RFC 5321 address.\r\n"
        "553-5.1.3 For more information, go to\r\n"
    )
    assert bench.say("RCPT TO:<x@.com>").startswith("553-5.1.3")
    # RFC 5321 §4.1.2, RFC 6531 §3.3: no control character, and UTF-8 only.
    for bad in ("a\x00b@example.org", "a\rb@example.org", "j\udcf6rg@example.org"):
        assert bench.say(f"RCPT TO:<{bad}>").startswith("553-5.1.3 The recipient address <")
    assert bench.say("rcpt to: <nobody@example.org>") == f"250 2.1.5 OK{TAG}"
    assert bench.say("RCPT TO: <youremailaddress@localhost>") == f"250 2.1.5 OK{TAG}"


def test_the_101st_recipient_is_refused_and_the_others_kept() -> None:
    bench = Bench().logged_in()
    bench.say("MAIL FROM:<tester@gmail.com>")
    for number in range(100):
        assert bench.say(f"RCPT TO:<r{number}@example.org>").startswith("250")
    assert bench.say("RCPT TO:<r100@example.org>").startswith(
        "452-4.5.3 Your message has too many recipients."
    )
    assert bench.say("DATA").startswith("354")
    bench.message(b"Subject: x\r\n\r\nhi\r\n")
    [message] = bench.journal.messages
    assert len(message.recipients) == 100


def test_data_sequence_and_acceptance() -> None:
    bench = Bench().logged_in()
    assert bench.say("DATA").startswith("503-5.5.1 MAIL first.")
    bench.say("MAIL FROM:<tester@gmail.com> SIZE=20")
    assert bench.say("DATA").startswith("503-5.5.1 RCPT first.")
    bench.say("RCPT TO:<friend@example.org>")
    assert bench.say("DATA") == f"354 Go ahead{TAG}"
    assert isinstance(bench.reading, actions.ReadMessage)
    assert bench.reading.size_limit == PERSONA.size_limit
    assert bench.message(b"Subject: hi\r\n\r\nbody\r\n") == f"250 2.0.0 OK  {int(NOW)}{TAG}"
    [message] = bench.journal.messages
    assert message.mail_from == "tester@gmail.com"
    assert message.recipients == ("friend@example.org",)
    assert message.envelope.mail_options == ("SIZE=20",)
    assert message.raw == b"Subject: hi\r\n\r\nbody\r\n"
    assert message.session.user == "tester@gmail.com"
    assert bench.say("DATA").startswith("503-5.5.1 MAIL first."), "transaction ended"


def test_message_over_the_size_limit_is_refused_at_end_of_data() -> None:
    bench = Bench().in_transaction()
    bench.say("DATA")
    assert bench.message(None).startswith("552-5.3.4")
    assert bench.journal.messages == []
    assert ("discarded", "the message past SIZE (its lines past the limit)") in (
        bench.journal.events
    )


def test_daily_quota_applies_at_end_of_data_across_connections() -> None:
    usage = Usage(lambda: NOW)
    policy = Policy(daily_quota=1)
    for expected in ("250 2.0.0 OK", "550-5.4.5 Daily user sending limit exceeded."):
        bench = Bench(policy=policy, usage=usage).in_transaction()
        bench.say("DATA")
        assert bench.message(b"x\r\n").startswith(expected)


def test_rate_limit_answers_data_with_421_and_closes() -> None:
    bench = Bench(policy=Policy(rate_limit_per_minute=1)).in_transaction()
    assert bench.say("DATA").startswith("354")
    bench.message(b"x\r\n")
    bench.say("MAIL FROM:<tester@gmail.com>")
    bench.say("RCPT TO:<a@b.example>")
    assert bench.say("DATA") == (
        "421-4.3.0 Temporary System Problem. Try again later. For more information, go to\r\n"
        f"421 4.3.0  https://support.google.com/a/answer/3221692{TAG}"
    )
    assert bench.closed is not None


def test_bdat_chunks() -> None:
    bench = Bench().in_transaction()
    assert bench.say("BDAT 5") == "", "a chunk's reply comes after the chunk"
    assert bench.reading == actions.ReadChunk(5, keep=True)
    assert bench.chunk(b"Hello") == f"250 2.0.0 OK{TAG}"
    assert bench.say("DATA") == f"503 5.5.1 No DATA after BDAT.{TAG}"
    bench.say("BDAT 7 LAST")
    assert bench.chunk(b", world") == f"250 2.0.0 OK{TAG}", "no timestamp (replies.md §11)"
    [message] = bench.journal.messages
    assert message.raw == b"Hello, world"


def test_bdat_is_read_even_when_refused() -> None:
    bench = Bench().logged_in()
    assert bench.say("BDAT 3 LAST") == ""
    assert bench.reading == actions.ReadChunk(3, keep=False)
    assert bench.chunk(None).startswith("503-5.5.1 MAIL first.")


def test_bdat_before_a_greeting_is_read_then_refused() -> None:
    bench = Bench(Listener.SUBMISSION)
    assert bench.say("BDAT 3") == ""
    assert bench.chunk(None) == f"503 5.5.1 EHLO/HELO first.{TAG}"


def test_bdat_before_tls_is_read_and_refused_with_the_tls_gate() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO x")
    assert bench.say("BDAT 3 LAST") == ""
    assert bench.reading == actions.ReadChunk(3, keep=False)
    assert bench.chunk(None).startswith("530-5.7.0 Must issue a STARTTLS command first.")


@pytest.mark.parametrize("size", ["\u0663", "\uff13", "\u09e9"])  # 3 in three scripts
def test_bdat_size_in_digits_that_are_not_ascii_is_no_size(size: str) -> None:
    # RFC 3030 §2: chunk-size is 1*DIGIT, and DIGIT is ASCII (RFC 5234 B.1).
    bench = Bench().in_transaction()
    assert bench.say(f"BDAT {size} LAST").startswith("555-5.5.2")
    assert bench.reading is None
    assert bench.closed is not None
    assert bench.journal.messages == []


def test_bdat_without_a_size_closes() -> None:
    bench = Bench().in_transaction()
    assert bench.say("BDAT LAST").startswith("555-5.5.2")
    assert bench.closed is not None


def test_bdat_past_the_size_limit_is_thrown_away() -> None:
    bench = Bench().in_transaction()
    bench.say(f"BDAT {PERSONA.size_limit + 1} LAST")
    assert bench.reading == actions.ReadChunk(PERSONA.size_limit + 1, keep=False)
    assert bench.chunk(None).startswith("552-5.3.4")


def test_a_new_greeting_resets_the_transaction_but_not_the_login() -> None:
    bench = Bench().in_transaction()
    bench.say("EHLO again")
    assert bench.say("DATA").startswith("503-5.5.1 MAIL first.")
    assert bench.say("MAIL FROM:<tester@gmail.com>").startswith("250")


def test_rset_keeps_the_login() -> None:
    bench = Bench().in_transaction()
    assert bench.say("RSET") == f"250 2.1.5 Flushed{TAG}"
    assert bench.say("DATA").startswith("503-5.5.1 MAIL first.")
    assert bench.say("MAIL FROM:<tester@gmail.com>").startswith("250")


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
    assert Bench().say(line) == reply


def test_quit_closes() -> None:
    bench = Bench()
    bench.say("QUIT")
    assert bench.closed == actions.CloseConnection()
    assert bench.hang_up().ended == "quit"


def test_a_line_too_long_is_refused_and_closes() -> None:
    bench = Bench()
    assert bench.tell(events.LineTooLong(b"EHLO " + b"x" * 2000)).startswith(
        "555-5.5.2 Syntax error, command line too long"
    )
    assert bench.closed is not None


def test_the_idle_timeout_is_said_and_closes() -> None:
    bench = Bench()
    assert bench.tell(events.IdleTimeout()) == f"451 4.4.2 Timeout - closing connection.{TAG}"
    assert bench.closed is not None
    assert bench.hang_up().ended == "idle timeout"

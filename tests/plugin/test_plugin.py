"""The pytest plugin, tested as users meet it: inner test files run by pytester."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SEND = """
import smtplib

def send(fake_gmail, context, subject="hi", user=None, password=None):
    with smtplib.SMTP_SSL(*fake_gmail.smtps, context=context, timeout=5) as client:
        client.login(user or fake_gmail.credentials[0], password or fake_gmail.credentials[1])
        message = f"Subject: {subject}\\r\\n\\r\\nhi\\r\\n"
        client.sendmail("tester@gmail.com", ["a@example.org"], message)
"""


def run(pytester: pytest.Pytester, *arguments: str) -> pytest.RunResult:
    # A child process, as in a user's project, where nothing imports smtprig before pytest
    # loads the plugin from its entry point.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *arguments)


def test_a_test_gets_a_working_fake_gmail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEND
        + """
def test_send(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context)
    [message] = fake_gmail.outbox.wait_for(1)
    assert message.message["Subject"] == "hi"
"""
    )
    run(pytester).assert_outcomes(passed=1)


def test_each_test_starts_clean(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEND
        + """
def test_first(fake_gmail, fake_gmail_ssl_context):
    fake_gmail.script.on("noop").reply("250 2.0.0 scripted")
    send(fake_gmail, fake_gmail_ssl_context)
    fake_gmail.outbox.wait_for(1)

def test_second(fake_gmail):
    assert fake_gmail.messages == []
    assert fake_gmail.sessions == []
    from fakeserver.scripting.script import Step
    assert fake_gmail.script.decide(Step.NOOP) is None
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_configuration_by_overriding_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEND
        + """
import smtplib
import pytest
from fakeserver import Account, Policy

@pytest.fixture
def fake_gmail_accounts():
    return [Account("me@example.com", "s3cret")]

@pytest.fixture
def fake_gmail_policy():
    return Policy(daily_quota=1)

def test_quota(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context, user="me@example.com", password="s3cret")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(fake_gmail, fake_gmail_ssl_context, user="me@example.com", password="s3cret")
    assert refused.value.smtp_code == 550

def test_quota_is_per_test(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context, user="me@example.com", password="s3cret")
"""
    )
    run(pytester).assert_outcomes(passed=2)


def test_the_defaults_can_be_parametrized_and_overridden_from_a_function_fixture(
    pytester: pytest.Pytester,
) -> None:
    # The defaults are session-scoped (made once); a test may still parametrize them, and an
    # override may use function-scoped fixtures.
    pytester.makepyfile(
        SEND
        + """
import smtplib
import pytest
from fakeserver import Account, Policy

@pytest.mark.parametrize("fake_gmail_policy", [Policy(daily_quota=1)])
def test_parametrized_quota(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context)
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(fake_gmail, fake_gmail_ssl_context)
    assert refused.value.smtp_code == 550

class TestAccountFromATempDir:
    @pytest.fixture
    def fake_gmail_accounts(self, tmp_path):
        return [Account(f"{tmp_path.name[:20]}@example.com", "pw")]

    def test_logs_in(self, fake_gmail, fake_gmail_ssl_context, fake_gmail_accounts):
        [account] = fake_gmail_accounts
        send(fake_gmail, fake_gmail_ssl_context, user=account.username, password="pw")

def test_the_default_again(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context)
    send(fake_gmail, fake_gmail_ssl_context)
"""
    )
    run(pytester).assert_outcomes(passed=3)


def test_server_side_problems_fail_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import socket, ssl

def test_sends_garbage(fake_gmail, fake_gmail_ssl_context):
    with socket.create_connection(fake_gmail.smtps, timeout=5) as plain:
        with fake_gmail_ssl_context.wrap_socket(plain, server_hostname="localhost") as tls:
            tls.recv(1000)
            tls.sendall(b"HELLO there\\r\\n")
            assert tls.recv(1000).startswith(b"502 5.5.1")

def test_forgets_its_script(fake_gmail):
    fake_gmail.script.on("rcpt", times=1).reply("452 4.5.3 Too many recipients")

def test_innocent(fake_gmail):
    pass
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=3, errors=2)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_sends_garbage*",
            "*UnexpectedCommand*unrecognized command b'HELLO there'*",
            "*ERROR at teardown of test_forgets_its_script*",
            "*scripted replies never (fully) used: on('rcpt', times=1) used 0 time(s)*",
        ]
    )


def test_session_ids_repeat_for_the_same_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        SEND
        + """
def test_one(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context)
    with open("ids.txt", "a") as ids:
        ids.write(fake_gmail.outbox.wait_for(1)[0].session.session_id + "\\n")
"""
    )
    for _ in range(2):
        run(pytester).assert_outcomes(passed=1)
    first, second = (pytester.path / "ids.txt").read_text().split()
    assert first == second


def test_parallel_workers_get_their_own_servers(pytester: pytest.Pytester) -> None:
    tests = "\n".join(
        f"""
def test_{number}(fake_gmail, fake_gmail_ssl_context):
    send(fake_gmail, fake_gmail_ssl_context, subject="{number}")
    [message] = fake_gmail.outbox.wait_for(1)
    assert message.message["Subject"] == "{number}"
"""
        for number in range(8)
    )
    pytester.makepyfile(SEND + tests)
    result = run(pytester, "-n", "2")
    result.assert_outcomes(passed=8)


def test_one_test_runs_against_every_provider(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
import smtplib
import pytest

@pytest.mark.parametrize("fake_server_persona", ["gmail", "office365", "ses", "sendgrid"])
def test_signup_mail(fake_server, fake_gmail_ssl_context, fake_server_persona):
    assert fake_server.persona.name == fake_server_persona
    with smtplib.SMTP(*fake_server.submission, timeout=5) as client:
        client.starttls(context=fake_gmail_ssl_context)
        client.login(*fake_server.credentials)
        client.sendmail("tester@gmail.com", ["a@example.org"], "Subject: hi\\r\\n\\r\\nhi\\r\\n")
    [message] = fake_server.outbox.wait_for(1)
    assert message.message["Subject"] == "hi"

def test_the_default_is_gmail(fake_server, fake_gmail):
    assert fake_server.persona.name == "gmail"
    assert fake_server is fake_gmail  # the same options share one server

@pytest.mark.parametrize("fake_server_persona", ["office365"])
def test_microsoft_365_has_no_implicit_tls_port(fake_server):
    from fakeserver.errors import ConfigurationError
    from fakeserver.personas.model import Listener
    assert list(fake_server.listeners) == [Listener.SUBMISSION]
    with pytest.raises(ConfigurationError, match="provider has no such port; it has submission"):
        fake_server.smtps

@pytest.mark.parametrize("fake_server_persona", ["ses"])
def test_a_situation_without_evidence_cannot_be_scripted(fake_server):
    from fakeserver.errors import ScriptError
    with pytest.raises(ScriptError, match="the ses persona has no evidence for auth_blocked"):
        fake_server.script.on("auth").reply("auth_blocked")
"""
    )
    run(pytester).assert_outcomes(passed=7)

"""What a client let go unprotected, judged from the fake's transcripts, without running
anything: transcripts written as the fake writes them."""

from __future__ import annotations

import pytest

from client.transcript import load
from fakeserver.experiments.exposure import Exposure, exposures
from fakeserver.experiments.results import Outcome, classify
from fakeserver.personas.model import Listener
from fakeserver.session import events
from tests.session.bench import Bench

HEADER = "# smtprig-transcript: 1\n# listener: submission\n"
GREETING = "S: 220 smtp.gmail.com ESMTP x - gsmtp\nC: EHLO me\nS: 250 smtp.gmail.com\n"
STARTTLS = "C: STARTTLS\nS: 220 2.0.0 Ready to start TLS\n# --- TLS handshake TLSv1.3 X ---\n"


def judged(*conversations: str) -> tuple[Exposure, ...]:
    return exposures(load(HEADER + GREETING + text) for text in conversations)


@pytest.mark.parametrize(
    ("conversation", "expected"),
    [
        # Everything after the handshake: nothing exposed.
        (STARTTLS + "C: AUTH PLAIN <redacted>\nS: 235 2.7.0 Accepted\nC: DATA\n", ()),
        # A password with AUTH, before TLS, even though the fake refused it (530).
        (
            "C: AUTH PLAIN <redacted>\nS: 530-5.7.0 Must issue a STARTTLS command first.\n",
            (Exposure.CREDENTIALS,),
        ),
        # AUTH LOGIN's answers to its prompts.
        (
            "C: AUTH LOGIN\nS: 334 VXNlcm5hbWU6\nC: <redacted>\nS: 334 UGFzc3dvcmQ6\n",
            (Exposure.CREDENTIALS,),
        ),
        # The mechanism alone gives nothing away.
        ("C: AUTH LOGIN\nS: 530-5.7.0 Must issue a STARTTLS command first.\nC: QUIT\n", ()),
    ],
)
def test_credentials_before_tls_are_exposed(
    conversation: str, expected: tuple[Exposure, ...]
) -> None:
    assert judged(conversation) == expected


@pytest.mark.parametrize("verb", ["DATA", "data", "BDAT 12 LAST"])
def test_a_message_started_before_tls_is_exposed_whatever_the_reply(verb: str) -> None:
    refused = f"C: {verb}\nS: 530-5.7.0 Must issue a STARTTLS command first.\n"
    assert judged(refused) == (Exposure.MESSAGE,)
    assert judged(STARTTLS + refused) == ()


def test_anything_sent_after_a_bad_certificate_is_exposed() -> None:
    bad = "# --- TLS handshake TLSv1.3 X ---\n# --- certificate: untrusted ---\n"
    went_on = HEADER + bad + "S: 220 smtp.gmail.com ESMTP x - gsmtp\nC: EHLO me\n"
    stopped = HEADER + bad + "S: 220 smtp.gmail.com ESMTP x - gsmtp\n# --- closed: client ---\n"
    assert exposures([load(went_on)]) == (Exposure.BAD_CERTIFICATE,)
    assert exposures([load(stopped)]) == ()


def test_every_connection_counts_and_the_order_is_fixed() -> None:
    first = "C: DATA\nS: 530 5.7.0 no\n"
    second = "C: AUTH PLAIN <redacted>\nS: 530 5.7.0 no\n"
    assert judged(first, second) == (Exposure.CREDENTIALS, Exposure.MESSAGE)


def test_an_exposed_run_is_insecure_whatever_else_happened() -> None:
    for killed, status, stored in [(False, 0, 1), (False, 1, 0), (True, None, 0)]:
        outcome = classify(
            killed=killed,
            exit_status=status,
            message="",
            stored=stored,
            connections=1,
            exposed=(Exposure.CREDENTIALS,),
        )
        assert outcome is Outcome.INSECURE


def test_the_session_notes_a_bad_certificate_the_client_took() -> None:
    bench = Bench(Listener.SUBMISSION)
    bench.say("EHLO me")
    bench.say("STARTTLS")
    bench.tell(events.TLSStarted("TLSv1.3", "TLS_AES_128_GCM_SHA256", bad_certificate="expired"))
    assert ("certificate", "expired") in bench.journal.events
    good = Bench(Listener.SUBMISSION)
    good.say("EHLO me")
    good.say("STARTTLS")
    good.tls()
    assert not any(kind == "certificate" for kind, _ in good.journal.events)

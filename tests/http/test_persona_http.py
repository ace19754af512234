"""The HTTP API of a fake that speaks for another provider: it names the persona, lists only the
ports the provider has, makes sandboxes of the same persona, and refuses a rule or a setting the
persona has no evidence for, with a problem that says so and nothing half done."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import pytest

from fakeserver.server.fake import FakeGmail
from tests.http.httpkit import Api, served

Fake = tuple[FakeGmail, Api]


@pytest.fixture
def office365() -> Iterator[Fake]:
    with served(persona="office365", error_delays=False) as pair:
        yield pair


def test_readyz_names_the_persona_and_its_ports(office365: Fake) -> None:
    fake, api = office365
    ready = api.get("/readyz").json
    assert ready["persona"] == "office365"
    assert ready["submission"]["port"] == fake.submission.port
    assert "smtps" not in ready


def test_a_sandbox_speaks_for_the_same_provider(office365: Fake) -> None:
    fake, api = office365
    answer = api.post("/api/v1/sandboxes", {"accounts": ["me@contoso.com:pw"]})
    assert answer.status == 201, answer.text
    box = answer.json
    assert box["persona"] == "office365"
    assert "smtps" not in box
    with smtplib.SMTP(box["submission"]["host"], box["submission"]["port"], timeout=10) as smtp:
        smtp.starttls(context=fake.client_context())
        smtp.login("me@contoso.com", "pw")
        assert smtp.mail("me@contoso.com") == (250, b"2.1.0 Sender OK")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"plain_port": True}, "the office365 persona has no port like 25"),
        (
            {"policy": {"rate_limit_per_minute": 3}},
            "the office365 persona has no evidence for rate_limited",
        ),
    ],
)
def test_a_sandbox_the_persona_cannot_run_is_refused(
    office365: Fake, body: dict[str, object], words: str
) -> None:
    _, api = office365
    answer = api.post("/api/v1/sandboxes", body)
    assert answer.status == 400, answer.text
    assert words in answer.json["detail"]
    assert api.get("/api/v1/sandboxes").json["items"] == []


def test_a_rule_the_persona_has_no_evidence_for_is_refused_whole(office365: Fake) -> None:
    _, api = office365
    rules = [{"on": "mail", "reply": "550 5.7.1 no"}, {"on": "data", "reply": "rate_limited"}]
    answer = api.put("/api/v1/script", {"rules": rules})
    assert answer.status == 400, answer.text
    assert answer.json["pointer"] == "/rules/1"
    assert "the office365 persona has no evidence for rate_limited" in answer.json["detail"]
    assert api.get("/api/v1/script").json["rules"] == []
    sandbox = api.post("/api/v1/sandboxes", {"rules": rules[1:]})
    assert (sandbox.status, sandbox.json["pointer"]) == (400, "/rules/0")
    assert api.get("/api/v1/sandboxes").json["items"] == []
    # The provider's own refusal is there to script.
    added = api.post("/api/v1/script/rules", {"on": "auth", "reply": "basic_auth_disabled"})
    assert added.status == 201, added.text

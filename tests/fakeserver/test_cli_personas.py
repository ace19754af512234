"""Choosing a persona from a shell: ``fakeserver personas`` says what each rests on, and
``fakeserver serve --persona NAME`` names the persona and only the ports its provider has, in
the banner, the ready line and ``/readyz``."""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.request
from pathlib import Path

import pytest

from fakeserver.cli.main import main
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import Exactness, Situation
from tests.support.serveproc import EPHEMERAL as EPHEMERAL_PORTS
from tests.support.serveproc import ServeProcess

EPHEMERAL = (*EPHEMERAL_PORTS, "--certs-dir", "certs")


def test_personas_lists_every_shipped_persona(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert [row.split()[0] for row in rows] == shipped_personas()
    assert shipped_personas() == ["gmail", "gmail-2024", "office365", "sendgrid", "ses"]
    office365 = next(row for row in rows if row.startswith("office365"))
    assert " seen, " in office365
    assert " absent " in office365


def test_personas_explains_what_is_seen_and_what_is_guessed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["personas", "ses"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ses: Amazon SES SMTP interface")
    assert "  ports: implicit TLS (like 465), STARTTLS (like 587), like 25 (as 587)" in text
    seen = text.split("  seen (")[1].split("  documented (")[0]
    guessed = text.split("  guessed (")[1].split("  no reply on record")[0]
    assert "    bad_credentials          V3+   535" in seen
    assert "    helo                     CODE  250" in guessed
    assert "    unrecognized             none  500 stand-in" in text


def test_personas_json_counts_every_situation_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["personas", "--all", "--json"]) == 0
    documents = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [document["name"] for document in documents] == shipped_personas()
    for document in documents:
        persona = load_persona(document["name"])
        listed = [row["situation"] for rows in document["replies"].values() for row in rows]
        assert sorted(listed) == sorted(situation.value for situation in Situation)
        guessed = {row["situation"] for row in document["replies"][Exactness.GUESSED.value]}
        assert guessed == {
            situation.value
            for situation, template in persona.replies.items()
            if template.grade.exactness is Exactness.GUESSED
        }


def test_an_unknown_persona_is_an_error_that_names_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["personas", "hotmail"]) == 2
    assert "use one of ['gmail', 'gmail-2024', 'office365', 'sendgrid', 'ses']" in (
        capsys.readouterr().err
    )


def test_serve_explain_prints_the_persona_and_exits(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["serve", "--persona", "office365", "--explain", "--certs-dir", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("office365: Microsoft 365")
    assert "error_delay_s=5.0" in text
    assert not (tmp_path / "ca.pem").exists(), "--explain serves nothing"


def test_serve_office365_names_it_and_binds_only_its_starttls_port(tmp_path: Path) -> None:
    args = (*EPHEMERAL, "--persona", "office365", "--json", "--account", "me@contoso.com:pw")
    with ServeProcess(*args, cwd=tmp_path) as server:
        ready = json.loads(server.expect(r"^\{").string)
        assert ready["persona"] == "office365"
        assert list(ready["listeners"]) == ["submission"]
        assert "smtps" not in ready
        with urllib.request.urlopen(ready["http"]["url"] + "readyz", timeout=10) as answer:
            readyz = json.loads(answer.read())
        assert readyz["persona"] == "office365"
        assert readyz["submission"] == ready["submission"]
        assert "smtps" not in readyz
        context = ssl.create_default_context(cafile=ready["cafile"])
        submission = ready["submission"]
        with smtplib.SMTP(submission["host"], submission["port"], timeout=10) as smtp:
            smtp.starttls(context=context)
            smtp.login("me@contoso.com", "pw")
            smtp.sendmail("me@contoso.com", ["a@example.org"], b"Subject: o365\r\n\r\nx\r\n")
        message = json.loads(server.expect(r'^\{"event": "message"').string)
        assert message["subject"] == "o365"
        assert server.stop() == 0


def test_serve_banner_says_which_ports_the_provider_has(tmp_path: Path) -> None:
    with ServeProcess(*EPHEMERAL, "--persona", "office365", cwd=tmp_path) as server:
        server.expect(r"^Fake smtp\.office365\.com \(persona office365: Microsoft 365")
        server.expect(r"STARTTLS     \(like 587\): 127\.0\.0\.1 port \d+")
        server.expect(r"no implicit-TLS port: the office365 persona's provider has none")
        server.expect(r"The certificate is valid for smtp\.office365\.com, localhost, 127\.0\.0\.1")
        server.expect(r"^Ready in ")
        assert "implicit TLS (like 465)" not in server.text
        assert server.stop() == 0

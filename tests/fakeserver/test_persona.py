"""The persona catalogue: every reply renders to valid lines, and bad files say what to fix."""

from __future__ import annotations

import random
import re
import tomllib
from pathlib import Path

import pytest

from fakeserver.errors import PersonaError
from fakeserver.personas.loader import load_persona
from fakeserver.personas.model import FIELDS, Situation

PERSONA = load_persona()
GMAIL_TOML = Path(__file__).parents[2] / "fakeserver" / "personas" / "gmail.toml"
SAMPLE_FIELDS: dict[str, object] = {
    "session_id": "ffacd0b85a97d-3b778f047afsm2210013f8f.39",
    "client_ip": "2a02:8071:4586:a540:58cd:ed39:e7d7:959c",
    "timestamp": 1753522157,
    "address": "someone@example.org",
    "argument": "host name",
}
# RFC 5321 §4.2: "NNN-text" on all lines but the last, "NNN text" on the last.
REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([- ])(.*)\r\n")


@pytest.mark.parametrize("situation", list(PERSONA.replies))
def test_every_reply_renders_to_valid_lines(situation: Situation) -> None:
    rendered = PERSONA.render(situation, SAMPLE_FIELDS)
    lines = rendered.splitlines(keepends=True)
    template = PERSONA.replies[situation]
    for index, line in enumerate(lines):
        match = REPLY_LINE.fullmatch(line)
        assert match is not None, line
        assert int(match[1]) == template.code
        assert match[2] == (b" " if index == len(lines) - 1 else b"-")
        # RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets with its CRLF.
        assert len(line) <= 512
        if template.status is not None:
            # RFC 2034 §4 and Gmail's house style: every line repeats the enhanced code.
            assert match[3].startswith(template.status.encode() + b" ")
    if template.tagged:
        assert rendered.endswith(b" ffacd0b85a97d-3b778f047afsm2210013f8f.39 - gsmtp\r\n")


@pytest.mark.parametrize("situation", list(PERSONA.replies))
def test_text_is_wrapped_at_70_columns(situation: Situation) -> None:
    template = PERSONA.replies[situation]
    prefix = 4 + (len(template.status) + 1 if template.status else 0)
    lines = PERSONA.render(situation, SAMPLE_FIELDS | {"session_id": ""}).decode()
    for line in lines.removesuffix("\r\n").split("\r\n"):
        text = line[prefix:].removesuffix(" - gsmtp").rstrip()
        if situation in {
            Situation.EHLO_BEFORE_TLS,
            Situation.EHLO_AFTER_TLS,
            Situation.AUTH_TOKEN_ERROR,
        }:
            continue  # capability lines and base64 are not prose
        assert len(text) <= 70 or text.startswith(" https://"), line


def test_every_reply_cites_its_evidence() -> None:
    for situation, template in PERSONA.replies.items():
        assert len(template.evidence) > 10, situation


def test_status_class_mismatches_are_only_gmails_own() -> None:
    mismatched = {
        situation
        for situation, template in PERSONA.replies.items()
        if template.status is not None and template.status[0] != str(template.code)[0]
    }
    assert mismatched == {Situation.STARTTLS_NOT_AVAILABLE}


def test_session_ids_have_todays_shape_and_follow_the_seed() -> None:
    # replies.md §1, era C (2024-05 to 2026).
    shape = re.compile(r"[0-9a-f]{12,13}-[0-9a-f]{11}sm[0-9]{5,12}[0-9a-z]{0,4}\.[0-9]{1,3}")
    ids = [PERSONA.new_session_id(random.Random(seed)) for seed in range(500)]
    assert all(shape.fullmatch(session_id) for session_id in ids)
    assert len(set(ids)) == 500
    assert PERSONA.new_session_id(random.Random(7)) == PERSONA.new_session_id(random.Random(7))


def write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = GMAIL_TOML.read_text()
    assert old in text
    path = tmp_path / "variant.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[replies.help]", "[replies.hepl]", "unknown replies ['hepl']"),
        ("code = 252", "code = 99", "code 99 is not a reply code"),
        ('status = "2.1.5"', 'status = "2.1"', "is not an RFC 3463 code"),
        ('lines = ["Flushed"]', 'lines = ["Flushed {queue_id}"]', "unknown fields ['queue_id']"),
        ('lines = ["Flushed"]', "lines = []", "lines must be a non-empty list"),
        ("code = 252", 'code = "252"', "'code' must be int, not str"),
        ("[replies.vrfy]", "[replies.vrfy]\nqueue = 1", "unknown keys ['queue']"),
        ("size_limit = 35882577", "size_limit = 35882577\n[broken", "not valid TOML"),
    ],
)
def test_bad_persona_files_say_what_to_change(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    with pytest.raises(PersonaError, match=re.escape(message)):
        load_persona(write_variant(tmp_path, old, new))


def without_reply(tmp_path: Path, situation: str) -> Path:
    text = GMAIL_TOML.read_text()
    start = text.index(f"[replies.{situation}]")
    end = text.index("[replies.", start + 1)
    path = tmp_path / "missing.toml"
    path.write_text(text[:start] + text[end:])
    return path


def test_a_missing_required_reply_is_named(tmp_path: Path) -> None:
    data = tomllib.loads(GMAIL_TOML.read_text())
    assert "sender_ok" in data["replies"]
    with pytest.raises(PersonaError, match=re.escape("replies missing for ['sender_ok']")):
        load_persona(without_reply(tmp_path, "sender_ok"))


def test_a_reply_without_evidence_may_be_left_out(tmp_path: Path) -> None:
    persona = load_persona(without_reply(tmp_path, "vrfy"))
    assert not persona.has(Situation.VRFY)
    assert PERSONA.has(Situation.VRFY)


def test_unknown_names_and_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(PersonaError, match="no shipped persona"):
        load_persona("hotmail")
    with pytest.raises(PersonaError, match="cannot read it"):
        load_persona(tmp_path / "absent.toml")


def test_fields_are_documented_in_the_toml() -> None:
    header = GMAIL_TOML.read_text().split("[persona]")[0]
    for field in FIELDS:
        assert "{" + field + "}" in header

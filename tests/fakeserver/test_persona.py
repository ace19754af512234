"""The persona catalogue: every reply renders to valid lines, and bad files say what to fix."""

from __future__ import annotations

import dataclasses
import random
import re
import tomllib
from pathlib import Path

import pytest

from fakeserver.errors import PersonaError
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import FIELDS, ReplyTemplate, Situation, render_lines

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


ECHOED = [
    pytest.param(name, situation, field, id=f"{name}-{situation}-{field}")
    for name in shipped_personas()
    for situation, template in load_persona(name).replies.items()
    for field in ("address", "argument")  # the fields that hold what a client sent
    if any(f"{{{field}}}" in paragraph for paragraph in template.paragraphs)
]
# What a client can make a field: a word as long as a 1000-octet command line leaves room for,
# in ASCII, in two-octet characters, and after a space (HELO's argument has one by definition).
LONG_VALUES = ["x" * 990, "é" * 495, "a b" + "c" * 987]


def test_the_replies_that_echo_a_field_are_all_checked() -> None:
    situations = {param.values[1] for param in ECHOED}
    assert {Situation.HELO_INVALID, Situation.SENDER_INVALID, Situation.RECIPIENT_INVALID} <= (
        situations
    )


@pytest.mark.parametrize("value", LONG_VALUES, ids=["ascii", "two-octet", "with-a-space"])
@pytest.mark.parametrize(("name", "situation", "field"), ECHOED)
def test_an_echoed_field_is_cut_so_no_line_passes_512_octets(
    name: str, situation: Situation, field: str, value: str
) -> None:
    # RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets, code and CRLF included.
    persona = load_persona(name)
    rendered = persona.render(situation, SAMPLE_FIELDS | {field: value})
    lines = rendered.splitlines(keepends=True)
    assert all(REPLY_LINE.fullmatch(line) for line in lines), rendered
    assert max(len(line) for line in lines) <= 512
    long_word = value.split()[-1]
    assert long_word.encode() not in rendered  # cut...
    assert long_word[:100].encode() in rendered  # ...yet what fits is still shown
    assert re.search(rb"(?:x|\xc3\xa9|c)\.\.\.", rendered), "a cut field ends in '...'"
    template = persona.replies[situation]
    if template.tagged and persona.tag:  # the persona's own words stay whole
        # The tag alone, as a reply with no words of its own renders it.
        bare = render_lines(persona, dataclasses.replace(template, paragraphs=("",)), SAMPLE_FIELDS)
        prefix = f"{template.code} {template.status} " if template.status else f"{template.code} "
        assert rendered.endswith(b" " + bare.removeprefix(prefix.encode()))


@pytest.mark.parametrize("situation", list(Situation))
@pytest.mark.parametrize("field", sorted(FIELDS - {"hostname", "size_limit"}))
def test_no_reply_passes_512_octets_whatever_a_field_holds(
    situation: Situation, field: str
) -> None:
    rendered = PERSONA.render(situation, SAMPLE_FIELDS | {field: "y" * 990})
    assert max(len(line) for line in rendered.splitlines(keepends=True)) <= 512


def test_a_scripted_reply_whose_own_word_is_too_long_is_cut_at_the_limit() -> None:
    template = ReplyTemplate(550, "5.7.1", ("z" * 600,), True, False, "scripted")
    rendered = render_lines(PERSONA, template, SAMPLE_FIELDS)
    [line] = rendered.splitlines(keepends=True)
    assert len(line) == 512
    assert line.startswith(b"550 5.7.1 zzz")
    assert line.endswith(b"\r\n")


def test_a_persona_line_past_512_octets_is_refused(tmp_path: Path) -> None:
    variant = write_variant(tmp_path, 'lines = ["Flushed"]', f'lines = [" {"w" * 520}"]')
    with pytest.raises(PersonaError, match=re.escape("past the 512 of RFC 5321 §4.5.3.1.5")):
        load_persona(variant)


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

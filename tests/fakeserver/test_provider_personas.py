"""Every shipped persona's catalogue: valid reply lines in its house style, a grade for every
reply that its evidence cites, identifiers in the evidence's shapes drawn from the seed, and
persona files that say what to fix."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from fakeserver.errors import PersonaError
from fakeserver.personas.loader import load_persona, shipped_personas
from fakeserver.personas.model import FIELDS, Exactness, Grade, Persona, Situation
from fakeserver.personas.required import required_situations
from tests.support.provider_ids import SHAPES

PERSONAS = {name: load_persona(name) for name in shipped_personas()}
FOLDER = Path(__file__).parents[2] / "fakeserver" / "personas"
NOW = 1753522157.25
# RFC 5321 §4.2: "NNN-text" on all lines but the last, "NNN text" on the last.
REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([- ])(.*)\r\n")
# A grade is cited where the evidence says it: "[V3+]", "[V1, J]", "[V2] + [DOC]"...
CITED = re.compile(r"\[([^\]]*)\]")


def sample(persona: Persona) -> dict[str, object]:
    identity = persona.identifiers.open(random.Random(3), NOW)
    return {
        **dict.fromkeys(FIELDS, "x"),
        **identity.values,
        **identity.for_message(NOW),
        "client_ip": "2001:db8::7",
        "address": "someone@example.org",
    }


ALL_REPLIES = [
    (name, situation) for name, persona in PERSONAS.items() for situation in persona.replies
]


@pytest.mark.parametrize(("name", "situation"), ALL_REPLIES)
def test_every_reply_renders_to_valid_lines(name: str, situation: Situation) -> None:
    persona = PERSONAS[name]
    template = persona.replies[situation]
    lines = persona.render(situation, sample(persona), lambda: NOW).splitlines(keepends=True)
    for index, line in enumerate(lines):
        match = REPLY_LINE.fullmatch(line)
        assert match is not None, line
        assert int(match[1]) == template.code
        assert match[2] == (b" " if index == len(lines) - 1 else b"-")
        assert len(line) <= 512  # RFC 5321 §4.5.3.1.5, the tag and identifiers included
        assert b"{" not in line, "every field is filled"
        if template.status is not None:
            assert match[3].startswith(template.status.encode() + b" ")


@pytest.mark.parametrize(("name", "situation"), ALL_REPLIES)
def test_every_grade_is_the_one_its_evidence_cites(name: str, situation: Situation) -> None:
    template = PERSONAS[name].replies[situation]
    cited = {
        token.strip().split(" ")[0].replace("V3", "V3+").replace("++", "+")
        for group in CITED.findall(template.evidence)
        for token in group.split(",")
    }
    if template.grade is Grade.CHOSEN:
        assert "chosen" in template.evidence
    else:
        assert template.grade.value in cited, (template.grade, template.evidence)


def test_guesses_are_marked_as_guesses() -> None:
    """The issue: a reply resting only on the ancestor's code or a fixture is a guess."""
    for grade in (Grade.CODE, Grade.FIX, Grade.INF, Grade.CHOSEN):
        assert grade.is_guess
        assert grade.exactness is Exactness.GUESSED
    for grade in (Grade.V3, Grade.V2, Grade.V1, Grade.J, Grade.DOC):
        assert not grade.is_guess
    office365 = PERSONAS["office365"]
    assert office365.replies[Situation.FLUSHED].grade is Grade.CODE
    assert office365.replies[Situation.GREETING].grade is Grade.V3


@pytest.mark.parametrize("name", sorted(PERSONAS))
def test_every_persona_has_what_its_rules_need(name: str) -> None:
    persona = PERSONAS[name]
    needed = required_situations(persona.listeners, persona.behaviour, persona.auth_mechanisms)
    assert needed <= set(persona.replies)


@pytest.mark.parametrize("name", ["office365", "ses", "sendgrid"])
def test_identifiers_have_the_evidence_shapes_and_follow_the_seed(name: str) -> None:
    persona = PERSONAS[name]
    drawn = [persona.identifiers.open(random.Random(seed), NOW).values for seed in range(200)]
    for values in drawn:
        for field, shape in SHAPES[name].items():
            assert shape.fullmatch(values[field]), (field, values[field])
    assert len({values["session_id"] for values in drawn}) > 150
    again = persona.identifiers.open(random.Random(5), NOW).values
    assert again == persona.identifiers.open(random.Random(5), NOW).values


def test_office365s_greeting_id_is_a_tick_count_from_hours_before_the_session() -> None:
    # office365.md §3.3: 08DD842467C8274D is 2025-04-25 18:10 UTC for a 2025-04-26 session.
    persona = PERSONAS["office365"]
    for seed in range(50):
        ticks = int(persona.identifiers.open(random.Random(seed), NOW).values["session_id"], 16)
        seconds_before = NOW - (ticks - 621355968000000000) / 10**7
        assert 4 * 3600 <= seconds_before <= 40 * 3600


def test_a_persona_without_a_reply_answers_with_its_fallback_or_a_stand_in() -> None:
    sendgrid = PERSONAS["sendgrid"]
    assert not sendgrid.has(Situation.EHLO_IMPLICIT_TLS)
    assert (
        sendgrid.template(Situation.EHLO_IMPLICIT_TLS) is sendgrid.replies[Situation.EHLO_AFTER_TLS]
    )
    stand_in = sendgrid.template(Situation.HELO_FIRST)
    assert stand_in.grade is Grade.STAND_IN
    assert (stand_in.code, stand_in.status) == (503, None)  # SendGrid sends no enhanced codes
    office365 = PERSONAS["office365"].template(Situation.SYNTAX_ERROR)
    assert (office365.code, office365.status) == (501, "5.5.4")  # Microsoft 365 does


def overlay(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "variant.toml"
    path.write_text('extends = "ses"\n' + text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[replies.flushed]\ngrade = "V4"\n', "grade 'V4' is not one of"),
        ('[behaviour]\nhelo_argument = "strict"\n', "helo_argument must be one of"),
        ('[persona]\nauth_mechanisms = ["CRAM-MD5"]\n', "auth_mechanisms must name some of"),
        ('[identifiers.session]\ninstance = "{hex}"\n', "give a length from 1 to 64"),
        ('[identifiers.session]\ninstance = "{pick:sites}"\n', "no list 'sites'"),
        ('[identifiers.session]\nclient_ip = "{hex:4}"\n', "'client_ip' is already a field"),
        ('[replies.helo]\nlines = ["{front_end}"]\n', "unknown fields ['front_end']"),
        ("[extra]\nx = 1\n", "unknown tables ['extra']"),
    ],
)
def test_bad_persona_files_say_what_to_change(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PersonaError, match=re.escape(message)):
        load_persona(overlay(tmp_path, text))


def test_a_reply_without_a_grade_is_refused(tmp_path: Path) -> None:
    text = (FOLDER / "sendgrid.toml").read_text()
    ungraded = text.replace(
        'grade = "CODE"\nevidence = "sendgrid.md §4 [CODE]: Twisted\'s RSET',
        ("evidence = \"sendgrid.md §4 [CODE]: Twisted's RSET"),
    )
    assert ungraded != text
    path = tmp_path / "ungraded.toml"
    path.write_text(ungraded)
    with pytest.raises(PersonaError, match=r"\[replies\.flushed\]: missing 'grade'"):
        load_persona(path)


def test_a_persona_must_name_a_session_id(tmp_path: Path) -> None:
    text = (FOLDER / "sendgrid.toml").read_text().replace("session_id = ", "front_end = ", 1)
    text = text.replace("{session_id}", "{front_end}")
    path = tmp_path / "anonymous.toml"
    path.write_text(text)
    with pytest.raises(PersonaError, match="give a session_id shape"):
        load_persona(path)

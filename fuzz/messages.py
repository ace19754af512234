"""Fuzz target for comparing messages as structure (``client.transcript.message``).

Messages are built as applications build them (``email.message.EmailMessage``: text in any
script, HTML alternatives, attachments of any bytes, nested multiparts), sent twice with each
run's own Date, Message-ID and boundaries, and then damaged at one byte. Invariants:

- a message matches itself, and itself sent again (new dates, ids, boundaries);
- a changed line of a text part is found, in that part, with both versions;
- any byte of the message changed, dropped or doubled never makes the comparison raise.
"""

from __future__ import annotations

import random
from email import policy
from email.message import EmailMessage
from typing import Any

from hypothesis import strategies as st

from client.transcript.message import compare_messages
from fuzz.engine import Target, pure

__all__ = ["MESSAGES"]

# Line breaks other than LF would make more lines than the test wrote (str.splitlines).
_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters=_BREAKS),
    min_size=1,
    max_size=120,
)
_LINES = st.lists(_TEXT.filter(lambda text: text.strip() != ""), min_size=1, max_size=6)
_PART = st.one_of(
    st.tuples(st.just("text"), _LINES),
    st.tuples(st.just("html"), _LINES),
    st.tuples(st.just("file"), st.binary(min_size=1, max_size=300)),
)
_MESSAGE = st.tuples(
    _TEXT.map(lambda text: " ".join(text.split()) or "subject"),  # a Subject on one line
    st.lists(_PART, min_size=1, max_size=4),
    st.integers(0, 2**32 - 1),  # the run's randomness: boundaries, dates, ids
    st.integers(0, 10_000),  # where to damage it
)


def _build(subject: str, parts: list[tuple[str, Any]], run: random.Random) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "app@example.org"
    message["To"] = "ann@example.org"
    message["Subject"] = subject
    message["Date"] = f"Mon, {run.randint(1, 28):02d} Jun 2025 10:{run.randint(0, 59):02d}:00 +0000"
    message["Message-ID"] = f"<{run.getrandbits(64)}@app.example>"
    message.set_content("\n".join(parts[0][1]) + "\n" if parts[0][0] != "file" else "(see below)\n")
    for number, (kind, content) in enumerate(parts[1:], start=1):
        if kind == "file":
            message.add_attachment(
                content, maintype="application", subtype="octet-stream", filename=f"f{number}.bin"
            )
        else:
            text = "\n".join(content) + "\n"
            message.add_attachment(text, subtype="html" if kind == "html" else "plain")
    for part in message.walk():
        if part.is_multipart():
            part.set_boundary(f"=={run.getrandbits(64)}==")
    return message


def check_messages(case: tuple[str, list[tuple[str, Any]], int, int]) -> None:
    subject, parts, seed, where = case
    first = _build(subject, parts, random.Random(seed)).as_bytes(policy=policy.SMTP)
    again = _build(subject, parts, random.Random(seed + 1)).as_bytes(policy=policy.SMTP)
    assert compare_messages(first, first) is None
    found = compare_messages(first, again)
    assert found is None, f"the same message sent again: {found}"

    kind, lines = parts[0]
    if kind != "file":
        changed = [[*lines[:-1], lines[-1] + "!"], *(content for _, content in parts[1:])]
        edited = list(zip((k for k, _ in parts), changed, strict=True))
        other = _build(subject, edited, random.Random(seed + 2)).as_bytes(policy=policy.SMTP)
        difference = compare_messages(first, other)
        assert difference is not None, "a changed line must be found"
        assert difference.expected != difference.actual

    index = where % len(first)
    for damaged in (
        first[:index] + bytes([first[index] ^ 0x20]) + first[index + 1 :],
        first[:index] + first[index + 1 :],
        first[:index] + first[index : index + 1] * 2 + first[index + 1 :],
    ):
        compare_messages(first, damaged)
        assert compare_messages(damaged, damaged) is None, "a damaged message matches itself"


MESSAGES = Target(
    "messages",
    "a message matches itself re-sent; a changed text line is found; damage never raises",
    _MESSAGE,
    pure(check_messages),
    300,
)

"""The reply parser against every server line recorded from real Gmail.

Each run of ``S: `` lines between two client lines is one or more complete replies; fed to the
parser as wire bytes (CRLF restored), it must come back as replies that use every line, in
whole and in order, whichever way the bytes are split. ``S: <...>`` lines are the recorders'
notes (nothing was received), not wire data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from client import Capabilities, Reply
from client.protocol import ReplyReader

CORPUS = Path(__file__).parent.parent / "data" / "gmail_transcripts"
TRANSCRIPTS = sorted(CORPUS.glob("*.txt"))


def server_blocks(path: Path) -> list[tuple[str | None, list[bytes]]]:
    """Each run of server lines, with the client line just before it (None at the start)."""
    blocks: list[tuple[str | None, list[bytes]]] = []
    last_client: str | None = None
    current: list[bytes] = []
    for line in path.read_bytes().decode().splitlines():
        if line.startswith("S: ") and not line.startswith("S: <"):
            current.append(line[3:].encode() + b"\r\n")
        elif line.startswith("C: "):
            if current:
                blocks.append((last_client, current))
                current = []
            last_client = line[3:]
    if current:
        blocks.append((last_client, current))
    return blocks


# Transcripts whose authors cut a multi-line reply short; the parser must wait for the rest.
ABRIDGED = {
    "40_openssl_587_authplain_send_blog_2010": b"250-AUTH LOGIN PLAIN XOAUTH\r\n",
}


def parse(data: bytes, chunk_octets: int, *, unfinished: bytes = b"") -> list[Reply]:
    reader = ReplyReader()
    replies = []
    for start in range(0, len(data), chunk_octets):
        reader.feed(data[start : start + chunk_octets])
        while (reply := reader.next_reply()) is not None:
            replies.append(reply)
    assert reader.pending() in (b"", unfinished), "a reply was left unfinished"
    return replies


def test_the_corpus_is_there() -> None:
    assert len(TRANSCRIPTS) >= 40
    assert sum(len(lines) for path in TRANSCRIPTS for _, lines in server_blocks(path)) > 500


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda path: path.stem)
def test_every_server_line_parses_however_it_is_split(path: Path) -> None:
    unfinished = ABRIDGED.get(path.stem, b"")
    for _, lines in server_blocks(path):
        data = b"".join(lines)
        for chunk_octets in (1, 7, len(data)):
            replies = parse(data, chunk_octets, unfinished=unfinished)
            parsed = b"".join(line for reply in replies for line in reply.wire)
            assert parsed in (data, data.removesuffix(unfinished))
            assert b"".join(reply.to_bytes() for reply in replies) == parsed


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda path: path.stem)
def test_enhanced_status_codes_are_read_where_gmail_sends_them(path: Path) -> None:
    for _, lines in server_blocks(path):
        for reply in parse(b"".join(lines), 1024, unfinished=ABRIDGED.get(path.stem, b"")):
            text = reply.lines[0]
            looks_enhanced = text[:1] == str(reply.code)[0] and text[1:2] == "."
            assert (reply.enhanced_status is not None) == looks_enhanced, str(reply)
            if reply.enhanced_status is not None:
                assert str(reply.enhanced_status) == text.split(" ")[0]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda path: path.stem)
def test_ehlo_replies_give_capabilities(path: Path) -> None:
    for command, lines in server_blocks(path):
        if command is None or not command.lower().startswith("ehlo ") or len(lines) < 2:
            continue
        replies = parse(b"".join(lines), 1024, unfinished=ABRIDGED.get(path.stem, b""))
        if not replies:
            continue
        reply = replies[0]
        if reply.code != 250:
            continue
        capabilities = Capabilities.from_reply(reply)
        assert capabilities.has("8BITMIME")
        if "AUTH " in reply.message:
            assert capabilities.auth_mechanisms[:2] == ("LOGIN", "PLAIN")
        assert capabilities.starttls == ("STARTTLS" in reply.lines)

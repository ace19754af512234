"""Every recorded Gmail conversation reads as it is and writes back byte for byte.

The captures are copied from ../shared/gmail/transcripts into tests/data/gmail_transcripts so
that the suite runs on a clean clone; the tests read only the copy.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from client.transcript import Comment, Direction, Event, Line, dump, load, read

CORPUS = Path(__file__).resolve().parents[1] / "data" / "gmail_transcripts"
CAPTURES = sorted(CORPUS.glob("*.txt"))
CHACHA = "TLS_CHACHA20_POLY1305_SHA256"
AES = "TLS_AES_256_GCM_SHA384"


def capture(name: str) -> Path:
    """The capture whose file name starts with ``name``."""
    (path,) = CORPUS.glob(f"{name}_*.txt")
    return path


def test_the_copy_holds_every_capture() -> None:
    assert len(CAPTURES) == 41
    assert (CORPUS / "README.md").is_file()


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.stem)
def test_capture_round_trips_exactly(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    transcript = load(text)
    assert dump(transcript) == text
    assert load(dump(transcript)) == transcript
    assert read(path) == transcript


@pytest.mark.parametrize("path", CAPTURES, ids=lambda path: path.stem)
def test_capture_is_read_as_written(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    transcript = load(text)
    header_rows = sum(1 + value.count("\n") for _, value in transcript.headers)
    assert header_rows + len(transcript.entries) == text.count("\n")
    # Every capture starts with its source, and says nothing the C:/S: form cannot.
    assert transcript.headers[0][0] == "source"
    assert transcript.header("smtprig-transcript") is None
    assert all(line.data.endswith(b"\r\n") for line in transcript.lines)
    assert all(line.elapsed_s is None for line in transcript.lines)


def test_capture_01_headers_lines_and_handshake() -> None:
    transcript = read(capture("01"))
    assert [key for key, _ in transcript.headers] == ["source", "port", "tool", "date", "note"]
    assert transcript.entries[0] == Line(
        Direction.SERVER,
        b"220 smtp.gmail.com ESMTP 12-20020a170902c24c00b001d770328a05sm3332281plg.36 - gsmtp\r\n",
    )
    assert Event("tls") in transcript.entries
    assert transcript.lines[-1].data.startswith(b"250 2.1.5 Flushed ")


def test_capture_04_wrapped_notes_stay_one_header() -> None:
    notes = read(capture("04")).header("notes")
    assert notes is not None
    first, second = notes.split("\n")
    assert first.startswith("in 2014 smtp.gmail.com called itself")
    assert second.startswith('        "354  Go ahead" had TWO spaces')


def test_capture_05_comment_ends_the_header() -> None:
    transcript = read(capture("05"))
    assert transcript.entries[0] == Comment("Connected to smtps://smtp.gmail.com:465/")
    assert [key for key, _ in transcript.headers][-1] == "notes"


def test_capture_17_keeps_trailing_spaces() -> None:
    datas = [line.data for line in read(capture("17")).lines]
    assert b"auth login \r\n" in datas
    assert b"Subject: Mail via telnet         \r\n" in datas


@pytest.mark.parametrize(
    ("name", "events"),
    [
        ("16", [Event("note", "server closed the connection")]),
        (
            "23",
            [Event("note", "TLS 1.3 handshake (TLS_CHACHA20_POLY1305_SHA256, ECDSA P-256 cert)")],
        ),
        (
            "37",
            [Event("tls", '(TLSv1.3:TLS_AES_256_GCM_SHA384:256, peer DN="/CN=smtp.gmail.com")')],
        ),
        (
            "13",
            [
                Event("note", "session 1: wrong password"),
                Event("note", 'session 2: after enabling "less secure apps"'),
            ],
        ),
        ("09", [Event("note", "client-side TLS failure (certificate verify failed)")]),
        ("14", []),
    ],
)
def test_capture_events(name: str, events: list[Event]) -> None:
    entries = read(capture(name)).entries
    assert [entry for entry in entries if isinstance(entry, Event)] == events

"""Messages compared as structure, without sockets: each kind of difference is found and named,
what changes on every run is masked, and the parser never stops the comparison."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from hashlib import sha256

import pytest
from hypothesis import given
from hypothesis import strategies as st

from client.transcript.matching import Matching
from client.transcript.message import compare_messages, message_bytes

STRUCTURE, HEADERS = Matching("structure"), Matching("headers")


def build(
    *,
    subject: str = "Your invoice",
    headers: tuple[tuple[str, str], ...] = (),
    text: str = "Hello Ann,\nyour invoice is attached.\n",
    html: str | None = "<p>Hello Ann,</p>\n",
    attachment: tuple[str, bytes] | None = ("invoice.pdf", b"%PDF-1.4 one"),
    run: int = 1,
) -> bytes:
    """A message as an application sends it; ``run`` changes what differs on every run."""
    message = EmailMessage()
    message["From"] = "Shop <shop@example.org>"
    message["To"] = "ann@example.org"
    message["Subject"] = subject
    message["Date"] = f"Mon, {run:02d} Jun 2025 10:00:0{run % 10} +0000"
    message["Message-ID"] = f"<{run}.{run * 7919}@shop.example.org>"
    message["X-Mailer"] = f"ShopMailer 2.{run}.0"
    for name, value in headers:
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    if attachment is not None:
        name, content = attachment
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    data = message.as_bytes(policy=policy.SMTP)
    # email's boundaries are random per message already; make sure of it.
    return data.replace(b"===============", f"=={run}==".encode() * 3)


def test_the_same_message_sent_twice_matches_though_dates_ids_boundaries_and_versions_differ() -> (
    None
):
    first, second = build(run=1), build(run=2)
    assert first != second
    assert compare_messages(first, second, STRUCTURE) is None
    assert compare_messages(first, second, HEADERS) is None


@pytest.mark.parametrize(
    ("changed", "summary", "expected", "actual"),
    [
        (
            {"subject": "Your receipt"},
            "in the message, header Subject differs",
            "Your invoice",
            "Your receipt",
        ),
        (
            {"headers": (("X-Campaign", "spring"),)},
            "in the message, header X-Campaign was not expected",
            None,
            "spring",
        ),
        (
            {"text": "Hello Ann,\nyour receipt is attached.\n"},
            "in part 1.1 (text/plain), line 2 of the decoded body differs",
            "your invoice is attached.",
            "your receipt is attached.",
        ),
        (
            {"text": "Hello Ann,\n"},
            "in part 1.1 (text/plain), line 2 of the decoded body is missing",
            "your invoice is attached.",
            None,
        ),
        (
            {"attachment": None},
            "the MIME tree differs: part 2 (application/pdf) is missing",
            'application/pdf; base64; attachment; filename="invoice.pdf"',
            None,
        ),
        (
            {"attachment": ("receipt.pdf", b"%PDF-1.4 one")},
            "the MIME tree differs at part 2 (application/pdf)",
            'application/pdf; base64; attachment; filename="invoice.pdf"',
            'application/pdf; base64; attachment; filename="receipt.pdf"',
        ),
        (
            {"attachment": ("invoice.pdf", b"%PDF-1.4 two")},
            "in part 2 (application/pdf), the decoded content differs",
            f"12 bytes, sha256 {sha256(b'%PDF-1.4 one').hexdigest()[:16]}",
            f"12 bytes, sha256 {sha256(b'%PDF-1.4 two').hexdigest()[:16]}",
        ),
        (
            {"text": "Hello Ann, \u00e9t\u00e9 ici\n"},
            "the MIME tree differs at part 1.1 (text/plain)",
            "text/plain; charset=utf-8; 7bit",
            "text/plain; charset=utf-8; 8bit",
        ),
    ],
)
def test_each_difference_is_named_with_both_versions(
    changed: dict[str, object], summary: str, expected: str | None, actual: str | None
) -> None:
    found = compare_messages(build(), build(run=2, **changed))  # type: ignore[arg-type]
    assert found is not None
    assert (found.summary, found.expected, found.actual) == (summary, expected, actual)


def test_a_binary_difference_says_where_it_starts() -> None:
    found = compare_messages(build(), build(attachment=("invoice.pdf", b"%PDF-1.4 two")))
    assert found is not None
    assert found.details == ("first difference at byte 9",)


def test_a_mime_tree_difference_shows_both_trees() -> None:
    found = compare_messages(build(), build(attachment=None))
    assert found is not None
    assert found.details == (
        "expected MIME tree:",
        "  message: multipart/mixed; 2 parts",
        "  1: multipart/alternative; 2 parts",
        "  1.1: text/plain; charset=utf-8; 7bit",
        "  1.2: text/html; charset=utf-8; 7bit",
        '  2: application/pdf; base64; attachment; filename="invoice.pdf"',
        "actual MIME tree:",
        "  message: multipart/alternative; 2 parts",
        "  1: text/plain; charset=utf-8; 7bit",
        "  2: text/html; charset=utf-8; 7bit",
    )


def test_header_order_and_missing_headers_are_told_apart() -> None:
    both = (("X-A", "1"), ("X-B", "2"))
    swapped = compare_messages(build(headers=both), build(headers=both[::-1]))
    assert swapped is not None
    assert (swapped.what, swapped.expected, swapped.actual) == (
        "header order",
        "X-A next",
        "X-B next",
    )
    missing = compare_messages(build(headers=both), build(headers=both[1:]))
    assert missing is not None
    assert missing.summary == "in the message, header X-A is missing"
    # RFC 5322 §1.2.2: names are case-insensitive.
    assert compare_messages(build(headers=(("x-a", "1"),)), build(headers=(("X-A", "1"),))) is None


def test_header_values_are_compared_decoded_and_unfolded() -> None:
    subject = "Caf\u00e9 " + "bien " * 30
    encoded = build(subject=subject)
    assert b"=?utf-8?" in encoded
    found = compare_messages(encoded, build(subject=subject.replace("bien", "good", 1)))
    assert found is not None
    assert found.expected == subject


def test_the_headers_level_ignores_the_body() -> None:
    other_body = build(run=2, text="Something else entirely.\n", html="<p>Else</p>")
    assert compare_messages(build(), other_body, HEADERS) is None
    found = compare_messages(build(), build(run=2, subject="Other"), HEADERS)
    assert found is not None
    assert found.summary == "in the message, header Subject differs"


@pytest.mark.parametrize("level", ["bytes", "envelope"])
def test_levels_that_do_not_parse_find_nothing_here(level: str) -> None:
    assert compare_messages(build(), build(subject="Other"), Matching(level)) is None


@pytest.mark.parametrize(
    ("name", "first", "second"),
    [
        ("X-Mailer", "swaks v20201014.0 jetmore.org/", "swaks v20240103.0 jetmore.org/"),
        ("User-Agent", "Mozilla/5.0 Thunderbird/115.3.1", "Mozilla/5.0 Thunderbird/128.0"),
        ("Resent-Date", "Mon, 02 Jun 2025 10:00:00 +0000", "Tue, 03 Jun 2025 10:00:00 +0000"),
        ("Resent-Message-ID", "<1@a.example>", "<2@a.example>"),
        # RFC 5322 §3.3 date-times inside any value: swaks's "Subject: test <date>".
        ("X-Sent", "at Mon, 02 Jun 2025 10:00:00 +0000", "at Tue, 3 Jun 2025 11:01:02 +0200"),
    ],
)  # fmt: skip
def test_values_that_change_every_run_are_masked(name: str, first: str, second: str) -> None:
    assert (
        compare_messages(build(headers=((name, first),)), build(headers=((name, second),))) is None
    )


def test_a_swaks_subject_with_the_time_in_it_matches() -> None:
    first = build(subject="test Mon, 02 Jun 2025 10:00:00 +0000")
    assert compare_messages(first, build(subject="test Tue, 3 Jun 2025 11:01:02 -0700")) is None
    found = compare_messages(first, build(subject="best Mon, 02 Jun 2025 10:00:00 +0000"))
    assert found is not None
    assert (found.expected, found.actual) == ("test <date>", "best <date>")


def test_a_version_outside_mailer_headers_is_compared() -> None:
    found = compare_messages(
        build(headers=(("X-App", "shop 2.1.0"),)), build(headers=(("X-App", "shop 2.2.0"),))
    )
    assert found is not None
    assert found.what == "header X-App"


def test_masks_apply_to_header_values_tree_entries_and_decoded_lines() -> None:
    def mail(order: str) -> bytes:
        long_line = "x" * 90 + f" https://shop.example/orders?id={order}"
        return build(
            subject=f"Order {order}",
            text=f"Your order {order}.\n{long_line}\n",  # quoted-printable: split in the raw
            attachment=(f"order-{order}.pdf", b"%PDF"),
        )

    assert b"=\r\n" in mail("A-1001"), "a soft line break"
    assert compare_messages(mail("A-1001"), mail("A-1002")) is not None
    assert compare_messages(mail("A-1001"), mail("A-1002"), Matching(masks=[r"A-\d+"])) is None
    found = compare_messages(mail("A-1001"), mail("B-1"), Matching(masks=[r"A-\d+"]))
    assert found is not None
    assert (found.expected, found.actual) == (
        'application/pdf; base64; attachment; filename="order-<masked>.pdf"',
        'application/pdf; base64; attachment; filename="order-B-1.pdf"',
    )


def test_before_record_is_applied_to_both_sides() -> None:
    def drop(message: EmailMessage) -> None:
        del message["X-Customer"]

    recorded = build(headers=(("X-Customer", "Ann Smith"),))
    sent = build(run=2, headers=(("X-Customer", "Bob Jones"),))
    assert compare_messages(recorded, sent) is not None
    assert compare_messages(recorded, sent, Matching(before_record=drop)) is None


def test_message_bytes_removes_the_transparency_dots() -> None:
    # RFC 5321 §4.5.2: a line that starts with "." is sent with one more.
    lines = [b"Subject: x\r\n", b"\r\n", b"..leading dot\r\n", b"...\r\n"]
    assert message_bytes(lines) == b"Subject: x\r\n\r\n.leading dot\r\n..\r\n"


def test_preambles_are_compared() -> None:
    def multipart(preamble: bytes) -> bytes:
        return (
            b'Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n'
            b"\r\n" + preamble + b"\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b1--\r\n"
        )

    assert compare_messages(multipart(b"A"), multipart(b"A")) is None
    found = compare_messages(multipart(b"A"), multipart(b"B"))
    assert found is not None
    assert (found.summary, found.expected, found.actual) == (
        "in the message, the preamble differs",
        "A",
        "B",
    )


def test_malformed_messages_are_compared_not_refused() -> None:
    broken = b"From: <<<\r\nTo: ,,,@\r\nContent-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"
    assert compare_messages(broken, broken) is None
    found = compare_messages(broken, broken.replace(b"To: ,,,@", b"To: ,,,@x"))
    assert found is not None
    assert (found.what, found.expected, found.actual) == ("header To", ",,,@", ",,,@x")


def test_the_final_line_break_of_a_text_part_counts() -> None:
    found = compare_messages(b"Subject: x\r\n\r\nHello", b"Subject: x\r\n\r\nHello\r\n")
    assert found is not None
    assert found.summary == "in the message, the end of the decoded body differs"
    assert (found.expected, found.actual) == ("no line break", "a line break")


@given(st.binary(max_size=400), st.binary(max_size=400))
def test_any_bytes_compare_without_error_and_a_message_matches_itself(
    first: bytes, second: bytes
) -> None:
    assert compare_messages(first, first) is None
    compare_messages(first, second)

"""Recipe: keep personal data out of a cassette. ``before_record`` edits each message before it is
written, and (as VCR.py does) before it is compared, so the live message's header is not missed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from client import TLSMode
from client.transcript import Matching, drop_headers
from fakeserver.recordreplay import Cassette, Upstream
from tests.examples.myapp import MailSettings, send_invoice

USER, PASSWORD = "shop@gmail.com", "app-password"
INVOICE_PDF = b"%PDF-1.4\n% an invoice\n%%EOF\n"
CASSETTE = Path(__file__).parent / "cassettes" / "test_cassette_filter"


@pytest.fixture
def smtp_cassette_upstream() -> Upstream:  # needed only to record
    return Upstream(("smtp.gmail.com", 465), TLSMode.IMPLICIT)


@pytest.fixture
def smtp_cassette_match() -> Matching:
    return Matching(before_record=drop_headers("X-Customer-Id"))


def test_the_customer_stays_off_the_disk(smtp_cassette: Cassette) -> None:
    host, port = smtp_cassette.address
    settings = MailSettings(host, port, USER, PASSWORD, smtp_cassette.client_context())
    send_invoice(settings, "ann@example.org", 4711, INVOICE_PDF, customer_id="C-20931")
    [recorded] = (CASSETTE / "test_the_customer_stays_off_the_disk").iterdir()
    assert "C-20931" not in recorded.read_text()

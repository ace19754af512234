"""The fake against real Gmail: every recorded conversation of today's era is replayed (its
client side spoken by our client) and the fake must answer byte for byte, after normalising
only the session id, the client's address and the end-of-data timestamp.

Recordings from before late 2024 are replayed against the ``gmail-2024`` persona, which
differs only in ``354  Go ahead`` (two spaces); older ones are left out, each with the
reason, and a test makes sure no file is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from client import TLSMode
from client.replay import Credentials, replay, transcript_tls
from client.transcript import Event, Matching, Transcript, read
from client.transcript.normalise import client_ip, session_id, timestamp
from fakeserver.server.fake import FakeGmail, ServerOptions

CORPUS = Path(__file__).parents[1] / "data" / "gmail_transcripts"
# Only what the issue allows to differ: session id, client ip, timestamp.
NORMALISERS = {"session_id": session_id, "client_ip": client_ip, "timestamp": timestamp}


def until_second_connection(transcript: Transcript) -> Transcript:
    """Transcript 32 pastes a second connection whose start openssl hid; keep the first."""
    for index, entry in enumerate(transcript.entries):
        if isinstance(entry, Event) and "separate connection" in entry.detail:
            return Transcript(transcript.headers, transcript.entries[:index])
    raise AssertionError("transcript 32 no longer has its second connection")


Prepare = Callable[[Transcript], Transcript] | None

REPLAYED: dict[str, tuple[str, Prepare]] = {
    "01_smtplib_587_mail_without_auth_530.txt": ("gmail", None),
    "02_smtplib_587_full_send_2025.txt": ("gmail", None),
    "23_vb6_tls13_587_helo_starttls_quit.txt": ("gmail", None),
    "32_telnet_587_mail_before_starttls_530_2024-11.txt": ("gmail", until_second_connection),
    "37_swaks_587_authlogin_full_send_ipv6_2025-07.txt": ("gmail", None),
    "11_qt_raw_socket_465_full_send_2024-05.txt": ("gmail-2024", None),
    "30_cpp_smtpclient_587_full_send_2022-12.txt": ("gmail-2024", None),
    "31_esp_mail_client_465_full_send_2024-08.txt": ("gmail-2024", None),
}

LEFT_OUT = {
    "04_smtplib_587_packt_book_2014.txt": "2014: mx.google.com, 'OK <ts>' with one space",
    "05_mailkit_465_full_send_2018.txt": "2018: 'OK <ts>' with one space",
    "06_smtplib_py27_587_full_send_2017.txt": "2017: 'OK <ts>' with one space",
    "07_phpmailer_587_authlogin_534_app_password_2023.txt": (
        "2023 'Learn more at' wording, and the browser copy collapsed the double spaces"
    ),
    "08_phpmailer_587_authlogin_full_send_2024.txt": "spacing collapsed by the recorder",
    "09_phpmailer_587_ehlo_no_chunking_2025.txt": (
        "a server pool that did not offer CHUNKING; the persona offers it, as almost all do"
    ),
    "10_openssl_sclient_authlogin_send_2024-02.txt": "starts in the middle of the session",
    "12_openssl_starttls_helo_authlogin_2013.txt": "2013: mx.google.com, no CHUNKING",
    "13_ssmtp_587_badcreds_then_success_2019.txt": "ssmtp printed only the last reply lines",
    "14_fusionpbx_phpmailer_587_full_send_2018.txt": "2018 wording",
    "15_cpp_ssl_465_full_send_2015.txt": "2015: mx.google.com, older AUTH list",
    "16_cpp_ssl_465_empty_ehlo_501_2016.txt": "2016 single-line 501 5.5.4 wording",
    "17_telnet_ssl_465_helo_unrecognized_send_2022.txt": "session id masked by its author",
    "18_nc_port25_smtp_gmail_helo_starttls_required.txt": "single-line 530 of before 2024",
    "19_openssl_465_out_of_order_bareLF_2010.txt": "2010: no '- gsmtp', single-line 503s",
    "20_vmime_465_bdat_chunking_2015.txt": "2015: mx.google.com, older AUTH list",
    "22_php_messenger_lib_587_helo_cc_bcc_2020.txt": "the library trims replies",
    "24_python_raw_ssl_465_helo_authlogin_2019.txt": "2019, with remarks inside server lines",
    "25_smtplib_port25_mail_before_starttls_2015.txt": "2015 single-line 530",
    "26_mailkit_pipelined_empty_rcpt_555_2019.txt": "2019 single-line 555 wording",
    "27_phpmailer_587_xoauth2_error_challenge_quit_2016.txt": "2016 535 wording, no CHUNKING",
    "28_phpmailer_587_xoauth2_empty_token_501_2016.txt": "2016 single-line 501 wording",
    "33_rust_client_465_authlogin_initial_response.txt": "ids and prompts masked by its author",
    "34_pastebin_587_authplain_535_quit_2020.txt": "2020 535 wording, pastebin spacing",
    "35_pastebin_curl_465_authlogin_535_2015.txt": "2015 wording",
    "36_openssl_465_authplain_send_with_received_header_2020.txt": "2020, two runs pasted",
    "38_swaks_587_authplain_anonymised_2018-03.txt": "2018 'OK <ts>' with one space",
    "39_mirc_forum_587_pre_tls_5line_ehlo_circa2008.txt": "2008: five-line EHLO",
    "40_openssl_587_authplain_send_blog_2010.txt": "2010: no '- gsmtp'",
    "41_pilight_test_fixture_2016-10.txt": "2016 wording, fixture artefacts",
    "mx_01_smtplib_port25_mx_google_2024.txt": "the MX, not the submission server",
    "mx_02_smtplib_port25_aspmx_2014.txt": "the MX, not the submission server",
    "mx_03_nc_port25_mx_bareLF_data_2021.txt": "the MX, not the submission server",
}


def test_every_recording_is_replayed_or_left_out_with_a_reason() -> None:
    files = {path.name for path in CORPUS.glob("*.txt")}
    assert len(files) == 41
    assert set(REPLAYED).isdisjoint(LEFT_OUT)
    assert set(REPLAYED) | set(LEFT_OUT) == files


@pytest.mark.parametrize("name", sorted(REPLAYED))
def test_the_fake_answers_as_gmail_did(name: str) -> None:
    persona, prepare = REPLAYED[name]
    transcript = read(CORPUS / name)
    if prepare is not None:
        transcript = prepare(transcript)
    with FakeGmail(ServerOptions(persona=persona)) as gmail:
        user, password = gmail.credentials
        implicit = transcript_tls(transcript) is TLSMode.IMPLICIT
        host, port = gmail.smtps if implicit else gmail.submission
        result = replay(
            transcript,
            host,
            port,
            credentials=Credentials(user, password),
            ssl_context=gmail.client_context(),
            tls_hostname="localhost",
            normalisers=NORMALISERS,
        )
    assert result.mismatch is None, str(result.mismatch)


def test_a_wrong_persona_is_caught_at_the_first_differing_line() -> None:
    transcript = read(CORPUS / "37_swaks_587_authlogin_full_send_ipv6_2025-07.txt")
    with FakeGmail(ServerOptions(persona="gmail-2024")) as gmail:
        result = replay(
            transcript,
            *gmail.submission,
            credentials=Credentials(*gmail.credentials),
            ssl_context=gmail.client_context(),
            tls_hostname="localhost",
            normalisers=NORMALISERS,
        )
    assert result.mismatch is not None
    assert result.mismatch.matcher == "text"
    message = str(result.mismatch)
    assert "expected: S: 354 Go ahead" in message
    assert "actual:   S: 354  Go ahead" in message


def test_a_mask_lets_the_answers_differ_where_the_user_says() -> None:
    transcript = read(CORPUS / "37_swaks_587_authlogin_full_send_ipv6_2025-07.txt")
    with FakeGmail(ServerOptions(persona="gmail-2024")) as gmail:
        result = replay(
            transcript,
            *gmail.submission,
            credentials=Credentials(*gmail.credentials),
            ssl_context=gmail.client_context(),
            tls_hostname="localhost",
            normalisers=NORMALISERS,
            matching=Matching(masks=[r"^354 +Go ahead"]),
        )
    assert result.mismatch is None, str(result.mismatch)

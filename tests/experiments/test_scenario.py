"""Scenario files: what a good one does to a server's script, and what a bad one says."""

from __future__ import annotations

import smtplib
from pathlib import Path

import pytest

from fakeserver.personas.model import Situation
from fakeserver.scripting.faults import (
    BareLF,
    Close,
    Delay,
    Garbage,
    SplitAt,
    Stall,
    TLSCertificate,
)
from fakeserver.scripting.scenario import ScenarioError, load_scenario, parse_scenario
from fakeserver.scripting.script import RawReply, Script, Step
from fakeserver.server.fake import FakeGmail, ServerOptions

GOOD = """\
# every kind of entry, as the module docstring describes them
seed = 7
idle_timeout_s = 30

[[step]]
on = "rcpt"
nth = 2
reply = "451 4.3.0 Try again"

[[step]]
on = "data"
replies = ["rate_limited", {code = 550, status = "5.7.1", text = "Not today"}]

[[step]]
on = ["greeting", "ehlo"]
faults = [{fault = "delay", delay_s = 2}, "bare_lf", {fault = "close", when = "after"}]

[[step]]
on = "mail"
matching = "bounce@"
probability = 0.5
faults = [
    {fault = "split", offsets = [1, 5], interval_s = 0.01},
    {fault = "garbage", data = "\\u0000\\u00ff!\\r\\n"},
]

[[step]]
on = "tls"
times = 1
faults = [{fault = "tls_certificate", kind = "expired"}]
"""


def test_a_good_file_loads_into_rules_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    scenario = load_scenario(path)
    assert (scenario.seed, scenario.idle_timeout_s, scenario.source) == (7, 30.0, str(path))
    rcpt, data, slow, mail, tls = scenario.rules
    assert (rcpt.steps, rcpt.nth, rcpt.reply, rcpt.line) == (
        (Step.RCPT,),
        2,
        "451 4.3.0 Try again",
        5,
    )
    assert data.replies == ("rate_limited", (550, "5.7.1", "Not today"))
    assert slow.steps == (Step.GREETING, Step.EHLO)
    assert slow.faults == (Delay(2.0), BareLF(), Close("after"))
    assert mail.faults == (SplitAt((1, 5), 0.01), Garbage(b"\x00\xff!\r\n"))
    assert (mail.matching, mail.probability) == ("bounce@", 0.5)
    assert tls.faults == (TLSCertificate("expired"),)


def test_rules_become_expectations() -> None:
    script = Script()
    parse_scenario(GOOD).apply(script)
    assert script.seed == 7
    assert script.decide(Step.RCPT, "TO:<a@x>") is None
    second = script.decide(Step.RCPT, "TO:<b@x>")
    assert second is not None
    assert second.reply == RawReply(("451 4.3.0 Try again",))
    first_data, second_data = script.decide(Step.DATA), script.decide(Step.DATA)
    assert first_data is not None
    assert first_data.reply is Situation.RATE_LIMITED
    assert second_data is not None
    assert second_data.reply is not None
    assert getattr(second_data.reply, "code", None) == 550
    assert script.decide(Step.DATA) is None, "replies= answers once each, then the persona"
    greeting = script.decide(Step.GREETING)
    assert greeting is not None
    assert greeting.faults == (Delay(2.0), BareLF(), Close("after"))
    assert script.unmet() == ["on('tls', times=1) used 0 time(s)"]


def test_settings_apply_unless_kept() -> None:
    scenario = parse_scenario("seed = 3\nidle_timeout_s = 5\n")
    options = ServerOptions(seed=1).with_scenario(scenario)
    assert (options.seed, options.idle_timeout_s) == (3, 5.0)
    kept = ServerOptions(seed=1, idle_timeout_s=9).with_scenario(
        scenario, keep={"seed", "idle_timeout_s"}
    )
    assert (kept.seed, kept.idle_timeout_s) == (1, 9.0)


def test_a_loaded_scenario_changes_what_a_client_sees(gmail: FakeGmail) -> None:
    parse_scenario(
        '[[step]]\non = "rcpt"\nreply = {code = 550, status = "5.1.1", text = "No such user"}\n'
        '[[step]]\non = "quit"\nfaults = ["bare_lf"]\n'
    ).apply(gmail.script)
    with smtplib.SMTP_SSL(*gmail.smtps, context=gmail.client_context(), timeout=5) as smtp:
        smtp.login(*gmail.credentials)
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("tester@gmail.com", ["a@example.org"], b"Subject: x\r\n\r\nx\r\n")
    [(code, text)] = refused.value.recipients.values()
    assert code == 550
    assert text.startswith(b"5.1.1 No such user")
    assert gmail.messages == []


def test_a_stall_from_a_file_is_a_stall(gmail: FakeGmail) -> None:
    parse_scenario('[[step]]\non = "mail"\nfaults = ["stall"]\n').apply(gmail.script)
    action = gmail.script.decide(Step.MAIL)
    assert action is not None
    assert action.faults == (Stall(),)


BAD = [
    ("sed = 1\n", 1, "unknown key 'sed' at the top of a scenario; use seed, idle_timeout_s, step"),
    ("seed = 'x'\n", 1, "seed must be a whole number, not 'x'"),
    ("idle_timeout_s = 0\n", 1, "idle_timeout_s must be above 0 seconds"),
    ("[options]\nx = 1\n", 1, "unknown key 'options' at the top"),
    ("step = 3\n", 1, "write each step as a [[step]] table"),
    ("seed = 1\n\n[[step]]\non = 'rcpt'\n", 3, "a step table needs `reply`, `replies` or `faults`"),
    ("[[step]]\nreply = 'rate_limited'\n", 1, "a step table needs `on`, one of greeting, ehlo,"),
    ("[[step]]\non = 'rcp'\nreply = 'rate_limited'\n", 2, "unknown step 'rcp'; use one of"),
    ("[[step]]\non = []\nreply = 'rate_limited'\n", 2, "`on` names no step"),
    ("[[step]]\non = 'rcpt'\nreply = 'rate_limted'\n", 3, "situations: already_authenticated,"),
    ("[[step]]\non = 'rcpt'\nreply = 42\n", 3, "a reply is a string or a {code, status, text}"),
    ("[[step]]\non = 'rcpt'\nreply = {code = 99, text = 'x'}\n", 3, "from 200 to 599, not 99"),
    ("[[step]]\non = 'rcpt'\nreply = {code = 550}\n", 3, "a reply table needs `text`"),
    ("[[step]]\non = 'rcpt'\nreply = {code = 550, txt = 'x'}\n", 3, "unknown key 'txt' in a reply"),
    ("[[step]]\non = 'rcpt'\nreplies = []\n", 3, "`replies` must be a non-empty array"),
    ("[[step]]\non='rcpt'\nreply='rate_limited'\nreplies=['rate_limited']\n", 1, "not both"),
    ("[[step]]\non = 'rcpt'\nreplies = ['rate_limited']\ntimes = 2\n", 1, "drop times/nth"),
    ("[[step]]\non = 'rcpt'\nreply = 'rate_limited'\nbogus = 1\n", 4, "use on, times, nth,"),
    ("[[step]]\non = 'rcpt'\nnth = 0\nreply = 'rate_limited'\n", 3, "nth counts from 1, not 0"),
    ("[[step]]\non = 'rcpt'\nnth = 1\ntimes = 1\nreply = 'rate_limited'\n", 1, "not both"),
    (
        "[[step]]\non = 'rcpt'\nprobability = 0\nreply = 'rate_limited'\n",
        3,
        "probability must be above 0 and at most 1, not 0.0",
    ),
    ("[[step]]\non = 'rcpt'\ntimes = true\nreply = 'rate_limited'\n", 3, "times must be a whole"),
    ("[[step]]\non = 'rcpt'\nfaults = 'stall'\n", 3, "`faults` must be an array"),
    ("[[step]]\non = 'rcpt'\nfaults = ['dely']\n", 3, "unknown fault 'dely'; use one of delay, "),
    ("[[step]]\non = 'rcpt'\nfaults = [{delay_s = 1}]\n", 3, "a table with a `fault` key"),
    ("[[step]]\non = 'rcpt'\nfaults = ['delay']\n", 3, "fault 'delay' needs delay_s (a number)"),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'delay', delay = 1}]\n",
        3,
        "fault 'delay' has no 'delay'; its fields: delay_s (a number)",
    ),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'delay', delay_s = '2'}]\n",
        3,
        "delay_s must be a number, not '2'",
    ),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'close', when = 'later'}]\n",
        3,
        "when must be one of 'before', 'middle', 'after', not 'later'",
    ),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'split', offsets = [1, 'x']}]\n",
        3,
        "offsets must be an array of whole numbers",
    ),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'garbage', data = \"\\u0100\"}]\n",
        3,
        "data must be a string of characters U+0000 to U+00FF",
    ),
    (
        "[[step]]\non = 'rcpt'\nfaults = [{fault = 'drip', interval_s = true}]\n",
        3,
        "interval_s must be a number, not True",
    ),
    ("[[step]]\non = ['rcpt', 'tls']\nfaults = ['bare_lf']\n", 3, "'bare_lf' does nothing at tls"),
    ("[[step]]\non = 'rcpt'\nfaults = ['abort_handshake']\n", 3, "use it on tls"),
    ("[[step]]\non = 'mail'\nfaults = ['disconnect']\n", 3, "use it on body"),
    ("[[step]]\non = 'rcpt'\nreply = \n", 3, "not valid TOML"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD, ids=[m for _, _, m in BAD])
def test_a_bad_file_names_its_line_and_what_would_do(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("# a comment first, so line numbers are not all 1\n" + text)
    with pytest.raises(ScenarioError) as raised:
        load_scenario(path)
    assert raised.value.line == line + 1
    assert str(raised.value).startswith(f"{path}, line {line + 1}: ")
    assert message in str(raised.value)


def test_the_n_th_step_table_is_found_among_many() -> None:
    text = "seed = 1\n" + "[[step]]\non = 'rcpt'\nreply = 'rate_limited'\n\n" * 3
    text += "[[step]]\non = 'rcpt'\n  reply = 'nope'\n"
    with pytest.raises(ScenarioError, match=r"<string>, line 16: not a situation name"):
        parse_scenario(text)


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"missing\.toml: cannot read it: No such file"):
        load_scenario(tmp_path / "missing.toml")
    (tmp_path / "latin1.toml").write_bytes(b"seed = 1 # \xe9\n")
    with pytest.raises(ScenarioError, match="not UTF-8 text"):
        load_scenario(tmp_path / "latin1.toml")

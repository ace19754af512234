"""``fakeserver``: run a fake Gmail from a shell.

``fakeserver serve`` is the main job: it prints how to connect and which CA to trust, then a
live log of every conversation (AUTH payloads redacted), or with ``--json`` one JSON object per
line, the first being ``{"event": "ready", ...}``. Ctrl-C or SIGTERM stops it. ``fakeserver
certs`` (re)generates the certificates. ``fakeserver record`` runs a recording proxy and
``fakeserver replay`` plays one transcript's server side (:mod:`fakeserver.cli.recordreplay`).
``fakeserver serve --scenario FILE.toml`` loads scripted replies and faults
(:mod:`fakeserver.scripting.scenario`); ``fakeserver serve --persona office365`` speaks for
another provider, and ``fakeserver personas`` says what each persona rests on
(:mod:`fakeserver.cli.personas`); ``fakeserver experiment`` runs a client command against a
matrix of faults (:mod:`fakeserver.cli.experiment`).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from fakeserver.cli import experiment as experiment_cli
from fakeserver.cli import personas as personas_cli
from fakeserver.cli import recordreplay as recordreplay_cli
from fakeserver.cli.banner import banner, ready_json
from fakeserver.cli.live import HumanLog, JsonLog, LiveOutput
from fakeserver.errors import AccountError, FakeServerError
from fakeserver.http.options import DEFAULT_ADDRESS
from fakeserver.http.serving import http_options
from fakeserver.scripting.scenario import load_scenario
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.observers import Observer
from fakeserver.server.options import parse_account
from fakeserver.session.accounts import DEFAULT_ACCOUNT, Account
from fakeserver.session.policy import Policy
from fakeserver.transport.tls import SERVER_NAMES, load_or_create, server_name

__all__ = ["SERVE_HISTORY_LIMIT", "main"]

SERVE_HISTORY_LIMIT = 10_000
"""The closed connections ``fakeserver serve`` keeps, with their transcripts."""


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    try:
        status: int = arguments.run(arguments)
    except FakeServerError as error:
        print(f"fakeserver: error: {error}", file=sys.stderr)
        return 2
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fakeserver",
        description="A fake of Gmail's submission server (or another provider's), for tests.",
    )
    verbs = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = verbs.add_parser("serve", help="run a fake Gmail on loopback (the main job)")
    serve.set_defaults(run=_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--smtps-port", type=int, default=2465, help="implicit TLS, like 465")
    serve.add_argument("--submission-port", type=int, default=2587, help="STARTTLS, like 587")
    serve.add_argument("--plain-port", type=int, help="also listen like port 25 (as 587)")
    _certs_dir_option(serve)
    _cert_name_option(serve)
    serve.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help=f"an account that may log in (repeatable; default {DEFAULT_ACCOUNT.username})",
    )
    serve.add_argument(
        "--oauth-token",
        action="append",
        default=[],
        metavar="USER:TOKEN",
        help="an XOAUTH2/OAUTHBEARER access token for an account (repeatable)",
    )
    serve.add_argument(
        "--needs-app-password",
        action="append",
        default=[],
        metavar="USER",
        help="answer this account's password with 534 5.7.9 (2-step verification on)",
    )
    serve.add_argument("--maildir", type=Path, help="also store every message in this Maildir")
    serve.add_argument(
        "--record", type=Path, metavar="DIR", help="write one transcript per connection here"
    )
    serve.add_argument(
        "--no-transcripts",
        action="store_true",
        help="keep no transcript per connection (the API then has none; --record still writes)",
    )
    serve.add_argument("--idle-timeout", type=float, metavar="SECONDS")
    serve.add_argument("--daily-quota", type=int, metavar="N", help="550 5.4.5 after N messages")
    serve.add_argument(
        "--rate-limit", type=int, metavar="N", help="421 4.3.0 at DATA past N per minute"
    )
    serve.add_argument(
        "--auth-failure-limit", type=int, metavar="N", help="454 4.7.0 after N bad logins"
    )
    serve.add_argument(
        "--persona",
        default="gmail",
        help="gmail (the default), gmail-2024, office365, ses, sendgrid, or a TOML file",
    )
    serve.add_argument(
        "--explain",
        action="store_true",
        help="print what the persona's replies rest on (seen or guessed) and exit",
    )
    serve.add_argument("--seed", type=int, help="seed for session ids, for repeatable runs")
    serve.add_argument("--show-bodies", action="store_true", help="log message lines too")
    serve.add_argument("--json", action="store_true", help="print JSON lines, not a log")
    serve.add_argument(
        "--scenario", type=Path, metavar="FILE.toml", help="scripted replies and faults to serve"
    )
    serve.add_argument(
        "--http",
        default=DEFAULT_ADDRESS,
        metavar="HOST:PORT",
        help=f"serve the HTTP API and web inbox here (default {DEFAULT_ADDRESS}; port 0: any)",
    )
    serve.add_argument("--no-http", action="store_true", help="no HTTP API and inbox")
    serve.add_argument(
        "--http-token-file",
        type=Path,
        metavar="FILE",
        help="every HTTP request must carry this token (needed off loopback; "
        "or set SMTPRIG_HTTP_TOKEN)",
    )
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let pages of this origin call the API (repeatable; default: none)",
    )

    certs = verbs.add_parser("certs", help="(re)generate the CA and server certificate")
    certs.set_defaults(run=_certs)
    _certs_dir_option(certs)
    _cert_name_option(certs)
    certs.add_argument("--force", action="store_true", help="replace certificates that work")

    for verb in recordreplay_cli.add_parsers(verbs):
        _certs_dir_option(verb)
    experiment_cli.add_parser(verbs)
    personas_cli.add_parser(verbs)
    return parser


def _certs_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--certs-dir", type=Path, default=Path("certs"), help="where the certificates live"
    )


def _cert_name_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cert-name",
        action="append",
        default=[],
        type=_checked_server_name,
        metavar="NAME",
        help="also make the certificate valid for this host name or address, for a client that"
        " checks the name it connects by (repeatable; e.g. email-smtp.us-east-1.amazonaws.com)",
    )


def _checked_server_name(name: str) -> str:
    try:
        return server_name(name)
    except ValueError as error:  # argparse says only "invalid value" for a ValueError
        raise argparse.ArgumentTypeError(str(error)) from None


def _server_names(arguments: argparse.Namespace) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*SERVER_NAMES, *arguments.cert_name)))


def _serve(arguments: argparse.Namespace) -> int:
    if arguments.explain:
        sys.stdout.write(personas_cli.explain(arguments.persona))
        return 0
    certificates, where, _ = load_or_create(
        arguments.certs_dir, server_names=_server_names(arguments)
    )
    accounts = _accounts(arguments)
    options = ServerOptions(
        host=arguments.host,
        smtps_port=arguments.smtps_port,
        submission_port=arguments.submission_port,
        plain_port=arguments.plain_port,
        accounts=accounts,
        persona=_persona_source(arguments.persona),
        policy=Policy(
            daily_quota=arguments.daily_quota,
            rate_limit_per_minute=arguments.rate_limit,
            auth_failure_limit=arguments.auth_failure_limit,
        ),
        certificates=certificates,
        maildir=arguments.maildir,
        idle_timeout_s=arguments.idle_timeout,
        record_transcripts=not arguments.no_transcripts,  # --record keeps them regardless
        record_dir=arguments.record,
        # A server that runs for days keeps the last connections, not every one.
        history_limit=SERVE_HISTORY_LIMIT,
        seed=arguments.seed,
        http=http_options(
            None if arguments.no_http else arguments.http,
            token_file=arguments.http_token_file,
            cors_origins=arguments.cors_origin,
        ),
    )
    scenario = load_scenario(arguments.scenario) if arguments.scenario is not None else None
    if scenario is not None:  # what the command line says explicitly wins over the file
        keep = {"seed"} if arguments.seed is not None else set()
        if arguments.idle_timeout is not None:
            keep.add("idle_timeout_s")
        options = options.with_scenario(scenario, keep=keep)
    output = LiveOutput(sys.stdout)
    observer: Observer = (
        JsonLog(output) if arguments.json else HumanLog(output, show_bodies=arguments.show_bodies)
    )
    server = FakeGmail(options, observers=[observer])
    if scenario is not None and server.http is not None:
        server.http.apply_scenario(scenario)  # so that the API lists its rules
    elif scenario is not None:
        scenario.apply(server.script)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        output.open(ready_json(server, where) if arguments.json else banner(server, where))
        stop.wait()
    finally:
        server.stop()
        output.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not arguments.json:
        print("stopped", flush=True)
    return 0


def _accounts(arguments: argparse.Namespace) -> list[Account]:
    accounts = [parse_account(spec) for spec in arguments.account] or [DEFAULT_ACCOUNT]
    by_name = {account.username.casefold(): account for account in accounts}
    for spec in arguments.oauth_token:
        user, colon, token = spec.partition(":")
        account = by_name.get(user.strip().casefold())
        if not colon or not token or account is None:
            raise AccountError(
                f"--oauth-token {spec!r}", "expected USER:TOKEN for a USER given with --account"
            )
        by_name[account.username.casefold()] = _with(account, tokens={token})
    for user in arguments.needs_app_password:
        account = by_name.get(user.strip().casefold())
        if account is None:
            raise AccountError(f"--needs-app-password {user!r}", "name a USER from --account")
        by_name[account.username.casefold()] = _with(account, needs_app_password=True)
    return list(by_name.values())


def _with(
    account: Account, *, tokens: set[str] | None = None, needs_app_password: bool = False
) -> Account:
    return Account(
        account.username,
        account.password,
        oauth_tokens=account.oauth_tokens | frozenset(tokens or ()),
        requires_app_password=account.requires_app_password or needs_app_password,
    )


def _persona_source(value: str) -> str | Path:
    return Path(value) if value.endswith(".toml") else value


def _certs(arguments: argparse.Namespace) -> int:
    _, where, created = load_or_create(
        arguments.certs_dir, server_names=_server_names(arguments), force=arguments.force
    )
    state = "wrote" if created else "kept the working"
    print(f"fakeserver: {state} certificates in {where.directory}:")
    print(f"  CA to trust:  {where.ca}")
    print(f"  server chain: {where.server_chain}")
    print(f"  keys (0600):  {where.server_key}, {where.ca_key}")
    return 0

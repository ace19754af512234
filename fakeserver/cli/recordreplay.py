"""``fakeserver record`` and ``fakeserver replay``: the command-line faces of the recording proxy
(:mod:`fakeserver.recordreplay.proxy`) and of the replay server
(:mod:`fakeserver.recordreplay.replay`).

::

    fakeserver record --listen HOST:PORT --upstream HOST:PORT --tls MODE [--upstream-tls MODE]
        [--upstream-cafile FILE] [--out DIR] [--json]
    fakeserver replay FILE [--host H] [--port N] [--tls MODE] [--match LEVEL] [--mask REGEX]...
        [--json]

Both print a ready line first (``--json``: ``{"event": "ready", ...}``). ``record`` writes one
transcript per connection until Ctrl-C or SIGTERM and exits 0. ``replay`` plays one transcript's
server side to the first client and exits 0 if it followed the transcript to its end, 1 on a
mismatch (printed; with ``--json`` an object with the matcher, the lines, and for a message the
part and both versions of what differs), 3 if stopped before a client finished. ``--match``
says how the client's message is compared (``client.transcript.matching``); ``--mask`` names
what may differ.

Kept apart from :mod:`fakeserver.cli.main`, which adds these verbs and their ``--certs-dir``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import ssl
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from client.transcript import ReplayResult, TranscriptFormatError, format_line, read
from client.transcript.matching import Matching, MatchLevel
from fakeserver.cli.live import LiveOutput
from fakeserver.errors import ConfigurationError
from fakeserver.jsontext import json_text
from fakeserver.recordreplay.proxy import ProxyOptions, RecordedTranscript, RecordingProxy, TLSMode
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer
from fakeserver.transport.tls import load_or_create

__all__ = ["add_parsers", "record", "replay"]


def add_parsers(
    verbs: argparse._SubParsersAction[argparse.ArgumentParser],
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Adds the ``record`` and ``replay`` verbs to ``fakeserver``'s sub-commands; returns
    their parsers, for the options they share with the other verbs."""
    modes = [mode.value for mode in TLSMode]
    record_verb = verbs.add_parser("record", help="a proxy that records client and server lines")
    record_verb.set_defaults(run=record)
    record_verb.add_argument(
        "--listen", type=_host_port, required=True, metavar="HOST:PORT", help="port 0: any"
    )
    record_verb.add_argument(
        "--upstream", type=_host_port, required=True, metavar="HOST:PORT", help="the real server"
    )
    record_verb.add_argument("--tls", choices=modes, required=True, help="how clients reach us")
    record_verb.add_argument(
        "--upstream-tls", choices=modes, help="how we reach it (default: --tls)"
    )
    record_verb.add_argument(
        "--upstream-cafile",
        type=Path,
        metavar="FILE",
        help="trust this CA for the upstream (default: the system trust store)",
    )
    record_verb.add_argument(
        "--out", type=Path, default=Path("transcripts"), metavar="DIR", help="a file per connection"
    )
    record_verb.add_argument("--json", action="store_true", help="print JSON lines")

    replay_verb = verbs.add_parser(
        "replay", help="play a transcript's server side, check the client"
    )
    replay_verb.set_defaults(run=replay)
    replay_verb.add_argument("file", type=Path, metavar="FILE", help="the transcript to replay")
    replay_verb.add_argument("--host", default="127.0.0.1", help="address to listen on")
    replay_verb.add_argument("--port", type=int, default=2525, help="0 picks a free port")
    replay_verb.add_argument("--tls", choices=modes, help="default: what the transcript says")
    replay_verb.add_argument(
        "--match",
        choices=[level.value for level in MatchLevel],
        default=MatchLevel.STRUCTURE.value,
        help="how the client's messages must match: structure (MIME tree, headers, decoded "
        "content; the default), bytes (line by line), headers, or envelope (not at all)",
    )
    replay_verb.add_argument(
        "--mask",
        action="append",
        default=[],
        metavar="REGEX",
        help="mask what this matches on both sides, e.g. 'token=(\\w+)' (only the groups, "
        "if it has any); repeatable",
    )
    replay_verb.add_argument("--json", action="store_true", help="print JSON lines")
    return record_verb, replay_verb


def _host_port(value: str) -> tuple[str, int]:
    host, colon, port = value.rpartition(":")
    if not colon or not host or not (port.isascii() and port.isdigit()):
        raise argparse.ArgumentTypeError(f"{value!r}: expected HOST:PORT, e.g. 127.0.0.1:2525")
    return host.removeprefix("[").removesuffix("]"), int(port)


@contextlib.contextmanager
def _signals_set(event: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM set ``event`` while the block runs."""

    def request_stop(signum: int, frame: FrameType | None) -> None:
        event.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def record(arguments: argparse.Namespace) -> int:
    """Runs ``fakeserver record``: a recording proxy until Ctrl-C or SIGTERM; exit status 0."""
    certificates, where, _ = load_or_create(arguments.certs_dir)
    upstream_context = None
    if arguments.upstream_cafile is not None:
        try:
            upstream_context = ssl.create_default_context(cafile=str(arguments.upstream_cafile))
        except (OSError, ssl.SSLError) as error:
            raise ConfigurationError("--upstream-cafile", f"cannot load it: {error}") from error
    options = ProxyOptions(
        upstream=arguments.upstream,
        host=arguments.listen[0],
        port=arguments.listen[1],
        tls=TLSMode(arguments.tls),
        upstream_tls=TLSMode(arguments.upstream_tls) if arguments.upstream_tls else None,
        certificates=certificates,
        upstream_context=upstream_context,
        out_dir=arguments.out,
    )
    output = LiveOutput(sys.stdout)

    def on_transcript(recorded: RecordedTranscript) -> None:
        path = str(recorded.path.resolve()) if recorded.path else None
        lines = len(recorded.transcript.lines)
        if arguments.json:
            peer = {"host": recorded.peer[0], "port": recorded.peer[1]}
            event = {"event": "transcript", "connection": recorded.connection, "path": path}
            event |= {"lines": lines, "closed_by": recorded.closed_by, "peer": peer}
            output.write(json_text(event) + "\n")
        else:
            output.write(
                f"[{recorded.connection}] wrote {recorded.path}: {lines} lines, "
                f"closed by {recorded.closed_by}\n"
            )

    proxy = RecordingProxy(options, on_transcript=on_transcript)
    stop = threading.Event()
    with _signals_set(stop):
        try:
            proxy.start()
            host, port = proxy.address
            if arguments.json:
                ready = {"event": "ready", "host": host, "port": port}
                output.open(json.dumps(ready | {"cafile": str(where.ca.resolve())}) + "\n")
            else:
                upstream_host, upstream_port = options.upstream
                trust = arguments.upstream_cafile or "the system trust store"
                output.open(
                    f"Recording proxy: {host} port {port} ({options.tls}) -> {upstream_host} "
                    f"port {upstream_port} ({options.upstream_tls}; its certificate checked "
                    f"against {trust})\nTrust this CA: {where.ca}  (swaks --tls-ca-path "
                    f"{where.ca}; curl --cacert {where.ca})\nTranscripts (AUTH redacted) go "
                    f"to {options.out_dir}/. Ctrl-C stops.\n\n"
                )
            stop.wait()
        finally:
            proxy.stop()
            output.close()
    if not arguments.json:
        print("stopped", flush=True)
    return 0


def replay(arguments: argparse.Namespace) -> int:
    """Runs ``fakeserver replay``: 0 when a client followed the transcript to its end, 1 on a
    mismatch, 3 when stopped before a client finished."""
    try:
        transcript = read(arguments.file)
    except OSError as error:
        problem = f"cannot read it: {error.strerror}"
        raise ConfigurationError(str(arguments.file), problem) from error
    except TranscriptFormatError as error:
        raise ConfigurationError(str(arguments.file), str(error)) from error
    certificates, where, _ = load_or_create(arguments.certs_dir)
    tls = TLSMode(arguments.tls) if arguments.tls else None
    try:
        matching = Matching(arguments.match, masks=arguments.mask)
    except ValueError as error:
        raise ConfigurationError("--mask", str(error)) from None
    options = ReplayOptions(arguments.host, arguments.port, tls, certificates, matching=matching)
    output = LiveOutput(sys.stdout)
    finished = threading.Event()
    first: list[ReplayResult] = []

    def on_result(result: ReplayResult) -> None:
        if first:
            return
        first.append(result)
        output.write(_result_text(result, as_json=arguments.json))
        finished.set()

    server = ReplayServer(transcript, options, on_result=on_result)
    with _signals_set(finished):
        try:
            server.start()
            host, port = server.address
            if arguments.json:
                ready = {"event": "ready", "host": host, "port": port, "tls": server.tls}
                output.open(json.dumps(ready | {"cafile": str(where.ca.resolve())}) + "\n")
            else:
                output.open(
                    f"Replaying {arguments.file} ({len(transcript.lines)} lines, TLS: "
                    f"{server.tls}) on {host} port {port}\nTrust this CA: {where.ca}\n"
                    "Waiting for one client. Ctrl-C stops.\n\n"
                )
            finished.wait()
        finally:
            server.stop()
            output.close()
    if not first:
        print("stopped before a client finished the transcript", file=sys.stderr, flush=True)
        return 3
    return 0 if first[0].passed else 1


def _result_text(result: ReplayResult, *, as_json: bool) -> str:
    mismatch = result.mismatch
    if as_json:
        event: dict[str, object] = {"event": "passed", "connection": result.connection}
        if mismatch is not None:
            event |= {
                "event": "mismatch",
                "transcript_line": mismatch.file_line,
                "matcher": mismatch.matcher,
                "reason": mismatch.reason,
                "expected": format_line(mismatch.expected) if mismatch.expected else None,
                "actual": format_line(mismatch.actual) if mismatch.actual else None,
                "message": str(mismatch),
            }
            if mismatch.message is not None:
                difference = mismatch.message
                event["difference"] = {
                    "where": difference.where,
                    "what": difference.what,
                    "expected": difference.expected,
                    "actual": difference.actual,
                }
        return json_text(event) + "\n"
    if mismatch is None:
        return "passed: the client followed the transcript to its end\n"
    return f"{mismatch}\n"

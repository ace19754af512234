"""Record and replay: the recording proxy (``proxy``, ``relay``), the replay server (``replay``,
``replay_script``) and SMTP cassettes for tests (``cassette``), on a small threaded TCP server of
their own (``serving``, ``linestream``)."""

from __future__ import annotations

from fakeserver.recordreplay.cassette import Cassette, RecordMode, Upstream
from fakeserver.recordreplay.proxy import ProxyOptions, RecordedTranscript, RecordingProxy
from fakeserver.recordreplay.replay import ReplayOptions, ReplayServer

__all__ = [
    "Cassette",
    "ProxyOptions",
    "RecordMode",
    "RecordedTranscript",
    "RecordingProxy",
    "ReplayOptions",
    "ReplayServer",
    "Upstream",
]

"""The fake over HTTP: a JSON API, Server-Sent Events and a small web inbox.

``fakeserver serve`` serves it on ``127.0.0.1:8025``; in Python,
``FakeGmail(ServerOptions(http=HttpOptions()))`` serves it for an in-process fake. Modules, each
with one job:

- ``serving``: ``HttpOptions``, what ``ServerOptions(http=...)`` takes; ``options``: the
  checked settings every other module reads;
- ``service``: the loop thread, the bound socket, start and stop;
- ``routes``: the route table and the aiohttp app; ``security``: errors, Host, token, Origin,
  CORS and CSP; ``problems``: RFC 9457 error bodies; ``context``: which fake a request is about;
- ``messages``, ``sse``, ``control``, ``pages``: the handlers;
- ``source``: the one module that reaches into a fake; ``records``: what it returns;
  ``events``: the numbered event ring and its wake-up; ``sandboxes``: more fakes, with leases;
- ``views``, ``mime``, ``query``: JSON shapes, MIME parts, checked parameters;
- ``openapi``, ``schemas``: the OpenAPI 3.1 document;
- ``static/``: the inbox (HTML, CSS and JavaScript, no build step).
"""

from __future__ import annotations

from fakeserver.http.serving import HttpOptions

__all__ = ["HttpOptions"]

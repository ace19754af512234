"""Sandboxes: more fakes in the same process, each with its own ports, messages, sessions,
script and counters, all trusting the same CA.

A test (in any language) makes one with ``POST /api/v1/sandboxes``, points its application at
the ports in the answer, and deletes it at the end, which answers the final check. A sandbox
nobody asks about for ``ttl_s`` seconds (default 600) is stopped, so a test run that died
leaks no ports for long: one timer per sandbox, moved forward lazily like the SMTP idle timer.
At most :data:`MAX_SANDBOXES` run at once. Everything here runs on the HTTP loop; starting and
stopping a fake (which binds sockets and joins a thread) goes to the loop's executor.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any

from fakeserver.errors import ConfigurationError
from fakeserver.http.problems import Problem
from fakeserver.http.records import RuleError
from fakeserver.http.source import Source, parse_rule_specs
from fakeserver.server.fake import FakeGmail, ServerOptions
from fakeserver.server.options import parse_account
from fakeserver.session.accounts import Account
from fakeserver.session.policy import Policy

__all__ = ["DEFAULT_TTL_S", "MAX_SANDBOXES", "Sandbox", "Sandboxes"]

DEFAULT_TTL_S = 600.0
MAX_TTL_S = 86_400.0
MAX_SANDBOXES = 64
_KEYS = ("seed", "accounts", "policy", "rules", "ttl_s", "idle_timeout_s", "plain_port")
_POLICY_KEYS = ("daily_quota", "rate_limit_per_minute", "auth_failure_limit")


@dataclass(slots=True)
class Sandbox:
    """One running sandbox."""

    id: str
    gmail: FakeGmail
    source: Source
    ttl_s: float
    expires_at: float
    timer: asyncio.TimerHandle | None = None

    def describe(self) -> dict[str, Any]:
        gmail = self.gmail
        # Each port the persona's provider has, by kind (Microsoft 365 has no "smtps").
        listeners = {
            listener.value: {"host": address.host, "port": address.port}
            for listener, address in gmail.listeners.items()
        }
        return {
            "id": self.id,
            "persona": gmail.persona.name,
            **listeners,
            "accounts": [account.username for account in gmail.options.accounts],
            "ttl_s": self.ttl_s,
            "links": {"self": f"/api/v1/sandboxes/{self.id}"},
        }


class Sandboxes:
    """The sandboxes of one HTTP service; they copy the ``default`` fake's host, persona and CA."""

    def __init__(self) -> None:
        self._template: FakeGmail | None = None
        self._items: dict[str, Sandbox] = {}
        self._numbers = itertools.count(1)
        self._stopping: set[asyncio.Task[list[str]]] = set()

    def attach(self, gmail: FakeGmail) -> None:
        """Copies ``gmail``'s host, persona and CA into every sandbox."""
        self._template = gmail

    def all(self) -> list[Sandbox]:
        return list(self._items.values())

    def get(self, name: str) -> Source | None:
        """The sandbox's fake, its lease renewed; None when there is none."""
        box = self._items.get(name)
        if box is None:
            return None
        box.expires_at = asyncio.get_running_loop().time() + box.ttl_s
        return box.source

    def find(self, name: str) -> Sandbox | None:
        return self._items.get(name)

    async def create(self, body: object) -> Sandbox:
        """Starts a sandbox as ``body`` asks (see the OpenAPI document's SandboxRequest).

        Raises:
            Problem: 400 naming the bad value, or 503 when too many run.
        """
        if not isinstance(body, dict):
            raise Problem(400, 'the body is an object, e.g. {} or {"seed": 7}', pointer="")
        for key in body:
            if key not in _KEYS:
                raise Problem(
                    400, f"unknown key {key!r}; use {', '.join(_KEYS)}", pointer=f"/{key}"
                )
        if len(self._items) >= MAX_SANDBOXES:
            raise Problem(503, f"{MAX_SANDBOXES} sandboxes run already; delete some first")
        rules = body.get("rules", [])
        if not isinstance(rules, list):
            raise Problem(400, "rules must be an array of rules", pointer="/rules")
        pointers = [f"/rules/{index}" for index in range(len(rules))]
        try:
            parse_rule_specs(rules, pointers)  # refused before any port is bound
        except RuleError as error:
            raise Problem(400, error.problem, pointer=error.pointer) from error
        ttl_s = _number(body, "ttl_s", DEFAULT_TTL_S, MAX_TTL_S)
        options = self._options(body)
        name = f"s{next(self._numbers)}"
        source = Source(name)
        try:  # options the persona cannot answer (a quota it has no reply for, a port it lacks)
            gmail = FakeGmail(options, observers=[source.observer])
        except ConfigurationError as error:
            raise Problem(400, f"cannot make this sandbox: {error}") from error
        source.attach(gmail)
        try:  # against the persona too, before any port is bound
            source.check_rules(rules, pointers)
        except RuleError as error:
            raise Problem(400, error.problem, pointer=error.pointer) from error
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, gmail.start)
        except ConfigurationError as error:
            raise Problem(503, f"cannot start a sandbox: {error}") from error
        source.events.bind(loop)
        if isinstance(body.get("seed"), int):
            gmail.reseed(body["seed"])
        source.add_rules(rules, pointers)
        box = Sandbox(name, gmail, source, ttl_s, loop.time() + ttl_s)
        self._items[name] = box
        self._arm(box, ttl_s)
        return box

    def _options(self, body: dict[str, Any]) -> ServerOptions:
        default = self._template
        if default is None:
            raise RuntimeError("no fake attached")
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise Problem(400, "seed must be a whole number", pointer="/seed")
        plain = body.get("plain_port", False)
        if not isinstance(plain, bool):
            raise Problem(400, "plain_port is true or false", pointer="/plain_port")
        return ServerOptions(
            host=default.options.host,
            plain_port=0 if plain else None,
            accounts=_accounts(body.get("accounts")) or default.options.accounts,
            persona=default.persona,
            policy=_policy(body.get("policy", {})),
            certificates=default.certificates,
            idle_timeout_s=_number(
                body,
                "idle_timeout_s",
                default.options.idle_timeout_s or default.persona.behaviour.idle_timeout_s,
                3600,
            ),
            record_transcripts=True,  # what /sessions/{id}/transcript shows
            seed=seed,
        )

    async def delete(self, name: str) -> list[str] | None:
        """Stops a sandbox and returns its final check; None when there is none."""
        box = self._items.pop(name, None)
        if box is None:
            return None
        return await self._stop(box)

    async def _stop(self, box: Sandbox) -> list[str]:
        if box.timer is not None:
            box.timer.cancel()
        box.source.events.close()
        await asyncio.get_running_loop().run_in_executor(None, box.gmail.stop)
        return box.source.final_check()

    async def stop_all(self) -> None:
        boxes, self._items = list(self._items.values()), {}
        for box in boxes:
            await self._stop(box)
        if self._stopping:
            await asyncio.wait(self._stopping, timeout=10.0)

    def _arm(self, box: Sandbox, delay_s: float) -> None:
        box.timer = asyncio.get_running_loop().call_later(delay_s, self._expire, box)

    def _expire(self, box: Sandbox) -> None:
        if self._items.get(box.id) is not box:
            return
        left = box.expires_at - asyncio.get_running_loop().time()
        if left > 0:
            self._arm(box, left)
            return
        del self._items[box.id]
        task = asyncio.get_running_loop().create_task(self._stop(box))
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


def _number(body: dict[str, Any], key: str, default: float, high: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= high:
        raise Problem(
            400, f"{key} must be a number of seconds above 0, at most {high:g}", pointer=f"/{key}"
        )
    return float(value)


def _accounts(items: object) -> list[Account]:
    if items is None:
        return []
    if not isinstance(items, list) or not items:
        raise Problem(
            400, 'accounts is a non-empty array like ["me@gmail.com:pw"]', pointer="/accounts"
        )
    accounts = []
    for index, item in enumerate(items):
        pointer = f"/accounts/{index}"
        try:
            if isinstance(item, str):
                accounts.append(parse_account(item))
            elif (
                isinstance(item, dict)
                and isinstance(item.get("username"), str)
                and isinstance(item.get("password"), str)
            ):
                tokens = item.get("oauth_tokens", [])
                if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                    raise Problem(400, "oauth_tokens is an array of strings", pointer=pointer)
                accounts.append(
                    Account(
                        item["username"],
                        item["password"],
                        oauth_tokens=frozenset(tokens),
                        requires_app_password=item.get("requires_app_password") is True,
                    )
                )
            else:
                raise Problem(
                    400,
                    'an account is "USER:PASSWORD" or {"username", "password"}',
                    pointer=pointer,
                )
        except ConfigurationError as error:
            raise Problem(400, error.problem, pointer=pointer) from error
    return accounts


def _policy(table: object) -> Policy:
    if not isinstance(table, dict):
        raise Problem(400, f"policy is an object with {', '.join(_POLICY_KEYS)}", pointer="/policy")
    values: dict[str, int | None] = {}
    for key, value in table.items():
        pointer = f"/policy/{key}"
        if key not in _POLICY_KEYS:
            raise Problem(
                400, f"unknown key {key!r}; use {', '.join(_POLICY_KEYS)}", pointer=pointer
            )
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise Problem(400, f"{key} is a whole number from 1, or null", pointer=pointer)
        values[key] = value
    return Policy(**values)

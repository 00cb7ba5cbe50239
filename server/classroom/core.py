"""What both class stores share: the errors they raise, codes and keys, the state a push merges into,
a poll and its tally, one listener's bounded queue, and the per-address rate limits.

A listener is one open event stream (a student's page, or the teacher's own view). Its queue holds at
most one pending ``state``, one ``count`` and one ``answers`` per poll: a newer one replaces the pending
one in place, so a slow reader gets the latest state, never a backlog. The rare events that cannot be
merged (``poll``, ``reveal``, ``end``) are bounded too: a listener that lets ``MAX_PENDING`` of them
pile up is closed, and its page reconnects to the current state.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on a phone
CODE_LENGTH = 6
MAX_PENDING = 64
POLLS_KEPT = 20
COALESCED = ("state", "count", "answers")
PING_S = 15.0
THROTTLE_S = 0.25  # ``count`` and ``answers`` go out at most about four times a second


class ClassError(Exception):
    """A request the store refuses: the HTTP status, a message naming what was wrong, and for 503/429
    how many seconds to wait."""

    status = 400

    def __init__(self, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class NotFound(ClassError):
    status = 404


class Forbidden(ClassError):
    status = 403


class Full(ClassError):
    status = 503


class Conflict(ClassError):
    status = 409


class Invalid(ClassError):
    status = 422


class TooMany(ClassError):
    status = 429


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def new_key() -> str:
    return secrets.token_urlsafe(24)


def new_student() -> str:
    return secrets.token_urlsafe(12)


def new_poll_id() -> str:
    return secrets.token_hex(4)


def check_key(expected: str, given: str | None) -> None:
    if not given:
        raise Forbidden("teacher key missing")
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Forbidden("teacher key does not match")


def first_state() -> dict[str, Any]:
    return {
        "version": 0,
        "page": None,
        "params": {},
        "lock": [],
        "hide": [],
        "mode": "follow",
        "present": False,
    }


def merged(state: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """The state after a push: the fields given replace the old ones, the version goes up by one."""
    fields = {k: v for k, v in update.items() if k in state and k != "version"}
    return {**state, **fields, "version": state["version"] + 1}


def unknown_class(code: str) -> NotFound:
    return NotFound(f"no class {code!r} (it may have ended or expired)")


def checked_answer(poll: dict[str, Any], answer: str) -> str:
    """The answer as it is kept: one of a choice poll's options, or a guess stripped (1..40 characters)."""
    if poll["kind"] == "choice":
        if answer not in poll["options"]:
            raise Invalid("answer: not one of the poll's options")
        return answer
    guess = answer.strip()
    if not 1 <= len(guess) <= 40:
        raise Invalid("answer: a guess is 1 to 40 characters (spaces at the ends are dropped)")
    return guess


def tally_of(poll: dict[str, Any], answers: list[str]) -> dict[str, int]:
    """How many chose each answer: every option of a choice poll (zeros kept, in order), each distinct
    guess of a guess round (most first)."""
    counts: dict[str, int] = {o: 0 for o in poll["options"]} if poll["kind"] == "choice" else {}
    for a in answers:
        counts[a] = counts.get(a, 0) + 1
    if poll["kind"] == "guess":
        counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return counts


def public_poll(poll: dict[str, Any]) -> dict[str, Any]:
    """What a ``poll`` event shows: the question, never the answers."""
    return {k: poll[k] for k in ("poll_id", "kind", "question", "options", "context")}


class Listener:
    """One open event stream: a bounded queue that merges what can be merged (see the module's text)."""

    def __init__(self, student: str | None) -> None:
        self.student = student
        self.items: deque[list[Any]] = deque()
        self.wake = asyncio.Event()
        self.closed = False
        self.version = -1  # the newest state queued: an older one arriving late is dropped
        self.polls: set[str] = set()  # polls announced: a poll arriving twice is announced once
        self.count: int | None = None  # the student count queued last: the same count is not repeated
        self.held: list[tuple[str, dict[str, Any]]] | None = None  # see ``hold``

    def hold(self) -> None:
        """Keep what arrives aside until ``release``: the current state is queued first meanwhile."""
        self.held = []

    def release(self) -> None:
        held, self.held = self.held or [], None
        for event, data in held:
            self.put(event, data)

    def put(self, event: str, data: dict[str, Any], raw: str | None = None) -> None:
        """Queue an event; ``raw`` is its data as JSON when the caller has it already (one encoding for
        every listener of a broadcast)."""
        if self.closed:
            return
        if self.held is not None:
            self.held.append((event, data))
            return
        if event == "state":
            if data["version"] <= self.version:
                return
            self.version = data["version"]
        if event == "count":
            if data["students"] == self.count:
                return
            self.count = data["students"]
        if event == "poll":
            if data["poll_id"] in self.polls:
                return
            self.polls.add(data["poll_id"])
        if event in COALESCED:
            for item in self.items:
                if item[0] == event and item[1].get("poll_id") == data.get("poll_id"):
                    item[1], item[2] = data, raw
                    return
        if len(self.items) >= MAX_PENDING:
            self.close()  # a reader this far behind reconnects and starts from the current state
            return
        self.items.append([event, data, raw])
        self.wake.set()

    def end(self, reason: str) -> None:
        self.held = None
        self.put("end", {"reason": reason})
        self.closed = True
        self.wake.set()

    def close(self) -> None:
        """End the stream without an ``end`` event (the server stops; the page reconnects)."""
        self.closed = True
        self.items.clear()
        self.wake.set()

    async def events(self, ping_s: float = PING_S) -> AsyncIterator[tuple[str, str]]:
        """(event name, its data as JSON), until ``end`` or the stream is closed; ("", "") after each
        ``ping_s`` without an event (a comment keeps proxies from closing the stream)."""
        while True:
            while self.items:
                event, data, raw = self.items.popleft()
                yield event, raw if raw is not None else json.dumps(data, separators=(",", ":"))
                if event == "end":
                    return
            if self.closed:
                return
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), ping_s)
            except TimeoutError:
                yield "", ""


@dataclass
class RateLimit:
    """At most ``limit`` attempts per client address in any ``window_s`` seconds (in this process)."""

    limit: int
    window_s: float
    seen: dict[str, deque[float]] = field(default_factory=dict)

    def hit(self, address: str, what: str) -> None:
        now = time.monotonic()
        if len(self.seen) > 10_000:  # forget addresses quiet for a whole window
            self.seen = {a: t for a, t in self.seen.items() if t and now - t[-1] < self.window_s}
        times = self.seen.setdefault(address, deque())
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if len(times) >= self.limit:
            wait = int(self.window_s - (now - times[0])) + 1
            raise TooMany(f"too many {what} from this address; try again in {wait} s", retry_after=wait)
        times.append(now)

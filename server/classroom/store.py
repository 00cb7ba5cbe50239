"""The one interface every class store offers (in process, or in Redis) and what they share: the
settings, the per-address rate limits, the throttle of ``count`` and ``answers`` events."""

from __future__ import annotations

import abc
import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from server.classroom.core import THROTTLE_S, Listener, RateLimit
from server.settings import Settings

Event = tuple[str, str]  # (name, data as JSON)
log = logging.getLogger(__name__)


class ClassStore(abc.ABC):
    """A live class's state, students, polls and answers, and the fan-out of its events.

    Teacher methods take the key given with the request and check it (404 for an unknown class
    first, then 403). Every method raises a ``ClassError`` for what it refuses."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock: Callable[[], float] = time.monotonic
        self.joins = RateLimit(settings.class_join_per_min, 60.0)
        self.creates = RateLimit(settings.class_create_per_hour, 3600.0)
        self.listeners: dict[str, set[Listener]] = {}  # code → this process's open streams
        self.last_count: dict[str, int] = {}  # code → the students last announced by ``count``
        self._due: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._sweeper: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()  # broadcasts under way (Redis)
        self.closing = False

    # --- the API's operations ------------------------------------------------------------------
    @abc.abstractmethod
    async def create(self, title: str) -> tuple[str, str]:
        """A new class: (code, teacher key). ``Full`` when the server holds ``max_classes``."""

    @abc.abstractmethod
    async def title(self, code: str) -> str:
        """The class's title; ``NotFound`` for an unknown code (any of the methods below too)."""

    @abc.abstractmethod
    async def check_teacher(self, code: str, key: str | None) -> None: ...

    @abc.abstractmethod
    async def join(self, code: str, name: str) -> str:
        """A new student's id; ``Full`` at ``class_max_students``."""

    @abc.abstractmethod
    async def is_student(self, code: str, student: str) -> bool:
        """Whether ``student`` joined the class ``code`` (False for an unknown class too)."""

    @abc.abstractmethod
    async def info(self, code: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def end(self, code: str, reason: str) -> None: ...

    @abc.abstractmethod
    async def push(self, code: str, update: dict[str, Any]) -> int: ...

    @abc.abstractmethod
    async def open_poll(self, code: str, poll: dict[str, Any]) -> str: ...

    @abc.abstractmethod
    async def answer(self, code: str, poll_id: str, student: str, answer: str) -> None: ...

    @abc.abstractmethod
    async def tally(self, code: str, poll_id: str) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def reveal(self, code: str, poll_id: str, model: dict[str, Any]) -> dict[str, Any]: ...

    @abc.abstractmethod
    async def listen(self, code: str, student: str | None) -> AsyncIterator[Event]:
        """The events of one stream: ``state`` first, ``count``, the open poll, then live ones."""
        yield ("", {})  # pragma: no cover

    @abc.abstractmethod
    async def sweep(self, now: float | None = None) -> None:
        """End the classes idle for ``class_idle_s`` (their listeners get ``end``: ``expired``)."""

    # --- shared machinery ----------------------------------------------------------------------
    def local_put(self, code: str, event: str, data: dict[str, Any]) -> None:
        """Queue an event for this process's listeners of ``code`` (its JSON encoded once for all)."""
        raw = json.dumps(data, separators=(",", ":"))
        for listener in list(self.listeners.get(code, ())):
            listener.put(event, data, raw)

    def local_end(self, code: str, reason: str) -> None:
        self.last_count.pop(code, None)
        for listener in self.listeners.pop(code, set()):
            listener.end(reason)
        for kind in ("count", "answers"):
            handle = self._due.pop((code, kind), None)
            if handle:
                handle.cancel()

    def students_here(self, code: str) -> int:
        """Distinct students with a stream open to this process."""
        return len({x.student for x in self.listeners.get(code, ()) if x.student is not None})

    def soon(self, code: str, kind: str, send: Callable[[], Any]) -> None:
        """Run ``send`` (which broadcasts a ``count`` or ``answers``) in ``THROTTLE_S``, once however
        many times it is asked for meanwhile."""
        if (code, kind) in self._due:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._due.pop((code, kind), None)
            result = send()
            if asyncio.iscoroutine(result):
                task = loop.create_task(result)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        self._due[(code, kind)] = loop.call_later(THROTTLE_S, fire)

    async def open(self) -> None:
        """Begin the periodic sweep (from the app's lifespan, on its event loop); Redis connects."""
        every = min(15.0, max(0.05, self.settings.class_idle_s / 4))

        async def sweeping() -> None:
            while not self.closing:
                await asyncio.sleep(every)
                try:
                    await self.sweep()
                except Exception:  # a failed sweep (Redis away) is tried again next time
                    log.exception("class sweep failed")

        self._sweeper = asyncio.get_running_loop().create_task(sweeping())

    def stop_listeners(self) -> None:
        """Close every open stream (the server is stopping; pages reconnect to the next server)."""
        self.closing = True
        for listeners in self.listeners.values():
            for listener in listeners:
                listener.close()

    async def close(self) -> None:
        self.stop_listeners()
        for handle in self._due.values():
            handle.cancel()
        self._due.clear()
        if self._sweeper:
            self._sweeper.cancel()

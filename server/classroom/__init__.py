"""Live classes: a teacher pushes pages and polls, students follow over Server-Sent Events.

``make_store(settings)`` picks the store: in this process, or in Redis when ``redis_url`` is set (so
students connected to any replica follow a teacher on any other)."""

from __future__ import annotations

from server.classroom.core import ClassError
from server.classroom.store import ClassStore
from server.settings import Settings

__all__ = ["ClassError", "ClassStore", "make_store"]


def make_store(settings: Settings) -> ClassStore:
    if settings.redis_url:
        from server.classroom.redis_store import RedisStore

        return RedisStore(settings)
    from server.classroom.memory import MemoryStore

    return MemoryStore(settings)

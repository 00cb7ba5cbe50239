"""The class store in this process: plain dictionaries on the event loop, one lock for the caps."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from server.classroom.core import (
    POLLS_KEPT,
    Conflict,
    Full,
    Listener,
    NotFound,
    check_key,
    checked_answer,
    first_state,
    merged,
    new_code,
    new_key,
    new_poll_id,
    new_student,
    public_poll,
    tally_of,
    unknown_class,
)
from server.classroom.store import ClassStore, Event


@dataclass
class Room:
    """One live class (``class`` being taken): what the store keeps of it."""

    code: str
    title: str
    key: str
    last_active: float
    state: dict[str, Any] = field(default_factory=first_state)
    students: dict[str, str] = field(default_factory=dict)  # id → display name ("" = anonymous)
    polls: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # poll id → student → answer
    current: str | None = None  # the open poll


class MemoryStore(ClassStore):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.rooms: dict[str, Room] = {}
        self.lock = asyncio.Lock()

    def room(self, code: str) -> Room:
        room = self.rooms.get(code)
        if room is None:
            raise unknown_class(code)
        return room

    def touch(self, room: Room) -> Room:
        room.last_active = self.clock()
        return room

    def poll_of(self, room: Room, poll_id: str) -> dict[str, Any]:
        poll = room.polls.get(poll_id)
        if poll is None:
            raise NotFound(f"no poll {poll_id!r} in this class (the last {POLLS_KEPT} are kept)")
        return poll

    async def create(self, title: str) -> tuple[str, str]:
        async with self.lock:
            if len(self.rooms) >= self.settings.max_classes:
                raise Full(
                    f"this server holds {self.settings.max_classes} classes, its limit; try again later",
                    retry_after=self.settings.retry_after_s,
                )
            code = new_code()
            while code in self.rooms:
                code = new_code()
            self.rooms[code] = Room(code, title, new_key(), self.clock())
        return code, self.rooms[code].key

    async def title(self, code: str) -> str:
        return self.room(code).title

    async def check_teacher(self, code: str, key: str | None) -> None:
        check_key(self.room(code).key, key)

    async def join(self, code: str, name: str) -> str:
        async with self.lock:
            room = self.touch(self.room(code))
            if len(room.students) >= self.settings.class_max_students:
                raise Full(
                    f"this class has {self.settings.class_max_students} students, its limit",
                    retry_after=self.settings.retry_after_s,
                )
            student = new_student()
            room.students[student] = name
        return student

    async def is_student(self, code: str, student: str) -> bool:
        room = self.rooms.get(code)
        return room is not None and student in room.students

    def poll_view(self, room: Room, poll: dict[str, Any]) -> dict[str, Any]:
        answers = room.answers.get(poll["poll_id"], {})
        return {**public_poll(poll), "answers": len(answers), "revealed": poll["revealed"]}

    async def info(self, code: str) -> dict[str, Any]:
        room = self.room(code)
        current = room.polls.get(room.current) if room.current else None
        return {
            "code": code,
            "title": room.title,
            "students": self.students_here(code),
            "joined": len(room.students),
            "names": sorted(n for n in room.students.values() if n),
            "state": room.state,
            "poll": self.poll_view(room, current) if current else None,
        }

    async def end(self, code: str, reason: str) -> None:
        self.rooms.pop(code, None)
        self.local_end(code, reason)

    async def push(self, code: str, update: dict[str, Any]) -> int:
        room = self.touch(self.room(code))
        room.state = merged(room.state, update)
        self.local_put(code, "state", room.state)
        return room.state["version"]

    async def open_poll(self, code: str, poll: dict[str, Any]) -> str:
        room = self.touch(self.room(code))
        poll = {**poll, "poll_id": new_poll_id(), "revealed": False, "model": None}
        room.polls[poll["poll_id"]] = poll
        room.answers[poll["poll_id"]] = {}
        while len(room.polls) > POLLS_KEPT:
            old, _ = room.polls.popitem(last=False)
            room.answers.pop(old, None)
        room.current = poll["poll_id"]
        self.local_put(code, "poll", public_poll(poll))
        return poll["poll_id"]

    async def answer(self, code: str, poll_id: str, student: str, answer: str) -> None:
        room = self.room(code)
        poll = self.poll_of(room, poll_id)
        if poll["revealed"]:
            raise Conflict("this poll's answers are revealed; it takes no more")
        if poll_id != room.current:
            raise Conflict("this poll is closed (a newer one is open)")
        answers = room.answers[poll_id]
        answers[student] = checked_answer(poll, answer)
        self.soon(code, "answers", lambda: self.local_put(code, "answers", self.answers_event(code, poll_id)))

    def answers_event(self, code: str, poll_id: str) -> dict[str, Any]:
        room = self.rooms.get(code)
        return {"poll_id": poll_id, "answers": len(room.answers.get(poll_id, {})) if room else 0}

    async def tally(self, code: str, poll_id: str) -> dict[str, Any]:
        room = self.room(code)
        poll = self.poll_of(room, poll_id)
        answers = room.answers.get(poll_id, {})
        return {
            **{k: poll[k] for k in ("poll_id", "kind", "question", "options", "revealed", "model")},
            "tally": tally_of(poll, list(answers.values())),
            "answers": len(answers),
            "students": self.students_here(code),
        }

    async def reveal(self, code: str, poll_id: str, model: dict[str, Any]) -> dict[str, Any]:
        room = self.touch(self.room(code))
        poll = self.poll_of(room, poll_id)
        poll["revealed"], poll["model"] = True, model
        result = await self.tally(code, poll_id)
        event = {k: result[k] for k in ("poll_id", "tally", "answers", "model")}
        self.local_put(code, "reveal", event)
        return result

    async def listen(self, code: str, student: str | None) -> AsyncIterator[Event]:
        room = self.rooms.get(code)
        listener = Listener(student)
        if room is None:
            listener.end("expired")
        else:
            self.touch(room)
            listener.put("state", room.state)
            self.listeners.setdefault(code, set()).add(listener)
            listener.put("count", {"students": self.students_here(code)})
            current = room.polls.get(room.current) if room.current else None
            if current and not current["revealed"]:
                listener.put("poll", public_poll(current))
            if student is not None:
                self.count_changed(code)
        try:
            async for event in listener.events():
                yield event
        finally:
            here = self.listeners.get(code)
            if here is not None:
                here.discard(listener)
                if student is not None and code in self.rooms:
                    self.touch(self.rooms[code])
                    self.count_changed(code)

    def count_changed(self, code: str) -> None:
        def send() -> None:
            students = self.students_here(code)
            if self.last_count.get(code) != students:  # a reconnection does not change the count
                self.last_count[code] = students
                self.local_put(code, "count", {"students": students})

        self.soon(code, "count", send)

    async def sweep(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        for code, room in list(self.rooms.items()):
            if now - room.last_active >= self.settings.class_idle_s:
                await self.end(code, "expired")

"""The class store in Redis, for several replicas behind one address.

Each class lives in keys under ``tp:class:{code}`` that expire ``class_idle_s`` after the last activity
(every teacher action, join and connection renews them): its hash (title, teacher key, state fields,
the open poll), its students (id → display name), its polls and their order, the revealed polls, one
answers hash per poll, and the students connected to each replica. ``tp:classes`` lists the classes
for the server-wide cap. Events go out on one pub/sub channel per class; every replica subscribes to
the channels of the classes its own listeners follow and queues what arrives for them. The caps are
taken by Lua scripts (one atomic step each) before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis

from server.classroom.core import (
    POLLS_KEPT,
    Conflict,
    Full,
    Listener,
    NotFound,
    check_key,
    checked_answer,
    first_state,
    new_code,
    new_key,
    new_poll_id,
    new_student,
    public_poll,
    tally_of,
    unknown_class,
)
from server.classroom.store import ClassStore, Event

log = logging.getLogger(__name__)
PREFIX = "tp:class:"
CLASSES = "tp:classes"
STATE_FIELDS = ("page", "params", "lock", "hide", "mode", "present")
MAX_CONNECTIONS = 32  # to Redis, per replica (one of them holds the subscriptions)
FRESH_S = 45.0  # a replica's count of connected students counts while it renewed it this recently
PARTS = ("", ":students", ":polls", ":order", ":revealed", ":conn")

CREATE = """
for _, c in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if redis.call('EXISTS', ARGV[7] .. c) == 0 then redis.call('ZREM', KEYS[1], c) end
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('HSET', KEYS[2], 'title', ARGV[3], 'key', ARGV[4], 'current', '', 'version', 0, unpack(ARGV, 8))
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[6], ARGV[2])
return 1
"""
JOIN = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""
ANSWER = """
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then return -1 end
if redis.call('HGET', KEYS[1], 'current') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""


def key(code: str, part: str = "") -> str:
    return f"{PREFIX}{code}{part}"


def channel(code: str) -> str:
    return f"{PREFIX}{code}:events"


class RedisStore(ClassStore):
    def __init__(self, settings) -> None:
        super().__init__(settings)
        # a bounded pool that waits for a free connection: 200 students joining at once queue briefly
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=MAX_CONNECTIONS, timeout=10, decode_responses=True
        )
        self.redis = aioredis.Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub()
        self.replica = secrets.token_hex(6)
        self.subscribed: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task | None = None
        self.create_script = self.redis.register_script(CREATE)
        self.join_script = self.redis.register_script(JOIN)
        self.answer_script = self.redis.register_script(ANSWER)

    @property
    def ttl(self) -> int:
        return max(1, round(self.settings.class_idle_s))

    async def open(self) -> None:
        await self.redis.ping()
        await self.pubsub.subscribe(f"{PREFIX}replica:{self.replica}")  # a connection to read from
        self._reader = asyncio.get_running_loop().create_task(self.read())
        await super().open()

    async def close(self) -> None:
        await super().close()
        if self._reader:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        with contextlib.suppress(Exception):
            for code in list(self.listeners):
                await self.redis.hdel(key(code, ":conn"), self.replica)
        await self.pubsub.aclose()
        await self.redis.aclose(close_connection_pool=True)

    # --- fan-out ---------------------------------------------------------------------------------
    async def read(self) -> None:
        """Forward what the class channels carry to this replica's listeners."""
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reading the class channels failed; retrying")
                await asyncio.sleep(1.0)
                continue
            if not message:
                continue
            name = message["channel"]
            if message["type"] == "subscribe" and name in self.subscribed:
                self.subscribed[name].set()
            elif message["type"] == "message" and name.endswith(":events"):
                code = name[len(PREFIX) : -len(":events")]
                body = json.loads(message["data"])
                if body["event"] == "end":
                    await self.forget(code, body["data"]["reason"])
                else:
                    self.local_put(code, body["event"], body["data"])

    async def publish(self, code: str, event: str, data: dict[str, Any]) -> None:
        await self.redis.publish(channel(code), json.dumps({"event": event, "data": data}))

    async def follow(self, code: str) -> None:
        """Subscribe to the class's channel (once), and wait until Redis confirms it."""
        name = channel(code)
        if name not in self.subscribed:
            self.subscribed[name] = asyncio.Event()
            await self.pubsub.subscribe(name)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed[name].wait(), 5.0)

    async def forget(self, code: str, reason: str) -> None:
        self.local_end(code, reason)
        name = channel(code)
        if self.subscribed.pop(name, None) is not None:
            await self.pubsub.unsubscribe(name)

    # --- reading a class --------------------------------------------------------------------------
    async def hash(self, code: str) -> dict[str, str]:
        found = await self.redis.hgetall(key(code))
        if not found:
            raise unknown_class(code)
        return found

    async def touch(self, code: str, poll_id: str | None = None) -> None:
        async with self.redis.pipeline(transaction=False) as p:
            for part in PARTS + ((f":answers:{poll_id}",) if poll_id else ()):
                p.expire(key(code, part), self.ttl)
            p.zadd(CLASSES, {code: time.time()})
            await p.execute()

    @staticmethod
    def state_of(found: dict[str, str]) -> dict[str, Any]:
        state = first_state()
        state.update({f: json.loads(found[f"s:{f}"]) for f in STATE_FIELDS if f"s:{f}" in found})
        state["version"] = int(found["version"])
        return state

    async def poll_of(self, code: str, poll_id: str) -> dict[str, Any]:
        found = await self.redis.hget(key(code, ":polls"), poll_id)
        if found is None:
            raise NotFound(f"no poll {poll_id!r} in this class (the last {POLLS_KEPT} are kept)")
        poll = json.loads(found)
        poll["revealed"] = bool(await self.redis.sismember(key(code, ":revealed"), poll_id))
        return poll

    async def students_connected(self, code: str) -> int:
        now = time.time()
        total = 0
        for value in (await self.redis.hgetall(key(code, ":conn"))).values():
            n, at = value.split()
            total += int(n) if now - float(at) < FRESH_S else 0
        return total

    # --- the operations --------------------------------------------------------------------------
    async def create(self, title: str) -> tuple[str, str]:
        state = first_state()
        fields = [x for f in STATE_FIELDS for x in (f"s:{f}", json.dumps(state[f]))]
        for _ in range(10):
            code, teacher = new_code(), new_key()
            args = [self.settings.max_classes, code, title, teacher, self.ttl, time.time(), PREFIX, *fields]
            done = await self.create_script(keys=[CLASSES, key(code)], args=args)
            if done == 1:
                return code, teacher
            if done == 0:
                raise Full(
                    f"this server holds {self.settings.max_classes} classes, its limit; try again later",
                    retry_after=self.settings.retry_after_s,
                )
        raise Full("no free class code found; try again", retry_after=1)

    async def title(self, code: str) -> str:
        title = await self.redis.hget(key(code), "title")
        if title is None:
            raise unknown_class(code)
        return title

    async def check_teacher(self, code: str, given: str | None) -> None:
        expected = await self.redis.hget(key(code), "key")
        if expected is None:
            raise unknown_class(code)
        check_key(expected, given)

    async def join(self, code: str, name: str) -> str:
        student = new_student()
        args = [self.settings.class_max_students, student, name, self.ttl]
        done = await self.join_script(keys=[key(code), key(code, ":students")], args=args)
        if done == -1:
            raise unknown_class(code)
        if done == 0:
            raise Full(
                f"this class has {self.settings.class_max_students} students, its limit",
                retry_after=self.settings.retry_after_s,
            )
        await self.touch(code)
        return student

    async def is_student(self, code: str, student: str) -> bool:
        return bool(await self.redis.hexists(key(code, ":students"), student))

    async def info(self, code: str) -> dict[str, Any]:
        found = await self.hash(code)
        names = await self.redis.hvals(key(code, ":students"))
        poll = None
        if found.get("current"):
            current = await self.poll_of(code, found["current"])
            answers = await self.redis.hlen(key(code, f":answers:{current['poll_id']}"))
            poll = {**public_poll(current), "answers": answers, "revealed": current["revealed"]}
        return {
            "code": code,
            "title": found["title"],
            "students": await self.students_connected(code),
            "joined": len(names),
            "names": sorted(n for n in names if n),
            "state": self.state_of(found),
            "poll": poll,
        }

    async def end(self, code: str, reason: str) -> None:
        order = await self.redis.lrange(key(code, ":order"), 0, -1)
        parts = [key(code, p) for p in PARTS] + [key(code, f":answers:{p}") for p in order]
        async with self.redis.pipeline(transaction=True) as p:
            p.delete(*parts)
            p.zrem(CLASSES, code)
            await p.execute()
        await self.publish(code, "end", {"reason": reason})
        await self.forget(code, reason)

    async def push(self, code: str, update: dict[str, Any]) -> int:
        await self.hash(code)
        fields = {f"s:{f}": json.dumps(v) for f, v in update.items() if f in STATE_FIELDS}
        async with self.redis.pipeline(transaction=True) as p:  # one step: the version and its state
            if fields:
                p.hset(key(code), mapping=fields)
            p.hincrby(key(code), "version", 1)
            p.hgetall(key(code))
            found = (await p.execute())[-1]
        state = self.state_of(found)
        await self.touch(code)
        await self.publish(code, "state", state)
        return state["version"]

    async def open_poll(self, code: str, poll: dict[str, Any]) -> str:
        await self.hash(code)
        poll = {**poll, "poll_id": new_poll_id(), "model": None}
        pid = poll["poll_id"]
        async with self.redis.pipeline(transaction=True) as p:
            p.hset(key(code, ":polls"), pid, json.dumps(poll))
            p.rpush(key(code, ":order"), pid)
            p.hset(key(code), "current", pid)
            await p.execute()
        old = await self.redis.lrange(key(code, ":order"), 0, -POLLS_KEPT - 1)
        if old:
            async with self.redis.pipeline(transaction=True) as p:
                p.ltrim(key(code, ":order"), len(old), -1)
                p.hdel(key(code, ":polls"), *old)
                p.srem(key(code, ":revealed"), *old)
                p.delete(*(key(code, f":answers:{o}") for o in old))
                await p.execute()
        await self.touch(code, pid)
        await self.publish(code, "poll", public_poll(poll))
        return pid

    async def answer(self, code: str, poll_id: str, student: str, answer: str) -> None:
        poll = await self.poll_of(code, poll_id)
        kept = checked_answer(poll, answer)
        keys = [key(code), key(code, ":revealed"), key(code, f":answers:{poll_id}")]
        done = await self.answer_script(keys=keys, args=[poll_id, student, kept, self.ttl])
        if done == -1:
            raise Conflict("this poll's answers are revealed; it takes no more")
        if done == 0:
            raise Conflict("this poll is closed (a newer one is open)")
        self.soon(code, "answers", lambda: self.send_answers(code, poll_id))

    async def send_answers(self, code: str, poll_id: str) -> None:
        n = await self.redis.hlen(key(code, f":answers:{poll_id}"))
        await self.publish(code, "answers", {"poll_id": poll_id, "answers": n})

    async def tally(self, code: str, poll_id: str) -> dict[str, Any]:
        await self.hash(code)
        poll = await self.poll_of(code, poll_id)
        answers = await self.redis.hvals(key(code, f":answers:{poll_id}"))
        return {
            **{k: poll[k] for k in ("poll_id", "kind", "question", "options", "revealed", "model")},
            "tally": tally_of(poll, answers),
            "answers": len(answers),
            "students": await self.students_connected(code),
        }

    async def reveal(self, code: str, poll_id: str, model: dict[str, Any]) -> dict[str, Any]:
        await self.hash(code)
        poll = await self.poll_of(code, poll_id)
        async with self.redis.pipeline(transaction=True) as p:  # no answer counts after this
            p.sadd(key(code, ":revealed"), poll_id)
            p.hset(key(code, ":polls"), poll_id, json.dumps({**poll, "model": model, "revealed": True}))
            await p.execute()
        await self.touch(code, poll_id)
        result = await self.tally(code, poll_id)
        await self.publish(code, "reveal", {k: result[k] for k in ("poll_id", "tally", "answers", "model")})
        return result

    # --- listening -------------------------------------------------------------------------------
    async def listen(self, code: str, student: str | None) -> AsyncIterator[Event]:
        listener = Listener(student)
        listener.hold()  # events that arrive while the current state is read wait behind it
        self.listeners.setdefault(code, set()).add(listener)
        try:
            await self.follow(code)
            await self.opened(code, listener)
        except NotFound:
            listener.end("expired")
        except Exception:
            self.listeners.get(code, set()).discard(listener)
            raise
        listener.release()
        try:
            async for event in listener.events():
                yield event
        finally:
            here = self.listeners.get(code)
            if here is not None:
                here.discard(listener)
                if student is not None and not self.closing:
                    with contextlib.suppress(Exception):
                        await self.connected(code)

    async def opened(self, code: str, listener: Listener) -> None:
        """Queue the current state, the count and the open poll for a listener that just connected."""
        found = await self.hash(code)
        listener.held, held = None, listener.held
        listener.put("state", self.state_of(found))
        if listener.student is not None:
            await self.connected(code)
        listener.put("count", {"students": await self.students_connected(code)})
        if found.get("current"):
            poll = await self.poll_of(code, found["current"])
            if not poll["revealed"]:
                listener.put("poll", public_poll(poll))
        listener.held = held
        await self.touch(code)

    async def connected(self, code: str) -> None:
        """Write this replica's count of connected students, and announce the class's total soon."""
        await self.redis.hset(key(code, ":conn"), self.replica, f"{self.students_here(code)} {time.time()}")
        await self.redis.expire(key(code, ":conn"), self.ttl)

        async def send() -> None:  # each listener drops a count it already has
            await self.publish(code, "count", {"students": await self.students_connected(code)})

        self.soon(code, "count", send)

    async def sweep(self, now: float | None = None) -> None:
        """Tell this replica's listeners of classes that expired in Redis; renew this replica's counts."""
        for code in list(self.listeners):
            if await self.redis.exists(key(code)):
                await self.connected(code)
            else:
                await self.forget(code, "expired")

"""One forward for many streams: a batcher per (model, backend).

Every open generation joins its model's batcher with its ``Decoding`` and reads its token events
from a queue of its own (``Batchers.tokens``). The batcher advances every member with room in its
queue together, with one ``models.generate.DecodeBatch`` step in a worker thread, writes each
member's token event there with the member's own ``encode`` (the SSE bytes), and queues what it
wrote. A queue holds up to ``AHEAD`` events, so the next step is computed while the event loop
sends the last one's tokens: the step time, not the step plus the sending, sets the pace. A
client that reads slowly only holds back its own stream. New members join at the next step, so
the batch grows with the load by itself and nobody waits for a timer; while more streams run
than wait to begin, a step reads at most ``PROMPT_TOKENS`` tokens of newcomers' prompts
(``pick``), so when many begin at once the prompts are read over a few steps and the streams
already running are not held up by all of them in one. The batch keeps its
members' caches merged between steps and lets them go after ``IDLE_RELEASE_S`` without a step.
With batching off, each stream runs its own step in its own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from models.generate import DecodeBatch, Decoding, TokenEvent, step

log = logging.getLogger(__name__)

IDLE_RELEASE_S = 1.0
AHEAD = 2  # token events a member's queue may hold: the one being sent and the next one
# Newcomers' prompt tokens read in one step while more streams run than wait (always at least one
# newcomer's): reading a prompt costs about what a step costs for as many rows, so 18 prompts of
# 12 tokens at once would make that step three times as long for every stream in it.
PROMPT_TOKENS = 32

E = TypeVar("E")  # what a stream's ``encode`` makes of its token event
Encode = Callable[[TokenEvent], Any]
END = object()  # queued after a member's last token event


def alone(model: Any, decoding: Decoding, encode: Encode) -> list[Any]:
    """One stream's step on its own, its token event written by ``encode``."""
    return [encode(event) for event in step(model, [decoding])]


def step_and_encode(batch: DecodeBatch, decodings: list[Decoding], encoders: list[Encode]) -> list[Any]:
    """One step of ``decodings`` together, each token event written by its stream's encoder."""
    events = batch.step(decodings)
    return [encode(event) for encode, event in zip(encoders, events, strict=True)]


@dataclass
class BatchStats:
    """Steps run and rows advanced by them: rows / steps is the mean batch."""

    steps: int = 0
    rows: int = 0

    @property
    def mean_batch(self) -> float | None:
        return round(self.rows / self.steps, 2) if self.steps else None


@dataclass(eq=False)
class Member:
    """A stream in a batcher: its decoding, how its events are written, and its queue of them."""

    decoding: Decoding
    encode: Encode
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    ended: bool = False  # END is queued: it is stepped no more

    @property
    def ready(self) -> bool:
        return not self.ended and self.queue.qsize() < AHEAD


def pick(ready: list[Member], max_batch: int) -> list[Member]:
    """The members of the next step, in the order given, up to ``max_batch``. While more of them
    are running than waiting to begin, newcomers (whose prompt is still to be read) join only
    while their prompts come to ``PROMPT_TOKENS`` tokens, the first one whatever its length; the
    others wait for the next step, first in line. When as many or more are waiting (a class
    pressing Generate on a quiet server), all are read at once: one long step holds up few."""
    waiting = sum(not m.decoding.out for m in ready)
    budget = PROMPT_TOKENS if len(ready) - waiting > waiting else None
    batch, reading = [], 0
    for m in ready:
        if len(batch) == max_batch:
            break
        d = m.decoding
        if not d.out and budget is not None:  # a newcomer: its prompt is read in this step
            tokens = len(d.seq) - d.window_start
            if reading and reading + tokens > budget:
                continue
            reading += tokens
        batch.append(m)
    return batch


class Batcher:
    def __init__(self, model: Any, max_batch: int, stats: BatchStats):
        self.model, self.max_batch, self.stats = model, max_batch, stats
        self.batch = DecodeBatch(model)
        # one thread of its own: its steps never wait for a free worker, and its arrays come and go
        # in one allocator arena instead of leaving freed memory behind in every worker's
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        self._members: dict[int, Member] = {}  # by id(decoding), in the order they were last stepped
        self._stepping: set[int] = set()  # the members in the step now running
        self._stepped = asyncio.Condition()  # notified after every step
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def join(self, decoding: Decoding, encode: Encode) -> asyncio.Queue[Any]:
        """Add a stream; its token events (then ``END``, or an exception) arrive in the queue."""
        member = Member(decoding, encode)
        self._members[id(decoding)] = member
        self.wake()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return member.queue

    def wake(self) -> None:
        """A member joined or took an event from its queue: it may be ready for a step."""
        self._wake.set()

    async def leave(self, decoding: Decoding) -> None:
        """Remove a stream; returns once no step is using its decoding."""
        self._members.pop(id(decoding), None)
        async with self._stepped:
            await self._stepped.wait_for(lambda: id(decoding) not in self._stepping)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            ready = [m for m in self._members.values() if m.ready]
            if not ready:
                try:
                    await asyncio.wait_for(self._wake.wait(), IDLE_RELEASE_S)
                except TimeoutError:  # nobody is generating: give the cached rows back
                    self.batch.release()
                continue
            batch = pick(ready, self.max_batch)
            for m in batch:  # to the back of the line: with more than max_batch ready, all take turns
                self._members[id(m.decoding)] = self._members.pop(id(m.decoding))
            self._stepping = {id(m.decoding) for m in batch}
            try:
                loop = asyncio.get_running_loop()
                events = await loop.run_in_executor(
                    self._thread,
                    step_and_encode,
                    self.batch,
                    [m.decoding for m in batch],
                    [m.encode for m in batch],
                )
            except Exception as e:  # every stream of the batch reports it
                self.batch = DecodeBatch(self.model)
                for m in batch:
                    m.queue.put_nowait(e)
                    m.ended = True
                events = []
            else:
                self.stats.steps += 1
                self.stats.rows += len(batch)
                for m, event in zip(batch, events, strict=True):
                    m.queue.put_nowait(event)
                    if m.decoding.finished:
                        m.queue.put_nowait(END)
                        m.ended = True
            finally:
                self._stepping = set()
                async with self._stepped:
                    self._stepped.notify_all()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for m in self._members.values():
            m.queue.put_nowait(END)
        self._thread.shutdown(wait=False, cancel_futures=True)


@dataclass
class Batchers:
    """The batchers of one app, made on first use; ``enabled=False`` steps each stream alone."""

    max_batch: int = 64
    enabled: bool = True
    stats: BatchStats = field(default_factory=BatchStats)
    _batchers: dict[tuple[str, str], Batcher] = field(default_factory=dict)

    async def tokens(
        self, name: str, backend: str, model: Any, decoding: Decoding, encode: Callable[[TokenEvent], E]
    ) -> AsyncIterator[E]:
        """``encode`` of each of ``decoding``'s token events until it finishes (both run in a worker
        thread). Close it (``contextlib.aclosing``) when the stream stops early: the decoding then
        leaves its batch, and the close returns once no step is using it."""
        if not self.enabled:
            while not decoding.finished:
                (event,) = await anyio.to_thread.run_sync(alone, model, decoding, encode)
                self.stats.steps += 1
                self.stats.rows += 1
                yield event
            return
        if decoding.finished:
            return
        key = (name, backend)
        if key not in self._batchers:
            self._batchers[key] = Batcher(model, self.max_batch, self.stats)
            log.info("batching %s on %s (up to %d streams per forward)", name, backend, self.max_batch)
        batcher = self._batchers[key]
        queue = batcher.join(decoding, encode)
        try:
            while (item := await queue.get()) is not END:
                batcher.wake()  # room in its queue again
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            await batcher.leave(decoding)

    async def close(self) -> None:
        for b in self._batchers.values():
            await b.close()
        self._batchers.clear()

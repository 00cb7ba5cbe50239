"""One forward for many streams: a batcher per (model, backend).

Every open generation asks its model's batcher for its next token and waits. The batcher takes
all requests waiting at that moment (up to ``max_batch``), advances them together with one
``models.generate.DecodeBatch`` step in a worker thread, writes each stream's token event there
with the stream's own ``encode`` (the SSE bytes), and hands each stream what it wrote.
While that step runs, new requests gather for the next one, so the batch grows with the load by
itself and no request waits for a timer. The batch keeps its members' caches merged between
steps and lets them go after ``IDLE_RELEASE_S`` without requests. With batching off, each stream
runs its own step in its own thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread

from models.generate import DecodeBatch, Decoding, TokenEvent, step

log = logging.getLogger(__name__)

IDLE_RELEASE_S = 1.0

E = TypeVar("E")  # what a stream's ``encode`` makes of its token event
Encode = Callable[[TokenEvent], Any]


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


class Batcher:
    def __init__(self, model: Any, max_batch: int, stats: BatchStats):
        self.model, self.max_batch, self.stats = model, max_batch, stats
        self.batch = DecodeBatch(model)
        # one thread of its own: its steps never wait for a free worker, and its arrays come and go
        # in one allocator arena instead of leaving freed memory behind in every worker's
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch")
        self._pending: list[tuple[Decoding, Encode, asyncio.Future[Any]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def step(self, decoding: Decoding, encode: Callable[[TokenEvent], E]) -> E:
        """``encode`` of ``decoding``'s next token event, computed with whatever else is waiting."""
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        self._pending.append((decoding, encode, future))
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), IDLE_RELEASE_S)
            except TimeoutError:  # nobody is generating: give the cached rows back
                self.batch.release()
                continue
            self._wake.clear()
            waiting = [
                (d, e, f) for d, e, f in self._pending if not f.cancelled()
            ]  # a gone client's is dropped
            batch, self._pending = waiting[: self.max_batch], waiting[self.max_batch :]
            if self._pending:
                self._wake.set()
            if not batch:
                continue
            decodings, encoders = [d for d, _, _ in batch], [e for _, e, _ in batch]
            try:
                loop = asyncio.get_running_loop()
                events = await loop.run_in_executor(
                    self._thread, step_and_encode, self.batch, decodings, encoders
                )
            except Exception as e:  # every stream of the batch reports it
                self.batch = DecodeBatch(self.model)
                for _, _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            self.stats.steps += 1
            self.stats.rows += len(batch)
            for (_, _, f), event in zip(batch, events, strict=True):
                if not f.done():
                    f.set_result(event)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for _, _, f in self._pending:
            f.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)


@dataclass
class Batchers:
    """The batchers of one app, made on first use; ``enabled=False`` steps each stream alone."""

    max_batch: int = 64
    enabled: bool = True
    stats: BatchStats = field(default_factory=BatchStats)
    _batchers: dict[tuple[str, str], Batcher] = field(default_factory=dict)

    async def step(
        self, name: str, backend: str, model: Any, decoding: Decoding, encode: Callable[[TokenEvent], E]
    ) -> E:
        """``encode`` of ``decoding``'s next token event (both run in a worker thread)."""
        if not self.enabled:
            (event,) = await anyio.to_thread.run_sync(alone, model, decoding, encode)
            self.stats.steps += 1
            self.stats.rows += 1
            return event
        key = (name, backend)
        if key not in self._batchers:
            self._batchers[key] = Batcher(model, self.max_batch, self.stats)
            log.info("batching %s on %s (up to %d streams per forward)", name, backend, self.max_batch)
        return await self._batchers[key].step(decoding, encode)

    async def close(self) -> None:
        for b in self._batchers.values():
            await b.close()
        self._batchers.clear()

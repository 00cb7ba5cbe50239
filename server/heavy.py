"""Heavy answers: the lesson routes that run a forward and send tables of numbers.

Each is admitted before its work starts, in one step on the event loop (nothing is awaited between
the check and the count, so a burst cannot slip past): at most ``PLAYGROUND_MAX_HEAVY`` run at once,
at most ``PLAYGROUND_MAX_HEAVY_QUEUE`` wait for a turn, and any more are answered ``503`` with
``Retry-After`` at once. An admitted route is a plain function that FastAPI runs in a worker thread,
and it returns its answer already encoded (``encoded``), so neither the numbers nor their JSON are
ever computed on the event loop: ``/healthz`` and the token streams keep their pace.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from fastapi import Depends, HTTPException, Request, Response
from pydantic import BaseModel


class HeavyLimit:
    def __init__(self, running: int, waiting: int) -> None:
        self.slots = anyio.Semaphore(running)
        self.max_running = running
        self.max_waiting = waiting
        self.running = 0
        self.waiting = 0
        self.admitted = 0  # answers admitted since start-up
        self.refused = 0  # answered 503


async def heavy_slot(request: Request) -> AsyncIterator[None]:
    """A place among the heavy answers, held until the answer is encoded."""
    limit: HeavyLimit = request.app.state.heavy
    settings = request.app.state.settings
    if limit.running + limit.waiting >= limit.max_running + limit.max_waiting:
        limit.refused += 1
        raise HTTPException(
            status_code=503,
            detail=f"{limit.running} lesson answers are being computed and {limit.waiting} wait, the "
            "server's limit; try again shortly",
            headers={"Retry-After": str(settings.retry_after_s)},
        )
    limit.waiting += 1  # counted at once: the check above and this count are one step on the loop
    try:
        await limit.slots.acquire()
    finally:
        limit.waiting -= 1
    limit.admitted += 1
    limit.running += 1
    try:
        yield
    finally:
        limit.running -= 1
        limit.slots.release()


HEAVY = Depends(heavy_slot)


def encoded(answer: BaseModel) -> Response:
    """``answer`` as JSON bytes, encoded here: in the worker thread that computed it."""
    return Response(answer.model_dump_json().encode(), media_type="application/json")

"""The app factory: ``create_app(settings)``; ``uvicorn --factory server.main:create_app`` serves it."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from models.devices import check_device
from server import security
from server.api import api
from server.batching import Batchers
from server.classroom import ClassError, make_store
from server.classroom.deps import class_error, store_away
from server.deps import RegistryDep
from server.heavy import HeavyLimit
from server.registry import Registry
from server.routers import class_pages, pages
from server.schemas import Health
from server.settings import Settings
from server.streaming import StreamStats
from server.training import Runs

log = logging.getLogger(__name__)


def rss_mib() -> float | None:
    """This process's resident memory now, from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def on_sigterm(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on SIGTERM before the handler already installed (uvicorn's, which stops
    accepting and waits for open responses): streams then end with a ``done`` event at once
    instead of holding the shutdown until they finish. Returns what puts the old handler back.
    Only the main thread may set signal handlers; elsewhere (a test client) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)

    def handler(signum: int, frame: FrameType | None) -> None:
        callback()
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    return lambda: signal.signal(signal.SIGTERM, previous)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    check_device(settings.device)  # cuda or mps asked for and not here: a ValueError before serving

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        start = time.perf_counter()
        # one BLAS thread per matmul: concurrent streams use the cores, and a busy machine
        # makes multi-threaded BLAS on small matrices spin and stall
        threadpool_limits(limits=settings.blas_threads, user_api="blas")
        app.state.registry = Registry.scan(
            settings.models_dir,
            torch_threads=settings.torch_threads,
            first=settings.default_model,
            device=settings.device,
        )
        log.info("registry read in %.0f ms", (time.perf_counter() - start) * 1000)
        app.state.runs = Runs(settings, app.state.registry, asyncio.get_running_loop())
        watcher = asyncio.create_task(app.state.runs.watch())
        app.state.classes = make_store(settings)
        await app.state.classes.open()

        def closing() -> None:
            app.state.streams.closing = True
            app.state.runs.close()
            app.state.classes.stop_listeners()  # class streams close now; their pages reconnect

        restore = on_sigterm(closing)
        # what start-up made lives as long as the server: out of the collector's sight, so that
        # a full collection under load walks only what requests made (shorter pauses in streams)
        gc.freeze()
        try:
            yield
        finally:
            restore()
            app.state.runs.close()
            watcher.cancel()
            await app.state.classes.close()
            await app.state.batchers.close()

    app = FastAPI(
        title="Transformer Playground",
        summary="Small pretrained transformers, computed live in PyTorch and in NumPy.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs is a page of ours, with Swagger UI served from static/vendor (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.streams = StreamStats()
    app.state.batchers = Batchers(settings.max_batch, settings.batching)
    app.state.heavy = HeavyLimit(settings.max_heavy, settings.max_heavy_queue)

    @app.get(
        "/healthz",
        response_model=Health,
        tags=["health"],
        summary="Health: models served, open streams, memory",
    )
    async def healthz(registry: RegistryDep) -> Health:
        """On the event loop itself (no worker thread to wait for): it answers while heavy work runs."""
        stats = app.state.streams
        return Health(
            status="ok",
            models=len(registry.models),
            streams=stats.active,
            tokens=stats.tokens,
            rss_mib=rss_mib(),
            mean_batch=app.state.batchers.stats.mean_batch,
            device=registry.torch_device,
            cpu_s=round(time.process_time(), 3),
        )

    @app.exception_handler(StarletteHTTPException)
    async def not_found_page(request: Request, exc: StarletteHTTPException):
        """A browser asking for a page that does not exist gets a page; the API keeps JSON errors."""
        wants_html = "text/html" in request.headers.get("accept", "")
        if exc.status_code == 404 and wants_html and not request.url.path.startswith("/api/"):
            return pages.not_found(request, str(exc.detail))
        return await http_exception_handler(request, exc)

    app.mount("/static", StaticFiles(directory=pages.ROOT / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(class_pages.router)
    app.include_router(api)
    app.add_exception_handler(ClassError, class_error)
    if settings.redis_url:  # a replica whose Redis is away answers the class routes with 503, not 500
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        for kind in (RedisConnectionError, RedisTimeout):
            app.add_exception_handler(kind, store_away)
    security.install(app)
    return app

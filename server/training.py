"""Training-lab runs in the server: one worker thread per run, any number of viewers, a bounded count.

A run is admitted (``Runs.start``) under a lock before anything is built: with ``max_trainings`` runs
going, one more is refused (the router answers 503 with Retry-After). Its thread builds the
``LabRun`` (``models/training/lab.py``) and trains; every event it emits is kept in the run's
history and wakes its viewers on the event loop, so a viewer who arrives late receives the history
first, then the live events. A run stops by itself at its step or time cap, when nobody has watched
it for ``train_idle_s``, or when the server shuts down. When it ends, its model is served under the
run's name (both twins built from the weights in memory) until it has not been used for
``lab_model_idle_s``; at most ``lab_models_kept`` are kept (the least recently used goes). Only with
``runs_dir`` set is anything written: the model folder and its metrics log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.tokenizer import CharTokenizer, tokenizers_from_json
from models.training.data import default_text_path
from models.training.lab import (
    LAB_ARCHS,
    LAB_TASKS,
    TASK_DEFAULTS,
    Control,
    LabRun,
    LabSettings,
    TrainedModel,
    resolved,
)
from models.weights import save_model_dir
from server.registry import ModelEntry, Registry
from server.settings import Settings

log = logging.getLogger(__name__)

WATCH_EVERY_S = 2.0  # how often idle runs and unused lab models are looked for
TRAIN_NICE = 10  # a training thread's scheduling priority (higher: yields more)


@dataclass(eq=False)
class Run:
    id: str
    name: str
    settings: LabSettings
    control: Control = field(default_factory=Control)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    step: int = 0
    steps: int = 0
    reason: str | None = None
    viewers: int = 0
    last_watched: float = field(default_factory=time.monotonic)
    started: bool = False
    waiters: set[asyncio.Event] = field(default_factory=set)  # one per viewer, set on every event
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wake(self) -> None:
        """On the event loop: tell every viewer there is news."""
        for waiter in self.waiters:
            waiter.set()

    @property
    def done(self) -> bool:
        return self.reason is not None

    @property
    def status(self) -> str:
        if self.done:
            return "done"
        if not self.started:
            return "starting"
        return "paused" if self.control.paused else "running"


class Runs:
    """Every run of this process, by id; the admission count; the watchdog."""

    def __init__(self, settings: Settings, registry: Registry, loop: asyncio.AbstractEventLoop):
        self.settings, self.registry, self.loop = settings, registry, loop
        self.runs: dict[str, Run] = {}
        self.active = 0
        self._lock = threading.Lock()
        self._closing = False

    # admission ------------------------------------------------------------------------------
    def start(self, settings: LabSettings) -> Run | None:
        """Admit and start a run, or None when ``max_trainings`` are going (nothing is started)."""
        with self._lock:
            if self._closing or self.active >= self.settings.max_trainings:
                return None
            self.active += 1
            run_id = secrets.token_hex(4)
            run = Run(run_id, f"{settings.task}-{run_id}", resolved(settings))
            self.runs[run_id] = run
        threading.Thread(target=self._train, args=(run,), name=f"lab-{run_id}", daemon=True).start()
        return run

    def get(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    # the worker thread ------------------------------------------------------------------------
    def _train(self, run: Run) -> None:
        trained: TrainedModel | None = None
        background_priority(self.settings.torch_threads)
        try:
            lab = LabRun(
                run.settings,
                lambda event, data: self._emit(run, event, data),
                run.control,
                name=run.name,
                text=lab_text(self.settings),
                max_seconds=self.settings.train_max_s,
            )
            run.steps = int(lab.settings.steps or 0)
            run.started = True
            trained = lab.run()
            self._serve(run, trained)
        except Exception as e:  # a run's failure is its viewers' news, never the server's
            log.exception("training run %s failed", run.id)
            self._emit(run, "error", {"message": str(e) or type(e).__name__})
            self._emit(run, "done", {"reason": "error", "model": None, "metrics": {}, "step": run.step})
        finally:
            with self._lock:
                self.active -= 1

    def _emit(self, run: Run, event: str, data: dict[str, Any]) -> None:
        with run._lock:
            run.events.append((event, data))
            if event == "step":
                run.step = data["step"]
            elif event == "done":
                run.reason = data["reason"]
        try:
            self.loop.call_soon_threadsafe(run.wake)
        except RuntimeError:  # the server has shut down: nobody is left to wake
            pass

    def _serve(self, run: Run, trained: TrainedModel) -> None:
        """Serve the trained model under the run's name (and write it to ``runs_dir`` if configured)."""
        entry = lab_entry(run.name, trained, self.settings)
        self.registry.add(entry)
        lab = sorted((e for e in self.registry.models.values() if e.in_memory), key=lambda e: e.last_used)
        for old in lab[: max(0, len(lab) - self.settings.lab_models_kept)]:
            self.registry.remove(old.name)
        log.info("serving trained lab model %s", run.name)

    # viewers ----------------------------------------------------------------------------------
    async def follow(self, run: Run) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The run's history, then its live events, until its ``done`` (or the server closes)."""
        run.viewers += 1
        waiter = asyncio.Event()
        run.waiters.add(waiter)
        sent = 0
        try:
            while True:
                waiter.clear()
                with run._lock:
                    fresh = run.events[sent:]
                for event in fresh:
                    yield event
                sent += len(fresh)
                run.last_watched = time.monotonic()
                if run.done and sent == len(run.events):
                    return
                if self._closing:
                    return
                try:
                    await asyncio.wait_for(waiter.wait(), timeout=WATCH_EVERY_S)
                except TimeoutError:
                    pass
        finally:
            run.waiters.discard(waiter)
            run.viewers -= 1
            run.last_watched = time.monotonic()

    # the watchdog -----------------------------------------------------------------------------
    def sweep(self) -> None:
        """Stop runs nobody watches; stop serving lab models nobody uses; forget old finished runs."""
        now = time.monotonic()
        for run in list(self.runs.values()):
            if not run.done and run.viewers == 0 and now - run.last_watched > self.settings.train_idle_s:
                run.control.stop("idle")
        for entry in list(self.registry.models.values()):
            if entry.in_memory and now - entry.last_used > self.settings.lab_model_idle_s:
                self.registry.remove(entry.name)
        served = set(self.registry.models)
        for run_id, run in list(self.runs.items()):
            if (
                run.done
                and run.name not in served
                and now - run.last_watched > self.settings.lab_model_idle_s
            ):
                self.runs.pop(run_id, None)

    async def watch(self) -> None:
        while not self._closing:
            await asyncio.sleep(WATCH_EVERY_S)
            self.sweep()

    def close(self) -> None:
        """Stop every run (they end after their current step with reason "shutdown")."""
        self._closing = True
        for run in self.runs.values():
            run.control.stop("shutdown")
            run.wake()


def background_priority(torch_threads: int) -> None:
    """Make the calling (training) thread yield the cores to streams and pages: a lower scheduling
    priority (Linux nice 10, for this thread only) and the server's torch thread count, so training
    does not start a pool of intra-op threads beside the streams' workers."""
    import torch

    torch.set_num_threads(torch_threads)  # process-wide, the value the registry sets for streams too
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), TRAIN_NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the thread keeps its priority
        log.info("training runs at normal priority (nice is not available here)")


def lab_entry(name: str, trained: TrainedModel, settings: Settings) -> ModelEntry:
    """A registry entry for a trained lab model, its twins built from the weights in memory."""
    from models.architectures import architecture_for

    arch = architecture_for(trained.config)
    tokenizer_json = trained.tokenizer_json
    source = None
    if tokenizer_json.get("kind") == "seq2seq":
        source, tokenizer = tokenizers_from_json(tokenizer_json)
    else:
        tokenizer = CharTokenizer(tokenizer_json["chars"])
    directory = (settings.runs_dir or settings.models_dir / ".lab") / name
    if settings.runs_dir is not None:
        save_model_dir(directory, trained.config, trained.params, tokenizer_json, trained.card)
        lines = "".join(json.dumps(r) + "\n" for r in trained.metrics)
        (directory / "metrics.jsonl").write_text(lines, encoding="utf-8")
    return ModelEntry(
        name,
        directory,
        arch.name,
        trained.config,
        trained.card,
        tokenizer,
        arch.num_params(trained.config),
        torch_threads=settings.torch_threads,
        device=settings.device,
        source_tokenizer=source,
        params=trained.params,
        metrics=trained.metrics,
    )


def lab_text(settings: Settings) -> Path:
    """The shakespeare task's text: ``PLAYGROUND_TRAIN_TEXT``, else ``prepare``'s default."""
    return Path(settings.train_text or default_text_path())


def lab_page_data(settings: Settings, run_id: str | None) -> dict[str, Any]:
    """What the training lab's page needs: the tasks, their architectures and defaults, the caps."""
    from server.schemas.train import TrainRequest

    return {
        "tasks": list(LAB_TASKS),
        "archs": LAB_ARCHS,
        "task_defaults": TASK_DEFAULTS,
        "defaults": TrainRequest().model_dump(),
        "max_steps": settings.train_max_steps,
        "model_idle_s": settings.lab_model_idle_s,  # how long a trained model stays served unused
        "text": lab_text(settings).is_file(),  # whether the shakespeare task can run here
        "run": run_id,
    }


def state_of(run: Run, registry: Registry) -> dict[str, Any]:
    return {
        "id": run.id,
        "model": run.name,
        "status": run.status,
        "step": run.step,
        "steps": run.steps,
        "reason": run.reason,
        "viewers": run.viewers,
        "settings": dataclasses.asdict(run.settings),
        "served": registry.get(run.name) is not None,
    }

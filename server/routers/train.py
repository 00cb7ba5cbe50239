"""The training lab's API: start a run, follow its events, pause / step / resume / stop it, read its state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from models.devices import resolve_device
from models.training.lab import TASK_DEFAULTS, LabSettings
from server.deps import RegistryDep, SettingsDep
from server.schemas.train import TrainControl, TrainRequest, TrainStarted, TrainState
from server.training import Run, Runs, lab_text, state_of

router = APIRouter(tags=["training lab"])
RunId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9a-f]+$")]


def runs_of(request: Request) -> Runs:
    return request.app.state.runs


RunsDep = Annotated[Runs, Depends(runs_of)]


def the_run(runs: RunsDep, run_id: RunId) -> Run:
    run = runs.get(run_id)
    if run is None:
        raise HTTPException(
            status_code=404, detail=f"no training run {run_id!r} (runs are kept while in use)"
        )
    return run


RunDep = Annotated[Run, Depends(the_run)]


@router.post(
    "/train",
    summary="Start a training-lab run",
    response_model=TrainStarted,
    responses={
        422: {"description": "a setting out of bounds, or one that does not fit the task"},
        503: {"description": "the server is training as many runs as it may; see Retry-After"},
    },
)
async def start_run(body: TrainRequest, runs: RunsDep, settings: SettingsDep) -> TrainStarted:
    """Checks the settings (422 naming the field), then takes a place (503 when none is free): the run
    trains in a worker thread of its own; follow it at ``events``."""
    steps = body.steps
    if steps is not None and steps > settings.train_max_steps:
        raise HTTPException(
            status_code=422, detail=f"steps: at most {settings.train_max_steps} on this server"
        )
    if body.task == "shakespeare" and not lab_text(settings).is_file():
        raise HTTPException(status_code=422, detail=f"task: shakespeare needs {lab_text(settings)}, not here")
    try:
        device = resolve_device(body.device)
    except ValueError as e:
        raise HTTPException(status_code=422, detail=f"device: {e}") from e
    if steps is None:  # the task's default, within this server's cap
        steps = min(TASK_DEFAULTS[body.task]["steps"], settings.train_max_steps)
    lab = LabSettings(**{**body.model_dump(), "device": device, "steps": steps})
    run = runs.start(lab)
    if run is None:
        raise HTTPException(
            status_code=503,
            detail=f"the server trains {settings.max_trainings} run(s) at once, its limit; try again soon",
            headers={"Retry-After": str(settings.retry_after_s)},
        )
    return TrainStarted(
        id=run.id, model=run.name, events=f"/api/train/{run.id}/events", page=f"/train/{run.id}"
    )


@router.get(
    "/train/{run_id}/events",
    summary="Follow a run: its history, then live Server-Sent Events",
    response_class=EventSourceResponse,
    responses={404: {"description": "unknown run"}},
)
async def run_events(run: RunDep, runs: RunsDep) -> AsyncIterator[ServerSentEvent]:
    """``start``, ``step`` (every step), ``eval`` and ``snapshot`` (about 40 times a run), ``done`` (or
    ``error`` then ``done``). A viewer who arrives late receives every earlier event first."""
    async for event, data in runs.follow(run):
        yield ServerSentEvent(data=data, event=event)


@router.post(
    "/train/{run_id}/control",
    summary="Pause, step, resume or stop a run",
    response_model=TrainState,
    responses={404: {"description": "unknown run"}, 409: {"description": "the run has ended"}},
)
async def control_run(body: TrainControl, run: RunDep, registry: RegistryDep) -> TrainState:
    if run.done:
        raise HTTPException(status_code=409, detail=f"run {run.id} has ended ({run.reason})")
    {
        "pause": run.control.pause,
        "resume": run.control.resume,
        "step": run.control.step,
        "stop": run.control.stop,
    }[body.action]()
    return TrainState(**state_of(run, registry))


@router.get(
    "/train/{run_id}",
    summary="A run's state",
    response_model=TrainState,
    responses={404: {"description": "unknown run"}},
)
async def get_run(run: RunDep, registry: RegistryDep) -> TrainState:
    return TrainState(**state_of(run, registry))

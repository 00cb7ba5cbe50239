"""Comparing the served models.

- ``GET /api/models/{name}/schedule``: how a model was trained, its learning-rate schedule. The
  metrics log records the learning rate only at each evaluation (every few hundred steps), too
  coarse to show a warm-up of a few hundred steps; this route evaluates the training code's own
  ``lr_at`` from the settings saved in the model's card.
- ``GET /api/compare-table``: the table ``playground compare --json`` wrote next to the models
  (``compare.json`` in the models folder), its rows filtered to the models served now.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ValidationError

from models.training.settings import SETTINGS, TrainSettings, lr_at
from server.deps import EVERY, RegistryDep, lookup

COMPARE_FILE = "compare.json"

router = APIRouter(tags=["models"])


class ScheduleResponse(BaseModel):
    model: str
    lr: float  # peak, reached at the end of warm-up
    min_lr: float  # floor of the cosine decay
    warmup: int  # steps of linear warm-up
    max_steps: int  # steps the run was set up for
    decay_steps: int  # step where the cosine reaches min_lr
    trained_steps: int | None  # steps the shipped weights actually saw
    steps: list[int]
    lrs: list[float]  # lr_at(step) for each of steps


@router.get(
    "/models/{name}/schedule",
    summary="A model's training schedule (learning rate per step)",
    response_model=ScheduleResponse,
    responses={404: {"description": "unknown model, or a card without training settings"}},
)
def schedule(
    registry: RegistryDep,
    name: Annotated[str, Path(max_length=100)],
    points: Annotated[int, Query(ge=2, le=5000, description="how many steps to evaluate")] = 400,
) -> ScheduleResponse:
    """The learning rate of every optimiser step (sampled at ``points`` steps, warm-up end included)."""
    entry = lookup(registry, name, EVERY)  # the schedule comes from the card: any model
    saved = entry.card.get("training")
    if not isinstance(saved, dict):
        raise HTTPException(status_code=404, detail=f"{name}'s card has no training settings")
    try:
        s = TrainSettings(**{k: v for k, v in saved.items() if k in SETTINGS})
    except (TypeError, ValueError) as e:
        raise HTTPException(status_code=404, detail=f"{name}'s training settings are unreadable: {e}") from e
    decay = s.max_steps if s.lr_decay_steps is None else s.lr_decay_steps
    last = max(s.max_steps, 1)
    marks = [0, s.warmup - 1, s.warmup, last - 1] if s.warmup else [0, last - 1]
    grid = np.unique(np.concatenate([np.linspace(0, last - 1, points).round(), marks]).astype(int))
    grid = grid[(grid >= 0) & (grid < last)]
    trained = entry.card.get("steps")
    return ScheduleResponse(
        model=entry.name,
        lr=s.lr,
        min_lr=s.min_lr,
        warmup=s.warmup,
        max_steps=s.max_steps,
        decay_steps=decay,
        trained_steps=trained if isinstance(trained, int) else None,
        steps=grid.tolist(),
        lrs=[lr_at(int(step), s) for step in grid],
    )


class CompareSpeed(BaseModel):
    backend: str
    tokens_per_s: float
    what: str  # which tokens were counted
    peak_rss_mib: float  # peak memory of the process that measured it


class CompareRow(BaseModel):
    name: str
    architecture: str
    task: str  # lm, mlm or numbers
    parameters: int
    quality: dict[str, float]  # val_loss/val_ppl/val_bpc, masked_loss/…/masked_top5, or exact_match
    quality_source: str = ""  # where the quality numbers come from
    speeds: list[CompareSpeed]
    file_bytes: int


class CompareTable(BaseModel):
    format: str
    generated: str  # when the table was measured (ISO 8601, UTC)
    machine: dict[str, Any]  # what it was measured on
    settings: dict[str, Any]
    backends: list[str]
    rows: list[CompareRow]  # served models only, in the order pages list them
    missing: list[str]  # served models the table has no row for (shipped after it was measured)


@router.get(
    "/compare-table",
    summary="The measured comparison table of every shipped model",
    response_model=CompareTable,
    responses={
        204: {"description": "no compare.json beside the models, asked with optional=true"},
        404: {"description": "no compare.json beside the models"},
    },
)
def compare_table(
    request: Request,
    registry: RegistryDep,
    optional: Annotated[bool, Query(description="answer 204 instead of 404 when there is no table")] = False,
) -> CompareTable | Response:
    """``playground compare``'s table of the served models: quality, speed and memory per backend."""
    path = request.app.state.settings.models_dir / COMPARE_FILE
    if not path.is_file():
        if optional:
            return Response(status_code=204)
        raise HTTPException(
            status_code=404,
            detail=f"no comparison table: {COMPARE_FILE} is not in the models folder; "
            f"`playground compare --json {COMPARE_FILE}` in it writes one",
        )
    try:
        table = CompareTable(**{**json.loads(path.read_text(encoding="utf-8")), "missing": []})
    except (ValueError, TypeError, ValidationError) as e:
        raise HTTPException(status_code=500, detail=f"{COMPARE_FILE} is unreadable: {e}") from e
    rows = {r.name: r for r in table.rows}
    table.rows = [rows[name] for name in registry.models if name in rows]
    table.missing = [name for name in registry.models if name not in rows]
    return table

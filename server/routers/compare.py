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
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response
from pydantic import ValidationError

from models.training.settings import SETTINGS, TrainSettings, lr_schedule
from server.deps import EVERY, RegistryDep, SettingsDep, lookup
from server.schemas import CompareTable, ScheduleResponse

COMPARE_FILE = "compare.json"

router = APIRouter(tags=["models"])


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
    steps, lrs = lr_schedule(s, points)
    trained = entry.card.get("steps")
    return ScheduleResponse(
        model=entry.name,
        lr=s.lr,
        min_lr=s.min_lr,
        warmup=s.warmup,
        max_steps=s.max_steps,
        decay_steps=s.decay_steps,
        trained_steps=trained if isinstance(trained, int) else None,
        steps=steps,
        lrs=lrs,
    )


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
    registry: RegistryDep,
    settings: SettingsDep,
    optional: Annotated[bool, Query(description="answer 204 instead of 404 when there is no table")] = False,
) -> CompareTable | Response:
    """``playground compare``'s table of the served models: quality, speed and memory per backend."""
    path = settings.models_dir / COMPARE_FILE
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

"""Which models are served: ``GET /api/models`` and ``GET /api/models/{name}``."""

from __future__ import annotations

import json

from fastapi import APIRouter, HTTPException, Path

from server.deps import EVERY, RegistryDep, lookup
from server.registry import METRICS_FILE, ModelEntry
from server.schemas import MetricsLog, ModelList, ModelSummary

router = APIRouter(tags=["models"])


def summary(entry: ModelEntry, backends: tuple[str, ...]) -> ModelSummary:
    return ModelSummary(
        name=entry.name,
        architecture=entry.architecture,
        parameters=entry.parameters,
        tokenizer=entry.tokenizer.kind,
        vocab_size=entry.config.vocab_size,
        context=entry.config.block_size,
        backends=list(backends),
        config=entry.config.to_dict(),
        card=entry.card,
    )


@router.get("/models", summary="Every served model", response_model=ModelList)
def list_models(registry: RegistryDep) -> ModelList:
    return ModelList(
        models=[summary(e, registry.backends) for e in registry.models.values()], unavailable=registry.errors
    )


@router.get(
    "/models/{name}",
    summary="One served model: architecture, config, card",
    response_model=ModelSummary,
    responses={404: {"description": "unknown model"}},
)
def get_model(registry: RegistryDep, name: str = Path(max_length=100)) -> ModelSummary:
    return summary(lookup(registry, name, EVERY), registry.backends)


@router.get(
    "/models/{name}/metrics",
    summary="A model's training log",
    response_model=MetricsLog,
    responses={404: {"description": "unknown model, or no metrics log shipped with it"}},
)
def get_metrics(registry: RegistryDep, name: str = Path(max_length=100)) -> MetricsLog:
    """The training run's metrics log (one record per evaluation): the loss curves the lessons plot."""
    entry = lookup(registry, name, EVERY)
    if entry.metrics is not None:  # a lab model's log, in memory
        return MetricsLog(model=name, records=entry.metrics)
    path = entry.directory / METRICS_FILE
    if not path.is_file():
        raise HTTPException(status_code=404, detail=f"{name} ships no {METRICS_FILE}")
    records = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise HTTPException(status_code=500, detail=f"{METRICS_FILE} line {n} is not JSON") from e
    return MetricsLog(model=name, records=records)

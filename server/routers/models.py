"""Which models are served: ``GET /api/models`` and ``GET /api/models/{name}``."""

from __future__ import annotations

from fastapi import APIRouter, Path

from server.deps import RegistryDep, lookup
from server.registry import ModelEntry
from server.schemas import ModelList, ModelSummary

router = APIRouter(prefix="/api", tags=["models"])


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


@router.get("/models", response_model=ModelList)
def list_models(registry: RegistryDep) -> ModelList:
    return ModelList(
        models=[summary(e, registry.backends) for e in registry.models.values()], unavailable=registry.errors
    )


@router.get("/models/{name}", response_model=ModelSummary, responses={404: {"description": "unknown model"}})
def get_model(registry: RegistryDep, name: str = Path(max_length=100)) -> ModelSummary:
    return summary(lookup(registry, name), registry.backends)

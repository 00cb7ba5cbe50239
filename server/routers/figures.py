"""Figures computed from a model's own code: ``POST /api/masks`` and ``GET /api/positional``."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Query

from models.explain import cosine_similarity
from models.lessons import batch_masks, position_vectors
from server.deps import RegistryDep, batch_ids, lookup, padded_tokens
from server.rounding import rounded
from server.schemas import MasksRequest, MasksResponse, PositionalResponse

router = APIRouter(tags=["figures"])


@router.post(
    "/masks",
    summary="Padding, causal and combined masks of a real padded batch",
    response_model=MasksResponse,
    responses={404: {"description": "unknown model"}},
)
def masks(body: MasksRequest, registry: RegistryDep) -> MasksResponse:
    """The masks of a real batch of unequal prompts, built by the same functions the twins run."""
    entry = lookup(registry, body.model)
    m = batch_masks(batch_ids(entry, body.texts))
    return MasksResponse(
        tokens=padded_tokens(entry.tokenizer, m.ids, m.padding),
        padding=m.padding.tolist(),
        positions=m.positions.tolist(),
        causal=m.causal.tolist(),
        combined=m.combined.tolist(),
    )


@router.get(
    "/positional",
    summary="Positional encodings and their position-similarity matrix",
    response_model=PositionalResponse,
    responses={404: {"description": "unknown model"}},
)
async def positional(
    registry: RegistryDep,
    kind: Annotated[Literal["sinusoidal", "learned"], Query()] = "sinusoidal",
    model: Annotated[str | None, Query(max_length=100)] = None,
    positions: Annotated[int, Query(ge=1, le=1024)] = 64,
    dims: Annotated[int, Query(ge=2, le=1024, description="sinusoid width when no model is named")] = 64,
) -> PositionalResponse:
    """Position vectors (fixed sinusoids, or a model's learned table) and their cosine similarity."""
    entry = lookup(registry, model) if model is not None else None
    if entry is not None:
        dims, positions = entry.config.n_embd, min(positions, entry.config.block_size)
    twin = None
    if kind == "learned":
        if entry is None or entry.config.pos != "learned":
            raise HTTPException(status_code=422, detail="model: name a model with learned positions")
        twin = await anyio.to_thread.run_sync(entry.model, "numpy")
    elif dims % 2:
        raise HTTPException(
            status_code=422, detail="dims: sinusoids come in sin/cos pairs, use an even width"
        )
    vectors = position_vectors(kind, positions, dims, twin)
    return PositionalResponse(
        kind=kind,
        model=entry.name if entry else None,
        vectors=rounded(vectors),
        similarity=rounded(cosine_similarity(vectors)),
    )

"""Figures computed from a model's own code: ``POST /api/masks`` and ``GET /api/positional``."""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException, Query

from models.batch import pad_batch
from models.explain import cosine_similarity
from models.gpt_numpy import attention_mask, position_ids, sinusoidal_positions
from server.deps import RegistryDep, encode, lookup
from server.schemas import MasksRequest, MasksResponse, PositionalResponse

router = APIRouter(tags=["figures"])
DECIMALS = 4


@router.post(
    "/masks",
    summary="Padding, causal and combined masks of a real padded batch",
    response_model=MasksResponse,
    responses={404: {"description": "unknown model"}},
)
def masks(body: MasksRequest, registry: RegistryDep) -> MasksResponse:
    """The masks of a real batch of unequal prompts, built by the same functions the twins run."""
    entry = lookup(registry, body.model)
    seqs = [encode(entry, text, f"texts[{i}]") for i, text in enumerate(body.texts)]
    if any(not s for s in seqs):
        raise HTTPException(status_code=422, detail="texts: every prompt needs at least one token")
    ids, padding = pad_batch(seqs)
    B, T = ids.shape
    causal = np.tril(np.ones((T, T), dtype=bool))
    combined = attention_mask(causal, padding, B, T, 0)  # (B, T, T)
    strings = np.array(entry.tokenizer.token_strings(ids.reshape(-1)), dtype=object).reshape(B, T)
    tokens = np.where(padding == 1, strings, None).tolist()
    return MasksResponse(
        tokens=tokens,
        padding=padding.tolist(),
        positions=position_ids(combined).tolist(),
        causal=causal.tolist(),
        combined=combined.tolist(),
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
    if kind == "learned":
        if entry is None or entry.config.pos != "learned":
            raise HTTPException(status_code=422, detail="model: name a model with learned positions")
        twin = await anyio.to_thread.run_sync(entry.model, "numpy")
        vectors = twin.wpe[:positions].astype(np.float64)
    else:
        if dims % 2:
            raise HTTPException(
                status_code=422, detail="dims: sinusoids come in sin/cos pairs, use an even width"
            )
        vectors = sinusoidal_positions(np.arange(positions), dims)
    return PositionalResponse(
        kind=kind,
        model=entry.name if entry else None,
        vectors=np.round(vectors, DECIMALS).tolist(),
        similarity=np.round(cosine_similarity(vectors), DECIMALS).tolist(),
    )

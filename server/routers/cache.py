"""What the KV cache keeps and what it saves: ``POST /api/kv-cache``.

The same greedy continuation is generated twice on the chosen twin (``models.measure.cache_race``):
once with the cache (``forward_cached``: the prompt once, then one new token per step against the
kept keys and values), once without it (``forward`` over the whole sequence again at every step).
The tokens must be identical; what differs is the time each step takes, and the cache's size.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from models.measure import cache_race
from server.deps import RegistryDep, encode, lookup
from server.heavy import HEAVY, encoded
from server.rounding import MS_DECIMALS, rounded
from server.schemas import CacheLayer, CacheRequest, CacheResponse

router = APIRouter(tags=["kv-cache"], dependencies=[HEAVY])


@router.post(
    "/kv-cache",
    summary="Greedy generation with and without the KV cache: same tokens, time per step, cache size",
    response_model=CacheResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text or n"}},
)
def kv_cache(body: CacheRequest, registry: RegistryDep) -> CacheResponse:
    """Generate ``n`` greedy tokens with and without the KV cache; per-step times and the cache's shapes."""
    entry = lookup(registry, body.model)
    ids = encode(entry, body.text)
    block = entry.config.block_size
    if len(ids) + body.n - 1 > block:
        raise HTTPException(
            status_code=422,
            detail=f"n: {len(ids)} prompt tokens + {body.n} new tokens exceed the model's context of {block}"
            f" (at most {block - len(ids) + 1} new tokens for this text)",
        )
    model = entry.model(body.backend)
    race = cache_race(model, ids, body.n)
    return encoded(
        CacheResponse(
            model=entry.name,
            backend=body.backend,
            prompt_tokens=len(ids),
            ids=race.ids,
            tokens=entry.tokenizer.token_strings(race.ids),
            ids_uncached=race.ids_uncached,
            identical=race.identical,
            cached_ms=rounded(race.cached_ms, MS_DECIMALS),
            uncached_ms=rounded(race.uncached_ms, MS_DECIMALS),
            cached_positions=race.cached_positions,
            uncached_positions=race.uncached_positions,
            dtype=race.dtype,
            layers=[
                CacheLayer(layer=i, k_shape=list(x.k_shape), v_shape=list(x.v_shape), bytes=x.bytes)
                for i, x in enumerate(race.layers)
            ],
            total_bytes=race.total_bytes,
        )
    )

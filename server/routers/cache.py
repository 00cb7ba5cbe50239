"""What the KV cache keeps and what it saves: ``POST /api/kv-cache``.

The same greedy continuation is generated twice on the chosen twin: once with the cache
(``forward_cached``: the prompt once, then one new token per step against the kept keys and
values), once without it (``forward`` over the whole sequence again at every step). The tokens
must be identical; what differs is the time each step takes, and the cache's size.
"""

from __future__ import annotations

import time
from typing import Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from models.trace import to_numpy
from server.deps import RegistryDep, encode, lookup
from server.schemas import MODEL_NAME

router = APIRouter(tags=["kv-cache"])
MAX_STEPS = 64


class CacheRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000, description="the prompt to continue")
    backend: Literal["torch", "numpy"] = "numpy"
    n: int = Field(32, ge=1, le=MAX_STEPS, description="how many tokens to generate (greedy)")


class CacheLayer(BaseModel):
    layer: int
    k_shape: list[int]  # (B, nh, Tk, hs)
    v_shape: list[int]  # (B, nh, Tk, hs)
    bytes: int  # K and V together


class CacheResponse(BaseModel):
    model: str
    backend: str
    prompt_tokens: int
    ids: list[int]  # the generated ids (identical both ways when ``identical``)
    tokens: list[str]
    ids_uncached: list[int]
    identical: bool
    cached_ms: list[float]  # wall time of each step with the cache (step 0 runs the whole prompt)
    uncached_ms: list[float]  # ... and without it
    cached_positions: list[int]  # tokens each step runs through the model with the cache
    uncached_positions: list[int]  # ... and without it
    dtype: str
    layers: list[CacheLayer]  # the cache after the last step
    total_bytes: int


def measure(model, prompt: list[int], n: int) -> dict:
    """Greedy decoding with and without the cache, every step timed; the two alternate step by step,
    so both see the same load on the machine."""
    cached_ms, uncached_ms, cached_ids, past = [], [], [], None
    feed, seq = np.asarray([prompt]), list(prompt)
    with model.inference_context():
        model.forward(feed)  # warm-up, untimed: first calls pay for allocation and thread start-up
        for _ in range(n):
            start = time.perf_counter()
            logits, past, _ = model.forward_cached(feed, past)  # (1, T, V), the cache grows by T
            token = int(np.argmax(to_numpy(logits[0, -1])))
            cached_ms.append((time.perf_counter() - start) * 1000)
            cached_ids.append(token)
            feed = np.asarray([[token]])

            start = time.perf_counter()
            logits = model.forward(np.asarray([seq]))  # (1, T, V): the whole sequence again
            seq.append(int(np.argmax(to_numpy(logits[0, -1]))))
            uncached_ms.append((time.perf_counter() - start) * 1000)
    return {
        "cached_ms": cached_ms,
        "ids": cached_ids,
        "uncached_ms": uncached_ms,
        "ids_uncached": seq[len(prompt) :],
        "past": past,
    }


@router.post(
    "/kv-cache",
    summary="Greedy generation with and without the KV cache: same tokens, time per step, cache size",
    response_model=CacheResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text or n"}},
)
async def kv_cache(body: CacheRequest, registry: RegistryDep) -> CacheResponse:
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
    model = await anyio.to_thread.run_sync(entry.model, body.backend)
    r = await anyio.to_thread.run_sync(measure, model, ids, body.n)
    layers = [
        CacheLayer(layer=i, k_shape=list(k.shape), v_shape=list(v.shape), bytes=int(k.nbytes) + int(v.nbytes))
        for i, (k, v) in enumerate(r["past"])
    ]
    return CacheResponse(
        model=entry.name,
        backend=body.backend,
        prompt_tokens=len(ids),
        ids=r["ids"],
        tokens=entry.tokenizer.token_strings(r["ids"]),
        ids_uncached=r["ids_uncached"],
        identical=r["ids"] == r["ids_uncached"],
        cached_ms=[round(x, 3) for x in r["cached_ms"]],
        uncached_ms=[round(x, 3) for x in r["uncached_ms"]],
        cached_positions=[len(ids)] + [1] * (body.n - 1),
        uncached_positions=[len(ids) + i for i in range(body.n)],
        dtype=str(r["past"][0][0].dtype).removeprefix("torch."),
        layers=layers,
        total_bytes=sum(x.bytes for x in layers),
    )

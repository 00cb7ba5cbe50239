"""What the sampler does to one next-token distribution: ``POST /api/sampler``.

The playground's sampler panel and the sampling lesson redraw from this while a slider moves:
the prompt's next-token logits go through the one NumPy sampler (``filtered_distribution``),
and every stage's probabilities come back for the same tokens, so a bar can be followed from
the raw model through temperature, top-k and top-p.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel, Field

from models.sampling import MIN_PENALTY, STAGES, SamplingParams, filtered_distribution
from models.trace import to_numpy
from server.deps import ANY, RegistryDep, encode, lookup
from server.registry import ModelEntry
from server.schemas import MODEL_NAME

router = APIRouter(tags=["sampler"])


class SamplerRequest(BaseModel):
    model: str = MODEL_NAME
    prompt: str = Field(min_length=1, max_length=4000, description="the text whose next token is drawn")
    backend: Literal["torch", "numpy"] = "numpy"
    temperature: float = Field(0.8, ge=0, le=5, description="0 = greedy")
    top_k: int = Field(0, ge=0, le=1_000_000, description="0 = off")
    top_p: float = Field(1.0, gt=0, le=1, description="1 = off")
    repetition_penalty: float = Field(1.0, ge=MIN_PENALTY, le=5, description="1 = off")
    n: int = Field(30, ge=1, le=200, description="how many tokens to report (the model's most likely first)")


class StageOut(BaseModel):
    name: str  # model | penalty | temperature | top_k | top_p
    probs: list[float]  # probability of each reported token after this stage
    kept: int  # tokens with probability > 0 after this stage
    entropy_bits: float  # of the whole distribution after this stage


class SamplerResponse(BaseModel):
    model: str
    backend: str
    ids: list[int]  # the reported tokens, most likely under the model first
    tokens: list[str]
    logits: list[float]  # their raw logits
    stages: list[StageOut]  # in the order the sampler applies them; the last is what is sampled


def entropy_bits(p: np.ndarray) -> float:
    nz = p[p > 0]
    return float(-(nz * np.log2(nz)).sum())


@lru_cache(maxsize=256)
def next_logits(entry: ModelEntry, backend: str, ids: tuple[int, ...]) -> np.ndarray:
    """The last position's logits (float64), cached: a dragged slider re-asks for the same prompt."""
    model = entry.model(backend)
    with model.inference_context():
        logits = model.forward(np.asarray([ids]))
    return to_numpy(logits[0, -1]).astype(np.float64)


@router.post(
    "/sampler",
    summary="The sampler's stages: temperature, top-k, top-p, repetition penalty",
    response_model=SamplerResponse,
    responses={404: {"description": "unknown model"}},
)
async def sampler(body: SamplerRequest, registry: RegistryDep) -> SamplerResponse:
    entry = lookup(registry, body.model, ANY)
    ids = encode(entry, body.prompt, "prompt")
    logits = await anyio.to_thread.run_sync(next_logits, entry, body.backend, tuple(ids))
    params = SamplingParams(body.temperature, body.top_k, body.top_p, body.repetition_penalty)
    dists = filtered_distribution(logits, params, history=ids)
    shown = np.argsort(-dists["model"], kind="stable")[: body.n]
    return SamplerResponse(
        model=entry.name,
        backend=body.backend,
        ids=shown.tolist(),
        tokens=entry.tokenizer.token_strings(shown.tolist()),
        logits=np.round(logits[shown], 4).tolist(),
        stages=[
            StageOut(
                name=name,
                probs=np.round(dists[name][shown], 6).tolist(),
                kept=int(np.count_nonzero(dists[name])),
                entropy_bits=round(entropy_bits(dists[name]), 4),
            )
            for name in STAGES
        ],
    )

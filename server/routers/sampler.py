"""What the sampler does to one next-token distribution: ``POST /api/sampler``.

The playground's sampler panel and the sampling lesson redraw from this while a slider moves:
the prompt's next-token logits go through the one NumPy sampler (``models.sampling.sampler_stages``
runs ``filtered_distribution``), and every stage's probabilities come back for the same tokens, so a
bar can be followed from the raw model through temperature, top-k and top-p.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from fastapi import APIRouter

from models.explain import last_logits
from models.sampling import sampler_stages
from server.deps import ANY, RegistryDep, encode, lookup
from server.heavy import HEAVY, encoded
from server.registry import ModelEntry
from server.rounding import DECIMALS, SCALAR_DECIMALS, rounded
from server.schemas import SamplerRequest, SamplerResponse, StageOut

router = APIRouter(tags=["sampler"], dependencies=[HEAVY])


@lru_cache(maxsize=256)
def next_logits(entry: ModelEntry, backend: str, ids: tuple[int, ...]) -> np.ndarray:
    """The last position's logits, cached: a dragged slider re-asks for the same prompt."""
    return last_logits(entry.model(backend), list(ids))


@router.post(
    "/sampler",
    summary="The sampler's stages: temperature, top-k, top-p, repetition penalty",
    response_model=SamplerResponse,
    responses={404: {"description": "unknown model"}},
)
def sampler(body: SamplerRequest, registry: RegistryDep) -> SamplerResponse:
    entry = lookup(registry, body.model, ANY)
    ids = encode(entry, body.prompt, "prompt")
    logits = next_logits(entry, body.backend, tuple(ids))
    shown, stages = sampler_stages(logits, body.sampling_params(), history=ids, n=body.n)
    return encoded(
        SamplerResponse(
            model=entry.name,
            backend=body.backend,
            ids=shown.tolist(),
            tokens=entry.tokenizer.token_strings(shown.tolist()),
            logits=rounded(logits[shown], DECIMALS),
            stages=[
                StageOut(
                    name=s.name,
                    probs=rounded(s.probs, SCALAR_DECIMALS),
                    kept=s.kept,
                    entropy_bits=rounded(s.entropy_bits, DECIMALS),
                )
                for s in stages
            ],
        )
    )

"""One input, every number a lesson step needs: ``POST /api/trace``."""

from __future__ import annotations

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException

from models.explain import explain, top_k
from models.sampling import softmax
from server.deps import RegistryDep, encode, lookup
from server.schemas import LensEntry, TraceRequest, TraceResponse

router = APIRouter(prefix="/api", tags=["trace"])
DECIMALS = 4
NEXT_TOKENS = 20


def rounded(a: np.ndarray) -> list:
    """Nested lists rounded to ``DECIMALS``; -inf (a masked score) becomes None."""
    a = np.round(np.asarray(a, dtype=np.float64), DECIMALS)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


@router.post(
    "/trace",
    response_model=TraceResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text, layer or head"}},
)
async def trace(body: TraceRequest, registry: RegistryDep) -> TraceResponse:
    entry = lookup(registry, body.model)
    tok = entry.tokenizer
    ids = encode(entry, body.text)
    cfg = entry.config
    problems = []
    if body.layer >= cfg.n_layer:
        problems.append(f"layer: the model has layers 0..{cfg.n_layer - 1}")
    if body.head >= cfg.n_head:
        problems.append(f"head: the model has heads 0..{cfg.n_head - 1}")
    if problems:
        raise HTTPException(status_code=422, detail="; ".join(problems))
    model = await anyio.to_thread.run_sync(entry.model, body.backend)
    ex = await anyio.to_thread.run_sync(explain, model, ids, body.layer, body.head, body.top_k)
    vocab = tok.token_strings(range(cfg.vocab_size))

    def entries(token_ids: np.ndarray, probs: np.ndarray) -> list[LensEntry]:
        pairs = zip(token_ids, probs, strict=True)
        return [LensEntry(id=int(i), token=vocab[i], prob=round(float(p), 6)) for i, p in pairs]

    next_ids, next_probs = top_k(softmax(ex.next_logits), NEXT_TOKENS)
    return TraceResponse(
        model=entry.name,
        backend=body.backend,
        ids=ids,
        tokens=tok.token_strings(ids),
        positions=ex.positions.tolist(),
        tok_emb=rounded(ex.tok_emb),
        pos_emb=rounded(ex.pos_emb),
        layer=ex.layer,
        head=ex.head,
        q=rounded(ex.q),
        k=rounded(ex.k),
        v=rounded(ex.v),
        scores=rounded(ex.scores),
        mask=ex.mask.tolist(),
        attention=rounded(ex.attention),
        mlp_mean=rounded(ex.mlp_mean),
        mlp_active=rounded(ex.mlp_active),
        residual_norm=rounded(ex.residual_norm),
        logit_lens=[
            [entries(i, p) for i, p in zip(li, lp, strict=True)]
            for li, lp in zip(ex.lens_ids, ex.lens_probs, strict=True)
        ],
        next_token=entries(next_ids, next_probs),
        next_logits=rounded(ex.next_logits),
    )

"""Numbers two lesson steps need beyond ``/api/trace``, read from the twins themselves.

``POST /api/lessons/qkv``: the attention's input x and the head's slices of W_q, W_k, W_v (and
biases), so a reader can check q = x · W_q + b_q by hand. ``POST /api/lessons/padded``: a real
left-padded batch run through the model, the chosen head's attention, and each prompt run alone,
so the page can show that padded keys get exactly zero weight and padding changes nothing else.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from models.batch import pad_batch
from server.deps import RegistryDep, encode, lookup
from server.registry import ModelEntry
from server.routers.trace import rounded
from server.schemas import MODEL_NAME

router = APIRouter(tags=["lessons"])


class LayerHead(BaseModel):
    model: str = MODEL_NAME
    layer: int = Field(0, ge=0)
    head: int = Field(0, ge=0)
    backend: Literal["numpy"] = "numpy"


class QKVRequest(LayerHead):
    text: str = Field(min_length=1, max_length=4000)


class QKVResponse(BaseModel):
    """x (T, C) is what the attention reads: LN(residual) in a pre-LN block, the residual in a post-LN one."""

    model: str
    layer: int
    head: int
    norm: str  # "pre" or "post"
    tokens: list[str]
    x: list[list[float]]  # (T, C)
    w_q: list[list[float]]  # (C, hs) this head's columns of c_attn
    w_k: list[list[float]]
    w_v: list[list[float]]
    b_q: list[float] | None  # (hs,) or None without biases
    b_k: list[float] | None
    b_v: list[float] | None
    q: list[list[float]]  # (T, hs) as the model computed them
    k: list[list[float]]
    v: list[list[float]]


class PaddedRequest(LayerHead):
    texts: list[Annotated[str, Field(max_length=4000)]] = Field(
        min_length=1, max_length=4, description="a batch of unequal prompts"
    )


class PaddedResponse(BaseModel):
    model: str
    layer: int
    head: int
    tokens: list[list[str | None]]  # (B, T) left-padded; None where padding
    padding: list[list[int]]  # (B, T) 1 real, 0 padding
    positions: list[list[int]]  # (B, T) as the model numbers them
    attention: list[list[list[float]]]  # (B, T, T) the chosen head, run as one padded batch
    alone: list[list[list[float]]]  # per prompt (T_b, T_b): the same head, the prompt run by itself
    pad_weight: float  # total weight real queries give padded keys (exactly 0)
    max_change: float  # largest |batched - alone| over the real tokens' weights


def check_layer_head(entry: ModelEntry, body: LayerHead) -> None:
    cfg = entry.config
    problems = []
    if body.layer >= cfg.n_layer:
        problems.append(f"layer: the model has layers 0..{cfg.n_layer - 1}")
    if body.head >= cfg.n_head:
        problems.append(f"head: the model has heads 0..{cfg.n_head - 1}")
    if problems:
        raise HTTPException(status_code=422, detail="; ".join(problems))


def maybe(a: np.ndarray | None) -> list | None:
    return None if a is None else rounded(a)


@router.post(
    "/lessons/qkv",
    summary="The attention input and one head's slices of W_q, W_k, W_v, to check q = x·W_q + b_q by hand",
    response_model=QKVResponse,
    responses={404: {"description": "unknown model"}},
)
async def qkv(body: QKVRequest, registry: RegistryDep) -> QKVResponse:
    entry = lookup(registry, body.model)
    check_layer_head(entry, body)
    ids = encode(entry, body.text)
    twin = await anyio.to_thread.run_sync(entry.model, "numpy")
    _, tr = await anyio.to_thread.run_sync(lambda: twin.forward(np.asarray([ids]), trace=True))
    block = twin.h[body.layer]
    residual = tr.residual[body.layer]  # (1, T, C) the block's input
    x = block.ln_1(residual) if block.norm == "pre" else residual  # what c_attn reads
    C, hs = entry.config.n_embd, entry.config.n_embd // entry.config.n_head
    cols = [slice(part * C + body.head * hs, part * C + (body.head + 1) * hs) for part in range(3)]
    w, b = block.attn.c_attn.weight, block.attn.c_attn.bias  # (C, 3C), (3C,)
    return QKVResponse(
        model=entry.name,
        layer=body.layer,
        head=body.head,
        norm=block.norm,
        tokens=entry.tokenizer.token_strings(ids),
        x=rounded(x[0]),
        w_q=rounded(w[:, cols[0]]),
        w_k=rounded(w[:, cols[1]]),
        w_v=rounded(w[:, cols[2]]),
        b_q=maybe(None if b is None else b[cols[0]]),
        b_k=maybe(None if b is None else b[cols[1]]),
        b_v=maybe(None if b is None else b[cols[2]]),
        q=rounded(tr.q[body.layer, 0, body.head]),
        k=rounded(tr.k[body.layer, 0, body.head]),
        v=rounded(tr.v[body.layer, 0, body.head]),
    )


@router.post(
    "/lessons/padded",
    summary="A left-padded batch beside each prompt alone: padded keys get zero weight",
    response_model=PaddedResponse,
    responses={404: {"description": "unknown model"}},
)
async def padded(body: PaddedRequest, registry: RegistryDep) -> PaddedResponse:
    entry = lookup(registry, body.model)
    check_layer_head(entry, body)
    seqs = [encode(entry, text, f"texts[{i}]") for i, text in enumerate(body.texts)]
    if any(not s for s in seqs):
        raise HTTPException(status_code=422, detail="texts: every prompt needs at least one token")
    ids, padding = pad_batch(seqs)
    twin = await anyio.to_thread.run_sync(entry.model, "numpy")
    L, H = body.layer, body.head

    def run() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        _, tr = twin.forward(ids, padding_mask=padding, trace=True)
        alone = [twin.forward(np.asarray([s]), trace=True)[1].att_probs[L, 0, H] for s in seqs]
        return tr.att_probs[L, :, H], tr.positions, alone

    att, positions, alone = await anyio.to_thread.run_sync(run)  # (B, T, T)
    real = padding.astype(bool)  # (B, T)
    pad_weight = float(np.sum(att * (real[:, :, None] & ~real[:, None, :])))
    T = ids.shape[1]
    change = max(
        float(np.max(np.abs(att[b, T - len(s) :, T - len(s) :] - alone[b]))) for b, s in enumerate(seqs)
    )
    strings = np.array(entry.tokenizer.token_strings(ids.reshape(-1)), dtype=object).reshape(ids.shape)
    return PaddedResponse(
        model=entry.name,
        layer=L,
        head=H,
        tokens=np.where(real, strings, None).tolist(),
        padding=padding.tolist(),
        positions=np.asarray(positions).tolist(),
        attention=rounded(att),
        alone=[rounded(a) for a in alone],
        pad_weight=pad_weight,
        max_change=change,
    )

"""LayerNorm on one real vector: ``POST /api/layernorm``.

The feed-forward lesson works one LayerNorm through by hand: the vector the NumPy twin feeds
to block ``layer``'s first LayerNorm for one token, its mean and variance, the normalised
vector (``layer_norm`` without gain and bias) and the output (with the block's own gain and
bias). Pre-LN feeds it the residual stream entering the block; post-LN feeds it that stream plus
the block's attention output.
"""

from __future__ import annotations

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from models.gpt_numpy import layer_norm
from server.deps import RegistryDep, encode, lookup
from server.schemas import MODEL_NAME

router = APIRouter(tags=["blocks"])
DECIMALS = 4


class LayerNormRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=4000, description="the input")
    layer: int = Field(0, ge=0, description="the block whose first LayerNorm (ln_1) is worked through")
    position: int = Field(-1, ge=-1, description="the token; -1 = the last")


class LayerNormResponse(BaseModel):
    model: str
    norm: str  # "pre" or "post"
    layer: int
    position: int
    token: str
    eps: float
    input: list[float]  # (C,) the vector ln_1 receives
    mean: float
    var: float  # biased: divides by C
    std: float  # sqrt(var + eps)
    normalised: list[float]  # (C,) (x - mean) / std
    normalised_mean: float
    normalised_var: float
    weight: list[float] | None  # (C,) gain γ
    bias: list[float] | None  # (C,) shift β
    output: list[float]  # (C,) γ · normalised + β: what the block uses


def r(x) -> list[float] | float:
    return np.round(np.asarray(x, dtype=np.float64), DECIMALS).tolist()


def work_through(model, ids: list[int], layer: int, position: int) -> dict:
    """The input of block ``layer``'s ln_1 at ``position`` and every number LayerNorm makes of it."""
    with model.inference_context():
        _, tr = model.forward(np.asarray([ids]), trace=True)
    block = model.h[layer]
    x = tr.residual[layer]  # (1, T, C) entering the block
    if block.norm == "post":  # post-LN normalises x + attention(x)
        x = x + block.attn(x, tr.mask)[0]
    x = x[0, position]  # (C,)
    ln = block.ln_1
    normalised = layer_norm(x, None, None, ln.eps)
    return {
        "eps": ln.eps,
        "input": x,
        "mean": float(np.mean(x)),
        "var": float(np.var(x)),
        "std": float(np.sqrt(np.var(x) + ln.eps)),
        "normalised": normalised,
        "normalised_mean": float(np.mean(normalised)),
        "normalised_var": float(np.var(normalised)),
        "weight": ln.weight,
        "bias": ln.bias,
        "output": ln(x),
    }


@router.post(
    "/layernorm",
    summary="One LayerNorm worked through: mean, variance, normalised vector, output",
    response_model=LayerNormResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text, layer or position"}},
)
async def layernorm(body: LayerNormRequest, registry: RegistryDep) -> LayerNormResponse:
    """One token's vector through block ``layer``'s first LayerNorm, step by step (NumPy twin)."""
    entry = lookup(registry, body.model)
    ids = encode(entry, body.text)
    cfg = entry.config
    problems = []
    if body.layer >= cfg.n_layer:
        problems.append(f"layer: the model has layers 0..{cfg.n_layer - 1}")
    if body.position >= len(ids):
        problems.append(f"position: the text has positions 0..{len(ids) - 1}")
    if problems:
        raise HTTPException(status_code=422, detail="; ".join(problems))
    position = body.position if body.position >= 0 else len(ids) - 1
    model = await anyio.to_thread.run_sync(entry.model, "numpy")
    w = await anyio.to_thread.run_sync(work_through, model, ids, body.layer, position)
    return LayerNormResponse(
        model=entry.name,
        norm=cfg.norm,
        layer=body.layer,
        position=position,
        token=entry.tokenizer.token_strings([ids[position]])[0],
        eps=w["eps"],
        input=r(w["input"]),
        mean=round(w["mean"], 6),
        var=round(w["var"], 6),
        std=round(w["std"], 6),
        normalised=r(w["normalised"]),
        normalised_mean=round(w["normalised_mean"], 6),
        normalised_var=round(w["normalised_var"], 6),
        weight=None if w["weight"] is None else r(w["weight"]),
        bias=None if w["bias"] is None else r(w["bias"]),
        output=r(w["output"]),
    )

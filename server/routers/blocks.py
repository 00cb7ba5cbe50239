"""LayerNorm on one real vector: ``POST /api/layernorm``.

The feed-forward lesson works one LayerNorm through by hand: the vector the NumPy twin feeds
to block ``layer``'s first LayerNorm for one token, its mean and variance, the normalised
vector (``layer_norm`` without gain and bias) and the output (with the block's own gain and
bias), all from ``models.lessons.layernorm_work_through``.
"""

from __future__ import annotations

from fastapi import APIRouter

from models.lessons import layernorm_work_through
from server.deps import RegistryDep, check_layer_head, encode, lookup
from server.heavy import HEAVY, encoded
from server.rounding import SCALAR_DECIMALS, maybe_rounded, rounded
from server.schemas import LayerNormRequest, LayerNormResponse

router = APIRouter(tags=["blocks"], dependencies=[HEAVY])


@router.post(
    "/layernorm",
    summary="One LayerNorm worked through: mean, variance, normalised vector, output",
    response_model=LayerNormResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text, layer or position"}},
)
def layernorm(body: LayerNormRequest, registry: RegistryDep) -> LayerNormResponse:
    """One token's vector through block ``layer``'s first LayerNorm, step by step (NumPy twin)."""
    entry = lookup(registry, body.model)
    ids = encode(entry, body.text)
    outside = (f"position: the text has positions 0..{len(ids) - 1}",) if body.position >= len(ids) else ()
    check_layer_head(entry, body.layer, more=outside)
    position = body.position if body.position >= 0 else len(ids) - 1
    model = entry.model("numpy")
    w = layernorm_work_through(model, ids, body.layer, position)
    return encoded(
        LayerNormResponse(
            model=entry.name,
            norm=entry.config.norm,
            layer=body.layer,
            position=position,
            token=entry.tokenizer.token_strings([ids[position]])[0],
            eps=w.eps,
            input=rounded(w.input),
            mean=rounded(w.mean, SCALAR_DECIMALS),
            var=rounded(w.var, SCALAR_DECIMALS),
            std=rounded(w.std, SCALAR_DECIMALS),
            normalised=rounded(w.normalised),
            normalised_mean=rounded(w.normalised_mean, SCALAR_DECIMALS),
            normalised_var=rounded(w.normalised_var, SCALAR_DECIMALS),
            weight=maybe_rounded(w.weight),
            bias=maybe_rounded(w.bias),
            output=rounded(w.output),
        )
    )

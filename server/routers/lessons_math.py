"""Numbers two lesson steps need beyond ``/api/trace``, read from the twins themselves.

``POST /api/lessons/qkv``: the attention's input x and the head's slices of W_q, W_k, W_v (and
biases), so a reader can check q = x · W_q + b_q by hand. ``POST /api/lessons/padded``: a real
left-padded batch run through the model, the chosen head's attention, and each prompt run alone,
so the page can show that padded keys get exactly zero weight and padding changes nothing else.
``POST /api/lessons/attention-output``: one layer's per-head outputs (weights × values), their
concatenation, c_proj's weights and output, and the residual stream before and after.
The numbers come from ``models.lessons``.
"""

from __future__ import annotations

from fastapi import APIRouter

from models.lessons import attention_output_by_hand, padded_attention, qkv_by_hand
from server.deps import RegistryDep, batch_ids, check_layer_head, encode, lookup, padded_tokens
from server.heavy import HEAVY, encoded
from server.rounding import maybe_rounded, rounded
from server.schemas import (
    AttentionOutputRequest,
    AttentionOutputResponse,
    PaddedRequest,
    PaddedResponse,
    QKVRequest,
    QKVResponse,
)

router = APIRouter(tags=["lessons"], dependencies=[HEAVY])


@router.post(
    "/lessons/qkv",
    summary="The attention input and one head's slices of W_q, W_k, W_v, to check q = x·W_q + b_q by hand",
    response_model=QKVResponse,
    responses={404: {"description": "unknown model"}},
)
def qkv(body: QKVRequest, registry: RegistryDep) -> QKVResponse:
    entry = lookup(registry, body.model)
    check_layer_head(entry, body.layer, body.head)
    ids = encode(entry, body.text)
    twin = entry.model("numpy")
    w = qkv_by_hand(twin, ids, body.layer, body.head)
    return encoded(
        QKVResponse(
            model=entry.name,
            layer=body.layer,
            head=body.head,
            norm=w.norm,
            tokens=entry.tokenizer.token_strings(ids),
            x=rounded(w.x),
            w_q=rounded(w.w_q),
            w_k=rounded(w.w_k),
            w_v=rounded(w.w_v),
            b_q=maybe_rounded(w.b_q),
            b_k=maybe_rounded(w.b_k),
            b_v=maybe_rounded(w.b_v),
            q=rounded(w.q),
            k=rounded(w.k),
            v=rounded(w.v),
        )
    )


@router.post(
    "/lessons/padded",
    summary="A left-padded batch beside each prompt alone: padded keys get zero weight",
    response_model=PaddedResponse,
    responses={404: {"description": "unknown model"}},
)
def padded(body: PaddedRequest, registry: RegistryDep) -> PaddedResponse:
    entry = lookup(registry, body.model)
    check_layer_head(entry, body.layer, body.head)
    seqs = batch_ids(entry, body.texts)
    twin = entry.model("numpy")
    p = padded_attention(twin, seqs, body.layer, body.head)
    return encoded(
        PaddedResponse(
            model=entry.name,
            layer=body.layer,
            head=body.head,
            tokens=padded_tokens(entry.tokenizer, p.ids, p.padding),
            padding=p.padding.tolist(),
            positions=p.positions.tolist(),
            attention=rounded(p.attention),
            alone=[rounded(a) for a in p.alone],
            pad_weight=p.pad_weight,
            max_change=p.max_change,
        )
    )


@router.post(
    "/lessons/attention-output",
    summary="One layer's heads (weights × values), concatenated, projected by c_proj, added to the residual",
    response_model=AttentionOutputResponse,
    responses={404: {"description": "unknown model"}},
)
def attention_output(body: AttentionOutputRequest, registry: RegistryDep) -> AttentionOutputResponse:
    entry = lookup(registry, body.model)
    check_layer_head(entry, body.layer)
    ids = encode(entry, body.text)
    w = attention_output_by_hand(entry.model("numpy"), ids, body.layer)
    return encoded(
        AttentionOutputResponse(
            model=entry.name,
            layer=body.layer,
            norm=w.norm,
            tokens=entry.tokenizer.token_strings(ids),
            heads=rounded(w.heads),
            concat=rounded(w.concat),
            w_o=rounded(w.w_o),
            b_o=maybe_rounded(w.b_o),
            proj=rounded(w.proj),
            residual_in=rounded(w.residual_in),
            added=rounded(w.added),
            resid_mid=rounded(w.resid_mid),
        )
    )

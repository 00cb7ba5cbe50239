"""One input, every number a lesson step needs: ``POST /api/trace``, for every architecture.

The architecture table's ``explanation`` picks what is sent: a stack of attention blocks (a GPT, an
encoder) fills one stack of fields; an encoder-decoder adds its decoder on a target (given, or its
own greedy translation) with cross-attention; a recurrent model (an LSTM) sends one layer's gates
and every layer's state sizes. The numbers come from ``models.explain``; this module rounds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException

from models.explain import LSTM_FIELDS, Explanation, explain, explain_encdec, explain_lstm, next_tokens
from models.seq2seq import greedy_decoder_input
from server.deps import (
    EVERY,
    RegistryDep,
    SettingsDep,
    check_layer_head,
    check_traced,
    input_ids,
    input_tokenizer,
    lookup,
    special_ids,
)
from server.heavy import HEAVY, encoded
from server.registry import ModelEntry
from server.rounding import Vocab, rounded
from server.schemas import (
    CrossTrace,
    LensEntry,
    LSTMLayerOut,
    LSTMStateTrace,
    StackTrace,
    TraceRequest,
    TraceResponse,
)

router = APIRouter(tags=["trace"], dependencies=[HEAVY])
NEXT_TOKENS = 20


def next_token(vocab: Vocab, logits: Any) -> list[LensEntry]:
    return vocab.entries(*next_tokens(logits, NEXT_TOKENS))


def stack_fields(ex: Explanation, vocab: Vocab, next_token_too: bool) -> dict[str, Any]:
    return {
        "positions": ex.positions.tolist(),
        "tok_emb": rounded(ex.tok_emb),
        "pos_emb": rounded(ex.pos_emb),
        "q": rounded(ex.q),
        "k": rounded(ex.k),
        "v": rounded(ex.v),
        "scores": rounded(ex.scores),
        "mask": ex.mask.tolist(),
        "attention": rounded(ex.attention),
        "mlp_mean": rounded(ex.mlp_mean),
        "mlp_active": rounded(ex.mlp_active),
        "residual_norm": rounded(ex.residual_norm),
        "logit_lens": vocab.lens(ex.lens_ids, ex.lens_probs),
        "next_token": next_token(vocab, ex.next_logits) if next_token_too else None,
    }


def target_ids(entry: ModelEntry, model: Any, src: list[int], target: str | None) -> list[int]:
    """What the decoder reads: the start token, then the given words or its greedy translation."""
    bos, eos = special_ids(entry)
    limit = entry.config.tgt_block_size
    if target is None:
        return greedy_decoder_input(model, src, bos, eos)
    try:
        words = entry.tokenizer.encode(target)
    except ValueError as e:
        raise HTTPException(status_code=422, detail=f"target: {e}") from e
    if len(words) + 1 > limit:
        raise HTTPException(
            status_code=422,
            detail=f"target: {len(words)} words and the start token exceed the decoder's context of {limit}",
        )
    return [bos, *words]


Explainer = Callable[[ModelEntry, Any, list[int], TraceRequest, dict[str, Any]], TraceResponse]


def stack(
    entry: ModelEntry, model: Any, ids: list[int], body: TraceRequest, common: dict[str, Any]
) -> TraceResponse:
    """A GPT or an encoder; only a causal LM predicts a next token (the masked LM fills positions)."""
    ex = explain(model, ids, body.layer, body.head, body.top_k)
    vocab = Vocab(entry.tokenizer, entry.config.vocab_size)
    causal = entry.arch.kind == "causal-lm"
    return TraceResponse(
        **common,
        head=body.head,
        **stack_fields(ex, vocab, next_token_too=causal),
        next_logits=rounded(ex.next_logits) if causal else None,
    )


def encoder_decoder(
    entry: ModelEntry, model: Any, ids: list[int], body: TraceRequest, common: dict[str, Any]
) -> TraceResponse:
    def run() -> tuple[list[int], Any]:
        tgt = target_ids(entry, model, ids, body.target)
        return tgt, explain_encdec(model, ids, tgt, body.layer, body.head, body.top_k)

    tgt, (enc, dec, cross) = run()
    vocab = Vocab(entry.tokenizer, entry.config.tgt_vocab_size)
    return TraceResponse(
        **common,
        head=body.head,
        **stack_fields(enc, vocab, next_token_too=False),
        decoder=StackTrace(
            ids=tgt,
            tokens=entry.tokenizer.token_strings(tgt),
            **stack_fields(dec, vocab, next_token_too=True),
            cross=CrossTrace(
                mask=cross.mask.tolist(),
                q=rounded(cross.q),
                k=rounded(cross.k),
                v=rounded(cross.v),
                scores=rounded(cross.scores),
                attention=rounded(cross.attention),
            ),
        ),
    )


def recurrent(
    entry: ModelEntry, model: Any, ids: list[int], body: TraceRequest, common: dict[str, Any]
) -> TraceResponse:
    ex = explain_lstm(model, ids, body.layer)
    vocab = Vocab(entry.tokenizer, entry.config.vocab_size)
    return TraceResponse(
        **common,
        head=None,
        tok_emb=rounded(ex.tok_emb),
        next_token=next_token(vocab, ex.next_logits),
        next_logits=rounded(ex.next_logits),
        lstm=LSTMStateTrace(
            n_hidden=entry.config.n_hidden,
            gates=LSTMLayerOut(layer=ex.layer, **{g: rounded(ex.gates[g]) for g in LSTM_FIELDS}),
            hidden_norm=rounded(ex.hidden_norm),
            cell_norm=rounded(ex.cell_norm),
        ),
    )


EXPLAINERS: dict[str, Explainer] = {
    "stack": stack,
    "encoder-decoder": encoder_decoder,
    "recurrent": recurrent,
}


@router.post(
    "/trace",
    summary="Every number a lesson step needs, for one input and any model",
    response_model=TraceResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text, layer or head"}},
)
def trace(body: TraceRequest, registry: RegistryDep, settings: SettingsDep) -> TraceResponse:
    entry = lookup(registry, body.model, EVERY)
    if body.target is not None and entry.arch.explanation != "encoder-decoder":
        raise HTTPException(
            status_code=422,
            detail=f"target: only an encoder-decoder reads a target; "
            f"{entry.name}'s architecture is {entry.architecture}",
        )
    check_layer_head(entry, body.layer, body.head)
    ids = input_ids(entry, body.text)
    check_traced(ids, settings)
    common = {
        "model": entry.name,
        "backend": body.backend,
        "architecture": entry.architecture,
        "ids": ids,
        "tokens": input_tokenizer(entry).token_strings(ids),
        "layer": body.layer,
    }
    model = entry.model(body.backend)
    return encoded(EXPLAINERS[entry.arch.explanation](entry, model, ids, body, common))

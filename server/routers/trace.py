"""One input, every number a lesson step needs: ``POST /api/trace``, for every architecture.

A GPT and an encoder (the masked LM) fill one stack of fields; an encoder-decoder adds its decoder
on a target (given, or its own greedy translation) with cross-attention; an LSTM sends one layer's
gates and every layer's state sizes. The numbers come from ``models.explain``; this module rounds.
"""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException

from models.explain import (
    LSTM_FIELDS,
    Explanation,
    explain,
    explain_encdec,
    explain_lstm,
    top_k,
)
from models.sampling import softmax
from models.seq2seq import greedy_decoder_input
from server.deps import EVERY, RegistryDep, encode, lookup, source_ids, special_ids
from server.registry import ModelEntry
from server.schemas import (
    CrossTrace,
    LensEntry,
    LSTMLayerOut,
    LSTMStateTrace,
    StackTrace,
    TraceRequest,
    TraceResponse,
)

router = APIRouter(tags=["trace"])
DECIMALS = 4
NEXT_TOKENS = 20


def rounded(a: np.ndarray) -> list:
    """Nested lists rounded to ``DECIMALS``; -inf (a masked score) becomes None."""
    a = np.round(np.asarray(a, dtype=np.float64), DECIMALS)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def checked_layer_head(entry: ModelEntry, layer: int, head: int) -> None:
    """A 422 naming the field when the layer or head does not exist in this model."""
    cfg, problems = entry.config, []
    if entry.architecture == "encoder-decoder":
        n_layer = min(cfg.n_enc_layer, cfg.n_dec_layer)
        where = f" (encoder {cfg.n_enc_layer}, decoder {cfg.n_dec_layer}: the layer picks both)"
    else:
        n_layer, where = cfg.n_layer, ""
    if layer >= n_layer:
        problems.append(f"layer: the model has layers 0..{n_layer - 1}{where}")
    if entry.architecture == "lstm":
        if head != 0:
            problems.append("head: an LSTM has no attention heads; leave head at 0")
    elif head >= cfg.n_head:
        problems.append(f"head: the model has heads 0..{cfg.n_head - 1}")
    if problems:
        raise HTTPException(status_code=422, detail="; ".join(problems))


class Vocab:
    """Token strings of one vocabulary, for the top-k lists."""

    def __init__(self, tokenizer: Any, size: int):
        self.strings = tokenizer.token_strings(range(size))

    def entries(self, token_ids: np.ndarray, probs: np.ndarray) -> list[LensEntry]:
        pairs = zip(token_ids, probs, strict=True)
        return [LensEntry(id=int(i), token=self.strings[i], prob=round(float(p), 6)) for i, p in pairs]

    def next_token(self, logits: np.ndarray | None) -> list[LensEntry] | None:
        return None if logits is None else self.entries(*top_k(softmax(logits), NEXT_TOKENS))

    def lens(self, ex: Explanation) -> list[list[list[LensEntry]]] | None:
        if ex.lens_ids is None:
            return None
        return [
            [self.entries(i, p) for i, p in zip(li, lp, strict=True)]
            for li, lp in zip(ex.lens_ids, ex.lens_probs, strict=True)
        ]


def stack_fields(ex: Explanation, vocab: Vocab, next_token: bool) -> dict[str, Any]:
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
        "logit_lens": vocab.lens(ex),
        "next_token": vocab.next_token(ex.next_logits) if next_token else None,
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


@router.post(
    "/trace",
    summary="Every number a lesson step needs, for one input and any model",
    response_model=TraceResponse,
    responses={404: {"description": "unknown model"}, 422: {"description": "bad text, layer or head"}},
)
async def trace(body: TraceRequest, registry: RegistryDep) -> TraceResponse:
    entry = lookup(registry, body.model, EVERY)
    arch = entry.architecture
    if body.target is not None and arch != "encoder-decoder":
        raise HTTPException(
            status_code=422,
            detail=f"target: only an encoder-decoder reads a target; {entry.name}'s architecture is {arch}",
        )
    checked_layer_head(entry, body.layer, body.head)
    ids = source_ids(entry, body.text, "text") if arch == "encoder-decoder" else encode(entry, body.text)
    tokenizer = entry.source_tokenizer if arch == "encoder-decoder" else entry.tokenizer
    common = {
        "model": entry.name,
        "backend": body.backend,
        "architecture": arch,
        "ids": ids,
        "tokens": tokenizer.token_strings(ids),
        "layer": body.layer,
    }
    model = await anyio.to_thread.run_sync(entry.model, body.backend)
    cfg = entry.config

    if arch == "lstm":
        ex = await anyio.to_thread.run_sync(explain_lstm, model, ids, body.layer)
        vocab = Vocab(entry.tokenizer, cfg.vocab_size)
        return TraceResponse(
            **common,
            head=None,
            tok_emb=rounded(ex.tok_emb),
            next_token=vocab.next_token(ex.next_logits),
            next_logits=rounded(ex.next_logits),
            lstm=LSTMStateTrace(
                n_hidden=cfg.n_hidden,
                gates=LSTMLayerOut(layer=ex.layer, **{g: rounded(ex.gates[g]) for g in LSTM_FIELDS}),
                hidden_norm=rounded(ex.hidden_norm),
                cell_norm=rounded(ex.cell_norm),
            ),
        )

    if arch == "encoder-decoder":

        def run() -> tuple[list[int], Any]:
            tgt = target_ids(entry, model, ids, body.target)
            return tgt, explain_encdec(model, ids, tgt, body.layer, body.head, body.top_k)

        tgt, (enc, dec, cross) = await anyio.to_thread.run_sync(run)
        vocab = Vocab(entry.tokenizer, cfg.tgt_vocab_size)
        return TraceResponse(
            **common,
            head=body.head,
            **stack_fields(enc, vocab, next_token=False),
            decoder=StackTrace(
                ids=tgt,
                tokens=entry.tokenizer.token_strings(tgt),
                **stack_fields(dec, vocab, next_token=True),
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

    ex = await anyio.to_thread.run_sync(explain, model, ids, body.layer, body.head, body.top_k)
    vocab = Vocab(entry.tokenizer, cfg.vocab_size)
    is_lm = arch == "gpt"  # the masked LM predicts each position, not the next token
    return TraceResponse(
        **common,
        head=body.head,
        **stack_fields(ex, vocab, next_token=is_lm),
        next_logits=rounded(ex.next_logits) if is_lm else None,
    )

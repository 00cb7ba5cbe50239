"""Architectures beyond the GPT: ``POST /api/fill-mask`` (encoder-only masked LM), ``POST /api/translate``
and ``POST /api/cross-mask`` (encoder-decoder), ``POST /api/lstm-trace`` (LSTM gates step by step).

Every number comes from a twin's forward pass or from ``models.seq2seq``; this module only picks
the rows the pages draw and rounds them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio.to_thread
import numpy as np
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from models.batch import pad_batch
from models.explain import LSTM_FIELDS
from models.explain import top_k as top_k_of
from models.generate import Beam
from models.mlm import MASK_CHAR
from models.numbers import parse_number, to_words
from models.sampling import softmax
from models.seq2seq import beam_translate, greedy_translate
from server.deps import RegistryDep, encode, lookup, source_ids, special_ids
from server.registry import ModelEntry
from server.schemas import MODEL_NAME, LensEntry, LSTMLayerOut

router = APIRouter(tags=["architectures"])
DECIMALS = 4
ERRORS = {
    404: {"description": "unknown model"},
    422: {"description": "bad input, or a model of another architecture"},
}
Backend = Literal["torch", "numpy"]


def rounded(a: Any) -> list:
    return np.round(np.asarray(a, dtype=np.float64), DECIMALS).tolist()


def entries(tokens: list[str], ids: np.ndarray, probs: np.ndarray) -> list[LensEntry]:
    return [
        LensEntry(id=int(i), token=tokens[i], prob=round(float(p), 6))
        for i, p in zip(ids, probs, strict=True)
    ]


# -- encoder-only: fill the mask -------------------------------------------------------------


class FillMaskRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=1000, description=f"text; {MASK_CHAR} marks a hidden token")
    positions: list[int] = Field(
        default_factory=list, max_length=64, description="token positions to hide as well (0-based)"
    )
    top_k: int = Field(5, ge=1, le=50, description="candidates per masked position")
    backend: Backend = "numpy"


class MaskedPosition(BaseModel):
    position: int
    original: (
        LensEntry | None
    )  # the token that was hidden and its probability (None where the text had the mask)
    candidates: list[LensEntry]  # the top_k, most likely first


class FillMaskResponse(BaseModel):
    """``attention`` is [layer][head][query][key] over the masked input, rounded to 4 decimals."""

    model: str
    backend: str
    mask_id: int
    mask_token: str
    ids: list[int]  # the input after masking
    tokens: list[str]
    masked: list[MaskedPosition]
    filled: str  # the text with every mask replaced by its most likely token
    attention: list[list[list[list[float]]]]


def mask_id_of(entry: ModelEntry) -> int:
    stoi = getattr(entry.tokenizer, "stoi", {})
    if MASK_CHAR not in stoi:
        raise HTTPException(status_code=422, detail=f"model: {entry.name} has no mask token {MASK_CHAR!r}")
    return stoi[MASK_CHAR]


@router.post(
    "/fill-mask",
    summary="Masked LM: the top candidates for each hidden token",
    response_model=FillMaskResponse,
    responses=ERRORS,
)
async def fill_mask(body: FillMaskRequest, registry: RegistryDep) -> FillMaskResponse:
    entry = lookup(registry, body.model, ("encoder",))
    mask_id = mask_id_of(entry)
    original = encode(entry, body.text)
    bad = [p for p in body.positions if not 0 <= p < len(original)]
    if bad:
        raise HTTPException(
            status_code=422, detail=f"positions: {bad[:5]} outside the text's tokens 0..{len(original) - 1}"
        )
    ids = list(original)
    for p in body.positions:
        ids[p] = mask_id
    masked = [t for t, i in enumerate(ids) if i == mask_id]
    if not masked:
        raise HTTPException(
            status_code=422, detail=f"text: nothing is masked; write {MASK_CHAR} or give positions to hide"
        )
    model = await anyio.to_thread.run_sync(entry.model, body.backend)

    def run() -> tuple[np.ndarray, np.ndarray]:
        with model.inference_context():
            _, tr = model.forward(np.asarray([ids]), trace=True)
        t = tr.to_numpy()
        return t["logits"][0], t["att_probs"][:, 0]

    logits, attention = await anyio.to_thread.run_sync(run)  # (T, V), (L, nh, T, T)
    probs = softmax(np.asarray(logits[masked], dtype=np.float64))  # (M, V)
    vocab = entry.tokenizer.token_strings(range(entry.config.vocab_size))
    out, filled = [], list(ids)
    for row, pos in zip(probs, masked, strict=True):
        top_ids, top_probs = top_k_of(row, body.top_k)
        was = original[pos]
        hidden = (
            None if was == mask_id else LensEntry(id=was, token=vocab[was], prob=round(float(row[was]), 6))
        )
        out.append(
            MaskedPosition(position=pos, original=hidden, candidates=entries(vocab, top_ids, top_probs))
        )
        filled[pos] = int(top_ids[0])
    return FillMaskResponse(
        model=entry.name,
        backend=body.backend,
        mask_id=mask_id,
        mask_token=vocab[mask_id],
        ids=ids,
        tokens=entry.tokenizer.token_strings(ids),
        masked=out,
        filled=entry.tokenizer.decode(filled),
        attention=rounded(attention),
    )


# -- encoder-decoder: translate ---------------------------------------------------------------


class TranslateRequest(BaseModel):
    model: str = MODEL_NAME
    source: str = Field(min_length=1, max_length=64, description="the source text (for numbers: digits)")
    num_beams: int = Field(4, ge=1, le=8)
    length_penalty: float = Field(1.0, ge=-2, le=2)
    max_new_tokens: int | None = Field(None, ge=1, le=64, description="default: the decoder's context")
    backend: Backend = "numpy"


class Hypothesis(BaseModel):
    ids: list[int]
    tokens: list[str]
    text: str  # the words without the end token
    logprob: float
    score: float  # logprob / length^length_penalty
    finished: bool


class BeamStepOut(BaseModel):
    step: int
    beams: list[Hypothesis]  # live beams after this step, best first
    finished: list[Hypothesis]


class Greedy(BaseModel):
    ids: list[int]  # generated ids, ending with the end token when the model wrote it
    tokens: list[str]
    text: str
    finished: bool


class TranslateResponse(BaseModel):
    """``cross_attention`` is [layer][head][target][source] for the greedy output: row t is the query
    that wrote ``greedy.tokens[t]``; ``self_attention`` the decoder's own [layer][head][target][target]."""

    model: str
    backend: str
    source_ids: list[int]
    source_tokens: list[str]
    reference: str | None  # the right words, when the source is a number
    greedy: Greedy
    best: Hypothesis
    hypotheses: list[Hypothesis]
    steps: list[BeamStepOut]
    cross_attention: list[list[list[list[float]]]]
    self_attention: list[list[list[list[float]]]]


def reference_of(text: str) -> str | None:
    try:
        return to_words(parse_number(text))
    except (TypeError, ValueError):
        return None


def words(entry: ModelEntry, ids: list[int]) -> str:
    _, eos = special_ids(entry)
    return entry.tokenizer.decode([i for i in ids if i != eos])


def hypothesis(entry: ModelEntry, beam: Beam) -> Hypothesis:
    return Hypothesis(
        ids=beam.ids,
        tokens=entry.tokenizer.token_strings(beam.ids),
        text=words(entry, beam.ids),
        logprob=round(beam.logprob, 6),
        score=round(beam.score, 6),
        finished=beam.finished,
    )


@router.post(
    "/translate",
    summary="Encoder-decoder: greedy and beam translation with cross-attention",
    response_model=TranslateResponse,
    responses=ERRORS,
)
async def translate(body: TranslateRequest, registry: RegistryDep) -> TranslateResponse:
    entry = lookup(registry, body.model, ("encoder-decoder",))
    src = source_ids(entry, body.source)
    bos, eos = special_ids(entry)
    limit = min(body.max_new_tokens or entry.config.tgt_block_size, entry.config.tgt_block_size)
    model = await anyio.to_thread.run_sync(entry.model, body.backend)

    def run() -> tuple[list[int], Any, dict[str, np.ndarray]]:
        out = greedy_translate(model, [src], bos, eos, limit)[0]
        result = beam_translate(model, src, bos, eos, body.num_beams, limit, body.length_penalty)
        tgt_in = [bos, *out[:-1]]  # row t of the trace is the query that wrote out[t]
        with model.inference_context():
            _, tr = model.forward(np.asarray([src]), np.asarray([tgt_in]), trace=True)
        return out, result, tr.to_numpy()

    out, result, t = await anyio.to_thread.run_sync(run)
    return TranslateResponse(
        model=entry.name,
        backend=body.backend,
        source_ids=src,
        source_tokens=entry.source_tokenizer.token_strings(src),
        reference=reference_of(body.source),
        greedy=Greedy(
            ids=out,
            tokens=entry.tokenizer.token_strings(out),
            text=words(entry, out),
            finished=bool(out) and out[-1] == eos,
        ),
        best=hypothesis(entry, result.best),
        hypotheses=[hypothesis(entry, h) for h in result.hypotheses],
        steps=[
            BeamStepOut(
                step=s.step,
                beams=[hypothesis(entry, b) for b in s.beams],
                finished=[hypothesis(entry, b) for b in s.finished],
            )
            for s in result.steps
        ],
        cross_attention=rounded(t["decoder.cross_probs"][:, 0]),
        self_attention=rounded(t["decoder.att_probs"][:, 0]),
    )


class CrossMaskRequest(BaseModel):
    model: str = MODEL_NAME
    sources: list[Annotated[str, Field(max_length=64)]] = Field(
        min_length=1, max_length=8, description="a batch of unequal sources"
    )


class CrossMaskResponse(BaseModel):
    source_tokens: list[list[str | None]]  # (B, S) left-padded; None where padding
    source_padding: list[list[int]]  # (B, S) 1 real, 0 padding
    target_tokens: list[list[str | None]]  # (B, T) the decoder's inputs (start token + greedy output)
    target_padding: list[list[int]]  # (B, T)
    cross: list[list[list[bool]]]  # (B, T, S) target query t may read source position s


@router.post(
    "/cross-mask",
    summary="Encoder-decoder: the cross-attention mask of a padded batch",
    response_model=CrossMaskResponse,
    responses=ERRORS,
)
async def cross_mask(body: CrossMaskRequest, registry: RegistryDep) -> CrossMaskResponse:
    """The cross-attention mask of a real padded batch: the sources are translated greedily, then the
    decoder reads (start token + output) for every row at once and its trace gives the mask."""
    entry = lookup(registry, body.model, ("encoder-decoder",))
    sources = [source_ids(entry, s, f"sources.{b}") for b, s in enumerate(body.sources)]
    bos, eos = special_ids(entry)
    model = await anyio.to_thread.run_sync(entry.model, "numpy")

    def run() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        outs = greedy_translate(model, sources, bos, eos)
        targets = [[bos, *o[:-1]] for o in outs]  # what the decoder read while it wrote each output
        src, src_mask = pad_batch(sources)
        T = max(len(x) for x in targets)
        tgt = np.zeros((len(targets), T), dtype=np.int64)
        tgt_mask = np.zeros_like(tgt)
        for b, x in enumerate(targets):  # right-padded: every row starts with the start token
            tgt[b, : len(x)], tgt_mask[b, : len(x)] = x, 1
        with model.inference_context():
            _, tr = model.forward(src, tgt, src_mask, tgt_mask, trace=True)
        return src, src_mask, tgt, tgt_mask, tr.to_numpy()["decoder.cross_mask"]

    src, src_mask, tgt, tgt_mask, mask = await anyio.to_thread.run_sync(run)
    src_vocab = entry.source_tokenizer.token_strings(range(entry.config.src_vocab_size))
    tgt_vocab = entry.tokenizer.token_strings(range(entry.config.tgt_vocab_size))

    def labels(ids: np.ndarray, real: np.ndarray, vocab: list[str]) -> list[list[str | None]]:
        return [
            [vocab[i] if r else None for i, r in zip(row, m, strict=True)]
            for row, m in zip(ids, real, strict=True)
        ]

    return CrossMaskResponse(
        source_tokens=labels(src, src_mask, src_vocab),
        source_padding=src_mask.tolist(),
        target_tokens=labels(tgt, tgt_mask, tgt_vocab),
        target_padding=tgt_mask.tolist(),
        cross=np.asarray(mask, dtype=bool).tolist(),
    )


# -- LSTM: gates step by step -----------------------------------------------------------------


class LSTMTraceRequest(BaseModel):
    model: str = MODEL_NAME
    text: str = Field(min_length=1, max_length=1000)
    layer: int | None = Field(None, ge=0, description="one layer's gates; all layers when left out")
    top_k: int = Field(10, ge=1, le=50, description="next-token candidates")
    backend: Backend = "numpy"


class LSTMTraceResponse(BaseModel):
    model: str
    backend: str
    ids: list[int]
    tokens: list[str]
    n_layer: int
    n_hidden: int
    layers: list[LSTMLayerOut]
    next_token: list[LensEntry]  # after the last step, most likely first


@router.post(
    "/lstm-trace",
    summary="LSTM: gates, cell and hidden state of every layer, step by step",
    response_model=LSTMTraceResponse,
    responses=ERRORS,
)
async def lstm_trace(body: LSTMTraceRequest, registry: RegistryDep) -> LSTMTraceResponse:
    entry = lookup(registry, body.model, ("lstm",))
    cfg = entry.config
    if body.layer is not None and body.layer >= cfg.n_layer:
        raise HTTPException(status_code=422, detail=f"layer: the model has layers 0..{cfg.n_layer - 1}")
    ids = encode(entry, body.text)
    model = await anyio.to_thread.run_sync(entry.model, body.backend)

    def run() -> dict[str, np.ndarray]:
        with model.inference_context():
            _, tr = model.forward(np.asarray([ids]), trace=True)
        return tr.to_numpy()

    t = await anyio.to_thread.run_sync(run)
    layers = range(cfg.n_layer) if body.layer is None else [body.layer]
    vocab = entry.tokenizer.token_strings(range(cfg.vocab_size))
    next_ids, next_probs = top_k_of(softmax(np.asarray(t["logits"][0, -1], dtype=np.float64)), body.top_k)
    return LSTMTraceResponse(
        model=entry.name,
        backend=body.backend,
        ids=ids,
        tokens=entry.tokenizer.token_strings(ids),
        n_layer=cfg.n_layer,
        n_hidden=cfg.n_hidden,
        layers=[LSTMLayerOut(layer=k, **{g: rounded(t[g][k, 0]) for g in LSTM_FIELDS}) for k in layers],
        next_token=entries(vocab, next_ids, next_probs),
    )

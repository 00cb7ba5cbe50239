"""Architectures beyond the GPT: ``POST /api/fill-mask`` (encoder-only masked LM), ``POST /api/translate``
and ``POST /api/cross-mask`` (encoder-decoder). An LSTM's gates come from ``POST /api/trace``.

Every number comes from ``models.explain`` or ``models.seq2seq``; this module checks the input,
picks the rows the pages draw and rounds them.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from models.beam import Beam
from models.explain import fill_masks
from models.mlm import MASK_CHAR
from models.numbers import parse_number, to_words
from models.seq2seq import cross_mask_batch, translate_traced
from server.deps import (
    MASKED_LMS,
    TRANSLATORS,
    RegistryDep,
    encode,
    lookup,
    padded_tokens,
    source_ids,
    special_ids,
)
from server.heavy import HEAVY, encoded
from server.registry import ModelEntry
from server.rounding import SCALAR_DECIMALS, Vocab, rounded
from server.schemas import (
    CrossMaskRequest,
    CrossMaskResponse,
    FillMaskRequest,
    FillMaskResponse,
    Greedy,
    Hypothesis,
    MaskedPosition,
    TranslateRequest,
    TranslateResponse,
    TranslationStepOut,
)

router = APIRouter(tags=["architectures"], dependencies=[HEAVY])
ERRORS = {
    404: {"description": "unknown model"},
    422: {"description": "bad input, or a model of another architecture"},
}


# -- encoder-only: fill the mask -------------------------------------------------------------


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
def fill_mask(body: FillMaskRequest, registry: RegistryDep) -> FillMaskResponse:
    entry = lookup(registry, body.model, MASKED_LMS)
    mask_id = mask_id_of(entry)
    original = encode(entry, body.text)
    bad = [p for p in body.positions if not 0 <= p < len(original)]
    if bad:
        raise HTTPException(
            status_code=422, detail=f"positions: {bad[:5]} outside the text's tokens 0..{len(original) - 1}"
        )
    ids = [mask_id if t in body.positions else i for t, i in enumerate(original)]
    if mask_id not in ids:
        raise HTTPException(
            status_code=422, detail=f"text: nothing is masked; write {MASK_CHAR} or give positions to hide"
        )
    model = entry.model(body.backend)
    fill = fill_masks(model, ids, mask_id, body.top_k)
    vocab = Vocab(entry.tokenizer, entry.config.vocab_size)
    masked = [
        MaskedPosition(
            position=pos,
            original=None if original[pos] == mask_id else vocab.entry(original[pos], row[original[pos]]),
            candidates=vocab.entries(top_ids, top_probs),
        )
        for pos, row, top_ids, top_probs in zip(
            fill.positions, fill.probs, fill.top_ids, fill.top_probs, strict=True
        )
    ]
    return encoded(
        FillMaskResponse(
            model=entry.name,
            backend=body.backend,
            mask_id=mask_id,
            mask_token=vocab.strings[mask_id],
            ids=ids,
            tokens=entry.tokenizer.token_strings(ids),
            masked=masked,
            filled=entry.tokenizer.decode(fill.filled),
            attention=rounded(fill.attention),
        )
    )


# -- encoder-decoder: translate ---------------------------------------------------------------


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
        logprob=rounded(beam.logprob, SCALAR_DECIMALS),
        score=rounded(beam.score, SCALAR_DECIMALS),
        finished=beam.finished,
    )


@router.post(
    "/translate",
    summary="Encoder-decoder: greedy and beam translation with cross-attention",
    response_model=TranslateResponse,
    responses=ERRORS,
)
def translate(body: TranslateRequest, registry: RegistryDep) -> TranslateResponse:
    entry = lookup(registry, body.model, TRANSLATORS)
    src = source_ids(entry, body.source)
    bos, eos = special_ids(entry)
    limit = min(body.max_new_tokens or entry.config.tgt_block_size, entry.config.tgt_block_size)
    model = entry.model(body.backend)
    t = translate_traced(model, src, bos, eos, body.num_beams, limit, body.length_penalty)
    return encoded(
        TranslateResponse(
            model=entry.name,
            backend=body.backend,
            source_ids=src,
            source_tokens=entry.source_tokenizer.token_strings(src),
            reference=reference_of(body.source),
            greedy=Greedy(
                ids=t.greedy,
                tokens=entry.tokenizer.token_strings(t.greedy),
                text=words(entry, t.greedy),
                finished=bool(t.greedy) and t.greedy[-1] == eos,
            ),
            best=hypothesis(entry, t.beams.best),
            hypotheses=[hypothesis(entry, h) for h in t.beams.hypotheses],
            steps=[
                TranslationStepOut(
                    step=s.step,
                    beams=[hypothesis(entry, b) for b in s.beams],
                    finished=[hypothesis(entry, b) for b in s.finished],
                )
                for s in t.beams.steps
            ],
            cross_attention=rounded(t.cross_attention),
            self_attention=rounded(t.self_attention),
        )
    )


@router.post(
    "/cross-mask",
    summary="Encoder-decoder: the cross-attention mask of a padded batch",
    response_model=CrossMaskResponse,
    responses=ERRORS,
)
def cross_mask(body: CrossMaskRequest, registry: RegistryDep) -> CrossMaskResponse:
    """The cross-attention mask of a real padded batch: the sources are translated greedily, then the
    decoder reads (start token + output) for every row at once and its trace gives the mask."""
    entry = lookup(registry, body.model, TRANSLATORS)
    sources = [source_ids(entry, s, f"sources.{b}") for b, s in enumerate(body.sources)]
    model = entry.model("numpy")
    batch = cross_mask_batch(model, sources, *special_ids(entry))
    return encoded(
        CrossMaskResponse(
            source_tokens=padded_tokens(entry.source_tokenizer, batch.src, batch.src_mask),
            source_padding=batch.src_mask.tolist(),
            target_tokens=padded_tokens(entry.tokenizer, batch.tgt, batch.tgt_mask),
            target_padding=batch.tgt_mask.tolist(),
            cross=batch.cross.tolist(),
        )
    )

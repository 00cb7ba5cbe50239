"""Greedy decoding and beam search for the encoder-decoder, on either twin.

Beam search is ``models/beam.py``'s own: ``BoundDecoder`` makes an encoder-decoder with one
encoded source look like a decoder-only model (``config.block_size``, ``forward_cached``,
``reorder_past``, ``inference_context``), so ``beam_search`` and ``generate`` drive it unchanged.
Greedy decoding is written separately (a batch of sources at once, with padding), which lets a
test hold beam search with one beam against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.batch import pad_batch
from models.beam import BeamResult, beam_search
from models.trace import to_numpy


class BoundDecoder:
    """An encoder-decoder with one source already encoded, seen as a decoder-only model.

    The target prompt (usually just BOS) goes through ``forward_cached`` as a GPT prompt would;
    the source's memory is handed to the decoder on the first step, after which the cache holds
    the cross-attention keys and values (and ``reorder_past`` carries them along with the beams).
    """

    # the decoder's self-attention cache grows along Tk, so a generation slides its target window as a
    # GPT's does (the slide re-reads the kept target tokens, with the source's memory, from position 0)
    past_time_axis = 2

    def __init__(self, model: Any, src_ids: Sequence[int]):
        if len(src_ids) == 0:
            raise ValueError("the source must hold at least one token")
        self.model = model
        self.config = model.config  # block_size: the decoder's context
        self.inference_context = model.inference_context
        with model.inference_context():
            self.memory = model.encode(np.asarray([[int(i) for i in src_ids]]))  # (1, S, C)

    def forward_cached(
        self, ids: Any, past: Any = None, padding_mask: Any = None, trace: bool = False
    ) -> tuple[Any, Any, Any]:
        memory = None if past else self.memory
        return self.model.decode_cached(ids, memory, None, past, trace, padding_mask)

    def reorder_past(self, past: Any, index: np.ndarray) -> Any:
        return self.model.reorder_past(past, index)


def greedy_translate(
    model: Any,
    sources: Sequence[Sequence[int]],
    bos_id: int,
    eos_id: int,
    max_new_tokens: int | None = None,
) -> list[list[int]]:
    """The most probable next token at every step, for a batch of sources (KV cache).

    Sources of unequal length are padded (the padding mask hides the padding from the encoder
    and from cross-attention). Each output holds the generated ids, ending with ``eos_id`` when the
    model wrote it; decoding stops when every row has, after ``max_new_tokens`` (default: the
    decoder's context), or at the context limit.
    """
    block = model.config.block_size
    limit = block if max_new_tokens is None else max_new_tokens
    if limit < 1:
        raise ValueError(f"max_new_tokens must be ≥ 1, got {max_new_tokens}")
    src, src_mask = pad_batch(sources)
    B = len(sources)
    out: list[list[int]] = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    with model.inference_context():
        memory = model.encode(src, src_mask)
        ids, past = np.full((B, 1), bos_id, dtype=np.int64), None
        for step in range(limit):
            logits, past, _ = model.decode_cached(ids, memory, src_mask, past)
            nxt = np.argmax(to_numpy(logits[:, -1, :]), axis=-1)  # (B,)
            for b in np.flatnonzero(~done):
                out[b].append(int(nxt[b]))
            done |= nxt == eos_id
            if done.all() or step + 1 == limit or step + 2 > block:  # the next token would not fit
                break
            ids = np.where(done, eos_id, nxt)[:, None]  # finished rows idle on EOS
    return out


def greedy_decoder_input(model: Any, src_ids: Sequence[int], bos_id: int, eos_id: int) -> list[int]:
    """What the decoder reads when it is traced on its own greedy translation: the start token,
    then the words (no end token), within the decoder's context. Row t of a teacher-forced pass on
    it predicts word t + 1, and the last row the end token."""
    out = greedy_translate(model, [src_ids], bos_id, eos_id, model.config.block_size - 1)[0]
    return [bos_id, *[i for i in out if i != eos_id]]


def beam_translate(
    model: Any,
    src_ids: Sequence[int],
    bos_id: int,
    eos_id: int,
    num_beams: int = 4,
    max_new_tokens: int | None = None,
    length_penalty: float = 1.0,
) -> BeamResult:
    """Beam search for one source: ``models.beam.beam_search`` on a ``BoundDecoder``.

    Hypotheses end with ``eos_id``; scores are Σ log p / length^``length_penalty`` (EOS counted);
    ``BeamResult.steps`` holds every step's live beams and finished hypotheses.
    """
    bound = BoundDecoder(model, src_ids)
    limit = model.config.block_size if max_new_tokens is None else max_new_tokens
    return beam_search(bound, [bos_id], num_beams, limit, length_penalty, stop_ids=[eos_id])


@dataclass
class Translation:
    """One source translated greedily and by beam search, with the greedy output's attention."""

    greedy: list[int]  # generated ids, ending with the end token when the model wrote it
    beams: BeamResult
    cross_attention: np.ndarray  # (L, nh, T, S) row t is the query that wrote greedy[t]
    self_attention: np.ndarray  # (L, nh, T, T) the decoder's own


def translate_traced(
    model: Any,
    src_ids: Sequence[int],
    bos_id: int,
    eos_id: int,
    num_beams: int = 4,
    max_new_tokens: int | None = None,
    length_penalty: float = 1.0,
) -> Translation:
    """Greedy and beam translation of one source, then a teacher-forced pass on the greedy output."""
    out = greedy_translate(model, [src_ids], bos_id, eos_id, max_new_tokens)[0]
    beams = beam_translate(model, src_ids, bos_id, eos_id, num_beams, max_new_tokens, length_penalty)
    tgt_in = [bos_id, *out[:-1]]  # row t of the trace is the query that wrote out[t]
    with model.inference_context():
        _, tr = model.forward(np.asarray([src_ids]), np.asarray([tgt_in]), trace=True)
    t = tr.to_numpy()
    return Translation(out, beams, t["decoder.cross_probs"][:, 0], t["decoder.att_probs"][:, 0])


@dataclass
class CrossMaskBatch:
    """A padded batch of sources and the decoder inputs of their greedy translations."""

    src: np.ndarray  # (B, S) left-padded source ids
    src_mask: np.ndarray  # (B, S) 1 real, 0 padding
    tgt: np.ndarray  # (B, T) right-padded: start token + greedy output
    tgt_mask: np.ndarray  # (B, T)
    cross: np.ndarray  # (B, T, S) True where target query t may read source position s


def cross_mask_batch(
    model: Any, sources: Sequence[Sequence[int]], bos_id: int, eos_id: int
) -> CrossMaskBatch:
    """Translate ``sources`` greedily, then run the decoder on (start token + output) for every row
    at once: its trace gives the cross-attention mask of a real padded batch."""
    outs = greedy_translate(model, sources, bos_id, eos_id)
    targets = [[bos_id, *o[:-1]] for o in outs]  # what the decoder read while it wrote each output
    src, src_mask = pad_batch(sources)
    tgt = np.zeros((len(targets), max(len(x) for x in targets)), dtype=np.int64)
    tgt_mask = np.zeros_like(tgt)
    for b, x in enumerate(targets):  # right-padded: every row starts with the start token
        tgt[b, : len(x)], tgt_mask[b, : len(x)] = x, 1
    with model.inference_context():
        _, tr = model.forward(src, tgt, src_mask, tgt_mask, trace=True)
    cross = np.asarray(tr.to_numpy()["decoder.cross_mask"], dtype=bool)
    return CrossMaskBatch(src, src_mask, tgt, tgt_mask, cross)

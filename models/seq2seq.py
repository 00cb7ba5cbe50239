"""Greedy decoding and beam search for the encoder-decoder, on either twin.

Beam search is ``models/generate.py``'s own: ``BoundDecoder`` makes an encoder-decoder with one
encoded source look like a decoder-only model (``config.block_size``, ``forward_cached``,
``reorder_past``, ``inference_context``), so ``beam_search`` and ``generate`` drive it unchanged.
Greedy decoding is written separately (a batch of sources at once, with padding), which lets a
test hold beam search with one beam against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from models.batch import pad_batch
from models.generate import BeamResult, beam_search
from models.trace import to_numpy


class BoundDecoder:
    """An encoder-decoder with one source already encoded, seen as a decoder-only model.

    The target prompt (usually just BOS) goes through ``forward_cached`` as a GPT prompt would;
    the source's memory is handed to the decoder on the first step, after which the cache holds
    the cross-attention keys and values (and ``reorder_past`` carries them along with the beams).
    """

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
    """Beam search for one source: ``models.generate.beam_search`` on a ``BoundDecoder``.

    Hypotheses end with ``eos_id``; scores are Σ log p / length^``length_penalty`` (EOS counted);
    ``BeamResult.steps`` holds every step's live beams and finished hypotheses.
    """
    bound = BoundDecoder(model, src_ids)
    limit = model.config.block_size if max_new_tokens is None else max_new_tokens
    return beam_search(bound, [bos_id], num_beams, limit, length_penalty, stop_ids=[eos_id])

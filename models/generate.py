"""Streaming generation for decoder-only models, on either twin (beam search: ``models.beam``).

What this code needs from a model is written down as two protocols (``models/protocols.py``):
``CachedLM`` (a context, ``forward_cached(ids, past, padding_mask, trace)`` and ``reorder_past(past,
index)``: beam search and one sequence) and ``CausalLM`` (also ``merge_past`` / ``split_past``:
several sequences in one batch). Both twins of every decoder-only model are a ``CausalLM``, so
this code never asks which backend it drives: logits are turned into float64 NumPy arrays and
handed to the one sampler in ``models.sampling``. A cache (``past``) is the model's own business here.

Generation runs past the context by sliding the window (``forget_window``): when a model whose cache has
a time axis (a GPT) has no position left for the newest token, the last ``keep`` tokens (half the
context unless told) are read again from position 0, which rebuilds the cache, and generation
goes on from there. A state without a time axis (an LSTM's) has no window and never slides.
Generation ends after ``max_new_tokens`` (reason "length") or at a stop (reason "stop"): a stop
string in the text (``models.stopping``: the stop string and what follows are not shown) or a
stop token such as the tokenizer's end token.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from models import kv_cache
from models.batch import pad_batch
from models.batch_rows import BatchRows
from models.protocols import CachedLM, CausalLM, Past
from models.sampling import SampleStep, SamplingParams
from models.sampling_batch import sample_batch
from models.stopping import Detokenizer, StopStrings, TextStream, checked_stops
from models.trace import to_numpy

StopReason = Literal["length", "stop", "shutdown"]


@dataclass
class TokenEvent:
    index: int  # 0 for the first generated token
    id: int
    text: str | None  # the text this token adds (None without a tokenizer)
    step: SampleStep  # probability and candidates after every filter
    attention: np.ndarray | None  # (L, nh, Tk) the new token's attention rows, when asked for
    ms: float  # wall time of this step: forward + sampling
    window_start: int = 0  # index in prompt + generated ids of the first token the model saw for this one


@dataclass
class DoneEvent:
    reason: StopReason
    tokens: list[int]  # the generated ids
    n_tokens: int
    seconds: float
    tokens_per_s: float
    ttft_ms: float  # time to the first token: prompt forward + first draw
    stop: str | None = None  # the stop string, or the stop token's text, that ended it


def forward_last(
    model: CachedLM, ids: np.ndarray, past: Past, trace: bool | Literal["attention"]
) -> tuple[np.ndarray, Past, Any]:
    """Read ``ids`` after ``past``: the last position's logits (NumPy), the new cache and the trace."""
    with model.inference_context():
        logits, past, tr = model.forward_cached(ids, past, None, trace)
    return to_numpy(logits[:, -1, :]), past, tr


@dataclass
class Decoding:
    """One sequence being generated: its sampler settings, random stream, tokens so far and the
    model's cache (KV cache or LSTM state). ``step`` advances any number of them at once."""

    params: SamplingParams
    rng: np.random.Generator
    seq: list[int]  # prompt + generated ids
    max_new_tokens: int
    window: int | None  # the model's context; None: a state that carries everything (no window)
    keep: int = 1  # how many tokens a slide keeps (``forget_window``)
    include_attention: bool = False
    stop_ids: frozenset[int] = frozenset()
    n_candidates: int = 10
    stream: TextStream | None = None
    stops: StopStrings = field(default_factory=lambda: StopStrings(()))
    out: list[int] = field(default_factory=list)  # generated ids
    past: Past = None  # None until the window has been read
    window_start: int = 0  # index in ``seq`` of the first token the model sees
    reason: StopReason | None = None  # set once finished
    stop: str | None = None  # the stop string or stop token's text that finished it
    busy: float = 0.0  # seconds of compute spent on this sequence
    ttft_ms: float = 0.0

    @property
    def finished(self) -> bool:
        return self.reason is not None

    @property
    def full(self) -> bool:
        """The window has no position left for the newest token: the next step slides it."""
        return self.window is not None and len(self.seq) - self.window_start > self.window

    def accept(self, token: int) -> str | None:
        """Add a drawn token and finish if it ends the generation → the text to show now (None
        without a tokenizer). A stop string and what follows it are never shown; text held back
        because it might begin one is released when the generation ends otherwise."""
        self.seq.append(token)
        self.out.append(token)
        if token in self.stop_ids:  # the end token adds no text
            self.reason = "stop"
            self.stop = self.stream.tokenizer.decode([token]) if self.stream else str(token)
            return self.stops.flush() if self.stream else None
        text = None
        if self.stream is not None:
            text, self.stop = self.stops.feed(self.stream.add(token))
            if self.stop is not None:
                self.reason = "stop"
                return text
        if len(self.out) >= self.max_new_tokens:
            self.reason = "length"
            if text is not None:
                text += self.stops.flush()
        return text

    def done(self) -> DoneEvent:
        n, busy = len(self.out), self.busy
        return DoneEvent(
            self.reason or "length", self.out, n, busy, n / busy if busy else 0.0, self.ttft_ms, self.stop
        )


def checked_prompt(model: CachedLM, prompt_ids: Sequence[int], max_new_tokens: int) -> tuple[list[int], int]:
    """(the prompt as ints, the model's context), or ValueError saying what is wrong."""
    prompt = [int(i) for i in prompt_ids]
    block = model.config.block_size
    if not prompt:
        raise ValueError("the prompt must hold at least one token")
    if len(prompt) > block:
        raise ValueError(f"the prompt has {len(prompt)} tokens; the model's context is {block}")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be ≥ 1, got {max_new_tokens}")
    return prompt, block


def start(
    model: CausalLM,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    params: SamplingParams | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    tokenizer: Detokenizer | None = None,
    include_attention: bool = False,
    stop_ids: Sequence[int] = (),
    stop: Sequence[str] = (),
    keep: int | None = None,
    n_candidates: int = 10,
) -> Decoding:
    """A checked ``Decoding`` of ``prompt_ids``; nothing is computed until ``step``.

    ``stop``: strings that end the generation (they need a ``tokenizer`` to read the text);
    ``stop_ids``: tokens that do, besides the tokenizer's end token (its ``eos_id``, if it has one).
    ``keep``: how many tokens a slide keeps (1 to the context; default half the context).
    """
    prompt, block = checked_prompt(model, prompt_ids, max_new_tokens)
    window = None if model.past_time_axis is None else block
    keep = max(1, block // 2) if keep is None else keep
    if window is not None and not 1 <= keep <= window:
        raise ValueError(f"keep must be 1 to the context of {window}, got {keep}")
    stops = checked_stops(stop)
    if stops and tokenizer is None:
        raise ValueError("stop strings need a tokenizer to read the text")
    eos = getattr(tokenizer, "eos_id", None)
    return Decoding(
        params=params or SamplingParams(),
        rng=np.random.default_rng(seed),
        seq=prompt,
        max_new_tokens=max_new_tokens,
        window=window,
        keep=keep,
        include_attention=include_attention,
        stop_ids=frozenset(int(s) for s in [*stop_ids, *([eos] if eos is not None else [])]),
        n_candidates=n_candidates,
        stream=TextStream(tokenizer, prompt) if tokenizer is not None else None,
        stops=StopStrings(stops),
    )


def newest_attention(tr: Any, b: int, pad: int) -> np.ndarray:
    """Row ``b``'s attention rows for its newest token over its own keys (its ``pad`` padding
    columns left out), (L, nh, Tk), from an attention trace of a batch."""
    return to_numpy(tr.att_probs[:, b, :, -1, pad:])


def read_window(model: CausalLM, d: Decoding) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``d``'s window (its prompt at first, the kept tokens after a slide) from an empty cache,
    positions from 0 → (next-token logits (V,), attention rows (L, nh, T) or None); ``d.past``
    becomes the rebuilt cache."""
    trace = "attention" if d.include_attention else False
    logits, d.past, tr = forward_last(model, np.asarray([d.seq[d.window_start :]]), None, trace)
    attention = newest_attention(tr, 0, 0) if tr is not None else None
    return logits[0], attention


def read_windows(model: CausalLM, ds: Sequence[Decoding]) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``read_window`` of several decodings in one forward: their windows left-padded into one
    batch (a padding mask keeps every padded key at zero attention, positions count real tokens),
    each one's cache cut from its row (``split_past``). Streams that begin together (a class
    pressing Generate at once) are read in one forward instead of one after another."""
    if len(ds) < 2 or model.past_time_axis is None or not hasattr(model, "split_past"):
        return [read_window(model, d) for d in ds]
    windows = [d.seq[d.window_start :] for d in ds]
    ids, padding_mask = pad_batch(windows)  # (B, T), left-padded
    pads = [ids.shape[1] - len(w) for w in windows]
    trace = "attention" if any(d.include_attention for d in ds) else False
    with model.inference_context():
        logits, past, tr = model.forward_cached(ids, None, padding_mask, trace)
    logits = to_numpy(logits[:, -1, :])  # (B, V): every row's last column is its newest token
    read = []
    for b, (d, row) in enumerate(zip(ds, model.split_past(past, pads), strict=True)):
        d.past = row
        attention = newest_attention(tr, b, pads[b]) if d.include_attention else None
        read.append((logits[b], attention))
    return read


def forget_window(d: Decoding) -> None:
    """Begin a slide of a full window along the text: keep the last ``d.keep`` tokens and forget the
    cache, so that they are read again from position 0 (``read_window``), as if the text began
    there. The model then sees at least ``keep`` tokens and at most its context; keeping half the
    context rebuilds the cache once every ``context - keep`` tokens instead of at every token."""
    d.window_start = len(d.seq) - d.keep
    d.past = None


class DecodeBatch(BatchRows):
    """Decodings advanced together, one forward per step for all of them.

    Their caches (KV caches, or LSTM states) have different lengths, so the model left-pads
    them into one batch (``merge_past``) and a padding mask keeps every padded key at exactly
    zero attention; positions count real tokens only. The merged cache is kept from step to step
    while the members stay the same (in whatever order they ask). A newcomer takes the row of a
    member that left, written where it lies (``models/batch_rows.py``); a row nobody takes stays
    vacant a few steps, then the rows that stay are moved up and other newcomers' caches written
    after them, in the batch's own buffers (``_gather``; where those cannot hold them, the rows
    are copied into new arrays, ``merge_past``, and written back, ``kv_cache.refill``). A
    decoding's first step reads its prompt apart from the batch (prompts differ in length), with
    the other newcomers of that step in one padded forward, and so does a step that slides its
    window. One member alone runs exactly as it would unbatched. Given a ``decoder`` (``generate``
    on CUDA: ``models/graph_step.py``), the one stream's new tokens run through that fixed-shape
    step instead of ``forward_cached``; everything else is the same.
    """

    def __init__(self, model: CausalLM):
        self.model = model
        self.members: list[Decoding | None] = []  # whose caches ``past`` holds, in row order; None: vacant
        self.past: Past = None
        self.pads: list[int] = []  # left padding of each row
        self.steps = 0  # forwards run
        self.vacant: dict[int, int] = {}  # row → the step it was left at, kept for a newcomer to take
        self.decoder: Any = None  # one stream's fixed-shape step (``models/graph_step.py``), if given

    def _arrange(self, going: list[Decoding]) -> None:
        """Make ``past`` hold the caches of ``going``, rows in the order of ``members``: those that
        stay keep their rows (whatever order they come in), newcomers take the rows of those that
        left (``_take_rows``), the rows of those that leave now may be kept vacant a few steps for
        the next newcomers (``_vacate``), and the others' caches join after them."""
        self._take_rows(going)
        self._vacate(going)
        self._select(going)
        self._fit()

    def _select(self, going: list[Decoding]) -> None:
        """Rows of the members that stay (those that left and vacant rows dropped), then the
        newcomers' caches merged after them (``merge_past``)."""
        index = {id(d): i for i, d in enumerate(self.members) if d is not None}
        wanted = {id(d) for d in going}
        if wanted == index.keys() and (not self.vacant or self._keep_vacant()):
            return
        self.vacant = {}  # rows are selected or merged below: no vacant row is kept
        if not going:
            self.members, self.past, self.pads = [], None, []
            return
        stay = [d for d in self.members if d is not None and id(d) in wanted]
        new = [d for d in going if id(d) not in index]
        if not stay:
            self.release()
            if len(new) == 1:  # alone: its own cache as it is
                self.past, self.pads = new[0].past, [0]
            else:
                past, _, self.pads = self.model.merge_past([d.past for d in new])
                self.past = self._refill(past)
        else:
            rows = [index[id(d)] for d in stay]
            past, pads = self._gather(rows, new) or self._merged(rows, new)
            cut = min(pads)
            if cut:  # columns that are padding in every row
                past = self._drop_front(past, cut)
                pads = [p - cut for p in pads]
            self.past, self.pads = self._refill(past), pads
        for d in new:
            d.past = None
        self.members = [*stay, *new]

    def _merged(self, rows: list[int], new: list[Decoding]) -> tuple[Past, list[int]]:
        """The cache's ``rows`` as one block, the newcomers' caches after it, left-padded alike, as
        new arrays (``reorder_past``, ``merge_past``) → (cache, pads)."""
        past, pads = self.past, self.pads
        if len(rows) < len(self.members):  # some left: keep the others' rows
            past = self.model.reorder_past(past, np.asarray(rows))
            pads = [pads[i] for i in rows]
        if new:
            past, _, block_pads = self.model.merge_past([past, *[d.past for d in new]])
            pads = [p + block_pads[0] for p in pads] + block_pads[1:]
        return past, pads

    def _refill(self, past: Past) -> Past:
        """Rows just selected or merged, written back into the batch's own slabs (those of the
        cache it holds until this one replaces it: ``kv_cache.refill``) so that its buffers stay
        the same while streams come and go; any other cache as it is."""
        if self.model.past_time_axis != 2 or past is None:
            return past
        own = kv_cache.slabs(self.past) if self.past is not None else [None] * len(past)
        return kv_cache.refill(past, own, self.model.config.block_size)

    def close(self) -> None:
        """``release``, and the fixed-shape step given back to its model: the batch is done."""
        self.release()
        if self.decoder is not None:
            self.decoder.give_back()
            self.decoder = None

    def release(self) -> None:
        """Give every member its own cache back (its padding cut off)."""
        if self.members:
            kv_cache.claim(self.past, False)  # its slabs are seen by others from now on
            rows = self.model.split_past(self.past, self.pads) if len(self.members) > 1 else [self.past]
            for d, row in zip(self.members, rows, strict=True):
                if d is not None:
                    d.past = row
        self.members, self.past, self.pads, self.vacant = [], None, [], {}

    def _forward(
        self, going: list[Decoding]
    ) -> tuple[list[Decoding | None], np.ndarray, list[np.ndarray | None]]:
        """One forward for the newest token of every decoding → (the decodings in row order, None
        for a vacant row; logits (B, V); attention rows)."""
        if self.decoder is not None:
            return self._forward_fixed(going)
        trace = "attention" if any(d.include_attention for d in going) else False  # the weights alone
        with self.model.inference_context():
            self._arrange(going)
            members = self.members
            ids = np.asarray([[d.seq[-1] if d is not None else 0] for d in members])  # (B, 1)
            padding_mask = None
            if any(self.pads):
                length = self.model.past_length(self.past) + 1  # the keys after this step
                padding_mask = np.arange(length)[None, :] >= np.asarray(self.pads)[:, None]  # (B, Tk)
            out, self.past, tr = self.model.forward_cached(ids, self.past, padding_mask, trace)
            kv_cache.claim(self.past)  # nobody else sees the batch's cache: a full slab is reused
            self.steps += 1
        logits = to_numpy(out[:, -1, :])
        attention: list[np.ndarray | None] = []
        for b, d in enumerate(members):  # (L, nh, Tk) of this row's own keys
            keep = d is not None and d.include_attention
            attention.append(newest_attention(tr, b, self.pads[b]) if keep else None)
        return members, logits, attention

    def _forward_fixed(self, going: list[Decoding]) -> tuple[list[Decoding | None], np.ndarray, list[None]]:
        """``_forward`` of one stream through ``decoder`` (its fixed-shape step: ``models/graph_step.py``),
        loaded from the stream's cache whenever its prompt or its slid window was just read."""
        if len(going) != 1 or going[0].include_attention:
            raise ValueError("a fixed-shape step decodes one stream, without attention rows")
        d = going[0]
        with self.model.inference_context():
            if d.past is not None:
                self.decoder.load(d.past)
                d.past = None
            self.members, self.pads = [d], [0]
            logits = to_numpy(self.decoder(d.seq[-1]))  # (1, V)
        self.steps += 1
        return [d], logits, [None]

    def step(self, decodings: Sequence[Decoding]) -> list[TokenEvent]:
        """Advance every unfinished decoding by one token; returns their token events in order.
        Each samples from its own distribution with its own random stream, so its tokens do not
        depend on which others share the batch."""
        live = [d for d in decodings if not d.finished]
        if not live:
            return []
        rows: dict[int, tuple[np.ndarray, np.ndarray | None, float]] = {}
        sliding = [d for d in live if d.full]
        if sliding:  # their cached rows are of no more use: they leave the batch
            with self.model.inference_context():  # the batch's buffers were made in it, and are written
                self._arrange([m for m in self.members if m is not None and all(m is not d for d in sliding)])
        member = {id(d) for d in self.members if d is not None}
        reading = [d for d in live if d.full or (d.past is None and id(d) not in member)]
        if reading:  # read apart from the batch, from position 0, all in one forward
            t0 = time.perf_counter()
            for d in sliding:
                forget_window(d)
            read = read_windows(self.model, reading)
            seconds = time.perf_counter() - t0
            for d, (logits, attention) in zip(reading, read, strict=True):
                rows[id(d)] = (logits, attention, seconds)
        going = [d for d in live if id(d) not in rows]
        if going:
            t0 = time.perf_counter()
            members, logits, attention = self._forward(going)
            seconds = time.perf_counter() - t0
            for b, d in enumerate(members):
                if d is not None:
                    rows[id(d)] = (logits[b], attention[b], seconds)
        events = []
        t0 = time.perf_counter()  # one vectorised draw for all: each row as sample_next gives it alone
        samples = sample_batch(
            np.stack([rows[id(d)][0] for d in live]),
            [d.params for d in live],
            [d.rng for d in live],
            [d.seq for d in live],
            [d.n_candidates for d in live],
        )
        for d, s in zip(live, samples, strict=True):
            _, attention, seconds = rows[id(d)]
            window_start = d.window_start  # what the model saw for this token
            text = d.accept(s.token)
            ms = (seconds + time.perf_counter() - t0) * 1000
            d.busy += ms / 1000
            d.ttft_ms = d.ttft_ms or ms
            events.append(TokenEvent(len(d.out) - 1, s.token, text, s, attention, ms, window_start))
        return events


def step(model: CausalLM, decodings: Sequence[Decoding]) -> list[TokenEvent]:
    """Advance every unfinished decoding by one token in one batch, each keeping its own cache."""
    batch = DecodeBatch(model)
    events = batch.step(decodings)
    batch.release()
    return events


def generate(
    model: CausalLM,
    prompt_ids: Sequence[int],
    max_new_tokens: int,
    params: SamplingParams | None = None,
    seed: int | np.random.Generator | None = 0,
    *,
    tokenizer: Detokenizer | None = None,
    include_attention: bool = False,
    stop_ids: Sequence[int] = (),
    stop: Sequence[str] = (),
    keep: int | None = None,
    n_candidates: int = 10,
) -> Iterator[TokenEvent | DoneEvent]:
    """Yield one ``TokenEvent`` per new token (KV cache), then a ``DoneEvent`` with the reason.

    Stops after ``max_new_tokens`` ("length") or at a stop string or stop token ("stop"); past
    the context the window slides (``forget_window``). A ``Generator`` as ``seed`` is drawn from as it
    is, so several calls can share one stream.
    """
    d = start(
        model,
        prompt_ids,
        max_new_tokens,
        params,
        seed,
        tokenizer=tokenizer,
        include_attention=include_attention,
        stop_ids=stop_ids,
        stop=stop,
        keep=keep,
        n_candidates=n_candidates,
    )
    batch = DecodeBatch(model)
    if getattr(model, "use_cuda_graphs", False) and not include_attention:  # the PyTorch twin's GPT
        from models.graph_step import take_decoder  # imports torch, which a NumPy-only caller never needs

        batch.decoder = take_decoder(model)  # on CUDA, a step captured as a graph; elsewhere None
    try:
        while not d.finished:
            yield from batch.step([d])
    finally:
        batch.close()
    yield d.done()

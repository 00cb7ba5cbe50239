"""Measuring trained models (the ``playground evaluate`` command reads these).

- Numbers to words (encoder-decoder or GPT): exact-match accuracy of greedy decoding on held-out
  numbers. ``translate`` is one function for either architecture and either twin: the
  encoder-decoder decodes from BOS until EOS (``models.seq2seq.greedy_translate``); the GPT
  continues "1234=" until it writes a newline. A translation is right when it equals
  ``models.numbers.to_words`` exactly.
- Masked LM (encoder): masked-token loss, top-1 and top-5 accuracy on the validation split's
  non-overlapping context-long windows, masked once with a fixed seed (BERT's 80/10/10); and
  ``fill_masks``, the model's best guesses for chosen positions of one text.

Both report the parameters and the decoding (or reading) speed in tokens per second.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models import numbers as nb
from models.trace import to_numpy

BATCH = 512  # numbers decoded at once
SLICE = 300  # the card's quick check: this many test numbers, evenly spread


def spread(values: np.ndarray, n: int) -> np.ndarray:
    """``n`` entries evenly spread over ``values`` (all of them when there are no more than ``n``)."""
    if n >= len(values):
        return np.asarray(values)
    return np.asarray(values)[np.linspace(0, len(values) - 1, n).round().astype(np.int64)]


@dataclass
class Accuracy:
    """Greedy exact match on a list of numbers."""

    numbers: list[int]
    answers: list[str]  # what the model wrote
    correct: int
    tokens: int  # tokens generated
    seconds: float

    @property
    def accuracy(self) -> float:
        return self.correct / len(self.numbers)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    def wrong(self) -> list[tuple[int, str]]:
        return [(n, a) for n, a in zip(self.numbers, self.answers, strict=True) if a != nb.to_words(n)]

    def summary(self) -> dict[str, Any]:
        return {
            "numbers": len(self.numbers),
            "correct": self.correct,
            "exact_match": self.accuracy,
            "tokens": self.tokens,
            "tokens_per_s": round(self.tokens_per_s, 1),
        }


def is_encoder_decoder(model: Any) -> bool:
    return hasattr(model, "encode") and hasattr(model, "decode_cached")


def greedy_continue(model: Any, prompts: np.ndarray, stop_id: int) -> list[list[int]]:
    """Greedy continuation of equal-length prompts (B, P) on a decoder-only twin (KV cache), until
    every row has written ``stop_id`` or the context is full. Each output ends at its ``stop_id``."""
    B, P = prompts.shape
    block = model.config.block_size
    out: list[list[int]] = [[] for _ in range(B)]
    done = np.zeros(B, dtype=bool)
    with model.inference_context():
        logits, past, _ = model.forward_cached(prompts)
        step = 0
        while True:
            nxt = np.argmax(to_numpy(logits[:, -1, :]), axis=-1)  # (B,)
            for b in np.flatnonzero(~done):
                out[b].append(int(nxt[b]))
            done |= nxt == stop_id
            step += 1
            if done.all() or P + step > block:  # the next input would not fit the context
                break
            logits, past, _ = model.forward_cached(nxt[:, None].astype(np.int64), past)
    return out


def translate(
    model: Any, numbers: Sequence[int], tokenizer: Any = None, batch_size: int = BATCH
) -> tuple[list[str], int]:
    """Greedy translations of ``numbers`` → (the words each model output spells, tokens generated).

    An encoder-decoder's output is its words up to EOS (a special token or a missing EOS makes the
    answer wrong); a GPT's is what it wrote after "n=" up to the newline. ``tokenizer``: the GPT's
    (default ``models.numbers.gpt_tokenizer()``).
    """
    numbers = [nb.parse_number(int(n)) for n in numbers]
    answers: list[str] = [""] * len(numbers)
    generated = 0
    if is_encoder_decoder(model):
        from models.seq2seq import greedy_translate

        src_tok, tgt_tok = nb.source_tokenizer(), nb.target_tokenizer()
        for i in range(0, len(numbers), batch_size):
            chunk = numbers[i : i + batch_size]
            outs = greedy_translate(model, [src_tok.encode(str(n)) for n in chunk], nb.BOS_ID, nb.EOS_ID)
            for j, ids in enumerate(outs):
                generated += len(ids)
                words = tgt_tok.token_strings(ids[:-1] if ids and ids[-1] == nb.EOS_ID else [*ids, nb.PAD_ID])
                answers[i + j] = " ".join(words)
        return answers, generated
    tok = tokenizer or nb.gpt_tokenizer()
    newline = tok.encode("\n")[0]
    by_length: dict[int, list[int]] = {}
    for k, n in enumerate(numbers):
        by_length.setdefault(len(str(n)), []).append(k)
    for index in by_length.values():
        for i in range(0, len(index), batch_size):
            rows = index[i : i + batch_size]
            prompts = np.asarray([tok.encode(nb.gpt_prompt(numbers[k])) for k in rows], dtype=np.int64)
            for k, ids in zip(rows, greedy_continue(model, prompts, newline), strict=True):
                generated += len(ids)
                text = tok.decode(ids)
                answers[k] = text[:-1] if text.endswith("\n") else text + "\u2026"  # unfinished: wrong
    return answers, generated


def numbers_accuracy(
    model: Any, numbers: Sequence[int], tokenizer: Any = None, batch_size: int = BATCH
) -> Accuracy:
    """Exact-match accuracy of greedy decoding on ``numbers`` (either architecture, either twin)."""
    start = time.perf_counter()
    answers, generated = translate(model, numbers, tokenizer, batch_size)
    seconds = time.perf_counter() - start
    numbers = [int(n) for n in numbers]
    correct = sum(a == nb.to_words(n) for n, a in zip(numbers, answers, strict=True))
    return Accuracy(numbers, answers, correct, generated, seconds)


def held_out(split_seed: int = 0, split: str = "test", limit: int | None = None) -> np.ndarray:
    """The held-out numbers of a split; with ``limit``, that many evenly spread over it (all lengths)."""
    numbers = nb.split_numbers(split_seed)[split]
    return spread(numbers, limit) if limit else numbers


# -- masked LM -------------------------------------------------------------------------------------


def masked_accuracy(logits: Any, targets: Any) -> tuple[int, int]:
    """(right, scored): argmax predictions that equal the target where the target is not -1."""
    logits, targets = to_numpy(logits), to_numpy(targets)
    scored = targets != -1
    return int((np.argmax(logits, axis=-1)[scored] == targets[scored]).sum()), int(scored.sum())


MLM_SEED = 0  # the masking of the validation windows: fixed, so every measurement masks alike
MLM_BATCH = 32  # windows per forward
MLM_SLICE = 64  # the card's quick check: the first 64 masked windows of the split


def mlm_windows(
    tokens: np.ndarray, block_size: int, mask_id: int, vocab_size: int, seed: int = MLM_SEED, p: float = 0.15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The split cut into non-overlapping ``block_size`` windows, all masked at once with BERT's
    recipe and ``np.random.default_rng(seed)`` → (ids, inputs, targets), each (N, T). A slice of the
    first n windows is masked the same whether or not the rest is measured."""
    from models.mlm import mask_tokens

    n = len(tokens) // block_size
    if n < 1:
        raise ValueError(f"{len(tokens)} tokens hold no window of {block_size}")
    ids = np.asarray(tokens[: n * block_size], dtype=np.int64).reshape(n, block_size)
    inputs, targets = mask_tokens(ids, mask_id, vocab_size, np.random.default_rng(seed), p)
    return ids, inputs, targets


@dataclass
class MLMScores:
    """Masked-token loss and top-1 / top-5 accuracy over masked windows."""

    loss: float  # mean nats over the chosen tokens
    accuracy: float  # top-1 guess right
    top5: float  # target among the 5 most likely
    masked: int  # tokens chosen (scored)
    windows: int
    tokens: int  # tokens read
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def perplexity(self) -> float:
        return float(np.exp(self.loss))

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.seconds if self.seconds > 0 else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "loss": self.loss,
            "perplexity": self.perplexity,
            "accuracy": self.accuracy,
            "top5_accuracy": self.top5,
            "masked": self.masked,
            "windows": self.windows,
            "tokens": self.tokens,
            "tokens_per_s": round(self.tokens_per_s, 1),
        }


def score_masked(model: Any, inputs: np.ndarray, targets: np.ndarray, batch: int = MLM_BATCH) -> MLMScores:
    """Run the masked windows through ``model`` (either twin) and score the chosen tokens."""
    nll, top1, top5, scored, seconds = 0.0, 0, 0, 0, 0.0
    for i in range(0, len(inputs), batch):
        x, y = inputs[i : i + batch], targets[i : i + batch]
        start = time.perf_counter()
        with model.inference_context():
            logits = to_numpy(model(x))
        seconds += time.perf_counter() - start
        keep = y != -1
        z = logits[keep].astype(np.float64)  # (n, V)
        t = y[keep]
        z = z - z.max(axis=-1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
        target_logp = logp[np.arange(len(t)), t]
        nll -= float(target_logp.sum())
        top1 += int((np.argmax(z, axis=-1) == t).sum())
        top5 += int(((logp > target_logp[:, None]).sum(axis=-1) < 5).sum())  # fewer than 5 above it
        scored += len(t)
    return MLMScores(
        nll / scored, top1 / scored, top5 / scored, scored, len(inputs), int(inputs.size), seconds
    )


def mlm_scores(
    model: Any, tokens: np.ndarray, mask_id: int, windows: int | None = None, seed: int = MLM_SEED
) -> MLMScores:
    """Masked-token loss and accuracy on the non-overlapping context-long windows of ``tokens``
    (a split), masked with a fixed seed; ``windows``: the first that many only."""
    _, inputs, targets = mlm_windows(tokens, model.config.block_size, mask_id, model.config.vocab_size, seed)
    if windows is not None:
        inputs, targets = inputs[:windows], targets[:windows]
    return score_masked(model, inputs, targets)


def fill_masks(
    model: Any, ids: Sequence[int], positions: Sequence[int], mask_id: int, k: int = 5
) -> list[dict[str, Any]]:
    """Hide ``positions`` of ``ids`` behind ``mask_id`` and return the model's ``k`` best guesses
    for each: [{position, target, ids, probs}]."""
    x = np.asarray(ids, dtype=np.int64)[None].copy()
    x[0, list(positions)] = mask_id
    with model.inference_context():
        logits = to_numpy(model(x))[0].astype(np.float64)
    out = []
    for pos in positions:
        z = logits[pos] - logits[pos].max()
        probs = np.exp(z) / np.exp(z).sum()
        best = np.argsort(-probs, kind="stable")[:k]
        out.append(
            {
                "position": int(pos),
                "target": int(ids[pos]),
                "ids": best.tolist(),
                "probs": probs[best].tolist(),
            }
        )
    return out


# -- the `playground evaluate` command -------------------------------------------------------------

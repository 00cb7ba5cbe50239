"""Numbers to words: a small translation task for the encoder-decoder (and, as prompt-then-answer
text, for a decoder-only GPT).

Range and wording: every integer from 0 to 999,999, in American English without "and", hyphens
or commas: 0 → "zero", 21 → "twenty one", 105 → "one hundred five", 1234 → "one thousand two
hundred thirty four", 700010 → "seven hundred thousand ten". One spelling per number.

Vocabularies:
- source: one token per digit, a ``CharTokenizer`` over "0123456789" (a digit's id is its value);
  padding is marked by the padding mask, not by a token.
- target: one token per word (``WordTokenizer``): 30 number words after ``<pad>``, ``<s>``
  (BOS) and ``</s>`` (EOS). Words rather than characters because a word is the unit a digit
  maps to: answers stay at most 9 words + EOS (a character target would take up to 65 steps),
  and the cross-attention picture reads directly — "thousand" looks at the thousands digits,
  "forty" at the tens digit.
- decoder-only: a ``CharTokenizer`` over the characters of "1234=one thousand … four\\n" lines;
  the GPT sees the digits, "=", then learns to write the words and a newline.

Split: 0–99 (every word's first use) are always training numbers; from each length of 3 to 6
digits a seeded draw holds out the same number of validation and test numbers (at most 1,000 and
at most 10 % of that length each), so the held-out sets cover every length and never meet training.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.tokenizer import CharTokenizer, WordTokenizer

MAX_NUMBER = 999_999
ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
WORDS = (*ONES, *TENS[2:], "hundred", "thousand")  # the 30 number words
SPECIALS = ("<pad>", "<s>", "</s>")
PAD_ID, BOS_ID, EOS_ID = 0, 1, 2  # target ids of the special tokens
DIGITS = "0123456789"
MAX_WORDS = 9  # "seven hundred seventy seven thousand seven hundred seventy seven"
ALWAYS_TRAIN = 100  # 0..99 are always training numbers
SPLITS = ("train", "val", "test")


def _below_thousand(n: int) -> list[str]:
    """Words for 1 ≤ n ≤ 999."""
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if 0 < rest < 20:
        words.append(ONES[rest])
    elif rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(TENS[tens])
        if ones:
            words.append(ONES[ones])
    return words


def parse_number(n: int | str) -> int:
    """An int, or a string of digits without leading zeros, in 0..999,999."""
    if isinstance(n, str):
        if not n.isascii() or not n.isdigit() or (len(n) > 1 and n[0] == "0"):
            raise ValueError(f"a number is written with digits 0-9 and no leading zero, got {n!r}")
        n = int(n)
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise TypeError(f"a number must be an int or a string of digits, got {type(n).__name__}")
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"numbers run from 0 to {MAX_NUMBER:,}, got {n}")
    return int(n)


def to_words(n: int | str) -> str:
    """1234 (or "1234") → "one thousand two hundred thirty four"."""
    n = parse_number(n)
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    words = [*_below_thousand(thousands), "thousand"] if thousands else []
    return " ".join(words + _below_thousand(rest))


# -- the split -------------------------------------------------------------------------------


def split_numbers(seed: int = 0, per_length: int = 1000, max_fraction: float = 0.1) -> dict[str, np.ndarray]:
    """{"train", "val", "test"} → sorted int64 arrays that partition 0..999,999.

    For each length of 3 to 6 digits, ``min(per_length, max_fraction × count)`` numbers go to
    validation and as many to test, drawn with ``np.random.default_rng(seed)``; the rest, and all
    of 0..99, train. The same seed gives the same split.
    """
    rng = np.random.default_rng(seed)
    val, test, train = [], [], [np.arange(ALWAYS_TRAIN, dtype=np.int64)]
    for digits in range(3, 7):
        numbers = np.arange(10 ** (digits - 1), 10**digits, dtype=np.int64)
        k = min(per_length, int(max_fraction * len(numbers)))
        drawn = rng.permutation(numbers)
        val.append(drawn[:k])
        test.append(drawn[k : 2 * k])
        train.append(drawn[2 * k :])
    return {
        name: np.sort(np.concatenate(parts)) for name, parts in zip(SPLITS, (train, val, test), strict=True)
    }


# -- tokenizers ------------------------------------------------------------------------------


def source_tokenizer() -> CharTokenizer:
    """Digits, one token each; id = the digit's value."""
    return CharTokenizer(list(DIGITS))


def target_tokenizer() -> WordTokenizer:
    """``<pad>``, ``<s>``, ``</s>``, then the 30 number words: 33 tokens."""
    return WordTokenizer([*SPECIALS, *WORDS])


def tokenizers_json() -> dict[str, Any]:
    """Both vocabularies as one JSON object ({"kind": "seq2seq", "source": …, "target": …})."""
    return {"kind": "seq2seq", "source": source_tokenizer().to_json(), "target": target_tokenizer().to_json()}


# -- examples and batches for the encoder-decoder --------------------------------------------


def encdec_example(n: int | str) -> tuple[list[int], list[int]]:
    """(source ids: the digits, target ids: the words followed by EOS)."""
    n = parse_number(n)
    return source_tokenizer().encode(str(n)), [*target_tokenizer().encode(to_words(n)), EOS_ID]


@dataclass(frozen=True)
class Seq2SeqBatch:
    src: np.ndarray  # (B, S) digit ids, right-padded with 0
    src_mask: np.ndarray  # (B, S) 1 for digits, 0 for padding
    tgt_in: np.ndarray  # (B, T) BOS + words, right-padded with <pad>
    tgt_out: np.ndarray  # (B, T) words + EOS, right-padded with -1 (ignored by the loss)


def _pad_right(rows: Sequence[Sequence[int]], fill: int) -> np.ndarray:
    out = np.full((len(rows), max(len(r) for r in rows)), fill, dtype=np.int64)
    for b, r in enumerate(rows):
        out[b, : len(r)] = r
    return out


def encdec_batch(numbers: Iterable[int]) -> Seq2SeqBatch:
    """Teacher-forcing batch: the decoder reads ``tgt_in`` and is scored on ``tgt_out``."""
    pairs = [encdec_example(int(n)) for n in numbers]
    if not pairs:
        raise ValueError("a batch needs at least one number")
    srcs = [s for s, _ in pairs]
    src = _pad_right(srcs, 0)
    src_mask = _pad_right([[1] * len(s) for s in srcs], 0)
    tgt_in = _pad_right([[BOS_ID, *t[:-1]] for _, t in pairs], PAD_ID)
    tgt_out = _pad_right([t for _, t in pairs], -1)
    return Seq2SeqBatch(src, src_mask, tgt_in, tgt_out)


# -- the same task for a decoder-only GPT ----------------------------------------------------


def gpt_prompt(n: int | str) -> str:
    """ "1234=": what the GPT is given."""
    return f"{parse_number(n)}="


def gpt_line(n: int | str) -> str:
    """ "1234=one thousand two hundred thirty four\\n": one training line."""
    return f"{gpt_prompt(n)}{to_words(n)}\n"


def gpt_answer(text: str) -> str:
    """The words a GPT wrote after the prompt: everything up to the first newline."""
    return text.split("\n", 1)[0]


def gpt_tokenizer() -> CharTokenizer:
    """Characters of every line: newline, space, digits, "=", and the letters of the words (sorted)."""
    return CharTokenizer.train("\n =" + DIGITS + "".join(WORDS))


def gpt_batch(
    numbers: Iterable[int], tokenizer: CharTokenizer | None = None, answer_only: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(ids (B, T), targets (B, T)) for next-token training on whole lines, right-padded.

    targets[t] = ids[t + 1]; padding is -1, and with ``answer_only`` so is every position that
    predicts part of the prompt, so the loss counts the words and the newline only.
    """
    tok = tokenizer or gpt_tokenizer()
    ids_rows, target_rows = [], []
    for n in numbers:
        line = tok.encode(gpt_line(int(n)))
        targets = list(line[1:])
        if answer_only:
            n_prompt = len(gpt_prompt(int(n)))  # one token per character
            targets[: n_prompt - 1] = [-1] * (n_prompt - 1)  # predictions of prompt characters
        ids_rows.append(line[:-1])
        target_rows.append(targets)
    if not ids_rows:
        raise ValueError("a batch needs at least one number")
    return _pad_right(ids_rows, 0), _pad_right(target_rows, -1)

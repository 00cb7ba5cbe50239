"""Small sequence tasks a transformer learns in a minute: ``copy``, ``reverse``, ``sort``, ``induction``.

Each example is one line of characters, and a decoder-only model (GPT or LSTM) learns to continue it:

    copy       "31415926>31415926\\n"     the digits again
    reverse    "31415926>62951413\\n"     the digits backwards
    sort       "31415926>11234569\\n"     the digits in order
    induction  "kbhadmcfgjoekbhadmcfgjoe\\n"   twelve distinct letters, then the same twelve again

The loss counts the answer only (the part after ">", or the second copy from its second letter on:
its first letter cannot be known before it is seen), the closing newline included, so a trained
model stops by itself. Held-out exact match is measured with teacher forcing: every answer
position's most likely token is the right one. That is the same as greedy decoding getting the whole
answer right, because greedy decoding feeds back exactly those tokens while they are right.

Training examples come from the run's seeded Generator; the fixed evaluation examples from their own
seeds (``EVAL_SEEDS``), so a held-out example is one the run almost surely never trained on (there
are 10^8 digit strings and 16!/4! letter strings). ``probe`` is one fixed example per task: the
training lab draws its attention and the model's answer on it as training goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from models.config import GPTConfig, LSTMConfig, preset
from models.tokenizer import CharTokenizer
from models.training.tasks import Batch, _torch, check_arch

DIGITS = "0123456789"
LETTERS = "abcdefghijklmnop"
SEP, END = ">", "\n"
EVAL_SEEDS = {"train": 1, "val": 2}  # the fixed evaluation examples of each split
PROBE_SEED = 7  # the probe example, the same for every run of a task


@dataclass(frozen=True)
class SequenceKind:
    name: str
    help: str
    alphabet: str
    length: int  # symbols in the question (and in the answer)


KINDS = {
    k.name: k
    for k in (
        SequenceKind("copy", "repeat the digits after '>'", DIGITS, 8),
        SequenceKind("reverse", "the digits after '>' backwards", DIGITS, 8),
        SequenceKind("sort", "the digits after '>' in order", DIGITS, 8),
        SequenceKind(
            "induction", "twelve distinct letters shown twice: continue the second copy", LETTERS, 12
        ),
    )
}


class SequenceTask:
    """One of ``KINDS`` as a task of the training loop (``models/training/tasks.py``'s interface)."""

    archs = ("gpt", "lstm")

    def __init__(self, name: str):
        if name not in KINDS:
            raise ValueError(f"sequence task must be one of {', '.join(KINDS)}, got {name!r}")
        self.kind = KINDS[name]
        self.name = name
        extra = "" if name == "induction" else SEP
        self.tokenizer = CharTokenizer(sorted(self.kind.alphabet + extra + END))
        self.line_length = 2 * self.kind.length + (0 if name == "induction" else 1) + 1
        self.block_size = self.line_length - 1  # the inputs: every character but the last
        # the first input position whose next token is scored: '>' (or the second copy's first letter)
        self.first_scored = self.kind.length

    # examples -----------------------------------------------------------------
    def question(self, rng: np.random.Generator) -> str:
        n, alphabet = self.kind.length, self.kind.alphabet
        if self.name == "induction":  # distinct letters, so each has one earlier occurrence to look back to
            return "".join(rng.permutation(list(alphabet))[:n])
        return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), n))

    def line(self, question: str) -> str:
        """The whole example: question, answer and the closing newline."""
        if self.name == "induction":
            return question + question + END
        answer = {"copy": question, "reverse": question[::-1], "sort": "".join(sorted(question))}[self.name]
        return question + SEP + answer + END

    def prompt(self, question: str) -> str:
        """What a model is given to continue: up to '>' (or the first copy and the second's first letter)."""
        return question + question[0] if self.name == "induction" else question + SEP

    def arrays(self, questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (B, T) and targets (B, T), the targets -1 outside the answer."""
        lines = np.array([self.tokenizer.encode(self.line(q)) for q in questions], dtype=np.int64)
        ids, targets = lines[:, :-1], lines[:, 1:].copy()
        targets[:, : self.first_scored] = -1
        return ids, targets

    def batch(self, questions: list[str]) -> Batch:
        ids, targets = self.arrays(questions)
        return Batch(_torch(ids, targets), int((targets != -1).sum()))

    @property
    def probe(self) -> str:
        return self.question(np.random.default_rng(PROBE_SEED))

    # the task interface -------------------------------------------------------
    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> GPTConfig | LSTMConfig:
        check_arch(self.name, arch)
        changes = {k: v for k, v in changes.items() if k != "block_size"}
        sizes = {"vocab_size": self.tokenizer.vocab_size, "block_size": self.block_size}
        if arch == "lstm":
            return LSTMConfig(**sizes, **changes)
        return preset(preset_name, **sizes, **changes)

    def setup(self, config: Any) -> None:
        if config.vocab_size != self.tokenizer.vocab_size or config.block_size < self.block_size:
            raise ValueError(f"the model does not fit the {self.name} task's vocabulary or line length")

    def train_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self.batch([self.question(rng) for _ in range(batch_size)])

    def eval_batches(self, split: str, batch_size: int, n_batches: int) -> list[Batch]:
        rng = np.random.default_rng(EVAL_SEEDS[split])
        return [self.train_batch(rng, batch_size) for _ in range(n_batches)]

    def measures(self, model: Any, split: str, batches: list[Batch], loss: float) -> dict[str, float]:
        right = total = 0
        for b in batches:
            ids, targets = b.args
            r, t = exact_matches(model(ids), targets)
            right, total = right + r, total + t
        return {f"{split}_accuracy": right / total}

    def tokenizer_json(self) -> dict[str, Any]:
        return self.tokenizer.to_json()

    def card_fields(self) -> dict[str, Any]:
        k = self.kind
        return {
            "task": self.name,
            "data": {
                "task": self.name,
                "format": repr(self.line(self.probe)),
                "about": k.help,
                "held_out": f"examples drawn with seed {EVAL_SEEDS['val']}, scored by exact match",
            },
            "tokenizer": {"kind": "char", "vocab_size": self.tokenizer.vocab_size},
            "stop": [END],
        }

    def info(self) -> dict[str, Any]:
        return {"name": self.name}

    def prepare_args(self) -> None:
        return None  # generated, not prepared

    def train_args(self) -> list[str]:
        return ["--task", self.name]


def exact_matches(logits: Any, targets: Any) -> tuple[int, int]:
    """(rows whose every scored position's argmax is its target, rows): exact match under teacher forcing."""
    predicted = logits.argmax(-1)
    scored = targets != -1
    right = ((predicted == targets) | ~scored).all(-1)
    return int(right.sum()), int(right.shape[0])


def induction_score(attention: np.ndarray, length: int) -> tuple[float, int, int]:
    """How much an induction head looks where it should: on "x x" (each half ``length`` long), the query
    at input position q of the second copy (token x[q − length]) should attend to key q − length + 1,
    the token that followed that token's first occurrence. ``attention`` is (L, nh, T, T); returns the
    best head's mean weight on those keys over the second copy's queries, and its (layer, head)."""
    queries = np.arange(length, 2 * length)
    keys = queries - length + 1
    per_head = attention[:, :, queries, keys].mean(-1)  # (L, nh)
    layer, head = np.unravel_index(int(per_head.argmax()), per_head.shape)
    return float(per_head[layer, head]), int(layer), int(head)

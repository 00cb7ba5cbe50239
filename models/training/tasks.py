"""What ``playground train`` trains on: one small *task* object per kind of data.

The training loop (``models/training/loop.py``) knows nothing of windows, masks or translations. It asks
its task for:

- ``config(arch, preset_name, changes)``: the model configuration for an architecture the task
  can train (vocabulary and context come from the task; ``changes`` are the model flags);
  an architecture the task cannot train is a ``ValueError`` that names those it can;
- ``setup(config)``: called once with the run's configuration (checks that the data fits it);
- ``train_batch(rng, batch_size)``: a ``Batch`` drawn with the run's seeded NumPy Generator, so
  a checkpoint that saves the Generator's state resumes exactly;
- ``eval_batches(split, batch_size, n_batches)``: fixed batches, the same at every evaluation;
- ``measures(model, split, batches, loss)``: extra numbers for ``metrics.jsonl`` (perplexity,
  accuracy…), computed with dropout off;
- ``tokenizer_json()``, ``card_fields()``, ``info()`` (saved in the checkpoint to rebuild the task
  on ``--resume``), ``prepare_args()`` and ``train_args()`` (the reproduce command).

A ``Batch`` is the arguments of the model's own ``loss`` plus the number of tokens it trains on.

Tasks here:

- ``NumbersTask``: numbers to words for the encoder-decoder (teacher forcing: the decoder reads
  BOS + words and is scored on words + EOS).
- ``PromptNumbersTask``: the same numbers for a decoder-only GPT, as "1234=one thousand …\\n"
  lines, scored on the answer only.
- ``MLMTask``: a masked LM on prepared character windows (15 % chosen, BERT's 80/10/10).

- ``LMTask``: next-token prediction on random windows of a prepared data directory (GPT, LSTM).

Numbers need no prepare step: the split is drawn from ``split_seed``.
torch is imported inside the functions that use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from models import numbers as nb
from models.architectures import ARCHITECTURES, ModelConfig
from models.config import EncDecConfig, EncoderConfig, GPTConfig, LSTMConfig, preset
from models.evaluate import masked_accuracy, numbers_accuracy, spread
from models.metrics import bits_per_char, perplexity
from models.mlm import MASK_CHAR, mask_tokens, with_mask_token
from models.tokenizer import CharTokenizer
from models.training.data import TokenData, prepare_args, shown_path

if TYPE_CHECKING:
    import torch

SEQUENCE_TASKS = ("copy", "reverse", "sort", "induction")  # models/training/sequences.py
TASKS = ("lm", "numbers", "mlm", *SEQUENCE_TASKS)
TASK_HELP = {
    "lm": "next-token language model on prepared text windows (gpt, lstm)",
    "numbers": "numbers to words, 0-999,999 (encoder-decoder; gpt as '1234=words' lines)",
    "mlm": "masked language model on prepared character windows (encoder)",
    "copy": "'31415926>31415926': repeat eight digits (gpt, lstm)",
    "reverse": "'31415926>62951413': eight digits backwards (gpt, lstm)",
    "sort": "'31415926>11234569': eight digits in order (gpt, lstm)",
    "induction": "twelve distinct letters shown twice: continue the second copy (gpt, lstm)",
}
DEFAULT_TASK = {name: a.task for name, a in ARCHITECTURES.items()}
DEFAULT_BLOCK_SIZE = 128  # a language model's context unless --block-size says otherwise
TASK_ARCHS = {
    "lm": ("gpt", "lstm"),
    "numbers": ("encoder-decoder", "gpt"),
    "mlm": ("encoder",),
    **{name: ("gpt", "lstm") for name in SEQUENCE_TASKS},
}
MLM_BLOCK_SIZE = 128
MASK_P = 0.15
EVAL_MASK_SEED = 0  # the fixed evaluation windows are masked once, with this seed
EVAL_TRAIN_SEED = 0  # the fixed "train" evaluation numbers are drawn once, with this seed


@dataclass(frozen=True)
class Batch:
    """One micro-batch: ``model.loss(*args)``, and how many tokens it trains on."""

    args: tuple[Any, ...]
    tokens: int


def check_arch(task: str, arch: str) -> None:
    """A clear refusal for an architecture that cannot learn ``task``."""
    if arch not in TASK_ARCHS[task]:
        can = " or ".join(f"--arch {a}" for a in TASK_ARCHS[task])
        raise ValueError(f"--task {task} cannot train --arch {arch}: {TASK_HELP[task]}; use {can}")


def _torch(*arrays: np.ndarray) -> tuple[Any, ...]:
    import torch

    return tuple(torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)) for a in arrays)


# -- numbers to words ----------------------------------------------------------------------------


def longest_gpt_line() -> int:
    """Characters of the longest "n=words\\n" line: the longest wording of the thousands (100..999)
    and of the rest (1..999) joined; every such pair is a 6-digit number."""
    thousands = max(range(100, 1000), key=lambda n: len(nb.to_words(n)))
    rest = max(range(1, 1000), key=lambda n: len(nb.to_words(n)))
    return len(nb.gpt_line(thousands * 1000 + rest))


class NumbersTask:
    """Numbers to words for the encoder-decoder: digits in, words + EOS out (teacher forcing).

    Training numbers are drawn by length: a length of d digits with weight d (1 to 6), then a
    training number of that length uniformly, so short numbers are seen often enough to learn
    their own positions. Validation numbers are evenly spread over the held-out validation split;
    the held-out test split is never read while training.
    """

    name = "numbers"
    archs = ("encoder-decoder",)

    def __init__(self, split_seed: int = 0):
        self.split_seed = int(split_seed)
        self.splits = nb.split_numbers(self.split_seed)
        train = self.splits["train"]
        self.by_length = [
            train[(train >= (10 ** (d - 1) if d > 1 else 0)) & (train < 10**d)] for d in range(1, 7)
        ]
        weights = np.arange(1, 7, dtype=np.float64)
        self.length_p = weights / weights.sum()

    # numbers ------------------------------------------------------------------
    def sample_numbers(self, rng: np.random.Generator, n: int) -> np.ndarray:
        lengths = rng.choice(6, size=n, p=self.length_p)  # 0..5 → 1..6 digits
        index = rng.random(n)
        return np.array(
            [self.by_length[d][int(u * len(self.by_length[d]))] for d, u in zip(lengths, index, strict=True)],
            dtype=np.int64,
        )

    def eval_numbers(self, split: str, n: int) -> np.ndarray:
        """Fixed numbers: the training distribution drawn once ("train"), or evenly spread over the
        sorted held-out split ("val", "test"), so every length is represented."""
        if split == "train":
            return self.sample_numbers(np.random.default_rng(EVAL_TRAIN_SEED), n)
        return spread(self.splits[split], n)

    # the task interface -------------------------------------------------------
    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> EncDecConfig:
        check_arch(self.name, arch)
        return EncDecConfig(
            src_vocab_size=len(nb.DIGITS),
            tgt_vocab_size=nb.target_tokenizer().vocab_size,
            src_block_size=len(str(nb.MAX_NUMBER)),
            tgt_block_size=nb.MAX_WORDS + 1,
            **changes,
        )

    def setup(self, config: Any) -> None:
        if config.src_block_size < len(str(nb.MAX_NUMBER)) or config.tgt_block_size < nb.MAX_WORDS + 1:
            raise ValueError("the model's source or target context is too short for numbers up to 999,999")

    def batch(self, numbers: np.ndarray) -> Batch:
        b = nb.encdec_batch(numbers)
        args = _torch(b.src, b.tgt_in, b.tgt_out, b.src_mask)
        return Batch(args, int((b.tgt_out != -1).sum()))

    def train_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        return self.batch(self.sample_numbers(rng, batch_size))

    def eval_batches(self, split: str, batch_size: int, n_batches: int) -> list[Batch]:
        numbers = self.eval_numbers(split, batch_size * n_batches)
        return [self.batch(numbers[i : i + batch_size]) for i in range(0, len(numbers), batch_size)]

    def batch_numbers(self, batches: list[Batch]) -> np.ndarray:
        """The numbers of fixed batches, read back from their digit rows."""
        out = []
        for b in batches:
            src, mask = b.args[0].numpy(), b.args[3].numpy()
            out += [int("".join(map(str, row[m.astype(bool)]))) for row, m in zip(src, mask, strict=True)]
        return np.asarray(out, dtype=np.int64)

    def measures(self, model: Any, split: str, batches: list[Batch], loss: float) -> dict[str, float]:
        if split != "val":
            return {}
        return {"val_accuracy": numbers_accuracy(model, self.batch_numbers(batches)).accuracy}

    def tokenizer_json(self) -> dict[str, Any]:
        return nb.tokenizers_json()

    def card_fields(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "data": {
                "task": "numbers-to-words",
                "range": [0, nb.MAX_NUMBER],
                "split_seed": self.split_seed,
                "splits": {k: len(v) for k, v in self.splits.items()},
                "held_out": "from each length of 3 to 6 digits, validation and test numbers never trained on",
                "train_sampling": "a length of d digits with weight d, then a training number of that length",
            },
            "tokenizer": {
                "kind": "seq2seq",
                "source": {"kind": "char", "vocab_size": len(nb.DIGITS)},
                "target": {"kind": "word", "vocab_size": nb.target_tokenizer().vocab_size},
                "vocab_size": nb.target_tokenizer().vocab_size,
            },
        }

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "split_seed": self.split_seed}

    def prepare_args(self) -> list[str] | None:
        return None  # generated, not prepared

    def train_args(self) -> list[str]:
        return ["--task", self.name, "--split-seed", str(self.split_seed)]


class PromptNumbersTask(NumbersTask):
    """Numbers to words for a decoder-only GPT: "1234=one thousand two hundred thirty four\\n" lines,
    right-padded, the loss on the answer (words and newline) only."""

    archs = ("gpt",)

    def __init__(self, split_seed: int = 0):
        super().__init__(split_seed)
        self.tokenizer = nb.gpt_tokenizer()
        self.block_size = longest_gpt_line() - 1  # the inputs: every character but the last

    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> GPTConfig:
        check_arch(self.name, arch)
        changes = dict(changes)
        block = changes.pop("block_size", self.block_size)
        return preset(preset_name, vocab_size=self.tokenizer.vocab_size, block_size=block, **changes)

    def setup(self, config: Any) -> None:
        if config.vocab_size != self.tokenizer.vocab_size:
            raise ValueError(f"the model's vocabulary ({config.vocab_size}) is not the task's")
        if config.block_size < self.block_size:
            raise ValueError(
                f"--block-size {config.block_size} is too short: the longest line needs {self.block_size}"
            )

    def batch(self, numbers: np.ndarray) -> Batch:
        ids, targets = nb.gpt_batch(numbers, self.tokenizer)
        return Batch(_torch(ids, targets), int((targets != -1).sum()))

    def batch_numbers(self, batches: list[Batch]) -> np.ndarray:
        out = []
        for b in batches:
            for row in b.args[0].numpy():
                line = self.tokenizer.decode(row.tolist())
                out.append(int(line.split("=", 1)[0]))
        return np.asarray(out, dtype=np.int64)

    def tokenizer_json(self) -> dict[str, Any]:
        return self.tokenizer.to_json()

    def card_fields(self) -> dict[str, Any]:
        fields = super().card_fields()
        fields["data"]["format"] = "'1234=one thousand two hundred thirty four\\n', loss on the answer only"
        fields["tokenizer"] = {"kind": "char", "vocab_size": self.tokenizer.vocab_size}
        return fields


def numbers_task(arch: str, split_seed: int = 0) -> NumbersTask:
    """The numbers task in the format ``arch`` reads."""
    check_arch("numbers", arch)
    return PromptNumbersTask(split_seed) if arch == "gpt" else NumbersTask(split_seed)


# -- masked language model -----------------------------------------------------------------------


class MLMTask:
    """A masked LM on windows of a prepared character text: each window's tokens are chosen with
    probability 15 % (at least one per window) and the chosen are masked BERT's way (80 % [MASK],
    10 % a random token, 10 % kept); the loss counts the chosen tokens only. The mask token is
    appended to the data's vocabulary (``models/mlm.py``)."""

    name = "mlm"
    archs = ("encoder",)

    def __init__(self, data: TokenData, p: float = MASK_P):
        if data.kind != "char":
            raise ValueError(
                f"--task mlm reads a character vocabulary; {data.directory} holds {data.kind} tokens "
                "(prepare with --tokenizer char)"
            )
        self.data, self.p = data, p
        self.tokenizer, self.mask_id = with_mask_token(CharTokenizer(data.tokenizer_json()["chars"]))
        self.train_tokens = data.train.astype(np.int64)
        self.val_tokens = data.val.astype(np.int64)
        self.block_size = MLM_BLOCK_SIZE

    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> EncoderConfig:
        check_arch(self.name, arch)
        changes = dict(changes)
        block = changes.pop("block_size", MLM_BLOCK_SIZE)
        return EncoderConfig(vocab_size=self.tokenizer.vocab_size, block_size=block, **changes)

    def setup(self, config: Any) -> None:
        if config.vocab_size != self.tokenizer.vocab_size:
            raise ValueError(f"the model's vocabulary ({config.vocab_size}) is not the task's")
        self.block_size = config.block_size
        for split, tokens in (("train", self.train_tokens), ("validation", self.val_tokens)):
            if len(tokens) <= self.block_size:
                raise ValueError(
                    f"the {split} split has {len(tokens)} tokens; --block-size {self.block_size} needs more"
                )

    def masked(self, windows: np.ndarray, rng: np.random.Generator) -> Batch:
        inputs, targets = mask_tokens(windows, self.mask_id, self.tokenizer.vocab_size, rng, self.p)
        return Batch(_torch(inputs, targets), int(windows.size))

    def train_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        T = self.block_size
        starts = rng.integers(0, len(self.train_tokens) - T, size=batch_size)  # (B,)
        return self.masked(self.train_tokens[starts[:, None] + np.arange(T)], rng)

    def eval_batches(self, split: str, batch_size: int, n_batches: int) -> list[Batch]:
        T = self.block_size
        tokens = self.train_tokens if split == "train" else self.val_tokens
        starts = np.linspace(0, len(tokens) - T, n_batches * batch_size).round().astype(np.int64)
        windows = tokens[starts[:, None] + np.arange(T)]  # (N·B, T)
        rng = np.random.default_rng(EVAL_MASK_SEED)
        return [self.masked(windows[i : i + batch_size], rng) for i in range(0, len(windows), batch_size)]

    def measures(self, model: Any, split: str, batches: list[Batch], loss: float) -> dict[str, float]:
        if split != "val":
            return {}
        right = total = 0
        for b in batches:
            r, t = masked_accuracy(model(b.args[0]), b.args[1])
            right, total = right + r, total + t
        return {"val_accuracy": right / total}

    def tokenizer_json(self) -> dict[str, Any]:
        return self.tokenizer.to_json()

    def card_fields(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "data": {
                **self.data.card_data(),
                "masking": {"p": self.p, "mask": 0.8, "random": 0.1, "keep": 0.1},
            },
            "tokenizer": {"kind": "char", "vocab_size": self.tokenizer.vocab_size, "mask_token": MASK_CHAR},
        }

    def info(self) -> dict[str, Any]:
        return {"name": self.name}

    def prepare_args(self) -> list[str]:
        return prepare_args(self.data)

    def train_args(self) -> list[str]:
        return ["--task", self.name, "--tokenizer", self.data.kind, "--data", shown_path(self.data.directory)]


def sample_batch(
    tokens: np.ndarray, block_size: int, batch_size: int, rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` windows at random offsets: inputs (B, T) and next-token targets (B, T)."""
    import torch

    starts = rng.integers(0, len(tokens) - block_size, size=batch_size)  # (B,)
    windows = torch.from_numpy(tokens[starts[:, None] + np.arange(block_size + 1)])  # (B, T+1)
    return windows[:, :-1], windows[:, 1:]


def fixed_batches(
    tokens: np.ndarray, block_size: int, batch_size: int, n_batches: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n_batches`` batches of windows spread evenly over a split: the same at every evaluation."""
    import torch

    starts = np.linspace(0, len(tokens) - block_size - 1, n_batches * batch_size).round().astype(np.int64)
    windows = torch.from_numpy(tokens[starts[:, None] + np.arange(block_size + 1)])  # (N·B, T+1)
    return [(w[:, :-1], w[:, 1:]) for w in windows.split(batch_size)]


class LMTask:
    """Next-token prediction on random windows of a prepared data directory (GPT or LSTM): the
    task that reads a ``TokenData``."""

    name = "lm"
    archs = ("gpt", "lstm")

    def __init__(self, data: TokenData):
        self.data = data
        self.train_tokens, self.val_tokens = data.train.astype(np.int64), data.val.astype(np.int64)
        self.block_size = DEFAULT_BLOCK_SIZE

    def config(self, arch: str, preset_name: str, changes: dict[str, Any]) -> ModelConfig:
        check_arch(self.name, arch)
        changes = dict(changes)
        block_size = changes.pop("block_size", DEFAULT_BLOCK_SIZE)
        if arch == "lstm":
            return LSTMConfig(vocab_size=self.data.vocab_size, block_size=block_size, **changes)
        return preset(preset_name, vocab_size=self.data.vocab_size, block_size=block_size, **changes)

    def setup(self, config: ModelConfig) -> None:
        T = self.block_size = config.block_size
        if config.vocab_size != self.data.vocab_size:
            raise ValueError(
                f"the model's vocabulary ({config.vocab_size}) is not the data's ({self.data.vocab_size})"
            )
        for split, tokens in (("train", self.train_tokens), ("validation", self.val_tokens)):
            if len(tokens) <= T:
                raise ValueError(f"the {split} split has {len(tokens)} tokens; --block-size {T} needs more")

    def train_batch(self, rng: np.random.Generator, batch_size: int) -> Batch:
        x, y = sample_batch(self.train_tokens, self.block_size, batch_size, rng)
        return Batch((x, y), batch_size * self.block_size)

    def eval_batches(self, split: str, batch_size: int, n_batches: int) -> list[Batch]:
        tokens = self.train_tokens if split == "train" else self.val_tokens
        batches = fixed_batches(tokens, self.block_size, batch_size, n_batches)
        return [Batch((x, y), x.numel()) for x, y in batches]

    def measures(self, model: Any, split: str, batches: list[Batch], loss: float) -> dict[str, float]:
        if split != "val":
            return {}
        val = self.data.meta["splits"]["val"]
        return {"val_ppl": perplexity(loss), "val_bpc": bits_per_char(loss, val["tokens"], val["chars"])}

    def tokenizer_json(self) -> dict[str, Any]:
        return self.data.tokenizer_json()

    def card_fields(self) -> dict[str, Any]:
        return {
            "task": self.name,
            "data": self.data.card_data(),
            "tokenizer": {"kind": self.data.kind, "vocab_size": self.data.vocab_size},
        }

    def info(self) -> dict[str, Any]:
        return {"name": self.name}

    def prepare_args(self) -> list[str]:
        return prepare_args(self.data)

    def train_args(self) -> list[str]:
        return ["--tokenizer", self.data.kind, "--data", shown_path(self.data.directory)]


Task = Any  # LMTask, NumbersTask, PromptNumbersTask or MLMTask: the interface above

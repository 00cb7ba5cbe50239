"""Your own checkpoint: any model folder (a Hugging Face GPT-2 one included) checked twin against twin.

``check_folder`` loads a folder on both twins, in float32 and float64, runs a few fixed inputs through
each and greedy-decodes a few steps; for a GPT with GPT-2's own options it also asks ``transformers``'
``GPT2LMHeadModel`` (when it is importable) the same questions. ``folder_card`` is the card of a folder
that came without one: what the server shows, and what ``playground check`` writes with the figures.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.architectures import Architecture, architecture
from models.loading import load_model, load_tokenizer
from models.trace import to_numpy
from models.weights import CONFIG_FILE, ModelFileError, architecture_of, read_json

CHECK_TEXTS = ("ROMEO: But soft, what light", "The quick brown fox, 1234.", "4012=")
MAX_INPUT = 16  # tokens of each fixed input
GREEDY_STEPS = 20
SEED = 0  # the random-id input
TOLERANCE = {"float32": 1e-4, "float64": 1e-9}  # max |Δ logits| that still counts as agreement
SOURCE = "checked folder"


def folder_card(name: str, arch: Architecture, parameters: int, tokenizer: Any) -> dict[str, Any]:
    """What a folder without a card.json is known by: its name, architecture, size and tokenizer."""
    return {
        "name": name,
        "architecture": arch.name,
        "parameters": int(parameters),
        "tokenizer": {"kind": tokenizer.kind, "vocab_size": int(tokenizer.vocab_size)},
    }


@dataclass
class Agreement:
    """One model against another on the same inputs: the largest logit gap per dtype, and greedy decoding."""

    between: str  # "numpy twin vs torch twin"
    max_abs_diff: dict[str, float]  # dtype → max |Δ logits| over every input
    greedy_steps: int
    greedy_equal: bool
    greedy: list[int] = field(default_factory=list)  # the first model's greedy tokens (first input)

    @property
    def ok(self) -> bool:
        close = all(d <= TOLERANCE[dtype] for dtype, d in self.max_abs_diff.items())
        return close and self.greedy_equal

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        del out["greedy"]
        return out


@dataclass
class FolderCheck:
    directory: Path
    arch: Architecture
    config: Any
    tokenizer: Any
    parameters: int
    inputs: list[list[int]]
    twins: Agreement
    transformers: Agreement | None  # None: not GPT-2-compatible, or transformers not importable
    transformers_note: str  # why there is no transformers comparison, or its version

    @property
    def ok(self) -> bool:
        return self.twins.ok and (self.transformers is None or self.transformers.ok)

    def card(self) -> dict[str, Any]:
        card = folder_card(self.directory.name, self.arch, self.parameters, self.tokenizer)
        card["source"] = SOURCE
        card["check"] = {
            "inputs": len(self.inputs),
            "tolerance": TOLERANCE,
            "twins": self.twins.summary(),
            "transformers": self.transformers.summary() if self.transformers else self.transformers_note,
        }
        return card


def check_inputs(tokenizer: Any, vocab_size: int, block_size: int) -> list[list[int]]:
    """The fixed inputs: each of ``CHECK_TEXTS`` the vocabulary can read (unknown characters dropped),
    and one of seeded random ids; each at most ``MAX_INPUT`` tokens and within the context."""
    n = min(MAX_INPUT, block_size)
    inputs = []
    for text in CHECK_TEXTS:
        try:
            ids = tokenizer.encode(text, errors="ignore")[:n]
        except (ValueError, TypeError):
            continue
        if ids and ids not in inputs:
            inputs.append(ids)
    inputs.append(np.random.default_rng(SEED).integers(0, vocab_size, n).tolist())
    return inputs


def logits_of(model: Any, ids: list[int]) -> np.ndarray:
    """(T, V) float64 logits of one sequence."""
    with model.inference_context():
        return to_numpy(model(np.asarray([ids], dtype=np.int64)))[0].astype(np.float64)


def greedy(next_logits: Any, ids: list[int], steps: int, block_size: int) -> list[int]:
    """``steps`` greedy tokens after ``ids``, recomputing the whole (context-cropped) sequence each step."""
    seq, out = list(ids), []
    for _ in range(steps):
        token = int(np.argmax(next_logits(seq[-block_size:])[-1]))
        out.append(token)
        seq.append(token)
    return out


def compare(
    between: str, a: dict[str, Any], b: dict[str, Any], inputs: list[list[int]], steps: int, block: int
) -> Agreement:
    """``a`` and ``b``: dtype → a function from ids to (T, V) logits. Greedy decoding runs in float32."""
    diffs = {
        dtype: max(float(np.max(np.abs(a[dtype](ids) - b[dtype](ids)))) for ids in inputs) for dtype in a
    }
    ga = greedy(a["float32"], inputs[0], steps, block) if steps else []
    gb = greedy(b["float32"], inputs[0], steps, block) if steps else []
    return Agreement(between, diffs, steps, ga == gb, ga)


def hf_logits(directory: Path, dtype: str) -> Any:
    """transformers' GPT2LMHeadModel on ``directory`` as a function from ids to (T, V) float64 logits."""
    import torch
    import transformers

    logging.getLogger("transformers").setLevel(logging.ERROR)
    transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bars in a command's output
    model = transformers.GPT2LMHeadModel.from_pretrained(directory).eval()
    model = model.double() if dtype == "float64" else model.float()

    def run(ids: list[int]) -> np.ndarray:
        with torch.no_grad():
            return model(torch.as_tensor([ids])).logits[0].double().numpy()

    return run


def transformers_version() -> str | None:
    try:
        import transformers
    except ImportError:
        return None
    return str(transformers.__version__)


def check_folder(directory: Path, steps: int = GREEDY_STEPS, use_transformers: bool = True) -> FolderCheck:
    """Both twins (and transformers, where it applies) on the same fixed inputs; ModelFileError
    (a ValueError) for a folder that is not a model."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelFileError(f"{directory} is not a folder")
    if not (directory / CONFIG_FILE).is_file():
        raise ModelFileError(f"{directory} is not a model folder: it holds no {CONFIG_FILE}")
    arch = architecture(architecture_of(read_json(directory / CONFIG_FILE)))
    if arch.kind == "seq2seq":
        raise ModelFileError(
            f"{directory} is an encoder-decoder; check compares language models (GPT, LSTM, masked LM)"
        )
    twins = {
        (backend, dtype): load_model(directory, backend, dtype)
        for backend in ("numpy", "torch")
        for dtype in ("float32", "float64")
    }
    tokenizer = load_tokenizer(directory)
    config = twins["numpy", "float32"].config
    if tokenizer.vocab_size != config.vocab_size:
        raise ModelFileError(
            f"{directory}: the tokenizer has {tokenizer.vocab_size} tokens, the model {config.vocab_size}"
        )
    inputs = check_inputs(tokenizer, config.vocab_size, config.block_size)
    steps = steps if arch.kind == "causal-lm" else 0  # a masked LM does not continue a text

    def side(backend: str) -> dict[str, Any]:
        return {dtype: (lambda ids, m=twins[backend, dtype]: logits_of(m, ids)) for dtype in TOLERANCE}

    block = config.block_size
    agreement = compare("numpy twin vs torch twin", side("numpy"), side("torch"), inputs, steps, block)
    version = transformers_version()
    oracle, note = None, ""
    if not (arch.name == "gpt" and config.is_gpt2):
        note = "not a GPT with GPT-2's own options"
    elif version is None or not use_transformers:
        note = "transformers is not installed" if version is None else "skipped"
    else:
        hf = {dtype: hf_logits(directory, dtype) for dtype in TOLERANCE}
        oracle = compare(f"numpy twin vs transformers {version}", side("numpy"), hf, inputs, steps, block)
        note = f"transformers {version}"
    return FolderCheck(
        directory,
        arch,
        config,
        tokenizer,
        twins["numpy", "float32"].num_parameters(),
        inputs,
        agreement,
        oracle,
        note,
    )

"""The model registry: every model directory under ``models_dir``, read once at start-up.

A directory that cannot be read (bad JSON, a missing or corrupt safetensors file, a tokenizer
that does not load) is reported by name with the reason, and the others still serve. Twins are
built lazily, once per (model, backend), so start-up reads only JSON and never imports torch.
Requests reach the file system only through the names found here.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.architectures import BACKENDS, Architecture, ModelConfig, architecture, default_stop
from models.checkpoint import folder_card
from models.devices import resolve_device
from models.loading import load_model
from models.numbers import gpt_prompt
from models.tokenizer import (
    AnyTokenizer,
    CharTokenizer,
    WordTokenizer,
    load_tokenizer_file,
    tokenizers_from_json,
)
from models.weights import (
    CARD_FILE,
    CONFIG_FILE,
    TOKENIZER_FILE,
    WEIGHTS_FILE,
    ModelFileError,
    architecture_of,
    read_json,
    read_safetensors_shapes,
)

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"  # a training run's log, one JSON record per evaluation
EXAMPLE_TEXT = "ROMEO: But soft, what light through yonder window breaks?"  # a page's default text
EXAMPLE_NUMBER = 4012  # what a numbers model reads: its digits (encoder-decoder) or "4012=" (GPT)


@dataclass(eq=False)  # hashable by identity: one entry per served model
class ModelEntry:
    name: str
    directory: Path
    architecture: str
    config: ModelConfig
    card: dict[str, Any]
    tokenizer: AnyTokenizer | WordTokenizer  # an encoder-decoder's: the target (output) vocabulary
    parameters: int
    torch_threads: int = 1
    device: str = "auto"  # where its PyTorch twin runs: auto, cpu, cuda or mps (resolved when it loads)
    source_tokenizer: CharTokenizer | None = None  # an encoder-decoder's input vocabulary
    params: dict[str, Any] | None = None  # weights held in memory (a training-lab model), not read from disk
    metrics: list[dict[str, Any]] | None = None  # its training log, in memory
    last_used: float = field(default_factory=time.monotonic)
    _twins: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def arch(self) -> Architecture:
        """The architecture table's entry for this model."""
        return architecture(self.architecture)

    @property
    def task(self) -> str:
        """What the model was trained for (its card's "task"): "lm", "mlm", "numbers", …"""
        return str(self.card.get("task") or self.arch.task)

    @property
    def has_metrics(self) -> bool:
        """Whether the folder ships its training log (a dropped-in checkpoint usually does not)."""
        return self.metrics is not None or (self.directory / METRICS_FILE).is_file()

    @property
    def in_memory(self) -> bool:
        """A model trained in the lab: served from memory until it expires."""
        return self.params is not None

    @property
    def example(self) -> str | None:
        """A short text the model's input vocabulary reads (what a page measures when the reader's own
        text does not fit the model): digits for an encoder-decoder, "4012=" for a GPT on numbers,
        else the pages' default text; None when not even that encodes."""
        limit = self.config.block_size
        if isinstance(self.card.get("example"), str):
            return self.card["example"]
        if self.arch.kind == "seq2seq":
            tokenizer, text = self.source_tokenizer, str(EXAMPLE_NUMBER)
            limit = self.config.src_block_size
        elif self.task == "numbers":
            tokenizer, text = self.tokenizer, gpt_prompt(EXAMPLE_NUMBER)
        else:
            tokenizer, text = self.tokenizer, EXAMPLE_TEXT
        try:
            ids = tokenizer.encode(text)
        except ValueError:
            return None
        return text if 0 < len(ids) <= limit else None

    @property
    def stop(self) -> tuple[str, ...]:
        """Where its generations stop unless a request says otherwise ("\\n" for a numbers GPT)."""
        return default_stop(self.task, self.card)

    def model(self, backend: str) -> Any:
        """The twin for ``backend``, built on first use (thread-safe); the PyTorch one moved to the
        registry's device, the NumPy one on the CPU."""
        self.last_used = time.monotonic()
        with self._lock:
            if backend not in self._twins:
                if backend == "torch":
                    import torch  # only now: a NumPy-only server never imports it

                    torch.set_num_threads(self.torch_threads)  # streams run side by side in worker threads
                if self.params is not None:
                    model = self.arch.build(self.config, self.params, backend, dtype="float32")
                else:
                    model = load_model(self.directory, backend=backend)
                where = "cpu"
                if backend == "torch":
                    where = resolve_device(self.device)
                    model = model.to(where)
                self._twins[backend] = model
                log.info("loaded %s on %s (%s)", self.name, backend, where)
            return self._twins[backend]


def read_entry(directory: Path) -> ModelEntry:
    """Read one model directory's JSON files and check that its weights exist (ValueError if not)."""
    raw = read_json(directory / CONFIG_FILE)
    name = architecture_of(raw)
    shapes = read_safetensors_shapes(directory / WEIGHTS_FILE)  # the header only
    try:
        arch = architecture(name)
    except ModelFileError as e:
        raise ValueError(f"architecture {name!r} is not served: {e}") from e
    config = arch.config.from_hf_dict(raw)
    problems = arch.weight_problems(config, arch.stored_names(shapes))
    parameters = arch.num_params(config)
    if problems:
        raise ValueError(f"{directory / WEIGHTS_FILE} does not fit {CONFIG_FILE}: {problems}")
    source = None
    if arch.kind == "seq2seq":  # two vocabularies: source and target
        source, tokenizer = read_seq2seq_tokenizers(directory / TOKENIZER_FILE)
        if source.vocab_size != config.src_vocab_size:
            raise ValueError(
                f"the source tokenizer has {source.vocab_size} tokens, the model {config.src_vocab_size}"
            )
    else:
        tokenizer = load_tokenizer_file(directory)  # tokenizer.json, or GPT-2's vocab.json + merges.txt
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"the tokenizer has {tokenizer.vocab_size} tokens, the model {config.vocab_size}")
    if (directory / CARD_FILE).is_file():
        card = read_json(directory / CARD_FILE)
    else:  # a folder dropped in as it is (a Hugging Face GPT-2 one): what its files say
        card = folder_card(directory.name, arch, parameters, tokenizer)
    return ModelEntry(
        directory.name, directory, name, config, card, tokenizer, parameters, source_tokenizer=source
    )


def read_seq2seq_tokenizers(path: Path) -> tuple[CharTokenizer, WordTokenizer]:
    """An encoder-decoder's (source, target) vocabularies from one ``tokenizer.json``
    ({"kind": "seq2seq", "source": …, "target": …}, as ``models.numbers.tokenizers_json`` writes it)."""
    data = read_json(path)
    if data.get("kind") != "seq2seq":
        raise ValueError(f"{path}: an encoder-decoder needs a source/target tokenizer pair (kind 'seq2seq')")
    try:
        return tokenizers_from_json(data)
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: {e}") from e


@dataclass
class Registry:
    models: dict[str, ModelEntry]
    errors: dict[str, str]  # directory name → why it is not served
    device: str = "auto"  # where the PyTorch twins run (auto, cpu, cuda, mps)

    @classmethod
    def scan(
        cls, models_dir: Path, torch_threads: int = 1, first: str | None = None, device: str = "auto"
    ) -> Registry:
        models, errors = {}, {}
        root = Path(models_dir)
        dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        if not root.is_dir():
            log.warning("models folder %s does not exist: no models to serve", root)
        for d in dirs:
            try:
                models[d.name] = read_entry(d)
                models[d.name].torch_threads = torch_threads
                models[d.name].device = device
            except (ValueError, OSError) as e:
                errors[d.name] = str(e)
                log.error("model %s not served: %s", d.name, e)
        # ``first``, then language models, then task models, by name: pages open with the first that fits
        models = dict(sorted(models.items(), key=lambda kv: (kv[0] != first, kv[1].task != "lm", kv[0])))
        log.info("serving %d model(s) from %s: %s", len(models), root, ", ".join(models) or "none")
        return cls(models, errors, device)

    def get(self, name: str) -> ModelEntry | None:
        return self.models.get(name)

    def add(self, entry: ModelEntry) -> None:
        """Serve one more model (a trained lab model). The dict is replaced, never changed in place,
        so a request that is reading it meanwhile sees the old one whole."""
        self.models = {**self.models, entry.name: entry}

    def remove(self, name: str) -> None:
        self.models = {k: v for k, v in self.models.items() if k != name}

    @property
    def torch_device(self) -> str:
        """The device the PyTorch twins run on. ``auto`` is resolved only once torch is loaded (a
        NumPy-only server never imports it, so it says ``auto`` until a PyTorch twin loads)."""
        if self.device == "cpu" or (self.device == "auto" and "torch" not in sys.modules):
            return self.device
        return resolve_device(self.device)

    @property
    def backends(self) -> tuple[str, ...]:
        return BACKENDS

"""One table over every shipped model: ``playground compare``.

For each model directory: its architecture, parameters and the quality its card records
(validation loss, perplexity and bits per character for a language model; held-out exact match
for the numbers-to-words task), then speed and memory measured now on each backend, and the size
of its files. Each (model, backend) is measured in a fresh interpreter by default, so its peak
memory is its own; the server's ``/compare`` page reads the same JSON.

Speed is what each architecture does: new tokens per second for a language model (greedy, KV
cache or LSTM state), output words per second for the encoder-decoder (greedy, a batch of
numbers), tokens read per second for an encoder.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.bench import _peak_rss_mib, format_table, in_child, thread_limit
from models.loading import BACKENDS, resolve, shipped_models
from models.weights import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    architecture_of,
    read_json,
    read_safetensors_shapes,
)

log = logging.getLogger(__name__)

NEW_TOKENS = 64
NUMBERS = [7, 42, 315, 1000, 2024, 90017, 123456, 999999]  # the encoder-decoder's batch


@dataclass
class Speed:
    backend: str
    tokens_per_s: float
    what: str  # which tokens were counted
    peak_rss_mib: float  # of the process that measured it


@dataclass
class ModelRow:
    name: str
    architecture: str
    task: str
    parameters: int
    quality: dict[str, float]  # from the card: val_loss / val_ppl / val_bpc, or exact_match
    speeds: list[Speed]
    file_bytes: int


def quality_of(card: dict[str, Any]) -> dict[str, float]:
    """The card's headline numbers: whole-split validation when measured, else the training estimate."""
    v = card.get("validation") or {}
    out = {
        "val_loss": v.get("loss", card.get("val_loss")),
        "val_ppl": v.get("perplexity", card.get("val_ppl")),
        "val_bpc": v.get("bits_per_char", card.get("val_bpc")),
    }
    test = (card.get("accuracy") or {}).get("test") or {}
    if "exact_match" in test:
        out["exact_match"] = test["exact_match"]
    return {k: float(x) for k, x in out.items() if x is not None}


def stored_parameters(directory: Path) -> int:
    """Numbers in the weight file, from its header (a tied matrix is stored, and counted, once)."""
    shapes = read_safetensors_shapes(directory / WEIGHTS_FILE)
    return sum(math.prod(s) for s in shapes.values())


def measure(directory: str, backend: str, new_tokens: int) -> Speed:
    """Load one model on one backend, warm up, time one run (in whatever process calls it)."""
    from models.loading import load_model

    model = load_model(directory, backend=backend)
    arch = architecture_of(read_json(Path(directory) / CONFIG_FILE))
    if arch == "encoder-decoder":
        from models.numbers import BOS_ID, EOS_ID, source_tokenizer
        from models.seq2seq import greedy_translate

        src = [source_tokenizer().encode(str(n)) for n in NUMBERS]
        greedy_translate(model, src[:1], BOS_ID, EOS_ID)  # warm-up
        start = time.perf_counter()
        out = greedy_translate(model, src, BOS_ID, EOS_ID)
        n, what = sum(len(o) for o in out), f"words written, greedy, {len(NUMBERS)} numbers at once"
    elif arch == "encoder":
        ids = np.random.default_rng(0).integers(0, model.config.vocab_size, (1, model.config.block_size))
        with model.inference_context():
            model.forward(ids)  # warm-up
            start = time.perf_counter()
            model.forward(ids)
        n, what = ids.size, "tokens read (one window, both directions)"
    else:
        from models.generate import DoneEvent, generate
        from models.sampling import SamplingParams

        steps = min(new_tokens, model.config.block_size - 1)
        list(generate(model, [0], 4, SamplingParams(temperature=0)))  # warm-up
        start = time.perf_counter()
        events = list(generate(model, [0], steps, SamplingParams(temperature=0)))
        n = next(e.n_tokens for e in events if isinstance(e, DoneEvent))
        what = "new tokens, greedy, one stream"
    seconds = time.perf_counter() - start
    return Speed(backend, n / seconds, what, round(_peak_rss_mib(), 1))


def compare(
    names: list[str] | None = None, new_tokens: int = NEW_TOKENS, threads: int = 1, isolate: bool = True
) -> list[ModelRow]:
    """A row per model (every shipped one by default), both backends measured."""
    rows = []
    for name in names or shipped_models():
        directory = resolve(name)
        raw = read_json(directory / CONFIG_FILE)
        card = read_json(directory / CARD_FILE) if (directory / CARD_FILE).is_file() else {}
        speeds = []
        for backend in BACKENDS:
            if isolate:
                speeds.append(in_child(threads, measure, str(directory), backend, new_tokens))
            else:
                with thread_limit(threads):
                    speeds.append(measure(str(directory), backend, new_tokens))
            log.info("%s on %s: %.0f tokens/s", directory.name, backend, speeds[-1].tokens_per_s)
        rows.append(
            ModelRow(
                name=directory.name,
                architecture=architecture_of(raw),
                task=str(card.get("task") or ("mlm" if architecture_of(raw) == "encoder" else "lm")),
                parameters=stored_parameters(directory),
                quality=quality_of(card),
                speeds=speeds,
                file_bytes=sum(p.stat().st_size for p in directory.iterdir() if p.is_file()),
            )
        )
    return rows


def report(rows: list[ModelRow]) -> str:
    def q(row: ModelRow, key: str, fmt: str) -> str:
        return format(row.quality[key], fmt) if key in row.quality else "-"

    header = ["model", "architecture", "task", "parameters", "val loss", "ppl", "bits/char", "exact match"]
    header += [f"{b} tok/s" for b in BACKENDS] + [f"{b} peak MiB" for b in BACKENDS] + ["files MB"]
    table = []
    for r in rows:
        speed = {s.backend: s for s in r.speeds}
        table.append(
            [
                r.name,
                r.architecture,
                r.task,
                f"{r.parameters:,}",
                q(r, "val_loss", ".4f"),
                q(r, "val_ppl", ".3f"),
                q(r, "val_bpc", ".3f"),
                f"{100 * r.quality['exact_match']:.2f}%" if "exact_match" in r.quality else "-",
                *(f"{speed[b].tokens_per_s:.0f}" for b in BACKENDS),
                *(f"{speed[b].peak_rss_mib:.0f}" for b in BACKENDS),
                f"{r.file_bytes / 1e6:.2f}",
            ]
        )
    notes = sorted({f"{r.architecture}: {s.what}" for r in rows for s in r.speeds})
    return format_table(header, table, left=3) + "\n\ntokens/s counts " + "; ".join(notes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models", nargs="*", help="shipped names or model directories (default: every shipped)"
    )
    parser.add_argument(
        "--new-tokens", type=int, default=NEW_TOKENS, help="tokens a language model generates"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per measurement (default 1)")
    parser.add_argument(
        "--in-process", action="store_true", help="measure here, not in a fresh interpreter per model"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")


def main(args: argparse.Namespace) -> int:
    if args.new_tokens < 1 or args.threads < 1:
        raise ValueError("--new-tokens and --threads must be at least 1")
    rows = compare(args.models or None, args.new_tokens, args.threads, isolate=not args.in_process)
    if not rows:
        raise ValueError("no model to compare: none is shipped and none was named")
    sys.stdout.write(report(rows) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1) + "\n", encoding="utf-8")
    return 0

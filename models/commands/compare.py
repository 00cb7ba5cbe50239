"""One table over every shipped model: ``playground compare``.

For each model directory: its architecture, parameters and the quality its card records, then
speed and memory measured now on each backend, and the size of its files. Each (model, backend)
is measured in a fresh interpreter by default, so its peak memory is its own. ``--json PATH``
writes the table with the machine and date it was measured on; ``models/zoo/compare.json`` is the
copy the server's ``/compare`` page shows.

Quality is what each task is scored by, from the card (measured once at shipping, over the whole
validation or held-out split, by the NumPy twin; a card without that falls back to the estimate
its training run recorded):

- language models (GPT, LSTM): validation loss (nats per token), perplexity, bits per character;
- masked LM (encoder): masked-token loss, perplexity, top-1 and top-5 accuracy;
- numbers to words (encoder-decoder, GPT): greedy exact match on the held-out test numbers.

Speed is what each architecture does: new tokens per second for a language model (greedy, one
stream, KV cache or LSTM state), written tokens per second for the numbers models (greedy, a batch
of numbers: words for the encoder-decoder, characters for the GPT), tokens read per second for an
encoder (one context-long window, both directions).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import math
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.architectures import ARCHITECTURES
from models.commands.bench import _peak_rss_mib, in_child, thread_limit
from models.commands.bench_report import format_table
from models.devices import DEVICES, resolve_device
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
NUMBERS = [7, 42, 315, 1000, 2024, 90017, 123456, 999999]  # the numbers models' batch
MIN_SECONDS = 0.2  # an encoder's forward is repeated until it has run this long
FORMAT = "playground-compare/1"


@dataclass
class Speed:
    backend: str
    tokens_per_s: float
    what: str  # which tokens were counted
    peak_rss_mib: float  # of the process that measured it
    device: str = "cpu"  # where it ran (the NumPy twin always on the CPU)


@dataclass
class ModelRow:
    name: str
    architecture: str
    task: str
    parameters: int
    quality: dict[str, float]  # the task's numbers (see quality_of)
    quality_source: str  # where they come from
    speeds: list[Speed]
    file_bytes: int


def task_of(card: dict[str, Any], architecture: str) -> str:
    return str(card.get("task") or ARCHITECTURES[architecture].task)


def quality_of(card: dict[str, Any], task: str = "lm") -> tuple[dict[str, float], str]:
    """The card's headline numbers for its task → (numbers, where they come from).

    lm: val_loss, val_ppl, val_bpc; mlm: masked_loss, masked_ppl, masked_accuracy, masked_top5;
    numbers: exact_match (and exact_match_numbers, how many held-out numbers it was measured on).
    """
    v = card.get("validation") or {}
    if task == "numbers":
        test = (card.get("accuracy") or {}).get("test") or {}
        out = {"exact_match": test.get("exact_match"), "exact_match_numbers": test.get("numbers")}
        source = "greedy exact match on the held-out test numbers" if "exact_match" in test else "none"
    elif task == "mlm":
        whole = "loss" in v
        out = {
            "masked_loss": v.get("loss", card.get("val_loss")),
            "masked_ppl": v.get("perplexity"),
            "masked_accuracy": v.get("accuracy", card.get("val_accuracy")),
            "masked_top5": v.get("top5_accuracy"),
        }
        if out["masked_ppl"] is None and out["masked_loss"] is not None:
            out["masked_ppl"] = math.exp(out["masked_loss"])
        source = "whole validation split, masked with a fixed seed" if whole else "training-time estimate"
    else:
        whole = "loss" in v
        out = {
            "val_loss": v.get("loss", card.get("val_loss")),
            "val_ppl": v.get("perplexity", card.get("val_ppl")),
            "val_bpc": v.get("bits_per_char", card.get("val_bpc")),
        }
        source = "whole validation split" if whole else "training-time estimate"
    numbers = {k: float(x) for k, x in out.items() if x is not None}
    return numbers, (source if numbers else "none")


def stored_parameters(directory: Path) -> int:
    """Numbers in the weight file, from its header (a tied matrix is stored, and counted, once)."""
    shapes = read_safetensors_shapes(directory / WEIGHTS_FILE)
    return sum(math.prod(s) for s in shapes.values())


def measure(directory: str, backend: str, new_tokens: int, device: str = "cpu") -> Speed:
    """Load one model on one backend, warm up, time one run (in whatever process calls it); the
    PyTorch twin on ``device`` (a resolved one: cpu, cuda or mps), the NumPy twin on the CPU."""
    from models.loading import load_model

    model = load_model(directory, backend=backend)
    if backend == "torch":
        model = model.to(device)
    else:
        device = "cpu"
    arch = ARCHITECTURES[architecture_of(read_json(Path(directory) / CONFIG_FILE))]
    card_path = Path(directory) / CARD_FILE
    task = task_of(read_json(card_path) if card_path.is_file() else {}, arch.name)
    if task == "numbers":
        from models.evaluate import translate
        from models.loading import load_tokenizer

        seq2seq = arch.kind == "seq2seq"  # its own vocabularies; a GPT writes characters
        tokenizer = None if seq2seq else load_tokenizer(directory)
        translate(model, NUMBERS[:1], tokenizer)  # warm-up
        start = time.perf_counter()
        _, n = translate(model, NUMBERS, tokenizer)
        unit = "words" if seq2seq else "characters"
        what = f"{unit} written, greedy, {len(NUMBERS)} numbers at once"
    elif arch.kind == "masked-lm":
        ids = np.random.default_rng(0).integers(0, model.config.vocab_size, (1, model.config.block_size))
        with model.inference_context():
            model.forward(ids)  # warm-up
            start, runs = time.perf_counter(), 0
            while runs == 0 or time.perf_counter() - start < MIN_SECONDS:
                model.forward(ids)
                runs += 1
        n, what = runs * ids.size, "tokens read, one window at a time (both directions)"
    else:
        from models.generate import DoneEvent, generate
        from models.sampling import SamplingParams

        steps = min(new_tokens, model.config.block_size - 1)
        list(generate(model, [0], 4, SamplingParams(temperature=0)))  # warm-up
        start = time.perf_counter()
        events = list(generate(model, [0], steps, SamplingParams(temperature=0)))
        n = next(e.n_tokens for e in events if isinstance(e, DoneEvent))
        what = "new tokens, greedy, one stream, " + ("KV cache" if arch.attention else "LSTM state")
    seconds = time.perf_counter() - start
    return Speed(backend, n / seconds, what, round(_peak_rss_mib(), 1), device)


def compare(
    names: list[str] | None = None,
    new_tokens: int = NEW_TOKENS,
    threads: int = 1,
    isolate: bool = True,
    device: str = "cpu",
) -> list[ModelRow]:
    """A row per model (every shipped one by default), both backends measured (the PyTorch twin on
    ``device``, a resolved one)."""
    rows = []
    for name in names or shipped_models():
        directory = resolve(name)
        raw = read_json(directory / CONFIG_FILE)
        card = read_json(directory / CARD_FILE) if (directory / CARD_FILE).is_file() else {}
        speeds = []
        for backend in BACKENDS:
            if isolate:
                speeds.append(in_child(threads, measure, str(directory), backend, new_tokens, device))
            else:
                from threadpoolctl import threadpool_limits

                with thread_limit(threads), threadpool_limits(limits=threads, user_api="blas"):
                    speeds.append(measure(str(directory), backend, new_tokens, device))
            log.info("%s on %s: %.0f tokens/s", directory.name, backend, speeds[-1].tokens_per_s)
        arch = architecture_of(raw)
        task = task_of(card, arch)
        quality, source = quality_of(card, task)
        rows.append(
            ModelRow(
                name=directory.name,
                architecture=arch,
                task=task,
                parameters=stored_parameters(directory),
                quality=quality,
                quality_source=source,
                speeds=speeds,
                file_bytes=sum(p.stat().st_size for p in directory.iterdir() if p.is_file()),
            )
        )
    return rows


def _loss(r: ModelRow) -> str:
    key = "masked_loss" if r.task == "mlm" else "val_loss"
    return f"{r.quality[key]:.4f}" if key in r.quality else "-"


def _ppl(r: ModelRow) -> str:
    key = "masked_ppl" if r.task == "mlm" else "val_ppl"
    return f"{r.quality[key]:.3f}" if key in r.quality else "-"


def _accuracy(r: ModelRow) -> str:
    q = r.quality
    if "exact_match" in q:
        return f"{100 * q['exact_match']:.2f}%"
    if "masked_accuracy" in q:
        top5 = f" (top-5 {100 * q['masked_top5']:.1f}%)" if "masked_top5" in q else ""
        return f"{100 * q['masked_accuracy']:.2f}%{top5}"
    return "-"


def report(rows: list[ModelRow]) -> str:
    header = ["model", "architecture", "task", "parameters", "loss", "ppl", "bits/char", "accuracy"]
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
                _loss(r),
                _ppl(r),
                f"{r.quality['val_bpc']:.3f}" if "val_bpc" in r.quality else "-",
                _accuracy(r),
                *(f"{speed[b].tokens_per_s:,.0f}" for b in BACKENDS),
                *(f"{speed[b].peak_rss_mib:.0f}" for b in BACKENDS),
                f"{r.file_bytes / 1e6:.2f}",
            ]
        )
    notes = [
        "loss (nats) and ppl: next token (lm), masked tokens (mlm); accuracy: greedy exact match on the "
        "held-out test numbers (numbers), masked-token top-1 and top-5 (mlm)",
        "quality from each card: " + "; ".join(sorted({f"{r.task}: {r.quality_source}" for r in rows})),
        "tok/s counts "
        + "; ".join(sorted({f"{r.architecture} {r.task}: {s.what}" for r in rows for s in r.speeds})),
        "devices: " + ", ".join(sorted({f"{s.backend} on {s.device}" for r in rows for s in r.speeds})),
    ]
    return format_table(header, table, left=3) + "\n\n" + "\n".join(notes)


def machine() -> dict[str, Any]:
    """What the speeds were measured on."""
    import torch

    from models.training.card import cpu_name

    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
    }


def table_json(
    rows: list[ModelRow], new_tokens: int, threads: int, isolate: bool, device: str = "cpu"
) -> dict[str, Any]:
    """The table as ``--json`` writes it: when, where and how it was measured, then the rows."""
    return {
        "format": FORMAT,
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {
            "new_tokens": new_tokens,
            "threads": threads,
            "fresh_interpreter": isolate,
            "device": device,
        },
        "backends": list(BACKENDS),
        "rows": [asdict(r) for r in rows],
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models", nargs="*", help="shipped names or model directories (default: every shipped)"
    )
    parser.add_argument(
        "--new-tokens", type=int, default=NEW_TOKENS, help="tokens a language model generates"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per measurement (default 1)")
    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where the PyTorch twin runs: auto (CUDA, then MPS, then the CPU; the default), cpu, cuda "
        "or mps; the NumPy twin always runs on the CPU",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="measure here, not in a fresh interpreter per model"
    )
    parser.add_argument(
        "--json",
        type=Path,
        help="also write the table as JSON here, with the machine and date (the server shows "
        "models/zoo/compare.json)",
    )


def main(args: argparse.Namespace) -> int:
    if args.new_tokens < 1 or args.threads < 1:
        raise ValueError("--new-tokens and --threads must be at least 1")
    device = resolve_device(args.device)  # one that is not here: ValueError, a one-line error
    rows = compare(args.models or None, args.new_tokens, args.threads, not args.in_process, device)
    if not rows:
        raise ValueError("no model to compare: none is shipped and none was named")
    sys.stdout.write(report(rows) + "\n")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        body = table_json(rows, args.new_tokens, args.threads, not args.in_process, device)
        args.json.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return 0

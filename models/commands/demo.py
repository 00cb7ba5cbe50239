"""``playground demo``: stream a continuation of a prompt from a model in the terminal."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.architectures import Architecture


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        help="shipped model name or model directory (default: the first shipped language model "
        "that can read the prompt)",
    )
    parser.add_argument("--backend", choices=("numpy", "torch"), default="numpy")
    parser.add_argument("--prompt", default="ROMEO:\n", help="text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8, help="0 = greedy")
    parser.add_argument("--top-k", type=int, default=0, help="0 = off")
    parser.add_argument("--top-p", type=float, default=1.0, help="1 = off")
    parser.add_argument("--repetition-penalty", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stats", action="store_true", help="print timing and the stop reason at the end")


def kind_of(directory: Path) -> Architecture:
    """The architecture table's entry for a model directory (from its config.json alone)."""
    from models.architectures import architecture
    from models.weights import CONFIG_FILE, architecture_of, read_json

    return architecture(architecture_of(read_json(directory / CONFIG_FILE)))


def can_read(directory: Path, prompt: str) -> bool:
    from models.loading import load_tokenizer

    try:
        return bool(load_tokenizer(directory).encode(prompt))
    except (ValueError, OSError):
        return False


def first_language_model(prompt: str) -> Path:
    """The first shipped causal language model (by name) whose tokenizer reads ``prompt``."""
    from models.loading import resolve, shipped_models

    shipped = [resolve(name) for name in shipped_models()]
    for directory in shipped:
        if kind_of(directory).kind == "causal-lm" and can_read(directory, prompt):
            return directory
    if not shipped:
        raise ValueError("no shipped models were found; pass --model DIR")
    raise ValueError(
        f"no shipped language model can read the prompt {prompt!r} "
        f"(shipped: {', '.join(d.name for d in shipped)}); pass --model or another --prompt"
    )


def main(args: argparse.Namespace) -> int:
    from models import SamplingParams, generate, load_model, load_tokenizer
    from models.generate import DoneEvent
    from models.loading import resolve

    if args.model is None:
        name = first_language_model(args.prompt)
    else:
        name = resolve(args.model)
        arch = kind_of(name)
        if arch.kind != "causal-lm":
            raise ValueError(
                f"{args.model} is not a language model that continues a prompt ({arch.label}, "
                f"kind {arch.kind}); demo generates from a GPT or an LSTM, "
                "playground evaluate measures this one"
            )
    params = SamplingParams(args.temperature, args.top_k, args.top_p, args.repetition_penalty)
    model = load_model(name, backend=args.backend)
    tokenizer = load_tokenizer(name)
    out = sys.stdout
    out.write(args.prompt)
    for event in generate(
        model, tokenizer.encode(args.prompt), args.max_new_tokens, params, args.seed, tokenizer=tokenizer
    ):
        if isinstance(event, DoneEvent):
            if args.stats:
                out.write(
                    f"\n\n[{event.n_tokens} tokens, {event.tokens_per_s:.1f} tokens/s, "
                    f"first token {event.ttft_ms:.1f} ms, stopped: {event.reason}]"
                )
        else:
            out.write(event.text or "")
            out.flush()
    out.write("\n")
    return 0
